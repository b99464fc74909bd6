// createQuota (DESIGN.md contract): budget envelopes, reservations before the call and settlement after,
// experiments, freezes and usage, over a store (memoryStore() by default, or redisStore(...)).
//
// The quota checks input once per call (typed errors naming the field), computes the tenant's calendar
// day and month in its zone (cached until the day ends), builds the reservation id and the rate-limit
// checks, and hands one operation to the store, which checks and changes every number in one atomic step
// (store.ts). Denials are answers ({ ok: false, reason }), never errors.
//
// Fail closed (DESIGN.md): a store that cannot be reached denies with STORE_UNAVAILABLE. With `failOpen`
// a tenant may instead spend up to a bounded local allowance per outage; those reservations live in this
// process and are charged to the store when settled (settle throws STORE_UNAVAILABLE while the store is
// still down, and the caller retries: settle is idempotent by id, so a retry never charges twice).
import { randomBytes } from 'node:crypto';
import { dayOf, monthOf, type CalendarPeriod } from './calendar.js';
import { checkEnvelope, checkTenantId, MAX_TENANT_ID_LENGTH, type BudgetEnvelope, type CheckedEnvelope } from './envelope.js';
import { QuotaError } from './errors.js';
import { CostDefense, type CostDefenseEvent, type CostDefenseOptions, type LimiterActionEvent } from './defense.js';
import { checkEpsilonKey, EPSILON_MICROS, epsilonResult, epsilonToMicros, type EpsilonSpendResult } from './epsilon.js';
import { checkRateLimit, type CheckedRateLimit, type RateLimit } from './gcra.js';
import { memoryStore } from './memory-store.js';
import { chargeToMicros, MICROS_PER_USD, usdToMicros } from './money.js';
import type { Amounts, DenyReason, EpsilonOp, GcraCheck, QuotaStore, ReleaseOutcome, ReserveOp, ReserveOutcome, SettleOp, SettleOutcome } from './store.js';

export type Domain = 'LAB' | 'SHADOW' | 'PROD';

/** Rate limits applied to every tenant: per tenant and per (tenant, route); requests and tokens. */
export interface QuotaRateLimits {
  requests?: RateLimit;
  tokens?: RateLimit;
  routeRequests?: RateLimit;
  routeTokens?: RateLimit;
}

export interface QuotaOptions {
  /** Where the numbers live (default: memoryStore()). */
  store?: QuotaStore;
  /** Milliseconds since the epoch (default Date.now). Every node must agree on time for shared stores. */
  clock?: () => number;
  /** TTL of a reservation without ttl_ms (default 60 000). */
  defaultTtlMs?: number;
  /** Longest ttl_ms accepted (default 24 h). */
  maxTtlMs?: number;
  /**
   * How long closed reservations are remembered (default 5 min): an expired one can still be settled
   * (charged late) for this long, and a repeated settle or release answers `duplicate`. On Redis each
   * remembered id is a sorted-set member, so memory grows with settlement rate × retainMs.
   */
  retainMs?: number;
  /** The sliding window of max_prod_traffic_pct (default 1 h). */
  prodWindowMs?: number;
  rateLimits?: QuotaRateLimits;
  /** Freeze a tenant (reason "OVERRUN") when a settlement exceeds its reservation (default false). */
  freezeOnOverrun?: boolean;
  /** When the store cannot be reached: USD each tenant may still reserve per outage (default: none, fail closed). */
  failOpen?: { usd: number | string };
  /**
   * Cost defense (defense.ts) over the spend this quota settles: multi-window burn-rate alerts and the
   * derivative limiter, whose actions the quota applies (freeze_tenant freezes the tenant with reason
   * "COST_LIMITER", terminate_experiment ends its running experiments; suspend_canary is for the host).
   * Each tenant's budget is its monthly_budget_usd per budgetPeriodMs. Ticks every `tickMs` (default
   * 10 000; 0: only when tickDefense() is called). Default: off.
   */
  defense?: CostDefenseOptions & { tickMs?: number };
}

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

