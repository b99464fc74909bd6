// memoryStore(): the embedded default. Every number lives in this process; each operation runs to the end
// without awaiting, so it is atomic with respect to every other caller in the process (JavaScript runs one
// callback at a time). Semantics as documented in store.ts; redis-store.ts implements the same in Lua.
//
// Costs per operation are O(1) amortised: periods and experiments are objects the reservation points at
// (no key building on the hot path); open reservations are found by the serial number of their id in a
// direct-mapped array of OPEN_SLOTS (checked against the whole id; a slot already taken sends the newcomer
// to an overflow Map): a Map that gains and loses an entry per operation rehashes every few operations, and
// that garbage cost a fifth of the throughput. They sit in one doubly linked list per TTL, unlinked in O(1)
// when closed, so with a monotonic clock the oldest of each TTL expires first and a sweep stops at the first
// one still open;
// expired reservations are remembered for `retainMs` (a late settle still charges them); settled and
// released ones are remembered by the serial number of their id in a direct-mapped table of DONE_SLOTS
// numbers (slot = serial mod DONE_SLOTS): one typed-array store per close, no object for the garbage
// collector to trace (a Set of a million ids a second halved the throughput), fixed memory. A repeat
// answers `duplicate` while its slot still holds its serial, i.e. for the last DONE_SLOTS closes or so,
// then `unknown` (it still charges nothing). Serials are unique per quota; with several quotas on one
// memory store a stray id may answer `duplicate` where `unknown` was due.
//
// Restore (quota.restore, store.ts): ids restored from a log were made by an earlier quota, whose serials
// collide with this one's, so they never enter the table of closed serials. The store remembers each id it
// restored by the whole id, per tenant, for its life (one entry per restored record; a host restores its log
// once, at start), which makes a second restore of the same records a no-op. Holds restored with their own
// expiry sit in one queue per tenant kept in expiry order, so sweeping stays as it is.
//
// Rate limits: one GcraMeter (gcra.ts, the package's one GCRA) per rate key of a tenant, holding one key;
// a reservation asks each of its meters how long to wait and takes from all of them only when none says
// wait, so a refused reservation takes nothing.
import type { CheckedEnvelope } from './envelope.js';
import { EpsilonAccounts } from './epsilon.js';
import { GcraMeter } from './gcra.js';
import type {
  Amounts, EpsilonOp, EpsilonOutcome, ExperimentOutcome, GcraCheck, QuotaStore, RawUsage, ReleaseOp, ReleaseOutcome, ReserveOp,
  ReserveOutcome, RestoreOp, RestoreOutcome, SettleOp, SettleOutcome, UsageOp,
} from './store.js';

interface Reservation {
  readonly id: string;
  readonly micros: number;
  /** The day and month accounts (simulation: day is null and month is the simulation month). */
  readonly day: Amounts | null;
  readonly month: Amounts;
  readonly exp: Amounts | null;
  readonly experimentId: string | null;
  readonly simulation: boolean;
  readonly expiresAt: number;
  readonly serial: number;
  /** Held or charged by restore: closing it is remembered by id (TenantState.restored), never by serial. */
  readonly restored: boolean;
  readonly tenant: TenantState;
  readonly queue: Queue;
  prev: Reservation | null;
  next: Reservation | null;
  /** When it expired (for dropping it retainMs later). */
  expiredAt: number;
}

/** Open reservations of one TTL, oldest first. */
interface Queue {
  head: Reservation | null;
  tail: Reservation | null;
}

function unlink(r: Reservation): void {
  const q = r.queue;
  if (r.prev === null) q.head = r.next;
  else r.prev.next = r.next;
  if (r.next === null) q.tail = r.prev;
  else r.next.prev = r.prev;
  r.prev = r.next = null;
}

/** The answer of every admitted reservation (one object, never changed). */
const OK: ReserveOutcome = Object.freeze({ ok: true });

