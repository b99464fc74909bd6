// Cost math for many tenants per call, over f64 arrays in struct-of-arrays layout: element i of
// every array belongs to tenant i. The formulas and their edge cases are documented on the JS API
// (packages/kernels/src/cost.ts); packages/kernels/src/cost-reference.ts states them per tenant.
//
// Determinism: the f64x2 paths use only IEEE-exact lane operations (add, sub, mul, div, sqrt,
// compare, bitselect) in the same order as the scalar element functions, and every NaN result is
// replaced by the canonical quiet NaN, so the SIMD and scalar builds, and machines whose default
// NaN differs (x86 vs Arm), store identical bits. Pointers are byte offsets of f64 arrays (8-byte
// aligned) placed by the caller; arrays may be shared between an input and an output of the same
// element (out == in), never partially overlap. Nothing here allocates.

/** Canonical quiet NaN, the only NaN bit pattern these kernels store. */
const CANON_NAN: f64 = reinterpret<f64>(0x7ff8000000000000);

// ---- Element functions (the scalar path, and the definition the f64x2 paths mirror). ----

// @ts-ignore: decorator
@inline function canon(x: f64): f64 {
  return x != x ? CANON_NAN : x;
}

// @ts-ignore: decorator
@inline function rate1(spend: f64, windowSeconds: f64): f64 {
  return spend / windowSeconds;
}

// @ts-ignore: decorator
@inline function ewma1(prev: f64, x: f64, alpha: f64): f64 {
  return prev != prev ? x : prev + alpha * (x - prev);
}

// @ts-ignore: decorator
@inline function deriv1(cur: f64, prev: f64, dt: f64): f64 {
  if (prev != prev) return cur != cur ? CANON_NAN : 0.0;
  return (cur - prev) / dt;
}

/** `elapsedFraction` = elapsedSeconds / periodSeconds, computed once per call. */
// @ts-ignore: decorator
@inline function burn1(spent: f64, budget: f64, elapsedFraction: f64): f64 {
  if (budget <= 0) return spent > 0 ? Infinity : spent <= 0 ? 0.0 : CANON_NAN;
  return (spent / budget) / elapsedFraction;
}

// @ts-ignore: decorator
@inline function tte1(remaining: f64, rate: f64, accel: f64): f64 {
  if (remaining <= 0) return 0.0;
  if (remaining != remaining || rate - rate != 0 || accel - accel != 0) return CANON_NAN;
  if (remaining == Infinity) return Infinity;
  if (rate > 0) {
    if (accel == 0) return remaining / rate;
    const d = rate * rate + 2 * accel * remaining;
    return d < 0 ? Infinity : (2 * remaining) / (rate + sqrt<f64>(d));
  }
  if (accel > 0) return (sqrt<f64>(rate * rate + 2 * accel * remaining) - rate) / accel;
  return Infinity;
}

// ---- f64x2 mirrors of the element functions (compiled only into the SIMD build). ----

// @ts-ignore: decorator
@inline function canon2(v: v128): v128 {
  return v128.bitselect(f64x2.splat(CANON_NAN), v, f64x2.ne(v, v));
}

// @ts-ignore: decorator
@inline function ewma2(prev: v128, x: v128, alpha: v128): v128 {
  return v128.bitselect(x, f64x2.add(prev, f64x2.mul(alpha, f64x2.sub(x, prev))), f64x2.ne(prev, prev));
}

// @ts-ignore: decorator
@inline function deriv2(cur: v128, prev: v128, dt: v128): v128 {
  const noHistory = v128.bitselect(f64x2.splat(CANON_NAN), f64x2.splat(0), f64x2.ne(cur, cur));
  return v128.bitselect(noHistory, f64x2.div(f64x2.sub(cur, prev), dt), f64x2.ne(prev, prev));
}

// @ts-ignore: decorator
@inline function burn2(spent: v128, budget: v128, elapsedFraction: v128): v128 {
  const zero = f64x2.splat(0);
  const noBudget = v128.bitselect(
    f64x2.splat(Infinity),
    v128.bitselect(zero, f64x2.splat(CANON_NAN), f64x2.le(spent, zero)),
    f64x2.gt(spent, zero),
  );
  return v128.bitselect(noBudget, f64x2.div(f64x2.div(spent, budget), elapsedFraction), f64x2.le(budget, zero));
}

// @ts-ignore: decorator
@inline function tte2(remaining: v128, rate: v128, accel: v128): v128 {
  const zero = f64x2.splat(0);
  const inf = f64x2.splat(Infinity);
  const d = f64x2.add(f64x2.mul(rate, rate), f64x2.mul(f64x2.mul(f64x2.splat(2), accel), remaining));
  const root = f64x2.sqrt(d);
  // rate > 0: accel == 0 → R/r; d < 0 → never; else 2R / (r + √d).
  const rising = v128.bitselect(
    f64x2.div(remaining, rate),
    v128.bitselect(inf, f64x2.div(f64x2.mul(f64x2.splat(2), remaining), f64x2.add(rate, root)), f64x2.lt(d, zero)),
    f64x2.eq(accel, zero),
  );
  // rate ≤ 0: accel > 0 → (√d − r) / a; else never.
  const falling = v128.bitselect(f64x2.div(f64x2.sub(root, rate), accel), inf, f64x2.gt(accel, zero));
  let t = v128.bitselect(rising, falling, f64x2.gt(rate, zero));
  t = v128.bitselect(inf, t, f64x2.eq(remaining, inf));
  const bad = v128.or(
    f64x2.ne(remaining, remaining),
    v128.or(f64x2.ne(f64x2.sub(rate, rate), zero), f64x2.ne(f64x2.sub(accel, accel), zero)),
  );
  t = v128.bitselect(f64x2.splat(CANON_NAN), t, bad);
  return v128.bitselect(zero, t, f64x2.le(remaining, zero));
}

