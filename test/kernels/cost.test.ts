// Cost-math kernels (spendRate, ewmaAlpha, ewma, burnRate, rateDerivative, timeToExhaustion,
// costStep): the SRE Workbook's burn-rate table, hand-derived edge cases, differential checks
// against the per-tenant reference on seeded random inputs for both builds, bit-identity between
// the SIMD and scalar builds, and every argument check with its error code.
import { afterEach, describe, expect, it } from 'vitest';
import {
  COST_CHUNK, KernelRangeError, KernelTypeError, burnRate, costStep, ewma, ewmaAlpha, isKernelError, kernelInfo,
  rateDerivative, spendRate, timeToExhaustion, useKernelBuild,
  type CostStepInput, type CostStepResult, type KernelBuild, type KernelErrorCode,
} from '@tenantry/kernels';
import {
  refBurnRate, refCostStep, refEwma, refEwmaAlpha, refRateDerivative, refSpendRate, refTimeToExhaustion,
} from '@tenantry/kernels/reference';
import { rng as rngU32 } from '../helpers/random.js';

const BUILDS: readonly KernelBuild[] = ['simd', 'scalar'];
const HOUR = 3600;
const DAY = 86_400;
const PERIOD_30D = 30 * DAY;
const CANONICAL_NAN = 0x7ff8000000000000n;

afterEach(() => useKernelBuild('auto'));

/** Seeded floats in [0, 1), so every failure is reproducible from its seed. */
function rng(seed: number): () => number {
  const next = rngU32(seed);
  return () => next() / 4294967296;
}

/** n NaNs with the sign bit and a payload set (bits 0xFFF4000000000001), written bit-exactly. */
function oddNaNs(n: number): Float64Array {
  return new Float64Array(new BigUint64Array(n).fill(0xfff4000000000001n).buffer);
}
const ODD_NAN = oddNaNs(1)[0]!;
const SPECIALS = [NaN, ODD_NAN, Infinity, -Infinity, 0, -0, 5e-324, -5e-324, 1e-300, 1e300, Number.MAX_VALUE, -1];

interface Shape {
  /** Probability of a value from SPECIALS. */
  special: number;
  /** Probability of a negative value. */
  negative: number;
  /** Probability of an exact zero. */
  zero: number;
  /** Decimal exponent range of the magnitude. */
  exp: readonly [number, number];
}
const DATA: Shape = { special: 0.05, negative: 0.15, zero: 0.05, exp: [-6, 6] };

function values(n: number, seed: number, shape: Shape = DATA): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < shape.special) out[i] = SPECIALS[Math.floor(r() * SPECIALS.length)]!;
    else if (u < shape.special + shape.zero) out[i] = 0;
    else {
      const [lo, hi] = shape.exp;
      const m = r() * 10 ** (lo + r() * (hi - lo));
      out[i] = r() < shape.negative ? -m : m;
    }
  }
  return out;
}

/** Elements where `actual` differs from `expected(i)` under Object.is (all NaNs equal, 0 ≠ −0). */
function mismatches(actual: Float64Array, expected: (i: number) => number, inputs: (i: number) => unknown): unknown[] {
  const bad: unknown[] = [];
  for (let i = 0; i < actual.length && bad.length < 5; i++) {
    const e = expected(i);
    if (!Object.is(actual[i], e)) bad.push({ i, actual: actual[i], expected: e, inputs: inputs(i) });
  }
  return bad;
}

/** First index whose 64 bits differ between two arrays of equal length, or -1 (bit-identical). */
function firstBitDifference(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Indices of NaN results whose bits are not the canonical quiet NaN. */
function nonCanonicalNaNs(a: Float64Array): number[] {
  const bits = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i]) && bits[i] !== CANONICAL_NAN) bad.push(i);
  return bad;
}

function withBuild<T>(build: KernelBuild, fn: () => T): T {
  useKernelBuild(build);
  try {
    expect(kernelInfo().build).toBe(build);
    return fn();
  } finally {
    useKernelBuild('auto');
  }
}

/** Random tenants for costStep: realistic values with specials mixed in. */
function stepInput(n: number, seed: number): Omit<CostStepInput, 'alpha' | 'tau'> & { alpha: number } {
  const r = rng(seed);
  return {
    windowSpend: values(n, seed + 1, { special: 0.03, negative: 0.05, zero: 0.1, exp: [-4, 3] }),
    budget: values(n, seed + 2, { special: 0.03, negative: 0.02, zero: 0.05, exp: [0, 6] }),
    remaining: values(n, seed + 3, { special: 0.03, negative: 0.1, zero: 0.05, exp: [-2, 6] }),
    smoothedRate: values(n, seed + 4, { special: 0.2, negative: 0.05, zero: 0.05, exp: [-6, 1] }),
    windowSeconds: 1 + r() * 3600,
    periodSeconds: PERIOD_30D,
    dt: 0.1 + r() * 60,
    alpha: Math.max(Number.MIN_VALUE, r()),
  };
}