/** Slots of the direct-mapped table of open reservations. */
export const OPEN_SLOTS = 1 << 16;
/** Slots of the table of closed serials (8 MiB of Float64). */
export const DONE_SLOTS = 1 << 20;

class TenantState {
  env: CheckedEnvelope;
  frozen: string | null = null;
  readonly days = new Map<string, Amounts>();
  readonly months = new Map<string, Amounts>();
  readonly sims = new Map<string, Amounts>();
  readonly exps = new Map<string, Amounts>();
  readonly running = new Set<string>();
  openCount = 0;
  readonly queues = new Map<number, Queue>();
  /** The same queues as an array: sweeping iterates it on every operation without allocating an iterator. */
  readonly queueList: Queue[] = [];
  /** Expired reservations, oldest first. */
  readonly expired = new Map<string, Reservation>();
  /** Ids restore has applied (charged, settled or held), for the store's life (file comment). */
  readonly restored = new Set<string>();
  /** Holds restored with their own expiry, in expiry order; also in queueList. */
  restoredQueue: Queue | null = null;
  /** When expired reservations and idle rate-limit keys were last dropped. */
  gcAt = -Infinity;
  // Prod traffic: fixed window `bucket` (index), its counts, and the previous window's.
  bucket = -Infinity;
  total = 0;
  exper = 0;
  prevTotal = 0;
  prevExper = 0;
  /** Rate meters by rate key ('q', 't', 'q:<route>', 't:<route>'), each holding the tenant's one key ''. */
  readonly meters = new Map<string, GcraMeter>();

  constructor(env: CheckedEnvelope) {
    this.env = env;
  }
}

function account(map: Map<string, Amounts>, key: string): Amounts {
  let a = map.get(key);
  if (a === undefined) {
    // A new period: forget the earlier ones that hold nothing (reservations keep their own reference). Keys
    // ("2025-06-10", "2025-06") sort as their periods do; a later one stays when an earlier one is made (a
    // fail-open settle or a restore charging a past period).
    for (const [k, old] of map) if (old.held === 0 && k < key) map.delete(k);
    a = { spent: 0, held: 0 };
    map.set(key, a);
  }
  return a;
}

function experiment(t: TenantState, id: string): Amounts {
  let a = t.exps.get(id);
  if (a === undefined) t.exps.set(id, (a = { spent: 0, held: 0 }));
  return a;
}

/** Drops expired reservations kept longer than retainMs, and idle rate-limit keys (at most once per second). */
function rotate(t: TenantState, now: number, retainMs: number): void {
  if (now - t.gcAt < 1000) return;
  t.gcAt = now;
  for (const r of t.expired.values()) {
    if (r.expiredAt + retainMs > now) break;
    t.expired.delete(r.id);
  }
  for (const [k, m] of t.meters) if (m.sweep(now) === 0) t.meters.delete(k);
}

/** The tenant's meter of a rate check, under the check's limit (a quota with other limits may share the store). */
function meter(t: TenantState, g: GcraCheck): GcraMeter {
  const l = g.limit;
  let m = t.meters.get(g.key);
  if (m === undefined) {
    m = new GcraMeter({ limit: l.limit, windowMs: l.windowMs, burst: l.burst });
    t.meters.set(g.key, m);
  } else if (m.limit.intervalMs !== l.intervalMs || m.limit.toleranceMs !== l.toleranceMs) {
    m.setLimit({ limit: l.limit, windowMs: l.windowMs, burst: l.burst });
  }
  return m;
}

function unhold(r: Reservation): void {
  if (r.day !== null) r.day.held -= r.micros;
  r.month.held -= r.micros;
  if (r.exp !== null) r.exp.held -= r.micros;
}

/** Open reservations by id: a direct-mapped array by serial, and a Map for the ones whose slot was taken. */
class OpenTable {
  readonly #slots: Array<Reservation | undefined> = new Array<Reservation | undefined>(OPEN_SLOTS).fill(undefined);
  readonly #overflow = new Map<string, Reservation>();

