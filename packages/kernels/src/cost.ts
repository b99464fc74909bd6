// Cost math for many tenants per call (assembly/cost.ts), over Float64Array batches in
// struct-of-arrays layout: index i of every array is tenant i. Units: USD, seconds, USD/s.
//
// Two kinds of bad input are told apart:
// - bad arguments (not a Float64Array, mismatched lengths, a window, period, dt or τ that is not a
//   finite number > 0, α outside (0, 1]) throw KernelTypeError / KernelRangeError naming the field;
// - per-tenant data is never rejected, so that one tenant's bad value cannot stop a tick for all
//   the others: it gets the documented result below (NaN in → NaN out unless stated otherwise).
//
// Results are bit-identical between the SIMD and scalar builds, and every NaN result is the
// canonical quiet NaN (0x7FF8000000000000), so all nodes store the same bits.
import type { KernelExports } from './abi.js';
import { KernelRangeError, KernelTypeError } from './errors.js';
import { kernel } from './loader.js';
import { describe } from './validate.js';

/** Tenants per kernel call: inputs are fed in pieces of this size, so memory stays flat for any n. */
export const COST_CHUNK = 1 << 13;

/**
 * Windowed spend rate in USD per second: `spend[i] / windowSeconds`, the spend inside a trailing
 * window divided by the window's length (as Prometheus' `increase(x[w]) / w`).
 *
 * Per tenant: IEEE division; a negative spend (refunds) gives a negative rate.
 * @param windowSeconds finite, > 0.
 * @param out optional result array of the same length (may be `spend` itself).
 * @example spendRate(Float64Array.of(3, 6), 60) // Float64Array [0.05, 0.1]
 */
export function spendRate(spend: Float64Array, windowSeconds: number, out?: Float64Array): Float64Array {
  _checkF64(spend, 'spend');
  _checkPositive(windowSeconds, 'windowSeconds');
  const res = _output(out, spend.length, 'out');
  _checkAliasing([[res, 'out']], [spend]);
  _run(spend.length, [spend], [res], (x, p, m) => x.costSpendRate(p[0]!, m, windowSeconds, p[1]!));
  return res;
}

/**
 * Smoothing factor of an EWMA sampled every `dt` seconds with time constant `tau`:
 * α = 1 − e^(−dt/τ), computed as −expm1(−dt/τ) so that dt ≪ τ loses no precision. This is the
 * exact discretisation of a first-order low-pass filter (the EMA of unevenly spaced series with
 * weight e^(−Δt/τ), Eckner, "Algorithms for Unevenly Spaced Time Series", 2019). Computed in the
 * kernel (AssemblyScript's musl-derived expm1), so every node derives the same α from the same dt
 * and τ, whatever its JS engine's Math.expm1 does.
 * @param dt seconds since the previous sample; finite, > 0.
 * @param tau time constant in seconds; finite, > 0.
 * @returns α in (0, 1]; 1 once dt/τ is large enough that e^(−dt/τ) rounds away.
 * @example ewmaAlpha(10, 60) // ≈ 0.1535
 */
export function ewmaAlpha(dt: number, tau: number): number {
  _checkPositive(dt, 'dt');
  _checkPositive(tau, 'tau');
  return kernel().x.costEwmaAlpha(dt, tau);
}

/**
 * Exponentially weighted moving average step (NIST/SEMATECH e-Handbook of Statistical Methods
 * §6.3.2.4, "EWMA Control Charts"): `s' = s + α(x − s)` per tenant, `s = previous[i]`,
 * `x = samples[i]`.
 *
 * Per tenant: a NaN previous value means "no history" and seeds with the sample (`s' = x`), so a
 * tenant whose state went NaN recovers on its next finite sample. Otherwise IEEE arithmetic (a NaN
 * sample gives NaN). With α = 1 the result is x up to one rounding of `s + (x − s)`.
 * @param alpha smoothing factor in (0, 1]; see {@link ewmaAlpha} to derive it from dt and τ.
 * @param out optional result array of the same length (may be `previous` or `samples`).
 * @example ewma(Float64Array.of(NaN, 10), Float64Array.of(4, 20), 0.5) // Float64Array [4, 15]
 */
