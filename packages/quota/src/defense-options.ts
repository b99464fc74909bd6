// The options of CostDefense (defense.ts), checked once (docs/architecture.md, "@tenantry/quota"): the
// alert windows (default: the Google SRE Workbook's table for a 30-day budget, ch. 5 "Alerting on SLOs"),
// the bucket resolution and the limiter's thresholds, with defaults filled in and every value checked,
// INVALID_ARGUMENT naming the option at fault otherwise. Milder limiter actions must act first: at a
// lower derivative threshold, and with more time to exhaustion left.
import { describeValue, isObject } from '@tenantry/core';
import { QuotaError } from './errors.js';

export type AlertSeverity = 'page' | 'ticket';
export type LimiterAction = 'suspend_canary' | 'terminate_experiment' | 'freeze_tenant';

/** One multi-window alert: fires when both windows burn at or above `burnRate`. */
export interface BurnRateWindow {
  /** Long window, ms (a positive integer, at most the budget period). */
  longMs: number;
  /** Short window, ms (a positive integer, shorter than longMs). */
  shortMs: number;
  /** Burn-rate threshold (finite, > 0); 1 = on pace to spend exactly the budget in the period. */
  burnRate: number;
  severity: AlertSeverity;
}

/** Cost-derivative limiter. Every threshold is optional; an action with neither trigger never fires. */
export interface CostLimiterOptions {
  /** EWMA time constant of the smoothed spend rate, ms (default 300 000). */
  tauMs?: number;
  /** Window of the spend rate fed to the EWMA, ms (default: the shortest alert short window). */
  rateWindowMs?: number;
  /** Derivative of the smoothed rate, USD/s², at which to act (finite, > 0; ascending in this order). */
  suspendCanaryAt?: number;
  terminateExperimentAt?: number;
  freezeTenantAt?: number;
  /** Act when the budget left would be spent within this many ms (> 0; descending in this order). */
  suspendCanaryWhenExhaustedWithinMs?: number;
  terminateExperimentWhenExhaustedWithinMs?: number;
  freezeWhenExhaustedWithinMs?: number;
}

export interface CostDefenseOptions {
  /** Budget period of setBudget and of burn rates, ms (default 30 days). */
  budgetPeriodMs?: number;
  /** Alerts (default: the SRE Workbook table, see the file comment). */
  windows?: readonly BurnRateWindow[];
  /** Buckets per window length (integer 1…1000, default 30): resolution against memory. */
  bucketsPerWindow?: number;
  limiter?: CostLimiterOptions;
}

