// The options of createQuota (docs/architecture.md, "@tenantry/quota"), checked once into the form the
// quota runs on: defaults filled in, every value checked, an INVALID_ARGUMENT (or INVALID_AMOUNT) naming
// the option at fault otherwise. The caller's object is never changed.
import { isObject, type ControlSink } from '@tenantry/core';
import type { CostDefenseOptions } from './defense-options.js';
import { CostDefense } from './defense.js';
import { invalidArgument } from './errors.js';
import { checkRateLimit, type CheckedRateLimit, type RateLimit } from './gcra.js';
import { memoryStore } from './memory-store.js';
import { usdToMicros } from './money.js';
import type { QuotaStore } from './store.js';

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
  /**
   * Where the quota's own freezes go before they take effect (docs/architecture.md, "Control state"): an
   * OVERRUN freeze (freezeOnOverrun) and a COST_LIMITER freeze (the limiter's freeze_tenant) are handed to
   * it as `{ type: 'freeze', tenant_id, source, reason }` and awaited, then applied in the store. A sink
   * that rejects does not stop the freeze (fail closed); the failure surfaces as CONTROL_FAILED from
   * settle() or a defense_error event. Host calls (freeze, unfreeze, setEnvelope) never reach it.
   * Default: none (freezes apply directly).
   */
  control?: ControlSink;
}

/** Options after checking. */
export interface CheckedQuotaOptions {
  store: QuotaStore;
  clock: () => number;
  defaultTtlMs: number;
  maxTtlMs: number;
  retainMs: number;
  prodWindowMs: number;
  limits: { requests?: CheckedRateLimit; tokens?: CheckedRateLimit; routeRequests?: CheckedRateLimit; routeTokens?: CheckedRateLimit };
  hasLimits: boolean;
  freezeOnOverrun: boolean;
  failOpenMicros: number | null;
  defense: CostDefense | null;
  tickMs: number;
  control: ControlSink | null;
}

export const DAY_MS = 86_400_000;
const OPTION_FIELDS: ReadonlySet<string> = new Set([
  'store', 'clock', 'defaultTtlMs', 'maxTtlMs', 'retainMs', 'prodWindowMs', 'rateLimits', 'freezeOnOverrun', 'failOpen', 'defense', 'control',
]);
const LIMIT_FIELDS: ReadonlySet<string> = new Set(['requests', 'tokens', 'routeRequests', 'routeTokens']);

/** An integer from 1 to `max`, or INVALID_ARGUMENT naming `field`. */
export function positiveInt(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > max) throw invalidArgument(field, `must be an integer from 1 to ${max}, got ${String(v)}`);
  return v;
}

/**
 * Checks createQuota's options (undefined: every default).
 * @throws QuotaError INVALID_ARGUMENT or INVALID_AMOUNT naming the option (`options.failOpen.usd`).
 */
export function checkQuotaOptions(o: unknown): CheckedQuotaOptions {
  if (o === undefined) o = {};
  if (!isObject(o)) throw invalidArgument('options', 'must be an object');
  for (const k of Object.keys(o)) if (!OPTION_FIELDS.has(k)) throw invalidArgument(`options.${k}`, 'is not an option of createQuota');
  const store = o.store === undefined ? memoryStore() : o.store;
  if (!isObject(store) || typeof (store as Partial<QuotaStore>).reserve !== 'function' || typeof (store as Partial<QuotaStore>).settle !== 'function') {
    throw invalidArgument('options.store', 'must be a store from memoryStore() or redisStore(...)');
  }
  if (o.clock !== undefined && typeof o.clock !== 'function') throw invalidArgument('options.clock', 'must be a function returning epoch milliseconds');
  if (o.control !== undefined && typeof o.control !== 'function') throw invalidArgument('options.control', 'must be a function (event) => Promise<void>');
  const maxTtlMs = o.maxTtlMs === undefined ? DAY_MS : positiveInt(o.maxTtlMs, 'options.maxTtlMs', 30 * DAY_MS);
  const defaultTtlMs = o.defaultTtlMs === undefined ? Math.min(60_000, maxTtlMs) : positiveInt(o.defaultTtlMs, 'options.defaultTtlMs', maxTtlMs);
  const retainMs = o.retainMs === undefined ? 5 * 60_000 : positiveInt(o.retainMs, 'options.retainMs', 30 * DAY_MS);
  const prodWindowMs = o.prodWindowMs === undefined ? 3_600_000 : positiveInt(o.prodWindowMs, 'options.prodWindowMs', 30 * DAY_MS);
  const limits: CheckedQuotaOptions['limits'] = {};
  if (o.rateLimits !== undefined) {
    if (!isObject(o.rateLimits)) throw invalidArgument('options.rateLimits', 'must be an object { requests?, tokens?, routeRequests?, routeTokens? }');
    for (const [k, v] of Object.entries(o.rateLimits)) {
      if (!LIMIT_FIELDS.has(k)) throw invalidArgument(`options.rateLimits.${k}`, 'is not a rate limit of createQuota');
      if (v !== undefined) limits[k as keyof CheckedQuotaOptions['limits']] = checkRateLimit(v, `options.rateLimits.${k}`);
    }
  }
  if (o.freezeOnOverrun !== undefined && typeof o.freezeOnOverrun !== 'boolean') throw invalidArgument('options.freezeOnOverrun', 'must be a boolean');
  let failOpenMicros: number | null = null;
  if (o.failOpen !== undefined) {
    if (!isObject(o.failOpen) || Object.keys(o.failOpen).some((k) => k !== 'usd')) throw invalidArgument('options.failOpen', 'must be an object { usd }');
    failOpenMicros = usdToMicros(o.failOpen.usd, 'options.failOpen.usd');
  }
  let defense: CostDefense | null = null;
  let tickMs = 0;
  if (o.defense !== undefined) {
    if (!isObject(o.defense)) throw invalidArgument('options.defense', 'must be an object of cost-defense options');
    const { tickMs: t, ...rest } = o.defense;
    tickMs = t === undefined ? 10_000 : t === 0 ? 0 : positiveInt(t, 'options.defense.tickMs', DAY_MS);
    defense = new CostDefense(rest as CostDefenseOptions);
  }
  return {
    store: store as unknown as QuotaStore,
    clock: (o.clock as (() => number) | undefined) ?? Date.now,
    defaultTtlMs, maxTtlMs, retainMs, prodWindowMs, limits,
    hasLimits: Object.keys(limits).length > 0,
    freezeOnOverrun: o.freezeOnOverrun === true,
    failOpenMicros, defense, tickMs,
    control: (o.control as ControlSink | undefined) ?? null,
  };
}