// ---- Exports. `n` counts elements (tenants), not bytes. ----

/** α = 1 − e^(−dt/τ), as −expm1(−dt/τ) (no cancellation for dt ≪ τ). Precondition: dt, τ > 0. */
export function costEwmaAlpha(dt: f64, tau: f64): f64 {
  return -Math.expm1(-dt / tau);
}

/** out[i] = spend[i] / windowSeconds. */
export function costSpendRate(spend: usize, n: usize, windowSeconds: f64, out: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const w = f64x2.splat(windowSeconds);
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      v128.store(out + o, canon2(f64x2.div(v128.load(spend + o), w)));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    store<f64>(out + o, canon(rate1(load<f64>(spend + o), windowSeconds)));
  }
}

/** out[i] = prev[i] + α(x[i] − prev[i]), or x[i] when prev[i] is NaN. */
export function costEwma(prev: usize, x: usize, n: usize, alpha: f64, out: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const a = f64x2.splat(alpha);
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      v128.store(out + o, canon2(ewma2(v128.load(prev + o), v128.load(x + o), a)));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    store<f64>(out + o, canon(ewma1(load<f64>(prev + o), load<f64>(x + o), alpha)));
  }
}

/** out[i] = (cur[i] − prev[i]) / dt; 0 when prev[i] is NaN (NaN if cur[i] is NaN too). */
export function costDerivative(cur: usize, prev: usize, n: usize, dt: f64, out: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const d = f64x2.splat(dt);
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      v128.store(out + o, canon2(deriv2(v128.load(cur + o), v128.load(prev + o), d)));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    store<f64>(out + o, canon(deriv1(load<f64>(cur + o), load<f64>(prev + o), dt)));
  }
}

/** out[i] = (spent[i] / budget[i]) / (elapsedSeconds / periodSeconds), with the zero-budget rule. */
export function costBurnRate(
  spent: usize, budget: usize, n: usize, elapsedSeconds: f64, periodSeconds: f64, out: usize,
): void {
  const f = elapsedSeconds / periodSeconds;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const f2 = f64x2.splat(f);
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      v128.store(out + o, canon2(burn2(v128.load(spent + o), v128.load(budget + o), f2)));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    store<f64>(out + o, canon(burn1(load<f64>(spent + o), load<f64>(budget + o), f)));
  }
}

/** out[i] = smallest t > 0 with remaining = rate·t + ½·accel·t² (see tte1 for the cases). */
export function costTimeToExhaustion(remaining: usize, rate: usize, accel: usize, n: usize, out: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      v128.store(out + o, canon2(tte2(v128.load(remaining + o), v128.load(rate + o), v128.load(accel + o))));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    store<f64>(out + o, canon(tte1(load<f64>(remaining + o), load<f64>(rate + o), load<f64>(accel + o))));
  }
}

/**
 * One tick for n tenants, the composition of the functions above:
 *   rate = spend / windowSeconds              smoothed = ewma(prevSmoothed, rate, α)
 *   derivative = (smoothed − prevSmoothed)/dt burn = burnRate(spend, budget, windowSeconds, periodSeconds)
 *   timeToExhaustion = tte(remaining, smoothed, derivative)
 * Each output may be the same array as an input (e.g. outSmoothed == prevSmoothed).
 */
export function costStep(
  spend: usize, budget: usize, remaining: usize, prevSmoothed: usize, n: usize,
  windowSeconds: f64, periodSeconds: f64, dt: f64, alpha: f64,
  outRate: usize, outSmoothed: usize, outDerivative: usize, outBurn: usize, outTte: usize,
): void {
  const f = windowSeconds / periodSeconds;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const w2 = f64x2.splat(windowSeconds);
    const f2 = f64x2.splat(f);
    const dt2 = f64x2.splat(dt);
    const a2 = f64x2.splat(alpha);
    for (; i + 2 <= n; i += 2) {
      const o = i << 3;
      const x = v128.load(spend + o);
      const b = v128.load(budget + o);
      const r = v128.load(remaining + o);
      const prev = v128.load(prevSmoothed + o);
      const rate = canon2(f64x2.div(x, w2));
      const s = canon2(ewma2(prev, rate, a2));
      const d = canon2(deriv2(s, prev, dt2));
      v128.store(outRate + o, rate);
      v128.store(outSmoothed + o, s);
      v128.store(outDerivative + o, d);
      v128.store(outBurn + o, canon2(burn2(x, b, f2)));
      v128.store(outTte + o, canon2(tte2(r, s, d)));
    }
  }
  for (; i < n; i++) {
    const o = i << 3;
    const x = load<f64>(spend + o);
    const b = load<f64>(budget + o);
    const r = load<f64>(remaining + o);
    const prev = load<f64>(prevSmoothed + o);
    const rate = canon(rate1(x, windowSeconds));
    const s = canon(ewma1(prev, rate, alpha));
    const d = canon(deriv1(s, prev, dt));
    store<f64>(outRate + o, rate);
    store<f64>(outSmoothed + o, s);
    store<f64>(outDerivative + o, d);
    store<f64>(outBurn + o, canon(burn1(x, b, f)));
    store<f64>(outTte + o, canon(tte1(r, s, d)));
  }
}
