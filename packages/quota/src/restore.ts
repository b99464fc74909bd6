// quota.restore (docs/architecture.md, "@tenantry/quota"): a quota's usage rebuilt from the host's log at
// start, so that a cap is a cap across restarts. The host (the gateway) writes an `invoke.admit` entry
// after each reservation and before its call, and an `invoke` entry after the call and before settle; read
// back, they are charges (each `invoke`) and open reservations (an `invoke.admit` with no `invoke`).
//
// Every record is checked first (a malformed one is a QuotaError naming `records[i].<field>`, and nothing
// is applied), then each is one atomic store operation (store.ts, RestoreOp), applied exactly once:
// - charge: the store knows the id as closed → duplicate; as open or expired → settled now, as settle()
//   would (late); not at all → charged to its reservation's periods. That last case is every charge on a
//   memory store after a restart. A shared store (Redis) that survived the restart remembers every closed id
//   at least retainMs after its close (redis-lua.ts), and the host writes the charge before settling it, so
//   an id it does not know with `at` within retainMs of now was never charged; an older one is skipped: the
//   store is the truth for it, and charging it could count it twice. (retainMs from the charge, not from the
//   reservation's expiry: a charge record does not say its TTL, so this is the bound that holds for all.)
// - open: expired by the quota's clock → nothing; the store knows the id → nothing (no double hold);
//   otherwise held again under its id until its own expiry, so a later settle or release of the id works,
//   and it returns its amount at expiry like any other.
// Restoring is accounting, not admission: nothing is denied, no overrun freezes or events follow (the
// original settle had them; freezes come back from the control log), the cost defense is not fed (its
// windows start empty after a restart), and a restore may leave a tenant above a cap (reserve then denies). Restoring the same records again changes
// nothing: everything applied is remembered (on Redis as closed or open ids; on the memory store by id,
// memory-store.ts), or skipped by the same rule as before.
//
// A reservation's periods, simulation flag and experiment are those its id carries (redisStore ids carry
// them: reservation.ts); memoryStore ids carry none, and then the record's `simulation` and
// `experiment_id`, and the periods of `reserved_at` (default `at`) in the tenant's zone, are used.
import { isObject } from '@tenantry/core';
import { dayOf, monthOf, type CalendarPeriod } from './calendar.js';
import { checkTenantId } from './envelope.js';
import { invalidArgument, reach } from './errors.js';
import { chargeToMicros } from './money.js';
import type { RestoreReport } from './quota-types.js';
import { checkName, parseReservationId, reservationRecord, type IdRecord } from './reservation.js';
import type { QuotaStore, RestoreOp, RestoreOutcome } from './store.js';

const CHARGE_FIELDS: ReadonlySet<string> = new Set(['kind', 'id', 'tenant_id', 'usd', 'at', 'reserved_at', 'experiment_id', 'simulation']);
const OPEN_FIELDS: ReadonlySet<string> = new Set(['kind', 'id', 'tenant_id', 'usd', 'at', 'expires_at', 'experiment_id', 'simulation']);
/** Store operations in flight at once (a Redis store batches them: redis-store.ts). */
const CHUNK = 4096;

/** A record after checking: amounts in micros, its reservation's record when the id carries one. */
export interface CheckedRestoreRecord {
  kind: 'charge' | 'open';
  id: string;
  serial: number;
  tenantId: string;
  micros: number;
  at: number;
  /** When the reservation was made: its periods when `record` is null. */
  reservedAt: number;
  /** open: its expiry; charge: 0. */
  expiresAt: number;
  /** From the id, or else the record's own fields (periods still to be worked out: day and month are ''). */
  record: IdRecord;
  fromId: boolean;
}

function epochMs(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalidArgument(field, `must be epoch milliseconds (an integer), got ${String(v)}`);
  return v;
}

/**
 * Checks quota.restore's records, all of them before any is applied.
 * @param byEnc the quota's tenant ids by their encoded form in reservation ids (parseReservationId).
 * @throws QuotaError INVALID_ARGUMENT, INVALID_AMOUNT or INVALID_TENANT_ID naming `records[i].<field>`.
 */