const STEP_FIELDS = ['rate', 'smoothedRate', 'derivative', 'burnRate', 'timeToExhaustion'] as const;

// Google SRE Workbook, chapter 5 "Alerting on SLOs", table "Error budget consumed … burn rate":
// for a 30-day SLO period, 2 % of the budget in 1 h is burn rate 14.4, 5 % in 6 h is 6, 10 % in
// 3 days is 1.
const WORKBOOK = [
  { fraction: 0.02, elapsed: 1 * HOUR, burn: 14.4 },
  { fraction: 0.05, elapsed: 6 * HOUR, burn: 6 },
  { fraction: 0.1, elapsed: 3 * DAY, burn: 1 },
] as const;

describe('burnRate: SRE Workbook "Alerting on SLOs" examples', () => {
  for (const build of BUILDS) {
    for (const { fraction, elapsed, burn } of WORKBOOK) {
      it(`${build}: ${fraction * 100} % of a 30-day budget in ${elapsed / HOUR} h → ${burn}`, () => {
        useKernelBuild(build);
        const budgets = Float64Array.of(100, 1234.5, 1e6, 0.37);
        const spent = budgets.map((b) => fraction * b);
        const got = burnRate(spent, budgets, elapsed, PERIOD_30D);
        for (let i = 0; i < budgets.length; i++) {
          expect(got[i]).toBeCloseTo(burn, 12);
          expect(refBurnRate(spent[i]!, budgets[i]!, elapsed, PERIOD_30D)).toBeCloseTo(burn, 12);
        }
        // costStep reports the same burn rate when the window is the elapsed time.
        const step = costStep({
          windowSpend: spent, budget: budgets, remaining: budgets, smoothedRate: new Float64Array(4).fill(NaN),
          windowSeconds: elapsed, periodSeconds: PERIOD_30D, dt: 60, alpha: 0.5,
        });
        expect(firstBitDifference(step.burnRate, got)).toBe(-1);
      });
    }
  }
});

