// The shapes of a quota's API (docs/architecture.md, "@tenantry/quota"): what createQuota returns, and the
// requests, answers, usage and events that cross it. Protocol 1.0 names (snake_case) wherever a value
// leaves the process as JSON.
import type { Domain } from '@tenantry/core';
import type { CostDefense, CostDefenseEvent } from './defense.js';
import type { BudgetEnvelope, CheckedEnvelope } from './envelope.js';
import type { EpsilonSpendResult } from './epsilon.js';
import type { DenyReason, QuotaStore } from './store.js';

export interface ReserveRequest {
  tenant_id: string;
  /** Estimated cost, USD (rounded up to the micro). */
  usd: number;
  domain?: Domain;
  experiment_id?: string;
  simulation?: boolean;
  ttl_ms?: number;
  /** Route for the per-(tenant, route) rate limits. */
  route?: string;
  /** Tokens for the token rate limits. */
  tokens?: number;
}

/**
 * An admission, or a denial with its reason (store.ts, DenyReason). `NOT_OWNER` comes only from a fenced
 * redisStore (cluster mode): this node does not (any more) hold the tenant's shard; nothing was held, and it
 * is never admitted from the fail-open allowance (which is for a store that cannot be reached).
 */
export type ReserveResult =
  | { ok: true; id: string; expires_at: number }
  | { ok: false; reason: DenyReason; retry_after_ms?: number };

export type SettleResult =
  | {
      status: 'settled';
      tenant_id: string;
      reserved_usd: number;
      charged_usd: number;
      overrun: boolean;
      late: boolean;
      /** This settle froze the tenant (an overrun with freezeOnOverrun, the tenant not frozen already). */
      froze: boolean;
    }
  | { status: 'duplicate' | 'unknown'; tenant_id: string };

export type ReleaseResult = { status: 'released' | 'duplicate' | 'unknown'; tenant_id: string };

export interface PeriodUsage {
  key: string;
  start: number;
  end: number;
  cap_usd: number;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
}

export interface Usage {
  tenant_id: string;
  timezone: string;
  frozen: string | null;
  day: PeriodUsage;
  month: PeriodUsage;
  simulation: PeriodUsage;
  experiments: Array<{ experiment_id: string; running: boolean; cap_usd: number; spent_usd: number; reserved_usd: number; remaining_usd: number }>;
  max_parallel_experiments: number;
  prod_traffic: { window_ms: number; requests: number; experiment_requests: number; max_pct: number };
  open_reservations: number;
}

/**
 * A charge the host wrote in its log (the gateway's `invoke` entry), for quota.restore. Its reservation's
 * periods, simulation flag and experiment come from the id when it carries them (redisStore ids);
 * otherwise from `reserved_at` (default `at`) in the tenant's zone, and `simulation` / `experiment_id`.
 */
export interface RestoreCharge {
  kind: 'charge';
  /** The id reserve() returned. */
  id: string;
  tenant_id: string;
  /** What was charged, USD. */
  usd: number;
  /** When the charge was written (epoch ms); a shared store skips an unknown charge retainMs older than now. */
  at: number;
  /** When the reservation was admitted (its `invoke.admit` entry; epoch ms), for the periods of an id without them. */
  reserved_at?: number;
  experiment_id?: string;
  simulation?: boolean;
}

/** A reservation admitted and not charged (an `invoke.admit` entry with no `invoke` after it), for quota.restore. */
export interface RestoreOpen {
  kind: 'open';
  id: string;
  tenant_id: string;
  /** The amount reserved, USD (the id's, when it carries one). */
  usd: number;
  /** When it was admitted (epoch ms): its periods when the id does not carry them. */
  at: number;
  /** When it expires (epoch ms): held again until then, nothing once passed. */
  expires_at: number;
  experiment_id?: string;
  simulation?: boolean;
}

export type RestoreRecord = RestoreCharge | RestoreOpen;

/** How many records quota.restore applied, and how. */
export interface RestoreReport {
  /** Charges the store had never seen, charged to their reservation's periods. */
  charged: number;
  /** Charges of reservations the store still held, open or expired: settled now, as settle() would. */
  settled: number;
  /** Records the store had applied already (settled, released or held): nothing changed. */
  duplicate: number;
  /**
   * Records the store cannot tell it applied, left alone rather than risk counting twice: a charge it never
   * saw written retainMs or more before now on a shared store, an open record whose id carries no record
   * on Redis, an id of this very quota that the memory store no longer remembers.
   */
  skipped: number;
  /** Open reservations held again until their expiry. */
  held: number;
  /** Open reservations already expired: nothing to hold. */
  expired: number;
  /** Records of tenants without an envelope: nothing changed. */
  unknown_tenant: number;
}

