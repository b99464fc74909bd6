// The store behind a quota (docs/architecture.md, "@tenantry/quota": `createQuota({ store })`, `memoryStore()`,
// `redisStore(...)`).
//
// A store owns every number that must be checked and changed together, and makes each operation one
// atomic step: a reservation checks frozen, experiment, prod-traffic, the daily / monthly (or simulation)
// caps, the experiment cap and the rate limits, and then holds the amount and takes the rate units — or
// changes nothing and answers the first reason that failed. So concurrent callers cannot push spend past
// a cap (no race between check and charge), in one process or, with Redis, across processes.
//
// The quota (quota.ts, reservation.ts) does what needs no shared state before calling the store: it checks
// input, works out the tenant's calendar day and month in its time zone (so that stores need no zone rules;
// the store checks that the zone the keys were made for is still the tenant's) and makes the reservation
// id. Freezing is not a store's decision: a settle reports whether the tenant was frozen, and the quota
// freezes an overrun afterwards through its control sink and setFrozen (auto-freeze.ts).
//
// Semantics both stores implement (and test/quota/quota.test.ts runs against both):
// - A reservation counts against the day and month (or, for simulation, the simulation month) in which it
//   was made; its settlement is charged to those same periods, so a period's spend never exceeds what was
//   admitted in it.
// - Expiry: a reservation still open at its `expiresAt` returns its amount (swept at the tenant's next
//   operation, or by usage()). It is kept `retainMs` longer, so that a late settle still charges.
// - settle / release take effect once per id; a repeat answers `duplicate` while the closed reservation is
//   remembered (`retainMs`), then `unknown`.
// - Restore (quota.restore, restore.ts) applies a record of the host's log exactly once (RestoreOp below):
//   a charge the store knows as closed is a duplicate, one it knows as open or expired is settled (as
//   settle would, late), one it never saw is charged to the periods the op names; an open record it does
//   not know is held again until its own expiry. Never a denial: restoring is accounting, not admission.
// - Prod traffic: a sliding window of the tenant's PROD requests (not simulation), estimated from two fixed
//   buckets (the current and the previous window, the latter weighted by the part of it still inside the
//   sliding window). An experiment's PROD request is admitted when (experiment requests + 1) × 100 ≤
//   max_prod_traffic_pct × (all PROD requests + 1).
// - Fenced admissions (cluster mode; redisStore's `fence`, fence.ts): a reservation or an experiment start of
//   a tenant whose shard this node does not hold, or holds under a token that is no longer the lease's, is
//   refused NOT_OWNER before any other check and changes nothing. Settle, release, restore and the rest are
//   not fenced: they account for work admitted under a valid token (redis-store.ts).
import type { CheckedEnvelope } from './envelope.js';
import type { CheckedRateLimit } from './gcra.js';

/** Why a reservation (or starting an experiment) was refused. */
export type DenyReason =
  | 'DAILY_CAP'
  | 'MONTHLY_CAP'
  | 'EXPERIMENT_CAP'
  | 'MAX_PARALLEL'
  | 'PROD_TRAFFIC'
  | 'FROZEN'
  | 'RATE_LIMIT'
  | 'UNKNOWN_TENANT'
  | 'SIMULATION_CAP'
  /** The experiment has not been started, or was ended (by endExperiment or the derivative limiter). */
  | 'EXPERIMENT_NOT_RUNNING'
  /** The store could not be reached (fail closed). */
  | 'STORE_UNAVAILABLE'
  /**
   * Cluster mode (redisStore's `fence`, fence.ts): this node does not hold the tenant's shard, or its token is
   * no longer the shard's (another node took the lease, or it expired). Checked before anything else; an
   * admission refused so changed nothing. Only admissions (reserve, startExperiment) are fenced.
   */
  | 'NOT_OWNER';

/** One GCRA check of a reservation (gcra.ts): key within the tenant, the limit, cost. */
export interface GcraCheck {
  key: string;
  limit: CheckedRateLimit;
  cost: number;
}

/** A reservation as the store receives it: checked, converted, with its periods. */
export interface ReserveOp {
  id: string;
  /** The serial number inside the id (see SettleOp). */
  serial: number;
  tenantId: string;
  micros: number;
  now: number;
  expiresAt: number;
  /** The zone `day` and `month` were computed in; a store whose envelope says otherwise answers 'STALE_ZONE'. */
  timeZone: string;
  day: string;
  month: string;
  /** Ends of the day and month (epoch ms): for key expiry and retry-after of cap denials. */
  dayEnd: number;
  monthEnd: number;
  simulation: boolean;
  experimentId: string | null;
  /** A PROD-domain request (not simulation): counts as prod traffic. */
  prod: boolean;
  prodWindowMs: number;
  gcra: readonly GcraCheck[];
  retainMs: number;
}

export type ReserveOutcome =
  | { ok: true }
  | { ok: false; reason: DenyReason | 'STALE_ZONE'; retryAfterMs?: number };

export interface SettleOp {
  id: string;
  /** The serial number inside the id (node.serial.tenant), unique per quota: a compact key for closed ids. */
  serial: number;
  tenantId: string;
  micros: number;
  now: number;
  retainMs: number;
  /**
   * A reservation the store never saw (admitted from the fail-open allowance while it was unreachable):
   * charged to these periods when the id is neither open nor remembered as closed.
   */
  fallback?: { micros: number; day: string; month: string; simulation: boolean; experimentId: string | null };
}

