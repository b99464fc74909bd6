// createQuota (docs/architecture.md, "@tenantry/quota"): budget envelopes, reservations before the call
// and settlement after, experiments, freezes and usage, over a store (memoryStore() by default, or
// redisStore(...)).
//
// The quota checks input once per call (typed errors naming the field), computes the tenant's calendar
// day and month in its zone (cached until the day ends), builds the reservation id and the rate-limit
// checks (reservation.ts), and hands one operation to the store, which checks and changes every number in
// one atomic step (store.ts). Denials are answers ({ ok: false, reason }), never errors.
//
// Fail closed (docs/architecture.md, "Rules every package keeps"): a store that cannot be reached denies
// with STORE_UNAVAILABLE, unless the fail-open allowance (fail-open.ts) covers the reservation. The allowance
// is for an unreachable store only: a denial (NOT_OWNER of a fenced store included) is an answer, and a
// QuotaError a store throws (a fenced store's bad `options.fence`, fence.ts) is the host's bug, passed on.
//
// Usage is rebuilt from the host's log at start with restore() (restore.ts), exactly once per record.
//
// Freezes the quota decides itself (an overrun with freezeOnOverrun; the cost limiter, defense-actions.ts)
// are control events, durable through options.control before they apply (auto-freeze.ts). A store never
// freezes inside a settle: the settlement lands, then the freeze follows through the sink and setFrozen.
import { randomBytes } from 'node:crypto';
import { autoFreeze } from './auto-freeze.js';
import { dayOf, monthOf, type CalendarPeriod } from './calendar.js';
import { DefenseActions } from './defense-actions.js';
import type { CostDefense, CostDefenseEvent } from './defense.js';
import { checkEnvelope, checkTenantId, type BudgetEnvelope, type CheckedEnvelope } from './envelope.js';
import { checkEpsilonKey, EPSILON_MICROS, epsilonResult, epsilonToMicros, type EpsilonSpendResult } from './epsilon.js';
import { invalidArgument, isQuotaError, QuotaError, reach, storeUnavailable } from './errors.js';
import { FailOpenAllowance } from './fail-open.js';
import { chargeToMicros, MICROS_PER_USD } from './money.js';
import { checkQuotaOptions, type CheckedQuotaOptions, type QuotaOptions } from './quota-options.js';
import type {
  PeriodUsage, Quota, QuotaEvent, ReleaseResult, ReserveRequest, ReserveResult, RestoreRecord, RestoreReport, SettleResult, Usage,
} from './quota-types.js';
import { checkName, checkRequest, parseReservationId, reservationId, withPeriods, type TenantCache } from './reservation.js';
import { applyRestore, checkRestoreRecords } from './restore.js';
import type { Amounts, DenyReason, EpsilonOp, QuotaStore, ReleaseOutcome, ReserveOp, ReserveOutcome, SettleOp, SettleOutcome } from './store.js';

type Settled = Extract<SettleOutcome, { status: 'settled' }>;

function usd(micros: number): number {
  return micros / MICROS_PER_USD;
}