/** Events a quota emits to `on()` listeners: its own, and those of its cost defense. */
export type QuotaEvent =
  | { type: 'overrun'; tenant_id: string; id: string; at: number; reserved_usd: number; charged_usd: number; froze: boolean }
  | { type: 'fail_open'; tenant_id: string; id: string; at: number; usd: number; allowance_left_usd: number }
  | { type: 'defense_error'; tenant_id: string; at: number; action: string; message: string }
  | CostDefenseEvent;

export interface Quota {
  readonly store: QuotaStore;
  /** Checks and stores a tenant's envelope (a host's call: never through options.control). */
  setEnvelope(env: BudgetEnvelope): Promise<CheckedEnvelope>;
  reserve(req: ReserveRequest): Promise<ReserveResult>;
  /**
   * Charges a reservation. An overrun that freezes the tenant (freezeOnOverrun) hands its control event to
   * options.control first; when the sink rejects, the freeze applies all the same and settle rejects with
   * CONTROL_FAILED (the settlement has landed: a retry answers `duplicate`).
   */
  settle(id: string, usd: number): Promise<SettleResult>;
  release(id: string): Promise<ReleaseResult>;
  /**
   * reserve / settle / release without a promise, for a store that answers at once (memoryStore()): the
   * same checks, answers and errors, thrown instead of rejected. A store that answers later (Redis) is
   * refused before anything is done (INVALID_ARGUMENT naming options.store), and so is settleSync when an
   * overrun freeze would have to await options.control (INVALID_ARGUMENT naming options.control).
   */
  reserveSync(req: ReserveRequest): ReserveResult;
  settleSync(id: string, usd: number): SettleResult;
  releaseSync(id: string): ReleaseResult;
  startExperiment(tenant_id: string, experiment_id: string): Promise<{ ok: true; started: boolean } | { ok: false; reason: DenyReason }>;
  endExperiment(tenant_id: string, experiment_id: string): Promise<boolean>;
  usage(tenant_id: string): Promise<Usage>;
  /** A host's freeze and unfreeze: applied directly, never through options.control (the host records its own). */
  freeze(tenant_id: string, reason: string): Promise<void>;
  unfreeze(tenant_id: string): Promise<void>;
  on(listener: (e: QuotaEvent) => void): () => void;
  /**
   * Rebuilds usage from the host's log at start (docs/architecture.md, "@tenantry/quota"): each record is
   * applied exactly once, so caps stay caps across restarts. A charge the store knows as closed is a
   * duplicate; one it holds (open, or expired and still remembered) is settled now; one it never saw is
   * charged to its reservation's periods — on memoryStore() that is every charge after a restart — except
   * that a shared store (Redis) skips one written retainMs or more before now, which it may have charged
   * and forgotten. An open record expiring after now is held again under its id until then (unless the
   * store knows the id); an expired one does nothing. Never a denial: a restore may leave a tenant above a
   * cap, and then reserve denies. Records of tenants without an envelope are counted and skipped. Every
   * record is checked before any is applied; restoring the same records again changes nothing.
   * @throws QuotaError INVALID_ARGUMENT / INVALID_AMOUNT / INVALID_TENANT_ID naming the record's field
   *   (`records[3].usd`); STORE_UNAVAILABLE (some records may have been applied: retry, it is idempotent).
   */
  restore(records: Iterable<RestoreRecord>): Promise<RestoreReport>;
  /**
   * Differential-privacy ε budgets in the store (shared by every node on Redis), as EpsilonLedger keeps them
   * in one process: the tenant's total (no key) or a dataset key's; a spend must fit every budget covering
   * it, and at least one must exist. UNKNOWN_TENANT for a tenant without an envelope.
   */
  setEpsilonBudget(tenant_id: string, epsilon: number, key?: string): Promise<void>;
  spendEpsilon(tenant_id: string, epsilon: number, key?: string): Promise<EpsilonSpendResult>;
  epsilonRemaining(tenant_id: string, key?: string): Promise<number>;
  resetEpsilon(tenant_id: string, key?: string): Promise<void>;
  /** The cost defense, when configured. */
  readonly defense: CostDefense | null;
  /**
   * One cost-defense tick at the clock's now: alerts and limiter actions for every tenant, the actions
   * applied before it resolves. Rejects without a defense (INVALID_ARGUMENT naming options.defense).
   */
  tickDefense(): Promise<CostDefenseEvent[]>;
  close(): Promise<void>;
}