export type SettleOutcome =
  | {
      status: 'settled';
      reservedMicros: number;
      chargedMicros: number;
      overrun: boolean;
      /** The reservation had expired (its amount had already returned) before this settle. */
      late: boolean;
      simulation: boolean;
      experimentId: string | null;
      /**
       * The tenant was frozen when the settlement landed. A store never freezes in a settle: the quota
       * freezes an overrun afterwards, through its control sink and setFrozen, unless it was frozen already.
       */
      frozen: boolean;
    }
  | { status: 'duplicate' | 'unknown' };

export interface ReleaseOp {
  id: string;
  serial: number;
  tenantId: string;
  now: number;
  retainMs: number;
}

export type ReleaseOutcome = { status: 'released'; reservedMicros: number } | { status: 'duplicate' | 'unknown' };

/**
 * One record of quota.restore (restore.ts), checked, with the periods it counts against: those its id
 * carries, or else those of its reservation time in the tenant's zone.
 */
export interface RestoreOp {
  /** 'charge': an amount the host charged; 'open': a reservation admitted and not charged, to hold again. */
  kind: 'charge' | 'open';
  id: string;
  serial: number;
  tenantId: string;
  /** charge: the amount charged; open: the amount held. */
  micros: number;
  day: string;
  month: string;
  simulation: boolean;
  experimentId: string | null;
  /**
   * charge: when the host wrote it (epoch ms). A shared store skips a charge it never saw whose `at` is
   * `retainMs` or more before `now`: it may be one it charged and has since forgotten.
   */
  at: number;
  /** open: when the hold expires (after `now`); charge: 0. */
  expiresAt: number;
  now: number;
  retainMs: number;
  /**
   * The id was made by the quota restoring it. The memory store remembers closed ids of its quota by serial
   * alone, so it can answer for them only then; restored ids (made before a restart) it remembers by id.
   */
  own: boolean;
}

/** What restore did with one record (RestoreReport counts them). */
export type RestoreOutcome = 'charged' | 'settled' | 'duplicate' | 'skipped' | 'held' | 'unknown_tenant';

export type ExperimentOutcome = { ok: true; started: boolean } | { ok: false; reason: 'MAX_PARALLEL' | 'UNKNOWN_TENANT' | 'FROZEN' | 'NOT_OWNER' };

/** Spent and held micros of one period or experiment. */
export interface Amounts {
  spent: number;
  held: number;
}

/** What usage() reads from a store, in micros and counts. */
export interface RawUsage {
  envelope: CheckedEnvelope;
  frozen: string | null;
  day: Amounts;
  month: Amounts;
  simulation: Amounts;
  experiments: Array<{ id: string; running: boolean } & Amounts>;
  prodRequests: number;
  experimentProdRequests: number;
  openReservations: number;
}

export interface UsageOp {
  tenantId: string;
  now: number;
  day: string;
  month: string;
  prodWindowMs: number;
  retainMs: number;
}

/** An ε-budget operation (epsilon.ts semantics, in micro-ε); key null is the tenant total. */
export interface EpsilonOp {
  tenantId: string;
  key: string | null;
  kind: 'budget' | 'spend' | 'remaining' | 'reset';
  micros: number;
}

/** ok: the spend fitted (always true for the other kinds); remainingMicros: what is left after it. Null: no envelope. */
export type EpsilonOutcome = { ok: boolean; remainingMicros: number } | null;

/** A place where a quota keeps its numbers. Every method is one atomic step. */
export interface QuotaStore {
  readonly kind: string;
  /**
   * Reservation ids end with their record, "|<micros>|<0|1 simulation>|<day>|<month>|<experiment>", so that
   * the store can settle by id without looking the reservation up (redisStore).
   */
  readonly recordInId?: boolean;
  putEnvelope(env: CheckedEnvelope): Promise<void>;
  /** The tenant's envelope, or null for a tenant without one. */
  envelope(tenantId: string): Promise<CheckedEnvelope | null>;
  /**
   * Present only on a store whose reserve, settle and release answer at once (not a Promise), and whose
   * setFrozen has taken effect when it returns: the envelope, synchronously. Quota's reserveSync /
   * settleSync / releaseSync need it.
   */
  envelopeSync?(tenantId: string): CheckedEnvelope | null;
  reserve(op: ReserveOp): ReserveOutcome | Promise<ReserveOutcome>;
  settle(op: SettleOp): SettleOutcome | Promise<SettleOutcome>;
  release(op: ReleaseOp): ReleaseOutcome | Promise<ReleaseOutcome>;
  /** Applies one record of the host's log, exactly once (file comment; RestoreOp). */
  restore(op: RestoreOp): Promise<RestoreOutcome>;
  startExperiment(tenantId: string, experimentId: string): Promise<ExperimentOutcome>;
  /** Ends a running experiment; false when it was not running. */
  endExperiment(tenantId: string, experimentId: string): Promise<boolean>;
  /** Experiments running now (for the derivative limiter's terminate action). */
  runningExperiments(tenantId: string): Promise<string[]>;
  /** Freezes (reason) or unfreezes (null); false for a tenant without an envelope. */
  setFrozen(tenantId: string, reason: string | null): Promise<boolean>;
  usage(op: UsageOp): Promise<RawUsage | null>;
  epsilon(op: EpsilonOp): Promise<EpsilonOutcome>;
  close(): Promise<void>;
}
