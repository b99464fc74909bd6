// Cost defense over all tenants at once (docs/architecture.md, "@tenantry/quota": "multi-window burn-rate
// alerts … and a cost-derivative limiter whose actions are: suspend canary, terminate experiment, freeze
// tenant").
//
// Burn-rate alerts follow the Google SRE Workbook, ch. 5 "Alerting on SLOs" (Beyer et al., 2018), approach 6
// "Multiwindow, multi-burn-rate alerts": burn rate = (spent fraction of the budget) ÷ (elapsed fraction of
// the budget period), and an alert fires when BOTH its long and its short window burn at or above its
// threshold. The short window is what lets an alert resolve soon after a burst stops, while the long window
// still holds the burst. Defaults are the workbook's table for a 30-day period: 2 % of the budget in 1 h
// (burn 14.4, 5 m short window) and 5 % in 6 h (burn 6, 30 m) page; 10 % in 3 days (burn 1, 6 h) files a
// ticket.
//
// The limiter watches the spend rate over `rateWindowMs`, smoothed by an EWMA of time constant `tauMs`, its
// first derivative (USD/s², how fast the spending accelerates) and the projected time until the budget left
// in the trailing period is spent at that rate and acceleration. Each action (suspend canary < terminate
// experiment < freeze tenant, mildest first) has two optional triggers: the derivative reaching a threshold
// in USD/s² (the same for every tenant: a runaway detector), and the time to exhaustion falling to a
// threshold in ms (relative to each tenant's own budget). A spent budget has time to exhaustion 0.
//
// Events are emitted on transitions, not every tick while a condition holds: an alert when its condition
// becomes true, `burn_rate_resolved` when it becomes false again; a limiter action when its condition
// becomes true (it re-arms silently once the condition is false at a tick; undoing an action is the host's
// call). Events of one tick are ordered by tenant_id (UTF-16 code units), then alerts in `windows` order,
// then actions mildest first. The same records, budgets and ticks give the same events, whatever order
// records of different tenants arrived in.
//
// Memory is bounded per tenant: each distinct window length W (alert windows, the rate window, the budget
// period) keeps a ring of N + 1 integer micro-USD bucket sums of width W / N (N = `bucketsPerWindow`). The
// window at `now` is (now − W, now]; the bucket holding now − W counts in proportion to its overlap with the
// window (the sliding-window-counter approximation, as in Cloudflare's "How we built rate limiting capable
// of scaling to millions of domains", 2017), so the figures are exact when ticks fall on bucket edges and
// spend inside a bucket is evenly spread; otherwise the error is within one bucket's spend.
//
// A tenant without a budget has budget 0 (fail closed): any spend burns at +Infinity and exhausts it.
import { burnRate, costStep } from '@tenantry/kernels';
import {
  checkCostDefenseOptions, LIMITER_ACTIONS as ACTIONS, type AlertSeverity, type CheckedCostDefenseOptions, type CostDefenseOptions,
  type LimiterAction,
} from './defense-options.js';
import { checkTenantId } from './envelope.js';
import { QuotaError } from './errors.js';
import { MAX_USD, MICROS_PER_USD } from './money.js';

/** Burn rates of one alert window pair at a tick. */
export interface BurnRateSample {
  long_ms: number;
  short_ms: number;
  long: number;
  short: number;
}

/** `burn_rate_alert` when both windows reached the threshold, `burn_rate_resolved` when that stopped. */
export interface BurnRateAlertEvent {
  type: 'burn_rate_alert' | 'burn_rate_resolved';
  tenant_id: string;
  /** The tick's `now`, epoch ms. */
  at: number;
  severity: AlertSeverity;
  /** Index of the alert in `windows`. */
  window: number;
  long_ms: number;
  short_ms: number;
  threshold: number;
  long_burn_rate: number;
  short_burn_rate: number;
  budget_usd: number;
}

/** A limiter action, with the numbers that triggered it. */
export interface LimiterActionEvent {
  type: LimiterAction;
  tenant_id: string;
  at: number;
  /** Which threshold was reached (the derivative when both were). */
  trigger: 'derivative' | 'time_to_exhaustion';
  /** The threshold reached: USD/s² for 'derivative', ms for 'time_to_exhaustion'. */
  threshold: number;
  /** Spend rate over the rate window, USD/s. */
  rate: number;
  /** EWMA of the rate, USD/s. */
  smoothed_rate: number;
  /** First derivative of the smoothed rate, USD/s². */
  derivative: number;
  /** Projected ms until the budget left is spent (Infinity: never at this trend). */
  time_to_exhaustion_ms: number;
  /** Budget minus the spend of the trailing period, USD. */
  remaining_usd: number;
  budget_usd: number;
  /** Burn rates of every alert window, in `windows` order. */
  burn_rates: BurnRateSample[];
}