/** Events a quota emits to `on()` listeners: its own, and those of its cost defense. */
export type QuotaEvent =
  | { type: 'overrun'; tenant_id: string; id: string; at: number; reserved_usd: number; charged_usd: number; froze: boolean }
  | { type: 'fail_open'; tenant_id: string; id: string; at: number; usd: number; allowance_left_usd: number }
  | { type: 'defense_error'; tenant_id: string; at: number; action: string; message: string }
  | CostDefenseEvent;

export interface Quota {
  readonly store: QuotaStore;
  setEnvelope(env: BudgetEnvelope): Promise<CheckedEnvelope>;
  reserve(req: ReserveRequest): Promise<ReserveResult>;
  settle(id: string, usd: number): Promise<SettleResult>;
  release(id: string): Promise<ReleaseResult>;
  /**
   * reserve / settle / release without a promise, for a store that answers at once (memoryStore()): the
   * same checks, answers and errors, thrown instead of rejected. A store that answers later (Redis) is
   * refused before anything is done (INVALID_ARGUMENT naming options.store).
   */
  reserveSync(req: ReserveRequest): ReserveResult;
  settleSync(id: string, usd: number): SettleResult;
  releaseSync(id: string): ReleaseResult;
  startExperiment(tenant_id: string, experiment_id: string): Promise<{ ok: true; started: boolean } | { ok: false; reason: DenyReason }>;
  endExperiment(tenant_id: string, experiment_id: string): Promise<boolean>;
  usage(tenant_id: string): Promise<Usage>;
  freeze(tenant_id: string, reason: string): Promise<void>;
  unfreeze(tenant_id: string): Promise<void>;
  on(listener: (e: QuotaEvent) => void): () => void;
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

const DOMAINS: ReadonlySet<string> = new Set(['LAB', 'SHADOW', 'PROD']);
const REQUEST_FIELDS: ReadonlySet<string> = new Set(['tenant_id', 'usd', 'domain', 'experiment_id', 'simulation', 'ttl_ms', 'route', 'tokens']);
const OPTION_FIELDS: ReadonlySet<string> = new Set(['store', 'clock', 'defaultTtlMs', 'maxTtlMs', 'retainMs', 'prodWindowMs', 'rateLimits', 'freezeOnOverrun', 'failOpen', 'defense']);
const LIMIT_FIELDS: ReadonlySet<string> = new Set(['requests', 'tokens', 'routeRequests', 'routeTokens']);
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DAY_MS = 86_400_000;
const NO_CHECKS: readonly GcraCheck[] = Object.freeze([]);

function argument(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max) throw argument(field, `must be an integer from 1 to ${max}, got ${String(v)}`);
  return v;
}

/** An experiment id or route: a non-empty string without control characters. */
function checkName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TENANT_ID_LENGTH || CONTROL.test(v)) {
    throw argument(field, `must be a non-empty string of at most ${MAX_TENANT_ID_LENGTH} characters without control characters, got ${typeof v === 'string' ? JSON.stringify(v) : typeof v}`);
  }
  return v;
}

function usd(micros: number): number {
  return micros / MICROS_PER_USD;
}

interface Checked {
  store: QuotaStore;
  clock: () => number;
  defaultTtlMs: number;
  maxTtlMs: number;
  retainMs: number;
  prodWindowMs: number;
  limits: { requests?: CheckedRateLimit; tokens?: CheckedRateLimit; routeRequests?: CheckedRateLimit; routeTokens?: CheckedRateLimit };
  freezeOnOverrun: boolean;
  failOpenMicros: number | null;
  hasLimits: boolean;
  defense: CostDefense | null;
  tickMs: number;
}