function unknownTenant(tenantId: string): QuotaError {
  return new QuotaError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(tenantId)} has no envelope (setEnvelope first)`, { field: 'tenant_id' });
}

class QuotaImpl implements Quota {
  readonly store: QuotaStore;
  readonly defense: CostDefense | null;
  readonly #o: CheckedQuotaOptions;
  readonly #recordInId: boolean;
  readonly #node = randomBytes(6).toString('base64url');
  #seq = 0;
  readonly #tenants = new Map<string, TenantCache>();
  /** Tenant ids by their encoded form in reservation ids (tenants this quota has loaded). */
  readonly #byEnc = new Map<string, string>();
  readonly #listeners = new Set<(e: QuotaEvent) => void>();
  readonly #failOpen: FailOpenAllowance;
  readonly #defense: DefenseActions | null;
  readonly #known = (tenantId: string): boolean => this.#tenants.has(tenantId);

  constructor(o: CheckedQuotaOptions) {
    this.#o = o;
    this.store = o.store;
    this.#recordInId = o.store.recordInId === true;
    this.#failOpen = new FailOpenAllowance(o.failOpenMicros, o.retainMs);
    this.defense = o.defense;
    this.#defense = o.defense === null ? null : new DefenseActions(o.defense, o.store, o.control, (e) => this.#emit(e));
    if (this.#defense !== null && o.tickMs > 0) this.#defense.start(o.tickMs, () => this.#now());
  }

  async tickDefense(): Promise<CostDefenseEvent[]> {
    if (this.#defense === null) throw invalidArgument('options.defense', 'is not set: this quota has no cost defense');
    return this.#defense.tick(this.#now());
  }

  /** Gives settled spend to the cost defense, once it knows the tenant's budget (settled here, reserved elsewhere). */
  #record(tenantId: string, micros: number, at: number): void {
    const defense = this.defense!;
    if (this.#tenants.has(tenantId)) defense.record(tenantId, micros, at);
    else void this.#load(tenantId, at).then((c) => c !== null && defense.record(tenantId, micros, at), () => {});
  }

  #now(): number {
    const now = this.#o.clock();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw invalidArgument('options.clock', `must return finite epoch milliseconds, got ${String(now)}`);
    return now;
  }

  #emit(e: QuotaEvent): void {
    for (const l of this.#listeners) l(e);
  }

  on(listener: (e: QuotaEvent) => void): () => void {
    if (typeof listener !== 'function') throw invalidArgument('listener', 'must be a function');
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async setEnvelope(env: BudgetEnvelope): Promise<CheckedEnvelope> {
    const checked = checkEnvelope(env);
    await reach(() => this.store.putEnvelope(checked));
    this.#tenants.delete(checked.tenantId);
    this.defense?.setBudget(checked.tenantId, checked.monthlyMicros);
    return checked;
  }

  /**
   * Reads the tenant's envelope from the store and caches its zone and current periods (and gives the cost
   * defense its budget, for tenants whose envelope another node set); null for an unknown tenant.
   */
  async #load(tenantId: string, now: number): Promise<TenantCache | null> {
    const env = await this.store.envelope(tenantId);
    return env === null ? null : this.#cache(env, now);
  }

  /** Caches a tenant's zone and current periods from its envelope (and gives the cost defense its budget). */
  #cache(env: CheckedEnvelope, now: number): TenantCache {
    const tenantId = env.tenantId;
    const tz = env.timeZone;
    this.defense?.setBudget(tenantId, env.monthlyMicros);
    const c: TenantCache = { timeZone: tz, enc: encodeURIComponent(tenantId), day: dayOf(now, tz), month: monthOf(now, tz) };
    this.#tenants.set(tenantId, c);
    this.#byEnc.set(c.enc, tenantId);
    return c;
  }

  /** The cached tenant with its periods moved to `now`, or undefined when not cached. */
  #cached(tenantId: string, now: number): TenantCache | undefined {
    const c = this.#tenants.get(tenantId);
    if (c !== undefined && (now >= c.day.end || now < c.day.start)) {
      c.day = dayOf(now, c.timeZone);
      if (now >= c.month.end || now < c.month.start) c.month = monthOf(now, c.timeZone);
    }
    return c;
  }

  /** A new reservation id for `op` (reservation.ts). */
  #id(op: ReserveOp, c: TenantCache): string {
    op.serial = this.#seq++;
    return reservationId(this.#node, op, c, this.#recordInId);
  }

  /** The answer to a store outcome; null when the zone was stale or the tenant unknown to the cache (read again). */
  #answer(op: ReserveOp, out: ReserveOutcome, retried: boolean): ReserveResult | null {
    // A fenced store answers NOT_OWNER without Redis when this node does not hold the tenant: no sign that
    // the store is reachable again.
    if (out.ok || out.reason !== 'NOT_OWNER') this.#failOpen.storeAnswered(op.tenantId, op.now);
    if (out.ok) return { ok: true, id: op.id, expires_at: op.expiresAt };
    if (out.reason === 'STALE_ZONE' || out.reason === 'UNKNOWN_TENANT') {
      // The envelope changed under this quota (another node set it): read the zone again, once.
      this.#tenants.delete(op.tenantId);
      if (!retried) return null;
      if (out.reason === 'STALE_ZONE') return { ok: false, reason: 'STORE_UNAVAILABLE' };
    }
    const reason = out.reason as DenyReason;
    return out.retryAfterMs === undefined ? { ok: false, reason } : { ok: false, reason, retry_after_ms: out.retryAfterMs };
  }

  reserve(req: ReserveRequest): Promise<ReserveResult> {
    let r: ReserveOp;
    let now: number;
    try {
      now = this.#now();
      r = checkRequest(req, now, this.#o, this.#known);
    } catch (e) {
      return Promise.reject(e);
    }
    // Fast path: a cached tenant and a store that answers at once (memoryStore) cost no await.
    const c = this.#cached(r.tenantId, now);
    if (c !== undefined) {
      const op = withPeriods(r, this.#id(r, c), c);
      let out;
      try {
        out = this.store.reserve(op);
      } catch (e) {
        return this.#failed(e, r, now, c);
      }
      if (!(out instanceof Promise)) {
        const answer = this.#answer(op, out, false);
        if (answer !== null) return Promise.resolve(answer);
      } else {
        return out.then(
          (o) => this.#answer(op, o, false) ?? this.#reserveSlow(r, now),
          (e: unknown) => this.#failed(e, r, now, c),
        );
      }
    }
    return this.#reserveSlow(r, now);
  }

  async #reserveSlow(r: ReserveOp, now: number): Promise<ReserveResult> {
    for (let retried = false; ; retried = true) {
      let c: TenantCache | null;
      try {
        c = this.#cached(r.tenantId, now) ?? (await this.#load(r.tenantId, now));
      } catch {
        return this.#reserveLocally(r, now, null);
      }
      if (c === null) return { ok: false, reason: 'UNKNOWN_TENANT' };
      const op = withPeriods(r, this.#id(r, c), c);
      let out;
      try {
        out = await this.store.reserve(op);
      } catch (e) {
        return this.#failed(e, r, now, c);
      }
      const answer = this.#answer(op, out, retried);
      if (answer !== null) return answer;
    }
  }

  /**
   * The store's reserve failed: a QuotaError is the host's (a fenced store's bad `options.fence`) and rejects;
   * anything else means the store is unreachable.
   */
  #failed(e: unknown, r: ReserveOp, now: number, c: TenantCache | null): Promise<ReserveResult> {
    if (isQuotaError(e)) return Promise.reject(e);
    return Promise.resolve(this.#reserveLocally(r, now, c));
  }

  /** The store is unreachable: admit from the fail-open allowance, or deny (fail closed). */
  #reserveLocally(r: ReserveOp, now: number, c: TenantCache | null): ReserveResult {
    const left = c === null ? null : this.#failOpen.admit(r.tenantId, r.micros);
    if (left === null || c === null) return { ok: false, reason: 'STORE_UNAVAILABLE' };
    const id = this.#id(r, c);
    this.#failOpen.hold(id, {
      tenantId: r.tenantId, micros: r.micros, day: c.day.key, month: c.month.key, simulation: r.simulation, experimentId: r.experimentId,
      expiresAt: r.expiresAt,
    });
    this.#emit({ type: 'fail_open', tenant_id: r.tenantId, id, at: now, usd: usd(r.micros), allowance_left_usd: usd(left) });
    return { ok: true, id, expires_at: r.expiresAt };
  }

  /** The store, when it answers at once. */
  #syncStore(): QuotaStore & { envelopeSync(tenantId: string): CheckedEnvelope | null } {
    const store = this.store;
    if (typeof store.envelopeSync !== 'function') {
      throw invalidArgument('options.store', `is a ${store.kind} store, which answers asynchronously: use reserve(), settle() and release()`);
    }
    return store as QuotaStore & { envelopeSync(tenantId: string): CheckedEnvelope | null };
  }

  reserveSync(req: ReserveRequest): ReserveResult {
    const store = this.#syncStore();
    const now = this.#now();
    const r = checkRequest(req, now, this.#o, this.#known);
    for (let retried = false; ; retried = true) {
      let c = this.#cached(r.tenantId, now);
      if (c === undefined) {
        const env = store.envelopeSync(r.tenantId);
        if (env === null) return { ok: false, reason: 'UNKNOWN_TENANT' };
        c = this.#cache(env, now);
      }
      const op = withPeriods(r, this.#id(r, c), c);
      const answer = this.#answer(op, store.reserve(op) as ReserveOutcome, retried);
      if (answer !== null) return answer;
    }
  }

  /** The store operation of a settlement, checked (with the fallback of a fail-open reservation). */
  #settleOp(id: string, amount: number): SettleOp {
    const { tenantId, serial } = parseReservationId(id, this.#byEnc);
    const micros = chargeToMicros(amount, 'usd');
    const op: SettleOp = { id, serial, tenantId, micros, now: this.#now(), retainMs: this.#o.retainMs };
    const fallback = this.#failOpen.fallback(id);
    if (fallback !== undefined) op.fallback = fallback;
    return op;
  }

  settle(id: string, amount: number): Promise<SettleResult> {
    let op: SettleOp;
    let out;
    try {
      op = this.#settleOp(id, amount);
    } catch (e) {
      return Promise.reject(e);
    }
    try {
      out = this.store.settle(op);
    } catch (e) {
      return Promise.reject(storeUnavailable(e));
    }
    // A store that answers at once (memoryStore) costs no await, unless the settle freezes.
    if (!(out instanceof Promise)) return this.#landed(op, out);
    return out.then((o) => this.#landed(op, o), (e: unknown) => {
      throw storeUnavailable(e);
    });
  }

  settleSync(id: string, amount: number): SettleResult {
    const store = this.#syncStore();
    if (this.#o.freezeOnOverrun && this.#o.control !== null) {
      throw invalidArgument('options.control', 'is set, and an overrun freeze awaits it: use settle()');
    }
    const op = this.#settleOp(id, amount);
    const out = this.#closed(op, store.settle(op) as SettleOutcome);
    if (out.status !== 'settled') return { status: out.status, tenant_id: op.tenantId };
    if (!this.#freezes(out)) return this.#overran(op, out, false);
    // Without a sink nothing is awaited, and a store that answers at once has frozen when setFrozen returns (store.ts).
    void store.setFrozen(op.tenantId, 'OVERRUN');
    return this.#overran(op, out, true);
  }

  /** Bookkeeping once the store has the settlement: the fail-open record closed, the spend to the defense. */
  #closed(op: SettleOp, out: SettleOutcome): SettleOutcome {
    if (op.fallback !== undefined) this.#failOpen.close(op.id);
    if (out.status === 'settled' && this.defense !== null && !out.simulation) this.#record(op.tenantId, op.micros, op.now);
    return out;
  }

  /** This settlement must freeze the tenant: an overrun, freezeOnOverrun, and the tenant not frozen already. */
  #freezes(out: Settled): boolean {
    return out.overrun && this.#o.freezeOnOverrun && !out.frozen;
  }

  /** The answer to a settlement that landed, after its freeze when it freezes. */
  #landed(op: SettleOp, outcome: SettleOutcome): Promise<SettleResult> {
    const out = this.#closed(op, outcome);
    if (out.status !== 'settled') return Promise.resolve({ status: out.status, tenant_id: op.tenantId });
    if (!this.#freezes(out)) return Promise.resolve(this.#overran(op, out, false));
    return this.#freezeOverrun(op, out);
  }

  /** The OVERRUN freeze of a landed settlement: the control event first, then the store (auto-freeze.ts). */
  async #freezeOverrun(op: SettleOp, out: Settled): Promise<SettleResult> {
    let frozen;
    try {
      frozen = await autoFreeze(this.store, this.#o.control, op.tenantId, 'OVERRUN');
    } catch (e) {
      this.#overran(op, out, false);
      throw storeUnavailable(e, 'the settlement landed, but its OVERRUN freeze could not be applied');
    }
    const result = this.#overran(op, out, frozen.applied);
    if (frozen.sinkFailure !== null) {
      const cause = frozen.sinkFailure.cause;
      throw new QuotaError(
        'CONTROL_FAILED',
        `options.control refused the OVERRUN freeze of tenant ${JSON.stringify(op.tenantId)} (the settlement landed and the freeze was applied): ${cause instanceof Error ? cause.message : String(cause)}`,
        { field: 'options.control', cause },
      );
    }
    return result;
  }

  /** The settled answer, and the overrun event when it was one. */
  #overran(op: SettleOp, out: Settled, froze: boolean): SettleResult {
    const { id, tenantId, micros, now } = op;
    if (out.overrun) this.#emit({ type: 'overrun', tenant_id: tenantId, id, at: now, reserved_usd: usd(out.reservedMicros), charged_usd: usd(micros), froze });
    return { status: 'settled', tenant_id: tenantId, reserved_usd: usd(out.reservedMicros), charged_usd: usd(micros), overrun: out.overrun, late: out.late, froze };
  }

  async release(id: string): Promise<ReleaseResult> {
    const { tenantId, serial } = parseReservationId(id, this.#byEnc);
    if (this.#failOpen.close(id)) return { status: 'released', tenant_id: tenantId };
    const out = await reach(() => this.store.release({ id, serial, tenantId, now: this.#now(), retainMs: this.#o.retainMs }));
    return { status: out.status, tenant_id: tenantId };
  }

  releaseSync(id: string): ReleaseResult {
    const store = this.#syncStore();
    const { tenantId, serial } = parseReservationId(id, this.#byEnc);
    const out = store.release({ id, serial, tenantId, now: this.#now(), retainMs: this.#o.retainMs }) as ReleaseOutcome;
    return { status: out.status, tenant_id: tenantId };
  }

  async restore(records: Iterable<RestoreRecord>): Promise<RestoreReport> {
    const checked = checkRestoreRecords(records, this.#byEnc);
    return applyRestore(checked, { store: this.store, now: this.#now(), retainMs: this.#o.retainMs, node: this.#node });
  }

  async startExperiment(tenant_id: string, experiment_id: string) {
    const tenantId = checkTenantId(tenant_id);
    const exp = checkName(experiment_id, 'experiment_id');
    return reach(() => this.store.startExperiment(tenantId, exp));
  }

  async endExperiment(tenant_id: string, experiment_id: string): Promise<boolean> {
    const tenantId = checkTenantId(tenant_id);
    const exp = checkName(experiment_id, 'experiment_id');
    return reach(() => this.store.endExperiment(tenantId, exp));
  }

  async freeze(tenant_id: string, reason: string): Promise<void> {
    const tenantId = checkTenantId(tenant_id);
    const why = checkName(reason, 'reason');
    await this.#setFrozen(tenantId, why);
  }

  async unfreeze(tenant_id: string): Promise<void> {
    await this.#setFrozen(checkTenantId(tenant_id), null);
  }

  async #setFrozen(tenantId: string, reason: string | null): Promise<void> {
    const known = await reach(() => this.store.setFrozen(tenantId, reason));
    if (!known) throw unknownTenant(tenantId);
  }

  async #epsilon(tenant_id: string, kind: EpsilonOp['kind'], epsilon: number, key: unknown) {
    const tenantId = checkTenantId(tenant_id);
    const micros = kind === 'budget' || kind === 'spend' ? epsilonToMicros(epsilon, kind === 'budget' ? 'budget' : 'epsilon') : 0;
    const k = checkEpsilonKey(key);
    const out = await reach(() => this.store.epsilon({ tenantId, key: k, kind, micros }));
    if (out === null) throw unknownTenant(tenantId);
    return out;
  }

  async setEpsilonBudget(tenant_id: string, epsilon: number, key?: string): Promise<void> {
    await this.#epsilon(tenant_id, 'budget', epsilon, key);
  }

  async spendEpsilon(tenant_id: string, epsilon: number, key?: string): Promise<EpsilonSpendResult> {
    return epsilonResult(await this.#epsilon(tenant_id, 'spend', epsilon, key));
  }

  async epsilonRemaining(tenant_id: string, key?: string): Promise<number> {
    return (await this.#epsilon(tenant_id, 'remaining', 0, key)).remainingMicros / EPSILON_MICROS;
  }

  async resetEpsilon(tenant_id: string, key?: string): Promise<void> {
    await this.#epsilon(tenant_id, 'reset', 0, key);
  }

  async usage(tenant_id: string): Promise<Usage> {
    const tenantId = checkTenantId(tenant_id);
    const now = this.#now();
    let raw;
    let c;
    try {
      this.#tenants.delete(tenantId);
      c = await this.#load(tenantId, now);
      raw = c === null ? null : await this.store.usage({ tenantId, now, day: c.day.key, month: c.month.key, prodWindowMs: this.#o.prodWindowMs, retainMs: this.#o.retainMs });
    } catch (e) {
      throw storeUnavailable(e);
    }
    if (raw === null || c === null) throw unknownTenant(tenantId);
    const env = raw.envelope;
    const period = (p: CalendarPeriod, cap: number, a: Amounts): PeriodUsage => ({
      key: p.key, start: p.start, end: p.end, cap_usd: usd(cap), spent_usd: usd(a.spent), reserved_usd: usd(a.held),
      remaining_usd: usd(Math.max(0, cap - a.spent - a.held)),
    });
    return {
      tenant_id: tenantId,
      timezone: env.timeZone,
      frozen: raw.frozen,
      day: period(c.day, env.dailyMicros, raw.day),
      month: period(c.month, env.monthlyMicros, raw.month),
      simulation: period(c.month, env.simulationMicros, raw.simulation),
      experiments: raw.experiments.map((x) => ({
        experiment_id: x.id, running: x.running, cap_usd: usd(env.experimentCapMicros), spent_usd: usd(x.spent), reserved_usd: usd(x.held),
        remaining_usd: usd(Math.max(0, env.experimentCapMicros - x.spent - x.held)),
      })),
      max_parallel_experiments: env.maxParallelExperiments,
      prod_traffic: { window_ms: this.#o.prodWindowMs, requests: raw.prodRequests, experiment_requests: raw.experimentProdRequests, max_pct: env.maxProdTrafficPct },
      open_reservations: raw.openReservations + this.#failOpen.openCount(tenantId),
    };
  }

  async close(): Promise<void> {
    this.#defense?.stop();
    this.#listeners.clear();
    await this.store.close();
  }
}

/**
 * Creates a quota over a store (default memoryStore()).
 * @throws QuotaError INVALID_ARGUMENT / INVALID_AMOUNT naming the option at fault.
 * @example
 * const quota = createQuota();
 * await quota.setEnvelope({ tenant_id: 'acme', monthly_budget_usd: 1000, daily_budget_usd: 200,
 *   experiment_budget_cap_usd: 50, max_parallel_experiments: 2, max_prod_traffic_pct: 5 });
 * const r = await quota.reserve({ tenant_id: 'acme', usd: 0.25 });
 * if (r.ok) await quota.settle(r.id, 0.21);
 */
export function createQuota(options?: QuotaOptions): Quota {
  return new QuotaImpl(checkQuotaOptions(options));
}