export function ewma(previous: Float64Array, samples: Float64Array, alpha: number, out?: Float64Array): Float64Array {
  _checkF64(previous, 'previous');
  _checkF64(samples, 'samples');
  _checkLength(samples, previous.length, 'samples', 'previous');
  _checkAlpha(alpha, 'alpha');
  const res = _output(out, previous.length, 'out');
  _checkAliasing([[res, 'out']], [previous, samples]);
  _run(previous.length, [previous, samples], [res], (x, p, m) => x.costEwma(p[0]!, p[1]!, m, alpha, p[2]!));
  return res;
}

/**
 * Burn rate as defined in the Google SRE Workbook, chapter 5 "Alerting on SLOs" (Beyer et al.,
 * 2018): how fast the budget is consumed relative to a pace that would use exactly all of it by
 * the end of the period, i.e. (spent fraction of the budget) ÷ (elapsed fraction of the period):
 * `(spent[i] / budget[i]) / (elapsedSeconds / periodSeconds)`. 1 means "on pace"; the workbook's
 * thresholds are 2 % of a 30-day budget in 1 h → 14.4, 5 % in 6 h → 6, 10 % in 3 days → 1.
 *
 * Per tenant: a budget ≤ 0 allows no spend, so the result is +Infinity when spent > 0 and 0 when
 * spent ≤ 0 (NaN for a NaN spend). Otherwise IEEE arithmetic: a NaN budget gives NaN, a negative
 * spend (net refunds) a negative burn rate.
 * @param elapsedSeconds length of the window the spend was measured over; finite, > 0.
 * @param periodSeconds length of the budget period (e.g. 30 days = 2 592 000); finite, > 0.
 * @example burnRate(Float64Array.of(2), Float64Array.of(100), 3600, 30 * 86400) // ≈ [14.4]
 */
export function burnRate(
  spent: Float64Array, budget: Float64Array, elapsedSeconds: number, periodSeconds: number, out?: Float64Array,
): Float64Array {
  _checkF64(spent, 'spent');
  _checkF64(budget, 'budget');
  _checkLength(budget, spent.length, 'budget', 'spent');
  _checkPositive(elapsedSeconds, 'elapsedSeconds');
  _checkPositive(periodSeconds, 'periodSeconds');
  const res = _output(out, spent.length, 'out');
  _checkAliasing([[res, 'out']], [spent, budget]);
  _run(spent.length, [spent, budget], [res], (x, p, m) => x.costBurnRate(p[0]!, p[1]!, m, elapsedSeconds, periodSeconds, p[2]!));
  return res;
}

/**
 * First derivative of the smoothed rate by the backward difference (Burden & Faires, "Numerical
 * Analysis", §4.1): `(current[i] − previous[i]) / dt`, in USD/s².
 *
 * Per tenant: a NaN previous value means "no history": the derivative is 0 (no known trend), or
 * NaN when the current value is NaN too. Otherwise IEEE arithmetic.
 * @param dt seconds between the two values; finite, > 0.
 * @param out optional result array of the same length (may be `current` or `previous`).
 * @example rateDerivative(Float64Array.of(3, 1), Float64Array.of(1, NaN), 2) // Float64Array [1, 0]
 */
export function rateDerivative(current: Float64Array, previous: Float64Array, dt: number, out?: Float64Array): Float64Array {
  _checkF64(current, 'current');
  _checkF64(previous, 'previous');
  _checkLength(previous, current.length, 'previous', 'current');
  _checkPositive(dt, 'dt');
  const res = _output(out, current.length, 'out');
  _checkAliasing([[res, 'out']], [current, previous]);
  _run(current.length, [current, previous], [res], (x, p, m) => x.costDerivative(p[0]!, p[1]!, m, dt, p[2]!));
  return res;
}

