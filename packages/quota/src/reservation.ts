// Reservations as the store receives them (docs/architecture.md, "@tenantry/quota"; store.ts): a reserve()
// request checked once into a store operation with its rate checks, the tenant's current calendar periods,
// and the id that names the reservation from then on.
//
// An id is "<node>.<serial>.<tenant>": a random node tag per quota, a serial number unique within the
// quota (the memory store's compact key for closed ids) and the URI-encoded tenant id, so that settle and
// release find the tenant without a lookup. A store with `recordInId` (redisStore) gets the reservation's
// record appended, "|<micros>|<0|1 simulation>|<day>|<month>|<experiment>", and settles from the id alone;
// restore (restore.ts) reads the record back (reservationRecord), whatever the store it restores into.
import { DOMAINS, isDomain, isObject } from '@tenantry/core';
import type { CalendarPeriod } from './calendar.js';
import { checkTenantId } from './envelope.js';
import { invalidArgument } from './errors.js';
import { chargeToMicros } from './money.js';
import { positiveInt, type CheckedQuotaOptions } from './quota-options.js';
import type { GcraCheck, ReserveOp } from './store.js';

/** Longest experiment id, route or freeze reason, in UTF-16 units. */
export const MAX_NAME_LENGTH = 256;

/** What the quota keeps of a tenant it has loaded: its zone, its encoded id and its current periods. */
export interface TenantCache {
  timeZone: string;
  enc: string;
  day: CalendarPeriod;
  month: CalendarPeriod;
}

const REQUEST_FIELDS: ReadonlySet<string> = new Set(['tenant_id', 'usd', 'domain', 'experiment_id', 'simulation', 'ttl_ms', 'route', 'tokens']);
// C0 and C1 controls and DEL: invisible in logs, and never part of a name.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const NO_CHECKS: readonly GcraCheck[] = Object.freeze([]);

/** An experiment id, route or freeze reason: a non-empty string of at most MAX_NAME_LENGTH units without control characters. */
export function checkName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME_LENGTH || CONTROL.test(v)) {
    throw invalidArgument(field, `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters without control characters, got ${typeof v === 'string' ? JSON.stringify(v) : typeof v}`);
  }
  return v;
}

/**
 * Checks a reserve() request into its store operation; the id and periods are filled in by withPeriods.
 * `known(tenantId)` is true for a tenant loaded already, whose id was checked then.
 * @throws QuotaError INVALID_ARGUMENT, INVALID_AMOUNT or INVALID_TENANT_ID naming the field.
 */
export function checkRequest(req: unknown, now: number, o: CheckedQuotaOptions, known: (tenantId: string) => boolean): ReserveOp {
  if (!isObject(req)) throw invalidArgument('request', 'must be an object { tenant_id, usd, … }');
  for (const k in req) if (!REQUEST_FIELDS.has(k)) throw invalidArgument(k, 'is not a field of a reservation request');
  const tenantId = typeof req.tenant_id === 'string' && known(req.tenant_id) ? req.tenant_id : checkTenantId(req.tenant_id);
  const micros = chargeToMicros(req.usd, 'usd');
  const domain = req.domain === undefined ? 'PROD' : req.domain;
  if (!isDomain(domain)) throw invalidArgument('domain', `must be one of ${DOMAINS.map((d) => `"${d}"`).join(', ')}, got ${String(domain)}`);
  const experimentId = req.experiment_id === undefined ? null : checkName(req.experiment_id, 'experiment_id');
  if (req.simulation !== undefined && typeof req.simulation !== 'boolean') throw invalidArgument('simulation', 'must be a boolean');
  const simulation = req.simulation === true;
  const ttlMs = req.ttl_ms === undefined ? o.defaultTtlMs : positiveInt(req.ttl_ms, 'ttl_ms', o.maxTtlMs);
  const route = req.route === undefined ? null : checkName(req.route, 'route');
  const tokens = req.tokens === undefined ? 0 : req.tokens;
  if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0) throw invalidArgument('tokens', `must be a non-negative finite number, got ${String(tokens)}`);
  let gcra: readonly GcraCheck[] = NO_CHECKS;
  if (o.hasLimits) {
    const { requests, tokens: tokenLimit, routeRequests, routeTokens } = o.limits;
    const checks: GcraCheck[] = [];
    // A check that costs nothing cannot be refused: it is left out.
    const add = (limit: GcraCheck['limit'] | undefined, key: string, cost: number): void => {
      if (limit !== undefined && cost > 0) checks.push({ key, limit, cost });
    };
    add(requests, 'q', 1);
    add(tokenLimit, 't', tokens);
    if (route !== null) {
      add(routeRequests, `q:${route}`, 1);
      add(routeTokens, `t:${route}`, tokens);
    }
    gcra = checks;
  }
  return {
    id: '', serial: 0, tenantId, micros, now, expiresAt: now + ttlMs, timeZone: '', day: '', month: '', dayEnd: 0, monthEnd: 0, simulation,
    experimentId, prod: domain === 'PROD' && !simulation, prodWindowMs: o.prodWindowMs, gcra, retainMs: o.retainMs,
  };
}