describe('edge cases (both builds)', () => {
  const NaN_ = NaN;
  const cases = {
    spendRate: [
      // [spend, windowSeconds, expected]
      [3, 60, 0.05], [-6, 60, -0.1], [0, 60, 0], [-0, 60, -0], [NaN_, 60, NaN_], [Infinity, 60, Infinity],
    ],
    ewma: [
      // [previous, sample, alpha, expected]
      [NaN_, 4, 0.5, 4], [NaN_, NaN_, 0.5, NaN_], [ODD_NAN, -3, 0.25, -3], [2, NaN_, 0.5, NaN_], [10, 20, 0.5, 15],
      [5, 7, 1, 7], [1, 3, 0.25, 1.5], [Infinity, 1, 0.5, NaN_], [1, Infinity, 0.5, Infinity],
    ],
    burnRate: [
      // [spent, budget, expected] at elapsed 1 h of a 30-day period (factor 720)
      [1, 0, Infinity], [1, -5, Infinity], [0, 0, 0], [-0, 0, 0], [-1, 0, 0], [NaN_, 0, NaN_],
      [NaN_, 100, NaN_], [1, NaN_, NaN_], [-2, 100, -14.4], [1, Infinity, 0], [Infinity, 100, Infinity], [0, 100, 0],
    ],
    rateDerivative: [
      // [current, previous, dt = 2, expected]
      [3, 1, 1], [1, 3, -1], [1, NaN_, 0], [-7, ODD_NAN, 0], [NaN_, NaN_, NaN_], [NaN_, 1, NaN_],
      [Infinity, 1, Infinity], [Infinity, Infinity, NaN_], [5, 5, 0],
    ],
    timeToExhaustion: [
      // [remaining, rate, acceleration, expected]
      [0, 1, 0, 0], [-5, 1, 1, 0], [-Infinity, NaN_, NaN_, 0], [-0, NaN_, 0, 0], [0, Infinity, 0, 0],
      [NaN_, 1, 0, NaN_], [1, NaN_, 0, NaN_], [1, 1, NaN_, NaN_], [1, Infinity, 0, NaN_], [1, -Infinity, 0, NaN_],
      [1, 1, Infinity, NaN_], [1, 1, -Infinity, NaN_],
      [Infinity, 1, 1, Infinity], [Infinity, -1, -1, Infinity],
      [100, 4, 0, 25], [100, 4, -0, 25], [1, 1e200, 0, 1e-200], [100, 3, 0, 100 / 3],
      [100, 0, 0, Infinity], [100, -1, 0, Infinity], [100, -1, -1, Infinity], [100, 0, -1, Infinity],
      [100, 0, 2, 10], // ½·2·t² = 100
      [1.5, 2, -1, 1], // 2t − ½t² = 1.5 → t ∈ {1, 3}: the first
      [128, 2, -1 / 64, 128], // double root: r² + 2aR = 0
      [100, 2, -1, Infinity], // 4 − 200 < 0: the rate reaches zero first
      [100, 2, 1, -2 + Math.sqrt(204)], // ½t² + 2t = 100
      [100, -1, 2, (1 + Math.sqrt(401)) / 2], // t² − t = 100
    ],
  } as const;

  for (const build of BUILDS) {
    it(`${build}: spendRate`, () => {
      useKernelBuild(build);
      for (const [x, w, want] of cases.spendRate) {
        expect(spendRate(Float64Array.of(x), w)[0]).toBe(want);
        expect(refSpendRate(x, w)).toBe(want);
      }
    });
    it(`${build}: ewma`, () => {
      useKernelBuild(build);
      for (const [s, x, a, want] of cases.ewma) {
        expect(ewma(Float64Array.of(s), Float64Array.of(x), a)[0]).toBe(want);
        expect(refEwma(s, x, a)).toBe(want);
      }
    });
    it(`${build}: burnRate`, () => {
      useKernelBuild(build);
      for (const [x, b, want] of cases.burnRate) {
        const got = burnRate(Float64Array.of(x), Float64Array.of(b), HOUR, PERIOD_30D)[0]!;
        if (Number.isFinite(want) && want !== 0) expect(got).toBeCloseTo(want, 12);
        else expect(got).toBe(want);
        expect(Object.is(refBurnRate(x, b, HOUR, PERIOD_30D), got)).toBe(true);
      }
    });
    it(`${build}: rateDerivative`, () => {
      useKernelBuild(build);
      for (const [c, p, want] of cases.rateDerivative) {
        expect(rateDerivative(Float64Array.of(c), Float64Array.of(p), 2)[0]).toBe(want);
        expect(refRateDerivative(c, p, 2)).toBe(want);
      }
    });
    it(`${build}: timeToExhaustion`, () => {
      useKernelBuild(build);
      for (const [R, r, a, want] of cases.timeToExhaustion) {
        const got = timeToExhaustion(Float64Array.of(R), Float64Array.of(r), Float64Array.of(a))[0]!;
        if (Number.isFinite(want) && want !== 0) expect(got, `R=${R} r=${r} a=${a}`).toBeCloseTo(want, 12);
        else expect(got, `R=${R} r=${r} a=${a}`).toBe(want);
        expect(Object.is(refTimeToExhaustion(R, r, a), got)).toBe(true);
      }
    });
    it(`${build}: timeToExhaustion tends to R/r as a → 0, from both sides, without an ε`, () => {
      useKernelBuild(build);
      const a = Float64Array.of(1e-300, -1e-300, 1e-12, -1e-12, 5e-324, -5e-324);
      const got = timeToExhaustion(new Float64Array(a.length).fill(100), new Float64Array(a.length).fill(4), a);
      for (const t of got) expect(t).toBeCloseTo(25, 6);
    });
    it(`${build}: ewmaAlpha is 1 − e^(−dt/τ) and reaches the step response 1 − e^(−1) after τ`, () => {
      useKernelBuild(build);
      expect(ewmaAlpha(10, 60)).toBeCloseTo(1 - Math.exp(-10 / 60), 15);
      // No cancellation for dt ≪ τ: 1 − e^(−x) = x − x²/2 + …, to full relative precision.
      expect(Math.abs(ewmaAlpha(1e-9, 1) - (1e-9 - 5e-19)) / 1e-9).toBeLessThan(4 * Number.EPSILON);
      expect(ewmaAlpha(1e6, 1)).toBe(1);
      // A rate stepping from 1 to 2 USD/s, sampled every second with τ = 60 s: after 60 s the
      // smoothed rate has covered 1 − e^(−1) of the step.
      const alpha = ewmaAlpha(1, 60);
      let s: Float64Array = Float64Array.of(1);
      for (let t = 0; t < 60; t++) s = ewma(s, Float64Array.of(2), alpha);
      expect(s[0]).toBeCloseTo(2 - Math.exp(-1), 9);
    });
    it(`${build}: empty batches give empty results`, () => {
      useKernelBuild(build);
      const e = new Float64Array(0);
      expect(spendRate(e, 60)).toHaveLength(0);
      expect(ewma(e, e, 0.5)).toHaveLength(0);
      expect(burnRate(e, e, 60, PERIOD_30D)).toHaveLength(0);
      expect(rateDerivative(e, e, 1)).toHaveLength(0);
      expect(timeToExhaustion(e, e, e)).toHaveLength(0);
      const step = costStep({ windowSpend: e, budget: e, remaining: e, smoothedRate: e, windowSeconds: 60, periodSeconds: 1, dt: 1, tau: 5 });
      for (const f of STEP_FIELDS) expect(step[f]).toHaveLength(0);
    });
  }
});