/** Options after checking: defaults filled in, thresholds not set are undefined. */
export interface CheckedCostDefenseOptions {
  readonly budgetPeriodMs: number;
  readonly windows: readonly Readonly<BurnRateWindow>[];
  readonly bucketsPerWindow: number;
  readonly limiter: {
    readonly tauMs: number;
    readonly rateWindowMs: number;
    readonly suspendCanaryAt: number | undefined;
    readonly terminateExperimentAt: number | undefined;
    readonly freezeTenantAt: number | undefined;
    readonly suspendCanaryWhenExhaustedWithinMs: number | undefined;
    readonly terminateExperimentWhenExhaustedWithinMs: number | undefined;
    readonly freezeWhenExhaustedWithinMs: number | undefined;
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The SRE Workbook's recommended alerts for a 30-day budget (ch. 5, multiwindow, multi-burn-rate alerts). */
export const DEFAULT_BURN_RATE_WINDOWS: readonly Readonly<BurnRateWindow>[] = Object.freeze([
  Object.freeze({ longMs: HOUR, shortMs: 5 * 60_000, burnRate: 14.4, severity: 'page' as const }),
  Object.freeze({ longMs: 6 * HOUR, shortMs: 30 * 60_000, burnRate: 6, severity: 'page' as const }),
  Object.freeze({ longMs: 3 * DAY, shortMs: 6 * HOUR, burnRate: 1, severity: 'ticket' as const }),
]);
export const DEFAULT_BUDGET_PERIOD_MS = 30 * DAY;
export const DEFAULT_BUCKETS_PER_WINDOW = 30;
export const DEFAULT_TAU_MS = 300_000;

/** The limiter's actions, mildest first, with the names of their two thresholds. */
export const LIMITER_ACTIONS = [
  { type: 'suspend_canary', derivative: 'suspendCanaryAt', exhaustion: 'suspendCanaryWhenExhaustedWithinMs' },
  { type: 'terminate_experiment', derivative: 'terminateExperimentAt', exhaustion: 'terminateExperimentWhenExhaustedWithinMs' },
  { type: 'freeze_tenant', derivative: 'freezeTenantAt', exhaustion: 'freezeWhenExhaustedWithinMs' },
] as const;

const OPTION_KEYS = ['budgetPeriodMs', 'windows', 'bucketsPerWindow', 'limiter'];
const WINDOW_KEYS = ['longMs', 'shortMs', 'burnRate', 'severity'];
const LIMITER_KEYS = ['tauMs', 'rateWindowMs', ...LIMITER_ACTIONS.flatMap((a) => [a.derivative, a.exhaustion])];

// ---- Internal helpers. ----

function _invalid(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

function _record(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw _invalid(field, `must be an object, got ${describeValue(v)}`);
  for (const key of Object.keys(v)) if (!keys.includes(key)) throw _invalid(`${field}.${key}`, 'is not a known option');
  return v;
}

function _ms(v: unknown, field: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw _invalid(field, `must be a positive integer of milliseconds, got ${String(v)}`);
  return v;
}

function _positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw _invalid(field, `must be a finite number > 0, got ${String(v)}`);
  return v;
}

/**
 * Checks CostDefense's options (see the file comment).
 * @throws QuotaError INVALID_ARGUMENT naming the option (`windows[1].shortMs`, `limiter.tauMs`).
 */
export function checkCostDefenseOptions(options: unknown): CheckedCostDefenseOptions {
  const o = _record(options, 'options', OPTION_KEYS);
  const budgetPeriodMs = _ms(o.budgetPeriodMs, 'budgetPeriodMs', DEFAULT_BUDGET_PERIOD_MS);
  let windows = DEFAULT_BURN_RATE_WINDOWS;
  if (o.windows !== undefined) {
    if (!Array.isArray(o.windows) || o.windows.length === 0) throw _invalid('windows', 'must be a non-empty array of { longMs, shortMs, burnRate, severity }');
    windows = Object.freeze(o.windows.map((v: unknown, i: number) => {
      const field = `windows[${i}]`;
      const w = _record(v, field, WINDOW_KEYS);
      const longMs = _ms(w.longMs, `${field}.longMs`);
      if (longMs > budgetPeriodMs) throw _invalid(`${field}.longMs`, `must not exceed budgetPeriodMs (${budgetPeriodMs}), got ${longMs}`);
      const shortMs = _ms(w.shortMs, `${field}.shortMs`);
      if (shortMs >= longMs) throw _invalid(`${field}.shortMs`, `must be shorter than longMs (${longMs}), got ${shortMs}`);
      const rate = _positive(w.burnRate, `${field}.burnRate`);
      if (w.severity !== 'page' && w.severity !== 'ticket') throw _invalid(`${field}.severity`, `must be 'page' or 'ticket', got ${String(w.severity)}`);
      return Object.freeze({ longMs, shortMs, burnRate: rate, severity: w.severity });
    }));
  }
  const b = o.bucketsPerWindow ?? DEFAULT_BUCKETS_PER_WINDOW;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > 1000) throw _invalid('bucketsPerWindow', `must be an integer from 1 to 1000, got ${String(b)}`);
  const l = o.limiter === undefined ? {} : _record(o.limiter, 'limiter', LIMITER_KEYS);
  const tauMs = _ms(l.tauMs, 'limiter.tauMs', DEFAULT_TAU_MS);
  const rateWindowMs = _ms(l.rateWindowMs, 'limiter.rateWindowMs', Math.min(...windows.map((w) => w.shortMs)));
  if (rateWindowMs > budgetPeriodMs) throw _invalid('limiter.rateWindowMs', `must not exceed budgetPeriodMs (${budgetPeriodMs}), got ${rateWindowMs}`);
  const thresholds: Record<string, number | undefined> = {};
  let lastDerivative: [number, string] | undefined;
  let lastExhaustion: [number, string] | undefined;
  for (const a of LIMITER_ACTIONS) {
    const d = l[a.derivative] === undefined ? undefined : _positive(l[a.derivative], `limiter.${a.derivative}`);
    const e = l[a.exhaustion] === undefined ? undefined : _ms(l[a.exhaustion], `limiter.${a.exhaustion}`);
    // Milder actions act first: at a lower derivative, with more time left.
    if (d !== undefined) {
      if (lastDerivative !== undefined && d < lastDerivative[0]) throw _invalid(`limiter.${a.derivative}`, `must be at least limiter.${lastDerivative[1]} (${lastDerivative[0]}), got ${d}`);
      lastDerivative = [d, a.derivative];
    }
    if (e !== undefined) {
      if (lastExhaustion !== undefined && e > lastExhaustion[0]) throw _invalid(`limiter.${a.exhaustion}`, `must be at most limiter.${lastExhaustion[1]} (${lastExhaustion[0]}), got ${e}`);
      lastExhaustion = [e, a.exhaustion];
    }
    thresholds[a.derivative] = d;
    thresholds[a.exhaustion] = e;
  }
  return Object.freeze({
    budgetPeriodMs,
    windows,
    bucketsPerWindow: b,
    limiter: Object.freeze({
      tauMs,
      rateWindowMs,
      suspendCanaryAt: thresholds.suspendCanaryAt,
      terminateExperimentAt: thresholds.terminateExperimentAt,
      freezeTenantAt: thresholds.freezeTenantAt,
      suspendCanaryWhenExhaustedWithinMs: thresholds.suspendCanaryWhenExhaustedWithinMs,
      terminateExperimentWhenExhaustedWithinMs: thresholds.terminateExperimentWhenExhaustedWithinMs,
      freezeWhenExhaustedWithinMs: thresholds.freezeWhenExhaustedWithinMs,
    }),
  });
}