/**
 * Projected seconds until the remaining budget R is spent at rate r (USD/s) changing at a (USD/s²):
 * the smallest t > 0 with R = r·t + ½·a·t². The root is taken in the numerically stable form of
 * the quadratic formula (Press et al., "Numerical Recipes", 3rd ed., §5.6), so no ε is needed
 * around a = 0: t moves continuously to R/r as a → 0.
 *
 * Per tenant, first matching rule wins:
 * - R ≤ 0 (including −∞) → 0: already exhausted, whatever the rate;
 * - R, r or a NaN, or r or a infinite → NaN;
 * - R = +∞ → +∞;
 * - r > 0, a = 0 → R / r;
 * - r > 0, r² + 2aR < 0 (a < 0: the rate reaches zero first) → +∞; otherwise 2R / (r + √(r² + 2aR));
 * - r ≤ 0, a > 0 → (√(r² + 2aR) − r) / a;
 * - r ≤ 0, a ≤ 0 → +∞ (never reached).
 * Exact to rounding while |r|, |a|, R stay below ~1e150; beyond, squares overflow as IEEE does.
 * @example timeToExhaustion(Float64Array.of(100), Float64Array.of(2), Float64Array.of(0)) // [50]
 */
export function timeToExhaustion(
  remaining: Float64Array, rate: Float64Array, acceleration: Float64Array, out?: Float64Array,
): Float64Array {
  _checkF64(remaining, 'remaining');
  _checkF64(rate, 'rate');
  _checkF64(acceleration, 'acceleration');
  _checkLength(rate, remaining.length, 'rate', 'remaining');
  _checkLength(acceleration, remaining.length, 'acceleration', 'remaining');
  const res = _output(out, remaining.length, 'out');
  _checkAliasing([[res, 'out']], [remaining, rate, acceleration]);
  _run(remaining.length, [remaining, rate, acceleration], [res],
    (x, p, m) => x.costTimeToExhaustion(p[0]!, p[1]!, p[2]!, m, p[3]!));
  return res;
}

interface CostStepArrays {
  /** Spend of each tenant inside the trailing window, USD. */
  readonly windowSpend: Float64Array;
  /** Each tenant's budget for the period, USD (for the burn rate). */
  readonly budget: Float64Array;
  /** Each tenant's budget left, USD (for the time to exhaustion). */
  readonly remaining: Float64Array;
  /** Smoothed rate after the previous tick, USD/s; NaN for a tenant without history. */
  readonly smoothedRate: Float64Array;
  /** Length of the spend window, seconds (finite, > 0). */
  readonly windowSeconds: number;
  /** Length of the budget period, seconds (finite, > 0), e.g. 30 × 86 400. */
  readonly periodSeconds: number;
  /** Seconds since the previous tick (finite, > 0). */
  readonly dt: number;
}

/** Input of {@link costStep}: the arrays and exactly one of `alpha` (in (0, 1]) or `tau` (seconds, > 0). */
export type CostStepInput = CostStepArrays & (
  | { readonly alpha: number; readonly tau?: undefined }
  | { readonly tau: number; readonly alpha?: undefined }
);

/** Output of {@link costStep}, one Float64Array per quantity, index i = tenant i. */
export interface CostStepResult {
  /** Windowed spend rate, USD/s ({@link spendRate}). */
  readonly rate: Float64Array;
  /** New smoothed rate, USD/s ({@link ewma}); the next tick's `smoothedRate` input. */
  readonly smoothedRate: Float64Array;
  /** Derivative of the smoothed rate, USD/s² ({@link rateDerivative}). */
  readonly derivative: Float64Array;
  /** Burn rate over the window ({@link burnRate}). */
  readonly burnRate: Float64Array;
  /** Projected seconds until `remaining` is spent ({@link timeToExhaustion}). */
  readonly timeToExhaustion: Float64Array;
}

const STEP_OUTPUTS = ['rate', 'smoothedRate', 'derivative', 'burnRate', 'timeToExhaustion'] as const;