export type CostDefenseEvent = BurnRateAlertEvent | LimiterActionEvent;
export type CostDefenseListener = (event: CostDefenseEvent) => void;

/**
 * Relative tolerance of the burn-rate comparison: the ratio of ratios is off by a few ulps (~1e-15), so
 * spending exactly the threshold fraction (2 % in 1 h) must still fire; 1e-12 is far below any meaningful
 * difference (one micro-USD of a one-million-USD budget is 1e-12 of it).
 */
const BURN_TOLERANCE = 1e-12;

interface _Tenant {
  readonly id: string;
  budgetMicros: number;
  /** Ring k occupies [k·(N+1), (k+1)·(N+1)): bucket sums in integer micros, bucket b at b mod (N+1). */
  readonly sums: Float64Array;
  /** Newest bucket index written per ring (−Infinity: none). */
  readonly heads: Float64Array;
  /** EWMA of the rate after the last tick, USD/s (NaN: no history). */
  smoothed: number;
  /** Per alert window: firing after the last tick. */
  readonly firing: Uint8Array;
  /** Per action: its condition held at the last tick. */
  readonly acting: Uint8Array;
}

/**
 * Burn-rate alerts and the cost-derivative limiter for every tenant, one batch per tick (see the file
 * comment for the rules).
 * @example
 * const defense = new CostDefense({ limiter: { freezeTenantAt: 1e-4, freezeWhenExhaustedWithinMs: 3_600_000 } });
 * defense.setBudget('acme', 300_000_000);             // 300 USD per 30 days
 * defense.on((e) => { if (e.type === 'freeze_tenant') quota.freeze(e.tenant_id, 'COST_RUNAWAY'); });
 * defense.record('acme', 120_000, Date.now());        // after each settle
 * setInterval(() => defense.tick(Date.now()), 60_000);
 */
export class CostDefense {
  readonly options: CheckedCostDefenseOptions;
  /** Distinct window lengths in ms, ascending; ring k has length #lengths[k]. */
  readonly #lengths: readonly number[];
  readonly #longRing: readonly number[];
  readonly #shortRing: readonly number[];
  readonly #rateRing: number;
  readonly #periodRing: number;
  readonly #tenants = new Map<string, _Tenant>();
  readonly #listeners: { readonly fn: CostDefenseListener }[] = [];
  #lastTick: number | undefined;

  constructor(options: CostDefenseOptions = {}) {
    this.options = checkCostDefenseOptions(options);
    const { windows, limiter, budgetPeriodMs } = this.options;
    const lengths = [...new Set([...windows.flatMap((w) => [w.longMs, w.shortMs]), limiter.rateWindowMs, budgetPeriodMs])];
    lengths.sort((a, b) => a - b);
    this.#lengths = lengths;
    this.#longRing = windows.map((w) => lengths.indexOf(w.longMs));
    this.#shortRing = windows.map((w) => lengths.indexOf(w.shortMs));
    this.#rateRing = lengths.indexOf(limiter.rateWindowMs);
    this.#periodRing = lengths.indexOf(budgetPeriodMs);
  }

  /** Tenants tracked (each holds a fixed amount of memory). */
  get size(): number {
    return this.#tenants.size;
  }

  /**
   * Sets a tenant's budget per budget period, integer micro-USD (1 USD = 1 000 000).
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_AMOUNT naming `budgetMicros`.
   */
  setBudget(tenantId: string, budgetMicros: number): void {
    checkTenantId(tenantId, 'tenantId');
    _checkMicros(budgetMicros, 'budgetMicros');
    this.#tenant(tenantId).budgetMicros = budgetMicros;
  }

  /**
   * Records settled spend of a tenant at `at` (epoch ms, the clock that drives tick). Records may arrive in
   * any order: a late one counts in every window that still covers its time. Precondition: `at` is not more
   * than a window ahead of the ticks (a record that far ahead pushes older spend out of that window early).
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_AMOUNT naming `micros` (not a
   *   non-negative safe integer of at most MAX_USD), INVALID_ARGUMENT naming `at` (not finite).
   */
  record(tenantId: string, micros: number, at: number): void {
    checkTenantId(tenantId, 'tenantId');
    _checkMicros(micros, 'micros');
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new QuotaError('INVALID_ARGUMENT', `at must be finite epoch milliseconds, got ${String(at)}`, { field: 'at' });
    }
    const t = this.#tenant(tenantId);
    const n = this.options.bucketsPerWindow;
    const slots = n + 1;
    for (let k = 0; k < this.#lengths.length; k++) {
      const j = Math.ceil((at * n) / this.#lengths[k]!);
      const base = k * slots;
      const h = t.heads[k]!;
      if (j > h) {
        if (j - h >= slots) t.sums.fill(0, base, base + slots);
        else for (let b = h + 1; b <= j; b++) t.sums[base + _mod(b, slots)] = 0;
        t.heads[k] = j;
      } else if (j <= h - slots) {
        continue;
      }
      t.sums[base + _mod(j, slots)]! += micros;
    }
  }

