// Plain per-tenant reference of the cost math (packages/kernels/src/cost.ts), written straight
// from the formulas and edge-case rules documented there, for differential tests of the wasm
// kernels. One tenant per call, no batching, no SIMD, no NaN canonicalisation (tests compare with
// Object.is, under which every NaN is equal).

/** Windowed spend rate, USD/s: spend ÷ window length. */
export function refSpendRate(spend: number, windowSeconds: number): number {
  return spend / windowSeconds;
}

/** EWMA smoothing factor from sampling interval and time constant: α = 1 − e^(−dt/τ). */
export function refEwmaAlpha(dt: number, tau: number): number {
  return -Math.expm1(-dt / tau);
}

/** EWMA step s' = s + α(x − s) (NIST/SEMATECH e-Handbook §6.3.2.4); NaN s (no history) seeds with x. */
export function refEwma(previous: number, sample: number, alpha: number): number {
  if (Number.isNaN(previous)) return sample;
  return previous + alpha * (sample - previous);
}

/**
 * SRE Workbook ch. 5 "Alerting on SLOs": (spent ÷ budget) ÷ (elapsed ÷ period). A budget ≤ 0
 * allows no spend: +∞ for spent > 0, 0 for spent ≤ 0, NaN for a NaN spend.
 */
export function refBurnRate(spent: number, budget: number, elapsedSeconds: number, periodSeconds: number): number {
  if (budget <= 0) {
    if (spent > 0) return Infinity;
    if (spent <= 0) return 0;
    return NaN;
  }
  return (spent / budget) / (elapsedSeconds / periodSeconds);
}

/** Backward difference (current − previous) ÷ dt; no history (NaN previous) → 0, or NaN if current is NaN. */
export function refRateDerivative(current: number, previous: number, dt: number): number {
  if (Number.isNaN(previous)) return Number.isNaN(current) ? NaN : 0;
  return (current - previous) / dt;
}

/**
 * Smallest t > 0 with R = r·t + ½·a·t², i.e. a root of ½a·t² + r·t − R = 0, taken in the stable
 * form of the quadratic formula (Numerical Recipes 3rd ed. §5.6): with D = r² + 2aR,
 * q = −½(r + sgn(r)·√D), the roots are q / (a/2) and −R / q.
 */
export function refTimeToExhaustion(remaining: number, rate: number, acceleration: number): number {
  const R = remaining, r = rate, a = acceleration;
  if (R <= 0) return 0;
  if (Number.isNaN(R) || !Number.isFinite(r) || !Number.isFinite(a)) return NaN;
  if (R === Infinity) return Infinity;
  if (r > 0) {
    // Spending: linear case, else the root −R/q = 2R / (r + √D), the smaller positive one when a < 0.
    if (a === 0) return R / r;
    const D = r * r + 2 * a * R;
    if (D < 0) return Infinity;
    return (2 * R) / (r + Math.sqrt(D));
  }
  // Not spending now: only a positive acceleration gets there, at q / (a/2) = (√D − r) / a.
  if (a > 0) return (Math.sqrt(r * r + 2 * a * R) - r) / a;
  return Infinity;
}

/** One tenant's inputs to a cost tick (see costStep). */
export interface RefCostStepInput {
  readonly windowSpend: number;
  readonly budget: number;
  readonly remaining: number;
  readonly smoothedRate: number;
  readonly windowSeconds: number;
  readonly periodSeconds: number;
  readonly dt: number;
  readonly alpha: number;
}

/** One tenant's outputs of a cost tick. */
export interface RefCostStepResult {
  readonly rate: number;
  readonly smoothedRate: number;
  readonly derivative: number;
  readonly burnRate: number;
  readonly timeToExhaustion: number;
}

/** One tick for one tenant: the composition of the functions above. */
export function refCostStep(t: RefCostStepInput): RefCostStepResult {
  const rate = refSpendRate(t.windowSpend, t.windowSeconds);
  const smoothedRate = refEwma(t.smoothedRate, rate, t.alpha);
  const derivative = refRateDerivative(smoothedRate, t.smoothedRate, t.dt);
  return {
    rate,
    smoothedRate,
    derivative,
    burnRate: refBurnRate(t.windowSpend, t.budget, t.windowSeconds, t.periodSeconds),
    timeToExhaustion: refTimeToExhaustion(t.remaining, smoothedRate, derivative),
  };
}