/**
 * One tick for every tenant at once, in one pass over the data. Deterministic, and bit-identical
 * to the composition of the single functions (α = `alpha`, or `ewmaAlpha(dt, tau)`):
 * ```
 * rate             = spendRate(windowSpend, windowSeconds)
 * smoothedRate'    = ewma(smoothedRate, rate, α)
 * derivative       = rateDerivative(smoothedRate', smoothedRate, dt)
 * burnRate         = burnRate(windowSpend, budget, windowSeconds, periodSeconds)
 * timeToExhaustion = timeToExhaustion(remaining, smoothedRate', derivative)
 * ```
 * A new tenant (smoothedRate NaN) starts at its current rate with derivative 0.
 * @param out optional arrays to write into (any subset; missing ones are allocated). An output
 *   may be the very array of an input, e.g. `{ smoothedRate: input.smoothedRate }` keeps the
 *   state in place; otherwise outputs must not overlap inputs or each other.
 * @example
 * const state = new Float64Array(n).fill(NaN);
 * // every 10 s:
 * const r = costStep({ windowSpend, budget, remaining, smoothedRate: state,
 *   windowSeconds: 300, periodSeconds: 30 * 86400, dt: 10, tau: 60 }, { smoothedRate: state });
 */
export function costStep(input: CostStepInput, out?: Partial<CostStepResult>): CostStepResult {
  if (typeof input !== 'object' || input === null) {
    throw new KernelTypeError('INVALID_ARGUMENT', `input must be an object, got ${describe(input)}`, 'input');
  }
  const { windowSpend, budget, remaining, smoothedRate, windowSeconds, periodSeconds, dt, alpha, tau } = input;
  _checkF64(windowSpend, 'windowSpend');
  _checkF64(budget, 'budget');
  _checkF64(remaining, 'remaining');
  _checkF64(smoothedRate, 'smoothedRate');
  const n = windowSpend.length;
  _checkLength(budget, n, 'budget', 'windowSpend');
  _checkLength(remaining, n, 'remaining', 'windowSpend');
  _checkLength(smoothedRate, n, 'smoothedRate', 'windowSpend');
  _checkPositive(windowSeconds, 'windowSeconds');
  _checkPositive(periodSeconds, 'periodSeconds');
  _checkPositive(dt, 'dt');
  if ((alpha === undefined) === (tau === undefined)) {
    const which = alpha === undefined ? 'neither' : 'both';
    throw new KernelTypeError('INVALID_ARGUMENT', `input must set exactly one of alpha and tau, got ${which}`, alpha === undefined ? 'alpha' : 'tau');
  }
  if (alpha !== undefined) _checkAlpha(alpha, 'alpha');
  else _checkPositive(tau, 'tau');
  if (out !== undefined && (typeof out !== 'object' || out === null)) {
    throw new KernelTypeError('INVALID_ARGUMENT', `out must be an object, got ${describe(out)}`, 'out');
  }
  const res: CostStepResult = {
    rate: _output(out?.rate, n, 'out.rate'),
    smoothedRate: _output(out?.smoothedRate, n, 'out.smoothedRate'),
    derivative: _output(out?.derivative, n, 'out.derivative'),
    burnRate: _output(out?.burnRate, n, 'out.burnRate'),
    timeToExhaustion: _output(out?.timeToExhaustion, n, 'out.timeToExhaustion'),
  };
  const outs = STEP_OUTPUTS.map((f) => [res[f], `out.${f}`] as const);
  _checkAliasing(outs, [windowSpend, budget, remaining, smoothedRate]);
  if (n === 0) return res;
  const a = alpha ?? kernel().x.costEwmaAlpha(dt, tau!);
  _run(n, [windowSpend, budget, remaining, smoothedRate], outs.map(([arr]) => arr), (x, p, m) =>
    x.costStep(p[0]!, p[1]!, p[2]!, p[3]!, m, windowSeconds, periodSeconds, dt, a, p[4]!, p[5]!, p[6]!, p[7]!, p[8]!));
  return res;
}