  /** Stops tracking a tenant (no events are emitted for it). Returns whether it was tracked. */
  forget(tenantId: string): boolean {
    return this.#tenants.delete(tenantId);
  }

  /**
   * Registers a listener called with every event of every tick, after the tick's state is updated. A
   * listener that throws does not stop the others; tick() rethrows the first error once all were called.
   * @returns a function that unregisters this registration (idempotent).
   * @throws QuotaError INVALID_ARGUMENT naming `listener`.
   */
  on(listener: CostDefenseListener): () => void {
    if (typeof listener !== 'function') {
      throw new QuotaError('INVALID_ARGUMENT', `listener must be a function, got ${typeof listener}`, { field: 'listener' });
    }
    const entry = { fn: listener };
    this.#listeners.push(entry);
    return () => {
      const i = this.#listeners.indexOf(entry);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Evaluates every tenant at `now` (epoch ms) in one batch through the kernels: burnRate per window length,
   * costStep for the rate, its EWMA, derivative and time to exhaustion. The EWMA step is dt = now − previous
   * tick; at the first tick every tenant starts at its current rate with derivative 0 (no known trend), and a
   * tenant first seen after that starts from rate 0 (it was watched spending nothing).
   * @returns the events of this tick (transitions only), also passed to the listeners.
   * @throws QuotaError INVALID_ARGUMENT naming `now` (not finite, or not later than the previous tick).
   */
  tick(now: number): CostDefenseEvent[] {
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      throw new QuotaError('INVALID_ARGUMENT', `now must be finite epoch milliseconds, got ${String(now)}`, { field: 'now' });
    }
    if (this.#lastTick !== undefined && now <= this.#lastTick) {
      throw new QuotaError('INVALID_ARGUMENT', `now must be later than the previous tick (${this.#lastTick}), got ${now}`, { field: 'now' });
    }
    const events = this.#evaluate(now);
    this.#lastTick = now;
    this.#emit(events);
    return events;
  }

  #tenant(id: string): _Tenant {
    let t = this.#tenants.get(id);
    if (t === undefined) {
      const k = this.#lengths.length;
      t = {
        id,
        budgetMicros: 0,
        sums: new Float64Array(k * (this.options.bucketsPerWindow + 1)),
        heads: new Float64Array(k).fill(-Infinity),
        smoothed: this.#lastTick === undefined ? NaN : 0,
        firing: new Uint8Array(this.options.windows.length),
        acting: new Uint8Array(ACTIONS.length),
      };
      this.#tenants.set(id, t);
    }
    return t;
  }