/** The id of reservation `op` (its serial set), made by node `node` for tenant cache `c` (file comment). */
export function reservationId(node: string, op: ReserveOp, c: TenantCache, recordInId: boolean): string {
  const base = `${node}.${op.serial}.${c.enc}`;
  return recordInId ? `${base}|${op.micros}|${op.simulation ? 1 : 0}|${c.day.key}|${c.month.key}|${op.experimentId ?? ''}` : base;
}

/** Gives the operation its id and the tenant's current periods. */
export function withPeriods(op: ReserveOp, id: string, c: TenantCache): ReserveOp {
  op.id = id;
  op.timeZone = c.timeZone;
  op.day = c.day.key;
  op.month = c.month.key;
  op.dayEnd = c.day.end;
  op.monthEnd = c.month.end;
  return op;
}

/**
 * The tenant and serial of a reservation id; `byEnc` maps the encoded ids of loaded tenants to their ids.
 * @throws QuotaError INVALID_ARGUMENT naming `field` (default `id`) for anything reserve() did not return.
 */
export function parseReservationId(id: unknown, byEnc: ReadonlyMap<string, string>, field = 'id'): { tenantId: string; serial: number } {
  if (typeof id !== 'string' || id.length > 4096) throw invalidArgument(field, 'must be a reservation id returned by reserve()');
  const i = id.indexOf('.');
  const j = i < 0 ? -1 : id.indexOf('.', i + 1);
  const serial = j < 0 || j === i + 1 ? Number.NaN : Number(id.slice(i + 1, j));
  if (!Number.isSafeInteger(serial)) throw invalidArgument(field, `is not a reservation id: ${JSON.stringify(id.slice(0, 80))}`);
  const bar = id.indexOf('|', j + 1);
  const enc = bar < 0 ? id.slice(j + 1) : id.slice(j + 1, bar);
  let tenantId = byEnc.get(enc);
  if (tenantId === undefined) {
    try {
      tenantId = checkTenantId(decodeURIComponent(enc), field);
    } catch {
      throw invalidArgument(field, `is not a reservation id: ${JSON.stringify(id.slice(0, 80))}`);
    }
  }
  return { tenantId, serial };
}

/** The record a reservation id carries (file comment). */
export interface IdRecord {
  micros: number;
  simulation: boolean;
  day: string;
  month: string;
  experimentId: string | null;
}

const ID_RECORD = /^\|(0|[1-9][0-9]{0,15})\|([01])\|([0-9]{4}-[0-9]{2}-[0-9]{2})\|([0-9]{4}-[0-9]{2})\|([^]*)$/;

/**
 * The record carried by reservation id `id` (one parseReservationId accepted), or null when it carries none
 * (a memoryStore id).
 * @throws QuotaError INVALID_ARGUMENT naming `field` for a record reserve() cannot have written.
 */
export function reservationRecord(id: string, field: string): IdRecord | null {
  const bar = id.indexOf('|');
  if (bar < 0) return null;
  const m = ID_RECORD.exec(id.slice(bar));
  const micros = m === null ? Number.NaN : Number(m[1]);
  if (m === null || !Number.isSafeInteger(micros)) throw invalidArgument(field, `carries a malformed reservation record: ${JSON.stringify(id.slice(0, 120))}`);
  return { micros, simulation: m[2] === '1', day: m[3]!, month: m[4]!, experimentId: m[5] === '' ? null : checkName(m[5], field) };
}