  get(id: string, serial: number): Reservation | undefined {
    const r = this.#slots[serial % OPEN_SLOTS];
    if (r !== undefined && r.id === id) return r;
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(id);
  }

  add(r: Reservation): void {
    const i = r.serial % OPEN_SLOTS;
    if (this.#slots[i] === undefined) this.#slots[i] = r;
    else this.#overflow.set(r.id, r);
  }

  delete(r: Reservation): void {
    const i = r.serial % OPEN_SLOTS;
    if (this.#slots[i] === r) this.#slots[i] = undefined;
    else this.#overflow.delete(r.id);
  }
}

/**
 * A reservation closed as it is made: one the store never held (a fail-open settle, a restored charge),
 * charged to the periods `p` names.
 */
function closedReservation(
  t: TenantState, id: string, serial: number, micros: number,
  p: { day: string; month: string; simulation: boolean; experimentId: string | null }, now: number, restored: boolean,
): Reservation {
  return {
    id, micros, day: p.simulation ? null : account(t.days, p.day), month: account(p.simulation ? t.sims : t.months, p.month),
    exp: p.experimentId === null ? null : experiment(t, p.experimentId), experimentId: p.experimentId, simulation: p.simulation,
    expiresAt: now, serial, restored, tenant: t, queue: { head: null, tail: null }, prev: null, next: null, expiredAt: now,
  };
}

function sweep(open: OpenTable, t: TenantState, now: number, retainMs: number): void {
  rotate(t, now, retainMs);
  const queues = t.queueList;
  for (let i = 0; i < queues.length; i++) {
    const queue = queues[i]!;
    for (let r = queue.head; r !== null && r.expiresAt <= now; r = queue.head) {
      unlink(r);
      open.delete(r);
      t.openCount--;
      unhold(r);
      r.expiredAt = now;
      t.expired.set(r.id, r);
    }
  }
}

/** Moves the prod-traffic window to `now`'s bucket. */
function roll(t: TenantState, now: number, windowMs: number): void {
  const bucket = Math.floor(now / windowMs);
  if (bucket === t.bucket) return;
  if (bucket === t.bucket + 1) {
    t.prevTotal = t.total;
    t.prevExper = t.exper;
  } else {
    t.prevTotal = 0;
    t.prevExper = 0;
  }
  t.total = 0;
  t.exper = 0;
  t.bucket = bucket;
}

/** Sliding-window estimate: the previous bucket weighted by the part of it still inside the window. */
function estimate(t: TenantState, now: number, windowMs: number): { total: number; exper: number } {
  const weight = 1 - (now - t.bucket * windowMs) / windowMs;
  return { total: t.prevTotal * weight + t.total, exper: t.prevExper * weight + t.exper };
}

class MemoryStore implements QuotaStore {
  readonly kind = 'memory';
  readonly #tenants = new Map<string, TenantState>();
  /** Open reservations of every tenant, by id. */
  readonly #open = new OpenTable();
  #done: Float64Array | null = null;

  #isDone(serial: number): boolean {
    return this.#done !== null && this.#done[serial % DONE_SLOTS] === serial;
  }

  #markDone(serial: number): void {
    (this.#done ??= new Float64Array(DONE_SLOTS).fill(-1))[serial % DONE_SLOTS] = serial;
  }

  /** Remembers a closed reservation: by serial, or by id when restore made it (file comment). */
  #closed(r: Reservation): void {
    if (r.restored) r.tenant.restored.add(r.id);
    else this.#markDone(r.serial);
  }

  async putEnvelope(env: CheckedEnvelope): Promise<void> {
    const t = this.#tenants.get(env.tenantId);
    if (t === undefined) this.#tenants.set(env.tenantId, new TenantState(env));
    else t.env = env;
  }

  async envelope(tenantId: string): Promise<CheckedEnvelope | null> {
    return this.envelopeSync(tenantId);
  }