function checkOptions(o: unknown): Checked {
  if (o === undefined) o = {};
  if (!isObject(o)) throw argument('options', 'must be an object');
  for (const k of Object.keys(o)) if (!OPTION_FIELDS.has(k)) throw argument(`options.${k}`, 'is not an option of createQuota');
  const store = o.store === undefined ? memoryStore() : o.store;
  if (!isObject(store) || typeof (store as Partial<QuotaStore>).reserve !== 'function' || typeof (store as Partial<QuotaStore>).settle !== 'function') {
    throw argument('options.store', 'must be a store from memoryStore() or redisStore(...)');
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw argument('options.clock', 'must be a function returning epoch milliseconds');
  const maxTtlMs = o.maxTtlMs === undefined ? DAY_MS : positiveInt(o.maxTtlMs, 'options.maxTtlMs', 30 * DAY_MS);
  const defaultTtlMs = o.defaultTtlMs === undefined ? Math.min(60_000, maxTtlMs) : positiveInt(o.defaultTtlMs, 'options.defaultTtlMs', maxTtlMs);
  const retainMs = o.retainMs === undefined ? 5 * 60_000 : positiveInt(o.retainMs, 'options.retainMs', 30 * DAY_MS);
  const prodWindowMs = o.prodWindowMs === undefined ? 3_600_000 : positiveInt(o.prodWindowMs, 'options.prodWindowMs', 30 * DAY_MS);
  const limits: Checked['limits'] = {};
  if (o.rateLimits !== undefined) {
    if (!isObject(o.rateLimits)) throw argument('options.rateLimits', 'must be an object { requests?, tokens?, routeRequests?, routeTokens? }');
    for (const [k, v] of Object.entries(o.rateLimits)) {
      if (!LIMIT_FIELDS.has(k)) throw argument(`options.rateLimits.${k}`, 'is not a rate limit of createQuota');
      if (v !== undefined) limits[k as keyof Checked['limits']] = checkRateLimit(v, `options.rateLimits.${k}`);
    }
  }
  if (o.freezeOnOverrun !== undefined && typeof o.freezeOnOverrun !== 'boolean') throw argument('options.freezeOnOverrun', 'must be a boolean');
  let failOpenMicros: number | null = null;
  if (o.failOpen !== undefined) {
    if (!isObject(o.failOpen) || Object.keys(o.failOpen).some((k) => k !== 'usd')) throw argument('options.failOpen', 'must be an object { usd }');
    failOpenMicros = usdToMicros(o.failOpen.usd, 'options.failOpen.usd');
  }
  let defense: CostDefense | null = null;
  let tickMs = 0;
  if (o.defense !== undefined) {
    if (!isObject(o.defense)) throw argument('options.defense', 'must be an object of cost-defense options');
    const { tickMs: t, ...rest } = o.defense;
    tickMs = t === undefined ? 10_000 : t === 0 ? 0 : positiveInt(t, 'options.defense.tickMs', DAY_MS);
    defense = new CostDefense(rest as CostDefenseOptions);
  }
  return {
    defense, tickMs,
    store: store as unknown as QuotaStore,
    clock: (o.clock as (() => number) | undefined) ?? Date.now,
    defaultTtlMs, maxTtlMs, retainMs, prodWindowMs, limits,
    freezeOnOverrun: o.freezeOnOverrun === true,
    failOpenMicros,
    hasLimits: Object.keys(limits).length > 0,
  };
}

/** A checked reservation request: what the store operation needs besides the tenant's periods. */
type RequestParts = ReserveOp;

interface TenantCache {
  timeZone: string;
  enc: string;
  day: CalendarPeriod;
  month: CalendarPeriod;
}

/** A reservation admitted from the local fail-open allowance while the store was unreachable. */
interface LocalReservation {
  tenantId: string;
  micros: number;
  day: string;
  month: string;
  simulation: boolean;
  experimentId: string | null;
  expiresAt: number;
}

function storeDown(cause: unknown): QuotaError {
  return new QuotaError('STORE_UNAVAILABLE', `the quota store could not be reached: ${cause instanceof Error ? cause.message : String(cause)}`, { field: 'store', cause });
}

/** A store call whose failure is STORE_UNAVAILABLE. */
async function reach<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw storeDown(e);
  }
}

