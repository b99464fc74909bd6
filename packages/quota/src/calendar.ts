// Calendar days and months in a tenant's IANA time zone (docs/architecture.md, "@tenantry/quota": daily
// and monthly caps are calendar periods in the tenant's zone, default UTC). Delegated to luxon, which reads
// the zone rules through Intl and handles the days a DST change makes 23 or 25 hours long (or, where a zone
// changes at midnight, starts at 01:00).
//
// A period is [start, end) in milliseconds since the epoch, with a key that names it in the zone's own
// calendar ("2025-03-09", "2025-03"): usage is counted per key, and a new key is a reset.
import { DateTime, IANAZone } from 'luxon';
import { QuotaError } from './errors.js';

/** A calendar period in a zone: [start, end) in epoch milliseconds, and its name. */
export interface CalendarPeriod {
  /** "YYYY-MM-DD" for a day, "YYYY-MM" for a month, in the zone's calendar. */
  key: string;
  start: number;
  end: number;
}

/**
 * Returns `tz` when it is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"), in its
 * canonical spelling.
 * @throws QuotaError INVALID_TIMEZONE naming `field` otherwise (offsets such as "+02:00" are refused:
 *   they have no DST rules, and a tenant's calendar does).
 */
export function checkTimeZone(tz: unknown, field = 'timezone'): string {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > 64 || !IANAZone.isValidZone(tz)) {
    throw new QuotaError('INVALID_TIMEZONE', `${field} must be an IANA time zone such as "Europe/Berlin" or "UTC", got ${typeof tz === 'string' ? JSON.stringify(tz) : typeof tz}`, { field });
  }
  return new IANAZone(tz).name;
}

function period(ms: number, tz: string, unit: 'day' | 'month'): CalendarPeriod {
  const start = DateTime.fromMillis(ms, { zone: tz }).startOf(unit);
  const end = start.plus(unit === 'day' ? { days: 1 } : { months: 1 }).startOf(unit);
  return { key: start.toFormat(unit === 'day' ? 'yyyy-MM-dd' : 'yyyy-MM'), start: start.toMillis(), end: end.toMillis() };
}

/** The calendar day of instant `ms` in zone `tz` (checked with checkTimeZone first). */
export function dayOf(ms: number, tz: string): CalendarPeriod {
  return period(ms, tz, 'day');
}

/** The calendar month of instant `ms` in zone `tz` (checked with checkTimeZone first). */
export function monthOf(ms: number, tz: string): CalendarPeriod {
  return period(ms, tz, 'month');
}