  envelopeSync(tenantId: string): CheckedEnvelope | null {
    return this.#tenants.get(tenantId)?.env ?? null;
  }

  reserve(op: ReserveOp): ReserveOutcome {
    const t = this.#tenants.get(op.tenantId);
    if (t === undefined) return { ok: false, reason: 'UNKNOWN_TENANT' };
    const env = t.env;
    if (env.timeZone !== op.timeZone) return { ok: false, reason: 'STALE_ZONE' };
    const { now, micros } = op;
    sweep(this.#open, t, now, op.retainMs);
    if (t.frozen !== null) return { ok: false, reason: 'FROZEN' };
    if (op.experimentId !== null && !t.running.has(op.experimentId)) return { ok: false, reason: 'EXPERIMENT_NOT_RUNNING' };
    if (op.prod) {
      roll(t, now, op.prodWindowMs);
      if (op.experimentId !== null) {
        const e = estimate(t, now, op.prodWindowMs);
        if ((e.exper + 1) * 100 > env.maxProdTrafficPct * (e.total + 1)) return { ok: false, reason: 'PROD_TRAFFIC' };
      }
    }
    let day: Amounts | null = null;
    let month: Amounts;
    if (op.simulation) {
      month = account(t.sims, op.month);
      if (month.spent + month.held + micros > env.simulationMicros) return { ok: false, reason: 'SIMULATION_CAP', retryAfterMs: op.monthEnd - now };
    } else {
      day = account(t.days, op.day);
      if (day.spent + day.held + micros > env.dailyMicros) return { ok: false, reason: 'DAILY_CAP', retryAfterMs: op.dayEnd - now };
      month = account(t.months, op.month);
      if (month.spent + month.held + micros > env.monthlyMicros) return { ok: false, reason: 'MONTHLY_CAP', retryAfterMs: op.monthEnd - now };
    }
    let exp: Amounts | null = null;
    if (op.experimentId !== null) {
      exp = experiment(t, op.experimentId);
      if (exp.spent + exp.held + micros > env.experimentCapMicros) return { ok: false, reason: 'EXPERIMENT_CAP' };
    }
    // Rate limits last: a reservation refused for any reason takes no rate units.
    const gcra = op.gcra;
    let retry = 0;
    for (let i = 0; i < gcra.length; i++) {
      const g = gcra[i]!;
      const wait = meter(t, g).wait('', now, g.cost);
      if (wait > retry) retry = wait;
    }
    if (retry > 0) return retry === Infinity ? { ok: false, reason: 'RATE_LIMIT' } : { ok: false, reason: 'RATE_LIMIT', retryAfterMs: retry };
    for (let i = 0; i < gcra.length; i++) {
      const g = gcra[i]!;
      t.meters.get(g.key)!.take('', now, g.cost);
    }
    if (op.prod) {
      t.total++;
      if (op.experimentId !== null) t.exper++;
    }
    if (day !== null) day.held += micros;
    month.held += micros;
    if (exp !== null) exp.held += micros;
    const ttl = op.expiresAt - now;
    let queue = t.queues.get(ttl);
    if (queue === undefined) {
      t.queues.set(ttl, (queue = { head: null, tail: null }));
      t.queueList.push(queue);
    }
    const r: Reservation = {
      id: op.id, micros, day, month, exp, experimentId: op.experimentId, simulation: op.simulation, expiresAt: op.expiresAt, serial: op.serial,
      restored: false, tenant: t, queue, prev: queue.tail, next: null, expiredAt: 0,
    };
    if (queue.tail === null) queue.head = r;
    else queue.tail.next = r;
    queue.tail = r;
    this.#open.add(r);
    t.openCount++;
    return OK;
  }

  settle(op: SettleOp): SettleOutcome {
    const t = this.#tenants.get(op.tenantId);
    if (t === undefined) return { status: 'unknown' };
    rotate(t, op.now, op.retainMs);
    let r: Reservation | undefined = this.#open.get(op.id, op.serial);
    let late = false;
    if (r !== undefined && r.tenant === t) {
      this.#open.delete(r);
      t.openCount--;
      unlink(r);
      unhold(r);
    } else {
      // Expired first, by the whole id: a restored reservation's serial may be one this quota closed.
      r = t.expired.get(op.id);
      if (r !== undefined) {
        t.expired.delete(op.id);
        late = true;
      } else {
        if (this.#isDone(op.serial) || t.restored.has(op.id)) return { status: 'duplicate' };
        const f = op.fallback;
        if (f === undefined) return { status: 'unknown' };
        r = closedReservation(t, op.id, op.serial, f.micros, f, op.now, false);
      }
    }
    const micros = op.micros;
    if (r.day !== null) r.day.spent += micros;
    r.month.spent += micros;
    if (r.exp !== null) r.exp.spent += micros;
    this.#closed(r);
    return {
      status: 'settled', reservedMicros: r.micros, chargedMicros: micros, overrun: micros > r.micros, late, simulation: r.simulation,
      experimentId: r.experimentId, frozen: t.frozen !== null,
    };
  }

  release(op: ReleaseOp): ReleaseOutcome {
    const t = this.#tenants.get(op.tenantId);
    if (t === undefined) return { status: 'unknown' };
    rotate(t, op.now, op.retainMs);
    const r = this.#open.get(op.id, op.serial);
    if (r === undefined || r.tenant !== t) {
      const e = t.expired.get(op.id);
      if (e === undefined) return { status: this.#isDone(op.serial) || t.restored.has(op.id) ? 'duplicate' : 'unknown' };
      // Releasing an expired reservation only closes it: its amount has already returned.
      t.expired.delete(op.id);
      this.#closed(e);
      return { status: 'released', reservedMicros: e.micros };
    }
    this.#open.delete(r);
    t.openCount--;
    unlink(r);
    unhold(r);
    this.#closed(r);
    return { status: 'released', reservedMicros: r.micros };
  }

  async restore(op: RestoreOp): Promise<RestoreOutcome> {
    const t = this.#tenants.get(op.tenantId);
    if (t === undefined) return 'unknown_tenant';
    sweep(this.#open, t, op.now, op.retainMs);
    let r = this.#open.get(op.id, op.serial);
    if (r !== undefined && r.tenant !== t) r = undefined;
    const expired = r === undefined ? t.expired.get(op.id) : undefined;
    if (op.kind === 'open') {
      if (r !== undefined || expired !== undefined || t.restored.has(op.id) || (op.own && this.#isDone(op.serial))) return 'duplicate';
      // An id of this quota that the store no longer remembers: never held twice.
      if (op.own) return 'skipped';
      this.#hold(t, op);
      return 'held';
    }
    let outcome: RestoreOutcome = 'settled';
    if (r !== undefined) {
      this.#open.delete(r);
      t.openCount--;
      unlink(r);
      unhold(r);
    } else if (expired !== undefined) {
      t.expired.delete(op.id);
      r = expired;
    } else {
      if (t.restored.has(op.id) || (op.own && this.#isDone(op.serial))) return 'duplicate';
      // An id of this quota that the store no longer remembers: it may have been charged already.
      if (op.own) return 'skipped';
      r = closedReservation(t, op.id, op.serial, op.micros, op, op.now, true);
      outcome = 'charged';
    }
    if (r.day !== null) r.day.spent += op.micros;
    r.month.spent += op.micros;
    if (r.exp !== null) r.exp.spent += op.micros;
    this.#closed(r);
    return outcome;
  }

  /** Holds a restored open reservation again until its own expiry, in the tenant's queue of restored holds. */
  #hold(t: TenantState, op: RestoreOp): void {
    let queue = t.restoredQueue;
    if (queue === null) {
      t.restoredQueue = queue = { head: null, tail: null };
      t.queueList.push(queue);
    }
    const day = op.simulation ? null : account(t.days, op.day);
    const month = account(op.simulation ? t.sims : t.months, op.month);
    const exp = op.experimentId === null ? null : experiment(t, op.experimentId);
    let prev = queue.tail;
    while (prev !== null && prev.expiresAt > op.expiresAt) prev = prev.prev;
    const next = prev === null ? queue.head : prev.next;
    const r: Reservation = {
      id: op.id, micros: op.micros, day, month, exp, experimentId: op.experimentId, simulation: op.simulation, expiresAt: op.expiresAt,
      serial: op.serial, restored: true, tenant: t, queue, prev, next, expiredAt: 0,
    };
    if (prev === null) queue.head = r;
    else prev.next = r;
    if (next === null) queue.tail = r;
    else next.prev = r;
    if (day !== null) day.held += op.micros;
    month.held += op.micros;
    if (exp !== null) exp.held += op.micros;
    this.#open.add(r);
    t.openCount++;
    t.restored.add(op.id);
  }

  async startExperiment(tenantId: string, experimentId: string): Promise<ExperimentOutcome> {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { ok: false, reason: 'UNKNOWN_TENANT' };
    if (t.running.has(experimentId)) return { ok: true, started: false };
    if (t.frozen !== null) return { ok: false, reason: 'FROZEN' };
    if (t.running.size >= t.env.maxParallelExperiments) return { ok: false, reason: 'MAX_PARALLEL' };
    t.running.add(experimentId);
    return { ok: true, started: true };
  }

  async endExperiment(tenantId: string, experimentId: string): Promise<boolean> {
    return this.#tenants.get(tenantId)?.running.delete(experimentId) ?? false;
  }

  async runningExperiments(tenantId: string): Promise<string[]> {
    return [...(this.#tenants.get(tenantId)?.running ?? [])].sort();
  }

  async setFrozen(tenantId: string, reason: string | null): Promise<boolean> {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return false;
    t.frozen = reason;
    return true;
  }

  async usage(op: UsageOp): Promise<RawUsage | null> {
    const t = this.#tenants.get(op.tenantId);
    if (t === undefined) return null;
    sweep(this.#open, t, op.now, op.retainMs);
    roll(t, op.now, op.prodWindowMs);
    const e = estimate(t, op.now, op.prodWindowMs);
    const copy = (a: Amounts | undefined): Amounts => ({ spent: a?.spent ?? 0, held: a?.held ?? 0 });
    const ids = new Set([...t.exps.keys(), ...t.running]);
    return {
      envelope: t.env,
      frozen: t.frozen,
      day: copy(t.days.get(op.day)),
      month: copy(t.months.get(op.month)),
      simulation: copy(t.sims.get(op.month)),
      experiments: [...ids].sort().map((id) => ({ id, running: t.running.has(id), ...copy(t.exps.get(id)) })),
      prodRequests: e.total,
      experimentProdRequests: e.exper,
      openReservations: t.openCount,
    };
  }

  readonly #epsilon = new EpsilonAccounts();

  async epsilon(op: EpsilonOp): Promise<EpsilonOutcome> {
    if (!this.#tenants.has(op.tenantId)) return null;
    const e = this.#epsilon;
    if (op.kind === 'spend') return e.spend(op.tenantId, op.key, op.micros);
    if (op.kind === 'budget') e.setBudget(op.tenantId, op.key, op.micros);
    else if (op.kind === 'reset') e.reset(op.tenantId, op.key);
    return { ok: true, remainingMicros: e.remainingMicros(op.tenantId, op.key) ?? 0 };
  }

  async close(): Promise<void> {
    // Nothing to release: the numbers go with the process.
  }
}

/**
 * The embedded default store: in this process, atomic per operation, lost when the process ends.
 * @example const quota = createQuota({ store: memoryStore() });
 */
export function memoryStore(): QuotaStore {
  return new MemoryStore();
}