describe('kernel vs reference on seeded random inputs', () => {
  const N = 5003; // odd: the SIMD paths finish with a scalar tail
  for (const build of BUILDS) {
    it(`${build}: spendRate, ewma, burnRate, rateDerivative, timeToExhaustion match bit for bit`, () => {
      useKernelBuild(build);
      const a = values(N, 11), b = values(N, 12), c = values(N, 13);
      for (const w of [1, 60, 300.5, 86_400]) {
        expect(mismatches(spendRate(a, w), (i) => refSpendRate(a[i]!, w), (i) => [a[i], w])).toEqual([]);
      }
      for (const alpha of [1e-6, 0.1, 0.5, 0.999, 1]) {
        expect(mismatches(ewma(a, b, alpha), (i) => refEwma(a[i]!, b[i]!, alpha), (i) => [a[i], b[i], alpha])).toEqual([]);
      }
      for (const [el, p] of [[HOUR, PERIOD_30D], [300, DAY], [7 * DAY, 7 * DAY], [1e-3, 1e9]] as const) {
        expect(mismatches(burnRate(a, b, el, p), (i) => refBurnRate(a[i]!, b[i]!, el, p), (i) => [a[i], b[i], el, p])).toEqual([]);
      }
      for (const dt of [1e-3, 1, 10, 3600]) {
        expect(mismatches(rateDerivative(a, b, dt), (i) => refRateDerivative(a[i]!, b[i]!, dt), (i) => [a[i], b[i], dt])).toEqual([]);
      }
      const small = values(N, 14, { special: 0.05, negative: 0.5, zero: 0.1, exp: [-12, 0] });
      for (const accel of [c, small]) {
        expect(mismatches(timeToExhaustion(a, b, accel), (i) => refTimeToExhaustion(a[i]!, b[i]!, accel[i]!), (i) => [a[i], b[i], accel[i]]))
          .toEqual([]);
      }
    });

    it(`${build}: ewmaAlpha agrees with 1 − e^(−dt/τ) to within 2 ulp`, () => {
      useKernelBuild(build);
      const r = rng(21);
      for (let j = 0; j < 2000; j++) {
        const dt = 10 ** (-3 + 6 * r()), tau = 10 ** (-3 + 6 * r());
        const got = ewmaAlpha(dt, tau), want = refEwmaAlpha(dt, tau);
        expect(Math.abs(got - want), `dt=${dt} tau=${tau}`).toBeLessThanOrEqual(2 * Number.EPSILON * want);
      }
    });

    it(`${build}: costStep matches the per-tenant reference bit for bit, across chunk boundaries`, () => {
      useKernelBuild(build);
      for (const [n, seed] of [[N, 31], [2 * COST_CHUNK + 3, 32], [1, 33], [2, 34]] as const) {
        const input = stepInput(n, seed);
        const got = costStep(input);
        for (const f of STEP_FIELDS) {
          const want = (i: number): number => refCostStep({
            windowSpend: input.windowSpend[i]!, budget: input.budget[i]!, remaining: input.remaining[i]!,
            smoothedRate: input.smoothedRate[i]!, windowSeconds: input.windowSeconds, periodSeconds: input.periodSeconds,
            dt: input.dt, alpha: input.alpha,
          })[f];
          expect(mismatches(got[f], want, (i) => ({ n, seed, f, spend: input.windowSpend[i], prev: input.smoothedRate[i] }))).toEqual([]);
        }
      }
    });

    it(`${build}: 200 ticks with the state kept in place track the reference`, () => {
      useKernelBuild(build);
      const n = 1001;
      const r = rng(41);
      const state = new Float64Array(n).fill(NaN);
      const refState = Array.from(state);
      const budget = values(n, 42, { special: 0, negative: 0, zero: 0.02, exp: [1, 5] });
      const remaining = budget.slice();
      const out: Partial<CostStepResult> = { smoothedRate: state, timeToExhaustion: new Float64Array(n) };
      for (let tick = 0; tick < 200; tick++) {
        const windowSpend = values(n, 1000 + tick, { special: 0.01, negative: 0.02, zero: 0.1, exp: [-2, 1] });
        const dt = 5 + r() * 10;
        const res = costStep({ windowSpend, budget, remaining, smoothedRate: state, windowSeconds: 300, periodSeconds: PERIOD_30D, dt, tau: 120 }, out);
        expect(res.smoothedRate).toBe(state);
        expect(res.timeToExhaustion).toBe(out.timeToExhaustion);
        const alpha = ewmaAlpha(dt, 120);
        for (let i = 0; i < n; i++) {
          const want = refCostStep({
            windowSpend: windowSpend[i]!, budget: budget[i]!, remaining: remaining[i]!, smoothedRate: refState[i]!,
            windowSeconds: 300, periodSeconds: PERIOD_30D, dt, alpha,
          });
          refState[i] = want.smoothedRate;
          if (!Object.is(state[i], want.smoothedRate) || !Object.is(res.timeToExhaustion[i], want.timeToExhaustion)) {
            expect({ tick, i, smoothed: state[i], tte: res.timeToExhaustion[i] }).toEqual({ tick, i, smoothed: want.smoothedRate, tte: want.timeToExhaustion });
          }
          remaining[i] = remaining[i]! - Math.max(0, windowSpend[i]! * (dt / 300) || 0);
        }
      }
    });

    it(`${build}: a new tenant starts at its current rate with derivative 0`, () => {
      useKernelBuild(build);
      const res = costStep({
        windowSpend: Float64Array.of(30, 0), budget: Float64Array.of(1000, 1000), remaining: Float64Array.of(100, 100),
        smoothedRate: Float64Array.of(NaN, NaN), windowSeconds: 60, periodSeconds: PERIOD_30D, dt: 10, tau: 60,
      });
      expect(Array.from(res.rate)).toEqual([0.5, 0]);
      expect(Array.from(res.smoothedRate)).toEqual([0.5, 0]);
      expect(Array.from(res.derivative)).toEqual([0, 0]);
      expect(Array.from(res.timeToExhaustion)).toEqual([200, Infinity]);
    });
  }
});