  #evaluate(now: number): CostDefenseEvent[] {
    const tenants = [...this.#tenants.values()];
    const count = tenants.length;
    if (count === 0) return [];
    const { windows, limiter, budgetPeriodMs, bucketsPerWindow: n } = this.options;
    const slots = n + 1;
    const periodSeconds = budgetPeriodMs / 1000;

    // Window sums, micro-USD: buckets J−N+1 … J whole, bucket J−N by its overlap f with (now − W, now].
    const spendMicros = this.#lengths.map(() => new Float64Array(count));
    for (let k = 0; k < this.#lengths.length; k++) {
      const x = (now * n) / this.#lengths[k]!;
      const J = Math.ceil(x);
      const f = J - x;
      const out = spendMicros[k]!;
      const base = k * slots;
      for (let i = 0; i < count; i++) {
        const t = tenants[i]!;
        const h = t.heads[k]!;
        let sum = 0;
        const hi = Math.min(J, h);
        for (let b = Math.max(J - n + 1, h - n); b <= hi; b++) sum += t.sums[base + _mod(b, slots)]!;
        if (f > 0 && J - n <= h && J - n > h - slots) sum += f * t.sums[base + _mod(J - n, slots)]!;
        out[i] = sum;
      }
    }
    const budget = new Float64Array(count);
    const remaining = new Float64Array(count);
    const smoothed = new Float64Array(count);
    const period = spendMicros[this.#periodRing]!;
    for (let i = 0; i < count; i++) {
      const t = tenants[i]!;
      budget[i] = t.budgetMicros / MICROS_PER_USD;
      remaining[i] = (t.budgetMicros - period[i]!) / MICROS_PER_USD;
      smoothed[i] = t.smoothed;
    }
    const spendUsd = spendMicros.map((m) => m.map((v) => v / MICROS_PER_USD));

    // Burn rates per window length used by an alert (kernels: SRE Workbook burn rate).
    const burn: (Float64Array | undefined)[] = this.#lengths.map(() => undefined);
    for (const k of [...this.#longRing, ...this.#shortRing]) {
      burn[k] ??= burnRate(spendUsd[k]!, budget, this.#lengths[k]! / 1000, periodSeconds);
    }
    const rateSeconds = limiter.rateWindowMs / 1000;
    const step = costStep({
      windowSpend: spendUsd[this.#rateRing]!, budget, remaining, smoothedRate: smoothed,
      windowSeconds: rateSeconds, periodSeconds,
      dt: this.#lastTick === undefined ? rateSeconds : (now - this.#lastTick) / 1000,
      tau: limiter.tauMs / 1000,
    }, { smoothedRate: smoothed });

    const events: CostDefenseEvent[] = [];
    for (let i = 0; i < count; i++) {
      const t = tenants[i]!;
      t.smoothed = step.smoothedRate[i]!;
      const budgetUsd = budget[i]!;
      for (let a = 0; a < windows.length; a++) {
        const w = windows[a]!;
        const long = burn[this.#longRing[a]!]![i]!;
        const short = burn[this.#shortRing[a]!]![i]!;
        const min = w.burnRate * (1 - BURN_TOLERANCE);
        const firing = long >= min && short >= min ? 1 : 0;
        if (firing === t.firing[a]) continue;
        t.firing[a] = firing;
        events.push({
          type: firing === 1 ? 'burn_rate_alert' : 'burn_rate_resolved', tenant_id: t.id, at: now, severity: w.severity,
          window: a, long_ms: w.longMs, short_ms: w.shortMs, threshold: w.burnRate,
          long_burn_rate: long, short_burn_rate: short, budget_usd: budgetUsd,
        });
      }
      const derivative = step.derivative[i]!;
      const tteMs = step.timeToExhaustion[i]! * 1000;
      for (let a = 0; a < ACTIONS.length; a++) {
        const action = ACTIONS[a]!;
        const dAt = limiter[action.derivative];
        const tAt = limiter[action.exhaustion];
        const byDerivative = dAt !== undefined && derivative >= dAt;
        const byExhaustion = tAt !== undefined && tteMs <= tAt;
        const acting = byDerivative || byExhaustion ? 1 : 0;
        const was = t.acting[a];
        t.acting[a] = acting;
        if (acting === 0 || was === 1) continue;
        events.push({
          type: action.type, tenant_id: t.id, at: now,
          trigger: byDerivative ? 'derivative' : 'time_to_exhaustion', threshold: byDerivative ? dAt! : tAt!,
          rate: step.rate[i]!, smoothed_rate: t.smoothed, derivative, time_to_exhaustion_ms: tteMs,
          remaining_usd: remaining[i]!, budget_usd: budgetUsd,
          burn_rates: windows.map((w, x) => ({
            long_ms: w.longMs, short_ms: w.shortMs, long: burn[this.#longRing[x]!]![i]!, short: burn[this.#shortRing[x]!]![i]!,
          })),
        });
      }
    }
    // Stable: each tenant's events keep their order.
    events.sort((p, q) => (p.tenant_id < q.tenant_id ? -1 : p.tenant_id > q.tenant_id ? 1 : 0));
    return events;
  }

  #emit(events: readonly CostDefenseEvent[]): void {
    if (events.length === 0 || this.#listeners.length === 0) return;
    const listeners = [...this.#listeners];
    let failed = false;
    let first: unknown;
    for (const event of events) {
      for (const { fn } of listeners) {
        try {
          fn(event);
        } catch (e) {
          if (!failed) {
            failed = true;
            first = e;
          }
        }
      }
    }
    if (failed) throw first;
  }
}

// ---- Internal helpers. ----

function _mod(b: number, m: number): number {
  const r = b % m;
  return r < 0 ? r + m : r;
}

function _checkMicros(v: unknown, field: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_USD * MICROS_PER_USD) {
    throw new QuotaError('INVALID_AMOUNT', `${field} must be an integer number of micro-USD from 0 to ${MAX_USD * MICROS_PER_USD}, got ${String(v)}`, { field });
  }
}