// ---- Internal helpers. ----

function _checkF64(v: unknown, field: string): asserts v is Float64Array {
  if (!(v instanceof Float64Array)) {
    throw new KernelTypeError('INVALID_ARGUMENT', `${field} must be a Float64Array, got ${describe(v)}`, field);
  }
}

function _checkLength(v: Float64Array, n: number, field: string, of: string): void {
  if (v.length !== n) {
    throw new KernelRangeError('INVALID_LENGTH', `${field} has ${v.length} elements, expected ${n} (the length of ${of})`, field);
  }
}

function _checkNumber(v: unknown, field: string): asserts v is number {
  if (typeof v !== 'number') {
    throw new KernelTypeError('INVALID_ARGUMENT', `${field} must be a number, got ${describe(v)}`, field);
  }
}

function _checkPositive(v: unknown, field: string): asserts v is number {
  _checkNumber(v, field);
  if (!Number.isFinite(v) || v <= 0) {
    throw new KernelRangeError('INVALID_ARGUMENT', `${field} must be a finite number > 0, got ${v}`, field);
  }
}

function _checkAlpha(v: unknown, field: string): asserts v is number {
  _checkNumber(v, field);
  if (!(v > 0 && v <= 1)) {
    throw new KernelRangeError('INVALID_ARGUMENT', `${field} must be in (0, 1], got ${v}`, field);
  }
}

/** The caller's result array, validated, or a new one. */
function _output(out: unknown, n: number, field: string): Float64Array {
  if (out === undefined) return new Float64Array(n);
  _checkF64(out, field);
  _checkLength(out, n, field, 'the inputs');
  return out;
}

function _overlap(a: Float64Array, b: Float64Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Outputs are written chunk by chunk after the chunk's inputs were read, so an output may be an
 * input itself (same buffer and offset; lengths are equal by now) but must not partially overlap
 * one, nor overlap another output.
 */
function _checkAliasing(outs: readonly (readonly [Float64Array, string])[], ins: readonly Float64Array[]): void {
  for (let o = 0; o < outs.length; o++) {
    const [a, field] = outs[o]!;
    for (const b of ins) {
      if (_overlap(a, b) && a.byteOffset !== b.byteOffset) {
        throw new KernelRangeError('INVALID_ARGUMENT', `${field} partially overlaps an input`, field);
      }
    }
    for (let q = 0; q < o; q++) {
      if (_overlap(a, outs[q]![0])) {
        throw new KernelRangeError('INVALID_ARGUMENT', `${field} overlaps ${outs[q]![1]}`, field);
      }
    }
  }
}

const _align = (bytes: number): number => (bytes + 63) & ~63;

/**
 * Copies COST_CHUNK-tenant pieces of `inputs` into the workspace, calls the kernel with one
 * 64-byte-aligned slot pointer per input then per output, and copies each output slot out.
 */
function _run(
  n: number, inputs: readonly Float64Array[], outputs: readonly Float64Array[],
  call: (x: KernelExports, slots: readonly number[], m: number) => void,
): void {
  if (n === 0) return;
  const k = kernel();
  const per = Math.min(n, COST_CHUNK);
  const stride = _align(per * 8);
  const count = inputs.length + outputs.length;
  k.ensure(stride * count);
  const slots = Array.from({ length: count }, (_, s) => k.data + s * stride);
  const f64 = new Float64Array(k.u8.buffer);
  for (let first = 0; first < n; first += per) {
    const m = Math.min(per, n - first);
    for (let s = 0; s < inputs.length; s++) f64.set(inputs[s]!.subarray(first, first + m), slots[s]! >>> 3);
    call(k.x, slots, m);
    for (let s = 0; s < outputs.length; s++) {
      const at = slots[inputs.length + s]! >>> 3;
      outputs[s]!.set(f64.subarray(at, at + m), first);
    }
  }
}