describe('determinism', () => {
  const N = 4097;
  const run = (build: KernelBuild): Float64Array[] => withBuild(build, () => {
    const a = values(N, 51), b = values(N, 52), c = values(N, 53);
    const step = stepInput(N, 54);
    return [
      spendRate(a, 60), ewma(a, b, 0.3), burnRate(a, b, HOUR, PERIOD_30D), rateDerivative(a, b, 7),
      timeToExhaustion(a, b, c), Float64Array.of(ewmaAlpha(3, 17), ewmaAlpha(1e-7, 3), ewmaAlpha(90, 1)),
      ...STEP_FIELDS.map((f) => costStep(step)[f]),
      ...STEP_FIELDS.map((f) => costStep({ ...step, alpha: undefined, tau: 45 })[f]),
    ];
  });

  it('the SIMD and scalar builds store identical bits for every function', () => {
    const simd = run('simd');
    const scalar = run('scalar');
    expect(simd.length).toBe(scalar.length);
    for (let j = 0; j < simd.length; j++) expect(firstBitDifference(simd[j]!, scalar[j]!), `output ${j}`).toBe(-1);
  });

  it('every NaN result is the canonical quiet NaN, even from a NaN input with sign and payload', () => {
    for (const build of BUILDS) {
      for (const [j, out] of run(build).entries()) expect(nonCanonicalNaNs(out), `${build} output ${j}`).toEqual([]);
      withBuild(build, () => {
        const odd = oddNaNs(5);
        expect(new BigUint64Array(odd.buffer)[4]).toBe(0xfff4000000000001n);
        const ones = new Float64Array(5).fill(1);
        const outs = [
          spendRate(odd, 1), ewma(ones, odd, 0.5), burnRate(odd, odd, 1, 1), rateDerivative(odd, ones, 1),
          timeToExhaustion(odd, odd, odd), timeToExhaustion(ones, odd, ones), timeToExhaustion(ones, ones, odd),
          ...STEP_FIELDS.map((f) => costStep({ windowSpend: odd, budget: odd, remaining: odd, smoothedRate: ones,
            windowSeconds: 1, periodSeconds: 1, dt: 1, alpha: 0.5 })[f]).filter((_, j) => j !== 2),
        ];
        for (const o of outs) {
          expect(o.every(Number.isNaN)).toBe(true);
          expect(nonCanonicalNaNs(o)).toEqual([]);
        }
      });
    }
  });

  for (const build of BUILDS) {
    it(`${build}: costStep is the composition of the single functions, bit for bit`, () => {
      useKernelBuild(build);
      for (const seed of [61, 62, 63]) {
        const input = stepInput(3001, seed);
        const prev = input.smoothedRate.slice();
        for (const variant of [{ alpha: input.alpha }, { tau: 10 ** (rng(seed)() * 4) }]) {
          const { alpha: _a, ...arrays } = input;
          const step = costStep({ ...arrays, ...variant } as CostStepInput);
          const alpha = 'alpha' in variant ? variant.alpha : ewmaAlpha(input.dt, variant.tau);
          const rate = spendRate(input.windowSpend, input.windowSeconds);
          const smoothed = ewma(prev, rate, alpha);
          const derivative = rateDerivative(smoothed, prev, input.dt);
          const composed: CostStepResult = {
            rate, smoothedRate: smoothed, derivative,
            burnRate: burnRate(input.windowSpend, input.budget, input.windowSeconds, input.periodSeconds),
            timeToExhaustion: timeToExhaustion(input.remaining, smoothed, derivative),
          };
          for (const f of STEP_FIELDS) expect(firstBitDifference(step[f], composed[f]), `${f} seed ${seed}`).toBe(-1);
        }
        expect(firstBitDifference(input.smoothedRate, prev)).toBe(-1); // inputs are not modified
      }
    });

    it(`${build}: outputs may be the inputs themselves (in-place update)`, () => {
      useKernelBuild(build);
      const n = COST_CHUNK + 7;
      const a = values(n, 71), b = values(n, 72);
      const want = ewma(a, b, 0.25);
      const inPlace = a.slice();
      expect(ewma(inPlace, b, 0.25, inPlace)).toBe(inPlace);
      expect(firstBitDifference(inPlace, want)).toBe(-1);
      const rates = a.slice();
      expect(firstBitDifference(spendRate(rates, 60, rates), spendRate(a, 60))).toBe(-1);
      const input = stepInput(n, 73);
      const fresh = costStep(input);
      const state = input.smoothedRate.slice();
      const res = costStep({ ...input, smoothedRate: state }, { smoothedRate: state });
      expect(res.smoothedRate).toBe(state);
      for (const f of STEP_FIELDS) expect(firstBitDifference(res[f], fresh[f]), f).toBe(-1);
    });
  }

  it('memory stays flat however many tenants a call carries', () => {
    const n = 3 * COST_CHUNK + 1;
    costStep(stepInput(n, 81));
    const before = kernelInfo().memoryBytes;
    costStep(stepInput(8 * COST_CHUNK + 5, 82));
    timeToExhaustion(values(n * 3, 83), values(n * 3, 84), values(n * 3, 85));
    expect(kernelInfo().memoryBytes).toBe(before);
  });
});