class QuotaImpl implements Quota {
  readonly store: QuotaStore;
  readonly #o: Checked;
  readonly #recordInId: boolean;
  readonly #node = randomBytes(6).toString('base64url');
  #seq = 0;
  readonly #tenants = new Map<string, TenantCache>();
  /** Tenant ids by their encoded form in reservation ids (tenants this quota has loaded). */
  readonly #byEnc = new Map<string, string>();
  readonly #listeners = new Set<(e: QuotaEvent) => void>();
  // Fail-open: micros admitted locally per tenant during the current outage, and the local reservations.
  readonly #allowance = new Map<string, number>();
  readonly #local = new Map<string, LocalReservation>();

  readonly defense: CostDefense | null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(o: Checked) {
    this.#o = o;
    this.store = o.store;
    this.#recordInId = o.store.recordInId === true;
    this.defense = o.defense;
    if (o.defense !== null && o.tickMs > 0) {
      this.#timer = setInterval(() => void this.tickDefense().catch(() => {}), o.tickMs);
      this.#timer.unref();
    }
  }

  async tickDefense(): Promise<CostDefenseEvent[]> {
    const defense = this.defense;
    if (defense === null) throw argument('options.defense', 'is not set: this quota has no cost defense');
    const now = this.#now();
    const events = defense.tick(now);
    for (const e of events) {
      this.#emit(e);
      if (e.type === 'freeze_tenant' || e.type === 'terminate_experiment') await this.#act(e);
    }
    return events;
  }

  /** Gives settled spend to the cost defense, once it knows the tenant's budget (settled here, reserved elsewhere). */
  #record(tenantId: string, micros: number, at: number): void {
    const defense = this.defense!;
    if (this.#tenants.has(tenantId)) defense.record(tenantId, micros, at);
    else void this.#load(tenantId, at).then((c) => c !== null && defense.record(tenantId, micros, at), () => {});
  }