export function checkRestoreRecords(records: unknown, byEnc: ReadonlyMap<string, string>): CheckedRestoreRecord[] {
  if (typeof records !== 'object' || records === null || typeof (records as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw invalidArgument('records', 'must be an iterable of { kind: "charge" | "open", id, tenant_id, usd, at, … }');
  }
  const out: CheckedRestoreRecord[] = [];
  let i = 0;
  for (const rec of records as Iterable<unknown>) {
    const at = `records[${i++}]`;
    out.push(checkRecord(rec, at, byEnc));
  }
  return out;
}

function checkRecord(rec: unknown, f: string, byEnc: ReadonlyMap<string, string>): CheckedRestoreRecord {
  if (!isObject(rec)) throw invalidArgument(f, 'must be an object { kind, id, tenant_id, usd, at, … }');
  const kind = rec.kind;
  if (kind !== 'charge' && kind !== 'open') throw invalidArgument(`${f}.kind`, `must be "charge" or "open", got ${JSON.stringify(kind) ?? String(kind)}`);
  const fields = kind === 'charge' ? CHARGE_FIELDS : OPEN_FIELDS;
  for (const k in rec) if (!fields.has(k)) throw invalidArgument(`${f}.${k}`, `is not a field of a restore record of kind "${kind}"`);
  const tenantId = checkTenantId(rec.tenant_id, `${f}.tenant_id`);
  const { tenantId: idTenant, serial } = parseReservationId(rec.id, byEnc, `${f}.id`);
  const id = rec.id as string;
  if (idTenant !== tenantId) throw invalidArgument(`${f}.id`, `is a reservation of tenant ${JSON.stringify(idTenant)}, not of ${JSON.stringify(tenantId)}`);
  const micros = chargeToMicros(rec.usd, `${f}.usd`);
  const time = epochMs(rec.at, `${f}.at`);
  const reservedAt = rec.reserved_at === undefined ? time : epochMs(rec.reserved_at, `${f}.reserved_at`);
  const expiresAt = kind === 'open' ? epochMs(rec.expires_at, `${f}.expires_at`) : 0;
  if (rec.simulation !== undefined && typeof rec.simulation !== 'boolean') throw invalidArgument(`${f}.simulation`, 'must be a boolean');
  const experimentId = rec.experiment_id === undefined ? undefined : checkName(rec.experiment_id, `${f}.experiment_id`);
  const carried = reservationRecord(id, `${f}.id`);
  if (carried !== null) {
    if (rec.simulation !== undefined && rec.simulation !== carried.simulation) throw invalidArgument(`${f}.simulation`, 'does not match the reservation record in the id');
    if (experimentId !== undefined && experimentId !== carried.experimentId) throw invalidArgument(`${f}.experiment_id`, 'does not match the reservation record in the id');
    // An open record holds what was reserved: the amount the id names.
    if (kind === 'open' && micros !== carried.micros) throw invalidArgument(`${f}.usd`, `does not match the amount reserved in the id (${carried.micros} micro-USD)`);
  }
  const record = carried ?? { micros, simulation: rec.simulation === true, day: '', month: '', experimentId: experimentId ?? null };
  return { kind, id, serial, tenantId, micros, at: time, reservedAt, expiresAt, record, fromId: carried !== null };
}

/** The context a quota restores in. */
export interface RestoreContext {
  store: QuotaStore;
  now: number;
  retainMs: number;
  /** The quota's node tag: ids it made start with it and a dot (reservation.ts). */
  node: string;
}

/**
 * Applies checked records (file comment) and counts what each did.
 * @throws QuotaError STORE_UNAVAILABLE when the store fails (records before the failure may have been applied).
 */
export async function applyRestore(records: readonly CheckedRestoreRecord[], ctx: RestoreContext): Promise<RestoreReport> {
  const report: RestoreReport = { charged: 0, settled: 0, duplicate: 0, skipped: 0, held: 0, expired: 0, unknown_tenant: 0 };
  const { store, now, retainMs } = ctx;
  const own = `${ctx.node}.`;
  const zones = new Map<string, string | null>();
  const periods = new Map<string, { day: CalendarPeriod; month: CalendarPeriod }>();
  const ops: RestoreOp[] = [];
  for (const r of records) {
    let tz = zones.get(r.tenantId);
    if (tz === undefined) zones.set(r.tenantId, (tz = (await reach(() => store.envelope(r.tenantId)))?.timeZone ?? null));
    if (tz === null) {
      report.unknown_tenant++;
      continue;
    }
    if (r.kind === 'open' && r.expiresAt <= now) {
      report.expired++;
      continue;
    }
    let { day, month } = r.record;
    if (!r.fromId) {
      let p = periods.get(r.tenantId);
      const t = r.reservedAt;
      if (p === undefined || t < p.day.start || t >= p.day.end) {
        const d = dayOf(t, tz);
        p = { day: d, month: p !== undefined && t >= p.month.start && t < p.month.end ? p.month : monthOf(t, tz) };
        periods.set(r.tenantId, p);
      }
      day = p.day.key;
      month = p.month.key;
    }
    ops.push({
      kind: r.kind, id: r.id, serial: r.serial, tenantId: r.tenantId, micros: r.micros, day, month, simulation: r.record.simulation,
      experimentId: r.record.experimentId, at: r.at, expiresAt: r.expiresAt, now, retainMs, own: r.id.startsWith(own),
    });
  }
  for (let i = 0; i < ops.length; i += CHUNK) {
    const outs: RestoreOutcome[] = await reach(() => Promise.all(ops.slice(i, i + CHUNK).map((op) => store.restore(op))));
    for (const o of outs) report[o]++;
  }
  return report;
}