describe('argument checks', () => {
  const f2 = Float64Array.of(1, 2);
  const f3 = Float64Array.of(1, 2, 3);
  const step = (over: Record<string, unknown>): CostStepInput => ({
    windowSpend: f2, budget: f2, remaining: f2, smoothedRate: f2, windowSeconds: 60, periodSeconds: PERIOD_30D, dt: 10, alpha: 0.5, ...over,
  } as CostStepInput);
  const shared = new ArrayBuffer(64);
  const view = (offset: number, n: number): Float64Array => new Float64Array(shared, offset, n);

  type Case = [name: string, call: () => unknown, type: typeof KernelTypeError | typeof KernelRangeError, code: KernelErrorCode, field: string];
  const badScalars = (fn: string, field: string, call: (v: unknown) => unknown): Case[] => [
    [`${fn}: ${field} = '60'`, () => call('60'), KernelTypeError, 'INVALID_ARGUMENT', field],
    [`${fn}: ${field} = undefined`, () => call(undefined), KernelTypeError, 'INVALID_ARGUMENT', field],
    ...[0, -0, -1, NaN, Infinity, -Infinity].map((v): Case =>
      [`${fn}: ${field} = ${Object.is(v, -0) ? '-0' : v}`, () => call(v), KernelRangeError, 'INVALID_ARGUMENT', field]),
  ];
  const badAlpha = (fn: string, call: (v: unknown) => unknown): Case[] => [
    [`${fn}: alpha = '0.5'`, () => call('0.5'), KernelTypeError, 'INVALID_ARGUMENT', 'alpha'],
    ...[0, -0.1, 1.0000001, NaN, Infinity].map((v): Case => [`${fn}: alpha = ${v}`, () => call(v), KernelRangeError, 'INVALID_ARGUMENT', 'alpha']),
  ];
  const notF64 = (fn: string, field: string, call: (v: unknown) => unknown): Case[] =>
    [[1, 2], new Float32Array(2), undefined, null, 'ab', new BigInt64Array(2)].map((v): Case =>
      [`${fn}: ${field} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? v.constructor.name : typeof v}`,
        () => call(v), KernelTypeError, 'INVALID_ARGUMENT', field]);
  const any = (v: unknown): never => v as never;

  const cases: Case[] = [
    ...notF64('spendRate', 'spend', (v) => spendRate(any(v), 60)),
    ...badScalars('spendRate', 'windowSeconds', (v) => spendRate(f2, any(v))),
    ['spendRate: out too short', () => spendRate(f2, 60, new Float64Array(1)), KernelRangeError, 'INVALID_LENGTH', 'out'],
    ['spendRate: out a Float32Array', () => spendRate(f2, 60, any(new Float32Array(2))), KernelTypeError, 'INVALID_ARGUMENT', 'out'],
    ['spendRate: out partially overlaps spend', () => spendRate(view(0, 2), 60, view(8, 2)), KernelRangeError, 'INVALID_ARGUMENT', 'out'],

    ...badScalars('ewmaAlpha', 'dt', (v) => ewmaAlpha(any(v), 60)),
    ...badScalars('ewmaAlpha', 'tau', (v) => ewmaAlpha(1, any(v))),

    ...notF64('ewma', 'previous', (v) => ewma(any(v), f2, 0.5)),
    ...notF64('ewma', 'samples', (v) => ewma(f2, any(v), 0.5)),
    ['ewma: samples length differs', () => ewma(f2, f3, 0.5), KernelRangeError, 'INVALID_LENGTH', 'samples'],
    ...badAlpha('ewma', (v) => ewma(f2, f2, any(v))),
    ['ewma: out too long', () => ewma(f2, f2, 0.5, f3), KernelRangeError, 'INVALID_LENGTH', 'out'],
    ['ewma: out partially overlaps samples', () => ewma(f2, view(8, 2), 0.5, view(0, 2)), KernelRangeError, 'INVALID_ARGUMENT', 'out'],

    ...notF64('burnRate', 'spent', (v) => burnRate(any(v), f2, HOUR, PERIOD_30D)),
    ...notF64('burnRate', 'budget', (v) => burnRate(f2, any(v), HOUR, PERIOD_30D)),
    ['burnRate: budget length differs', () => burnRate(f2, f3, HOUR, PERIOD_30D), KernelRangeError, 'INVALID_LENGTH', 'budget'],
    ...badScalars('burnRate', 'elapsedSeconds', (v) => burnRate(f2, f2, any(v), PERIOD_30D)),
    ...badScalars('burnRate', 'periodSeconds', (v) => burnRate(f2, f2, HOUR, any(v))),
    ['burnRate: out wrong length', () => burnRate(f2, f2, HOUR, PERIOD_30D, new Float64Array(0)), KernelRangeError, 'INVALID_LENGTH', 'out'],

    ...notF64('rateDerivative', 'current', (v) => rateDerivative(any(v), f2, 1)),
    ...notF64('rateDerivative', 'previous', (v) => rateDerivative(f2, any(v), 1)),
    ['rateDerivative: previous length differs', () => rateDerivative(f2, f3, 1), KernelRangeError, 'INVALID_LENGTH', 'previous'],
    ...badScalars('rateDerivative', 'dt', (v) => rateDerivative(f2, f2, any(v))),
    ['rateDerivative: out an array', () => rateDerivative(f2, f2, 1, any([0, 0])), KernelTypeError, 'INVALID_ARGUMENT', 'out'],

    ...notF64('timeToExhaustion', 'remaining', (v) => timeToExhaustion(any(v), f2, f2)),
    ...notF64('timeToExhaustion', 'rate', (v) => timeToExhaustion(f2, any(v), f2)),
    ...notF64('timeToExhaustion', 'acceleration', (v) => timeToExhaustion(f2, f2, any(v))),
    ['timeToExhaustion: rate length differs', () => timeToExhaustion(f2, f3, f2), KernelRangeError, 'INVALID_LENGTH', 'rate'],
    ['timeToExhaustion: acceleration length differs', () => timeToExhaustion(f2, f2, f3), KernelRangeError, 'INVALID_LENGTH', 'acceleration'],
    ['timeToExhaustion: out wrong length', () => timeToExhaustion(f2, f2, f2, f3), KernelRangeError, 'INVALID_LENGTH', 'out'],

    ['costStep: input undefined', () => costStep(any(undefined)), KernelTypeError, 'INVALID_ARGUMENT', 'input'],
    ['costStep: input null', () => costStep(any(null)), KernelTypeError, 'INVALID_ARGUMENT', 'input'],
    ...(['windowSpend', 'budget', 'remaining', 'smoothedRate'] as const).flatMap((field) => [
      ...notF64('costStep', field, (v) => costStep(step({ [field]: v }))),
      [`costStep: ${field} length differs`, () => costStep(step(field === 'windowSpend'
        ? { budget: f3, remaining: f3, smoothedRate: f3 } : { [field]: f3 })),
      KernelRangeError, 'INVALID_LENGTH', field === 'windowSpend' ? 'budget' : field] as Case,
    ]),
    ...badScalars('costStep', 'windowSeconds', (v) => costStep(step({ windowSeconds: v }))),
    ...badScalars('costStep', 'periodSeconds', (v) => costStep(step({ periodSeconds: v }))),
    ...badScalars('costStep', 'dt', (v) => costStep(step({ dt: v }))),
    ...badAlpha('costStep', (v) => costStep(step({ alpha: v }))),
    ...badScalars('costStep', 'tau', (v) => costStep(step({ alpha: undefined, tau: v }))).filter(([name]) => !name.endsWith('undefined')),
    ['costStep: neither alpha nor tau', () => costStep(step({ alpha: undefined })), KernelTypeError, 'INVALID_ARGUMENT', 'alpha'],
    ['costStep: both alpha and tau', () => costStep(step({ tau: 60 })), KernelTypeError, 'INVALID_ARGUMENT', 'tau'],
    ['costStep: out not an object', () => costStep(step({}), any(5)), KernelTypeError, 'INVALID_ARGUMENT', 'out'],
    ['costStep: out.derivative wrong length', () => costStep(step({}), { derivative: f3 }), KernelRangeError, 'INVALID_LENGTH', 'out.derivative'],
    ['costStep: out.rate not a Float64Array', () => costStep(step({}), { rate: any([0, 0]) }), KernelTypeError, 'INVALID_ARGUMENT', 'out.rate'],
    ['costStep: out.burnRate is out.rate', () => costStep(step({}), { rate: view(0, 2), burnRate: view(0, 2) }), KernelRangeError, 'INVALID_ARGUMENT', 'out.burnRate'],
    ['costStep: out.timeToExhaustion overlaps out.derivative', () => costStep(step({}), { derivative: view(0, 2), timeToExhaustion: view(8, 2) }),
      KernelRangeError, 'INVALID_ARGUMENT', 'out.timeToExhaustion'],
    ['costStep: out.smoothedRate partially overlaps smoothedRate', () => costStep(step({ smoothedRate: view(0, 2) }), { smoothedRate: view(8, 2) }),
      KernelRangeError, 'INVALID_ARGUMENT', 'out.smoothedRate'],
  ];

  it.each(cases)('%s', (_name, call, type, code, field) => {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(type);
    expect(isKernelError(error)).toBe(true);
    expect(error).toMatchObject({ code, field });
    expect((error as Error).message).toContain(field);
  });

  it('accepts the boundary values: alpha = 1, tiny positive scalars, views at an offset', () => {
    expect(ewma(f2, f3.subarray(1), 1)).toEqual(Float64Array.of(2, 3));
    expect(spendRate(f2, Number.MIN_VALUE)).toEqual(Float64Array.of(Infinity, Infinity));
    expect(Array.from(rateDerivative(f3.subarray(1), f3.subarray(0, 2), 0.5))).toEqual([2, 2]);
    expect(() => costStep(step({ alpha: 1 }))).not.toThrow();
    expect(() => costStep(step({ alpha: undefined, tau: Number.MIN_VALUE }))).not.toThrow();
  });
});