  /** Applies a limiter action; a store that fails is reported as a defense_error event. */
  async #act(e: LimiterActionEvent): Promise<void> {
    try {
      if (e.type === 'freeze_tenant') {
        await this.store.setFrozen(e.tenant_id, 'COST_LIMITER');
      } else {
        for (const exp of await this.store.runningExperiments(e.tenant_id)) await this.store.endExperiment(e.tenant_id, exp);
      }
    } catch (err) {
      this.#emit({ type: 'defense_error', tenant_id: e.tenant_id, at: e.at, action: e.type, message: err instanceof Error ? err.message : String(err) });
    }
  }

  #now(): number {
    const now = this.#o.clock();
    if (typeof now !== 'number' || !Number.isFinite(now)) throw argument('options.clock', `must return finite epoch milliseconds, got ${String(now)}`);
    return now;
  }

  #emit(e: QuotaEvent): void {
    for (const l of this.#listeners) l(e);
  }

  on(listener: (e: QuotaEvent) => void): () => void {
    if (typeof listener !== 'function') throw argument('listener', 'must be a function');
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

  /** The store operation of a request, checked; its id and periods are filled in by #op. */
  #checkRequest(req: unknown, now: number): RequestParts {
    if (!isObject(req)) throw argument('request', 'must be an object { tenant_id, usd, … }');
    for (const k in req) if (!REQUEST_FIELDS.has(k)) throw argument(k, 'is not a field of a reservation request');
    // A tenant in the cache was checked when it was loaded.
    const tenantId = typeof req.tenant_id === 'string' && this.#tenants.has(req.tenant_id) ? req.tenant_id : checkTenantId(req.tenant_id);
    const micros = chargeToMicros(req.usd, 'usd');
    const domain = req.domain === undefined ? 'PROD' : req.domain;
    if (typeof domain !== 'string' || !DOMAINS.has(domain)) throw argument('domain', `must be "LAB", "SHADOW" or "PROD", got ${String(domain)}`);
    const experimentId = req.experiment_id === undefined ? null : checkName(req.experiment_id, 'experiment_id');
    if (req.simulation !== undefined && typeof req.simulation !== 'boolean') throw argument('simulation', 'must be a boolean');
    const simulation = req.simulation === true;
    const ttlMs = req.ttl_ms === undefined ? this.#o.defaultTtlMs : positiveInt(req.ttl_ms, 'ttl_ms', this.#o.maxTtlMs);
    const route = req.route === undefined ? null : checkName(req.route, 'route');
    const tokens = req.tokens === undefined ? 0 : req.tokens;
    if (typeof tokens !== 'number' || !Number.isFinite(tokens) || tokens < 0) throw argument('tokens', `must be a non-negative finite number, got ${String(tokens)}`);
    let gcra: readonly GcraCheck[] = NO_CHECKS;
    if (this.#o.hasLimits) {
      const { requests, tokens: tokenLimit, routeRequests, routeTokens } = this.#o.limits;
      const checks: GcraCheck[] = [];
      const add = (l: CheckedRateLimit | undefined, key: string, cost: number): void => {
        if (l !== undefined && cost > 0) checks.push({ key, intervalMs: l.intervalMs, toleranceMs: l.toleranceMs, cost });
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
      experimentId, prod: domain === 'PROD' && !simulation, prodWindowMs: this.#o.prodWindowMs, gcra, retainMs: this.#o.retainMs,
    };
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

  /** A new reservation id: node.serial.tenant, then the record when the store wants it (store.ts). */
  #id(op: ReserveOp, c: TenantCache): string {
    op.serial = this.#seq++;
    const base = `${this.#node}.${op.serial}.${c.enc}`;
    return this.#recordInId ? `${base}|${op.micros}|${op.simulation ? 1 : 0}|${c.day.key}|${c.month.key}|${op.experimentId ?? ''}` : base;
  }

  /** Gives the operation a new id and the tenant's current periods. */
  #op(op: ReserveOp, c: TenantCache): ReserveOp {
    op.id = this.#id(op, c);
    op.timeZone = c.timeZone;
    op.day = c.day.key;
    op.month = c.month.key;
    op.dayEnd = c.day.end;
    op.monthEnd = c.month.end;
    return op;
  }

  /** The answer to a store outcome; null when the zone was stale or the tenant unknown to the cache (read again). */
  #answer(r: RequestParts, op: ReserveOp, out: ReserveOutcome, retried: boolean): ReserveResult | null {
    if (this.#allowance.size > 0) this.#allowance.delete(r.tenantId);
    if (this.#local.size > 0) this.#forgetLocal(op.now);
    if (out.ok) return { ok: true, id: op.id, expires_at: op.expiresAt };
    if (out.reason === 'STALE_ZONE' || out.reason === 'UNKNOWN_TENANT') {
      // The envelope changed under this quota (another node set it): read the zone again, once.
      this.#tenants.delete(r.tenantId);
      if (!retried) return null;
      if (out.reason === 'STALE_ZONE') return { ok: false, reason: 'STORE_UNAVAILABLE' };
    }
    const reason = out.reason as DenyReason;
    return out.retryAfterMs === undefined ? { ok: false, reason } : { ok: false, reason, retry_after_ms: out.retryAfterMs };
  }

  reserve(req: ReserveRequest): Promise<ReserveResult> {
    let r: RequestParts;
    let now: number;
    try {
      now = this.#now();
      r = this.#checkRequest(req, now);
    } catch (e) {
      return Promise.reject(e);
    }
    // Fast path: a cached tenant and a store that answers at once (memoryStore) cost no await.
    const c = this.#cached(r.tenantId, now);
    if (c !== undefined) {
      const op = this.#op(r, c);
      let out;
      try {
        out = this.store.reserve(op);
      } catch (e) {
        return Promise.resolve(this.#failOpen(r, now, c));
      }
      if (!(out instanceof Promise)) {
        const answer = this.#answer(r, op, out, false);
        if (answer !== null) return Promise.resolve(answer);
      } else {
        return out.then(
          (o) => this.#answer(r, op, o, false) ?? this.#reserveSlow(r, now),
          () => this.#failOpen(r, now, c),
        );
      }
    }
    return this.#reserveSlow(r, now);
  }

  /** The store, when it answers at once. */
  #syncStore(): QuotaStore & { envelopeSync(tenantId: string): CheckedEnvelope | null } {
    const store = this.store;
    if (typeof store.envelopeSync !== 'function') {
      throw argument('options.store', `is a ${store.kind} store, which answers asynchronously: use reserve(), settle() and release()`);
    }
    return store as QuotaStore & { envelopeSync(tenantId: string): CheckedEnvelope | null };
  }

  reserveSync(req: ReserveRequest): ReserveResult {
    const store = this.#syncStore();
    const now = this.#now();
    const r = this.#checkRequest(req, now);
    for (let retried = false; ; retried = true) {
      let c = this.#cached(r.tenantId, now);
      if (c === undefined) {
        const env = store.envelopeSync(r.tenantId);
        if (env === null) return { ok: false, reason: 'UNKNOWN_TENANT' };
        c = this.#cache(env, now);
      }
      const op = this.#op(r, c);
      const answer = this.#answer(r, op, store.reserve(op) as ReserveOutcome, retried);
      if (answer !== null) return answer;
    }
  }

  settleSync(id: string, amount: number): SettleResult {
    const store = this.#syncStore();
    const op = this.#settleOp(id, amount);
    return this.#settled(op, store.settle(op) as SettleOutcome);
  }

  releaseSync(id: string): ReleaseResult {
    const store = this.#syncStore();
    const { tenantId, serial } = this.#parseId(id);
    const out = store.release({ id, serial, tenantId, now: this.#now(), retainMs: this.#o.retainMs }) as ReleaseOutcome;
    return { status: out.status, tenant_id: tenantId };
  }

  async #reserveSlow(r: RequestParts, now: number): Promise<ReserveResult> {
    for (let retried = false; ; retried = true) {
      let c: TenantCache | null;
      try {
        c = this.#cached(r.tenantId, now) ?? (await this.#load(r.tenantId, now));
      } catch {
        return this.#failOpen(r, now, null);
      }
      if (c === null) return { ok: false, reason: 'UNKNOWN_TENANT' };
      const op = this.#op(r, c);
      let out;
      try {
        out = await this.store.reserve(op);
      } catch {
        return this.#failOpen(r, now, c);
      }
      const answer = this.#answer(r, op, out, retried);
      if (answer !== null) return answer;
    }
  }

  /** Forgets fail-open reservations retainMs past their expiry (as stores forget closed ones). */
  #forgetLocal(now: number): void {
    for (const [id, l] of this.#local) if (l.expiresAt + this.#o.retainMs <= now) this.#local.delete(id);
  }

  #failOpen(r: RequestParts, now: number, c: TenantCache | null): ReserveResult {
    const allowance = this.#o.failOpenMicros;
    if (allowance === null || c === null) return { ok: false, reason: 'STORE_UNAVAILABLE' };
    const used = this.#allowance.get(r.tenantId) ?? 0;
    if (used + r.micros > allowance) return { ok: false, reason: 'STORE_UNAVAILABLE' };
    this.#allowance.set(r.tenantId, used + r.micros);
    const id = this.#id(r, c);
    this.#local.set(id, {
      tenantId: r.tenantId, micros: r.micros, day: c.day.key, month: c.month.key, simulation: r.simulation,
      experimentId: r.experimentId, expiresAt: r.expiresAt,
    });
    this.#emit({ type: 'fail_open', tenant_id: r.tenantId, id, at: now, usd: usd(r.micros), allowance_left_usd: usd(allowance - used - r.micros) });
    return { ok: true, id, expires_at: r.expiresAt };
  }

  /** The tenant and serial of a reservation id (node.serial.tenant). */
  #parseId(id: unknown): { tenantId: string; serial: number } {
    if (typeof id !== 'string' || id.length > 4096) throw argument('id', 'must be a reservation id returned by reserve()');
    const i = id.indexOf('.');
    const j = i < 0 ? -1 : id.indexOf('.', i + 1);
    const serial = j < 0 || j === i + 1 ? Number.NaN : Number(id.slice(i + 1, j));
    if (!Number.isSafeInteger(serial)) throw argument('id', `is not a reservation id: ${JSON.stringify(id.slice(0, 80))}`);
    const bar = id.indexOf('|', j + 1);
    const enc = bar < 0 ? id.slice(j + 1) : id.slice(j + 1, bar);
    let tenantId = this.#byEnc.get(enc);
    if (tenantId === undefined) {
      try {
        tenantId = checkTenantId(decodeURIComponent(enc), 'id');
      } catch {
        throw argument('id', `is not a reservation id: ${JSON.stringify(id.slice(0, 80))}`);
      }
    }
    return { tenantId, serial };
  }

  /** The store operation of a settlement, checked (with the fallback of a fail-open reservation). */
  #settleOp(id: string, amount: number): SettleOp {
    const { tenantId, serial } = this.#parseId(id);
    const micros = chargeToMicros(amount, 'usd');
    const op: SettleOp = { id, serial, tenantId, micros, now: this.#now(), retainMs: this.#o.retainMs, freezeOnOverrun: this.#o.freezeOnOverrun };
    const local = this.#local.size === 0 ? undefined : this.#local.get(id);
    if (local !== undefined) op.fallback = { micros: local.micros, day: local.day, month: local.month, simulation: local.simulation, experimentId: local.experimentId };
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
      return Promise.reject(storeDown(e));
    }
    // A store that answers at once (memoryStore) costs no await.
    if (!(out instanceof Promise)) return Promise.resolve(this.#settled(op, out));
    return out.then((o) => this.#settled(op, o), (e: unknown) => {
      throw storeDown(e);
    });
  }

  #settled(op: SettleOp, out: SettleOutcome): SettleResult {
    const { id, tenantId, micros, now } = op;
    if (op.fallback !== undefined) this.#local.delete(id);
    if (out.status !== 'settled') return { status: out.status, tenant_id: tenantId };
    if (this.defense !== null && !out.simulation) this.#record(tenantId, micros, now);
    if (out.overrun) {
      this.#emit({ type: 'overrun', tenant_id: tenantId, id, at: now, reserved_usd: usd(out.reservedMicros), charged_usd: usd(micros), froze: out.froze });
    }
    return { status: 'settled', tenant_id: tenantId, reserved_usd: usd(out.reservedMicros), charged_usd: usd(micros), overrun: out.overrun, late: out.late, froze: out.froze };
  }

  async release(id: string): Promise<ReleaseResult> {
    const { tenantId, serial } = this.#parseId(id);
    if (this.#local.delete(id)) return { status: 'released', tenant_id: tenantId };
    const out = await reach(() => this.store.release({ id, serial, tenantId, now: this.#now(), retainMs: this.#o.retainMs }));
    return { status: out.status, tenant_id: tenantId };
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
    if (!known) throw new QuotaError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(tenantId)} has no envelope (setEnvelope first)`, { field: 'tenant_id' });
  }

  async #epsilon(tenant_id: string, kind: EpsilonOp['kind'], epsilon: number, key: unknown) {
    const tenantId = checkTenantId(tenant_id);
    const micros = kind === 'budget' || kind === 'spend' ? epsilonToMicros(epsilon, kind === 'budget' ? 'budget' : 'epsilon') : 0;
    const k = checkEpsilonKey(key);
    const out = await reach(() => this.store.epsilon({ tenantId, key: k, kind, micros }));
    if (out === null) throw new QuotaError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(tenantId)} has no envelope (setEnvelope first)`, { field: 'tenant_id' });
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
      throw storeDown(e);
    }
    if (raw === null || c === null) throw new QuotaError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(tenantId)} has no envelope (setEnvelope first)`, { field: 'tenant_id' });
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
      open_reservations: raw.openReservations + [...this.#local.values()].filter((l) => l.tenantId === tenantId).length,
    };
  }

  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
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
  return new QuotaImpl(checkOptions(options));
}
