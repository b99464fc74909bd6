// Cost defense: the SRE Workbook's burn-rate table (2 % of a 30-day budget in 1 h → 14.4, 5 % in 6 h → 6,
// 10 % in 3 days → 1), alerts that need both windows and resolve, limiter actions with the numbers that
// triggered them (checked against the kernels' reference cost step), many tenants in one batch equal to
// each tenant alone, bounded memory, listeners, and bad options and inputs refused naming the field.
import { describe, expect, it } from 'vitest';
import { ewmaAlpha } from '@tenantry/kernels';
import { refCostStep } from '@tenantry/kernels/reference';
import {
  CostDefense, DEFAULT_BURN_RATE_WINDOWS, type CostDefenseEvent, type CostDefenseOptions, type LimiterActionEvent,
} from '@tenantry/quota';
import { isQuotaError, type QuotaErrorCode } from '@tenantry/quota';
import { expectCodedError } from '../helpers/errors.js';
import { rng } from '../helpers/random.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const USD = 1_000_000;

function expectQuotaError(fn: () => unknown, code: QuotaErrorCode, field: string): void {
  expectCodedError(fn, isQuotaError, code, field);
}

/** Records `micros` at every minute mark in [from, to] and ticks at every multiple of `tickEvery` minutes. */
function run(d: CostDefense, tenant: string, micros: (minute: number) => number, to: number, tickEvery = 1, from = 1): CostDefenseEvent[] {
  const events: CostDefenseEvent[] = [];
  for (let m = from; m <= to; m++) {
    const x = micros(m);
    if (x > 0) d.record(tenant, x, m * MIN);
    if (m % tickEvery === 0) events.push(...d.tick(m * MIN));
  }
  return events;
}

function actions(events: readonly CostDefenseEvent[]): LimiterActionEvent[] {
  return events.filter((e): e is LimiterActionEvent => e.type !== 'burn_rate_alert' && e.type !== 'burn_rate_resolved');
}

function alerts(events: readonly CostDefenseEvent[]): CostDefenseEvent[] {
  return events.filter((e) => e.type === 'burn_rate_alert' || e.type === 'burn_rate_resolved');
}

function expectRelative(actual: number, expected: number, tolerance = 1e-12): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(Math.abs(expected) * tolerance);
}

describe('CostDefense burn-rate alerts (SRE Workbook ch. 5)', () => {
  it('2 % of a 30-day budget in 1 h burns at 14.4 and pages once the 5 m window burns as fast', () => {
    const d = new CostDefense();
    d.setBudget('acme', 300 * USD);
    // 0.1 USD a minute: 6 USD (2 %) by the end of the hour; the 5 m window burns at 14.4 from minute 5 on.
    const events = run(d, 'acme', () => 100_000, 60);
    expect(events).toEqual([{
      type: 'burn_rate_alert', tenant_id: 'acme', at: HOUR, severity: 'page', window: 0, long_ms: HOUR, short_ms: 5 * MIN,
      threshold: 14.4, long_burn_rate: expect.closeTo(14.4, 12), short_burn_rate: expect.closeTo(14.4, 12), budget_usd: 300,
    }]);
    // One micro-USD less in the hour stays below the threshold.
    const under = new CostDefense();
    under.setBudget('acme', 300 * USD);
    expect(run(under, 'acme', (m) => (m === 60 ? 99_999 : 100_000), 60)).toEqual([]);
  });

  it('fires at exactly the threshold fraction although the ratio of ratios rounds below it', () => {
    // 2 % of 29 USD is 0.58 USD; (0.58 / 29) / (3600 / 2 592 000) evaluates to 14.399999999999997.
    const spendHour = (d: CostDefense, last: number): CostDefenseEvent[] => {
      d.setBudget('acme', 29 * USD);
      d.record('acme', 530_000, MIN);
      d.record('acme', last, 58 * MIN);
      return d.tick(HOUR);
    };
    const events = spendHour(new CostDefense(), 50_000);
    expect(events).toEqual([expect.objectContaining({ type: 'burn_rate_alert', window: 0 })]);
    expect((events[0] as { long_burn_rate: number }).long_burn_rate).toBeLessThan(14.4);
    expect(spendHour(new CostDefense(), 49_999)).toEqual([]);
  });

  it('counts the bucket at the window start by its overlap, so a tick between bucket edges measures even spend exactly', () => {
    // The 1 h window has 2-minute buckets; at minute 121 it is (61 min, 121 min], half of the bucket (60, 62].
    const d = new CostDefense();
    d.setBudget('acme', 300 * USD);
    for (let m = 1; m <= 121; m++) d.record('acme', 100_000, m * MIN);
    expect(d.tick(121 * MIN)).toEqual([expect.objectContaining({
      type: 'burn_rate_alert', window: 0, long_burn_rate: expect.closeTo(14.4, 12), short_burn_rate: expect.closeTo(14.4, 12),
    })]);
  });

  it('5 % in 6 h burns at 6 and pages through the 6 h / 30 m alert', () => {
    const d = new CostDefense();
    d.setBudget('acme', 720 * USD);
    const events = run(d, 'acme', () => 100_000, 6 * 60, 10);
    expect(events).toEqual([expect.objectContaining({
      type: 'burn_rate_alert', at: 6 * HOUR, severity: 'page', window: 1, long_ms: 6 * HOUR, short_ms: 30 * MIN, threshold: 6,
      long_burn_rate: expect.closeTo(6, 12), short_burn_rate: expect.closeTo(6, 12),
    })]);
  });

  it('10 % in 3 days burns at 1 and files a ticket; the 6 h window alone burning at 1 before that does not', () => {
    const d = new CostDefense();
    d.setBudget('acme', 4320 * USD);
    const events = run(d, 'acme', () => 100_000, 3 * 24 * 60, 12 * 60);
    expect(events).toEqual([expect.objectContaining({
      type: 'burn_rate_alert', at: 3 * DAY, severity: 'ticket', window: 2, long_ms: 3 * DAY, short_ms: 6 * HOUR, threshold: 1,
      long_burn_rate: expect.closeTo(1, 12), short_burn_rate: expect.closeTo(1, 12),
    })]);
    const under = new CostDefense();
    under.setBudget('acme', 4320 * USD);
    expect(run(under, 'acme', (m) => (m === 1 ? 99_999 : 100_000), 3 * 24 * 60, 12 * 60)).toEqual([]);
  });

  it('needs both windows: a burst fires, resolves when the short window empties, and a stopped burst never fires', () => {
    const burst = (m: number): number => (m <= 10 ? 900_000 : 0); // 9 USD (3 %) in 10 minutes, then nothing
    const d = new CostDefense();
    d.setBudget('acme', 300 * USD);
    const events = run(d, 'acme', burst, 60);
    expect(events).toEqual([
      expect.objectContaining({ type: 'burn_rate_alert', at: 7 * MIN, window: 0, long_burn_rate: expect.closeTo(15.12, 10), short_burn_rate: expect.closeTo(129.6, 10) }),
      expect.objectContaining({ type: 'burn_rate_resolved', at: 15 * MIN, window: 0, long_burn_rate: expect.closeTo(21.6, 10), short_burn_rate: 0 }),
    ]);
    // Ticked only after the burst: the 1 h window burns at 21.6, the 5 m window at 0.
    const late = new CostDefense();
    late.setBudget('acme', 300 * USD);
    for (let m = 1; m <= 10; m++) late.record('acme', burst(m), m * MIN);
    expect(late.tick(30 * MIN)).toEqual([]);
  });

  it('forgets spend older than its windows (memory is bounded) and counts late records still inside them', () => {
    const d = new CostDefense();
    d.setBudget('acme', 300 * USD);
    const kinds = (events: readonly CostDefenseEvent[]): unknown[] => events.map((e) => [e.type, e.type.startsWith('burn') ? (e as { window: number }).window : -1]);
    d.record('acme', 100 * USD, MIN);
    expect(kinds(d.tick(2 * MIN))).toEqual([['burn_rate_alert', 0], ['burn_rate_alert', 1], ['burn_rate_alert', 2]]);
    // A day later every short window is empty: all resolve (the 3 d window still holds the 100 USD).
    expect(kinds(d.tick(DAY))).toEqual([['burn_rate_resolved', 0], ['burn_rate_resolved', 1], ['burn_rate_resolved', 2]]);
    // A record dated before the last tick counts in the windows that still cover it: 6 USD in the last hour
    // and the last 5 minutes page; the 3 d window (106 USD) and the 6 h window (6 USD) file a ticket.
    d.record('acme', 6 * USD, DAY - 30_000);
    const late = d.tick(DAY + MIN);
    expect(kinds(late)).toEqual([['burn_rate_alert', 0], ['burn_rate_alert', 2]]);
    expect(late[0]).toMatchObject({ long_burn_rate: expect.closeTo(14.4, 12), short_burn_rate: expect.closeTo(172.8, 12) });
    // 40 days on, nothing of it is left in any window, the 3 d one included: 2 % in the next hour pages
    // as on a fresh start and files no ticket.
    expect(kinds(d.tick(40 * DAY))).toEqual([['burn_rate_resolved', 0], ['burn_rate_resolved', 2]]);
    const next: CostDefenseEvent[] = [];
    for (let m = 1; m <= 60; m++) {
      d.record('acme', 100_000, 40 * DAY + m * MIN);
      next.push(...d.tick(40 * DAY + m * MIN));
    }
    expect(next).toEqual([expect.objectContaining({ type: 'burn_rate_alert', window: 0, long_burn_rate: expect.closeTo(14.4, 12) })]);
    expect(d.size).toBe(1);
  });

  it('fails closed for a tenant without a budget: its spend burns at +Infinity', () => {
    const d = new CostDefense({ limiter: { freezeWhenExhaustedWithinMs: HOUR } });
    d.record('stranger', 1, 0);
    const events = d.tick(MIN);
    expect(events.map((e) => e.type)).toEqual(['burn_rate_alert', 'burn_rate_alert', 'burn_rate_alert', 'freeze_tenant']);
    expect(events[0]).toMatchObject({ long_burn_rate: Infinity, short_burn_rate: Infinity, budget_usd: 0 });
    expect(events[3]).toMatchObject({ trigger: 'time_to_exhaustion', time_to_exhaustion_ms: 0, remaining_usd: -0.000001 });
  });
});

describe('CostDefense derivative limiter', () => {
  const limiter = { rateWindowMs: MIN, tauMs: 2 * MIN, suspendCanaryAt: 1e-5, terminateExperimentAt: 5e-5, freezeTenantAt: 2e-4 };
  // 0.06 USD a minute, then doubling every minute for six minutes, flat at 3.84 USD a minute, then rising by
  // 0.108 USD a minute each minute (the derivative tends to 0.0018 / 60 = 3e-5 USD/s²).
  const spend = (m: number): number => {
    if (m <= 5) return 60_000;
    if (m <= 11) return 60_000 * 2 ** (m - 5);
    if (m <= 40) return 3_840_000;
    return 3_840_000 + 108_000 * (m - 40);
  };

  it('suspends, terminates and freezes as the smoothed rate accelerates, with the numbers that triggered it', () => {
    const d = new CostDefense({ limiter });
    d.setBudget('acme', 100_000 * USD);
    const got = actions(run(d, 'acme', spend, 50));

    // The expected events from the kernels' reference cost step, one tenant at a time.
    const alpha = ewmaAlpha(60, 120);
    const expected: Partial<LimiterActionEvent>[] = [];
    const acting = [false, false, false];
    const thresholds = [limiter.suspendCanaryAt, limiter.terminateExperimentAt, limiter.freezeTenantAt];
    const types = ['suspend_canary', 'terminate_experiment', 'freeze_tenant'] as const;
    let smoothed = NaN;
    let spent = 0;
    for (let m = 1; m <= 50; m++) {
      spent += spend(m);
      const s = refCostStep({
        windowSpend: spend(m) / USD, budget: 100_000, remaining: (100_000 * USD - spent) / USD, smoothedRate: smoothed,
        windowSeconds: 60, periodSeconds: 30 * 86_400, dt: 60, alpha,
      });
      smoothed = s.smoothedRate;
      for (let a = 0; a < 3; a++) {
        const now = s.derivative >= thresholds[a]!;
        if (now && !acting[a]) {
          expected.push({
            type: types[a]!, at: m * MIN, trigger: 'derivative', threshold: thresholds[a]!, rate: s.rate,
            smoothed_rate: s.smoothedRate, derivative: s.derivative, time_to_exhaustion_ms: s.timeToExhaustion * 1000,
          });
        }
        acting[a] = now;
      }
    }
    // The scenario: every action fires on the first ramp (minutes 7, 9, 11); they re-arm while the rate is
    // flat, and the slower second ramp suspends the canary again but stays below the other thresholds.
    expect(expected.map((e) => [e.type, e.at! / MIN])).toEqual([
      ['suspend_canary', 7], ['terminate_experiment', 9], ['freeze_tenant', 11], ['suspend_canary', 41],
    ]);
    expect(got.map((e) => [e.type, e.at / MIN])).toEqual(expected.map((e) => [e.type, e.at! / MIN]));
    got.forEach((e, i) => {
      const x = expected[i]!;
      expect(e).toMatchObject({ tenant_id: 'acme', trigger: 'derivative', threshold: x.threshold, budget_usd: 100_000 });
      expect(e.derivative).toBeGreaterThanOrEqual(e.threshold);
      expectRelative(e.rate, x.rate!);
      expectRelative(e.smoothed_rate, x.smoothed_rate!);
      expectRelative(e.derivative, x.derivative!);
      expectRelative(e.time_to_exhaustion_ms, x.time_to_exhaustion_ms!);
      expect(e.burn_rates.map((b) => [b.long_ms, b.short_ms])).toEqual(DEFAULT_BURN_RATE_WINDOWS.map((w) => [w.longMs, w.shortMs]));
    });
    expect(got[0]!.rate).toBeCloseTo(0.24 / 60, 15);
  });

  it('freezes once the budget left would be spent within the threshold, once, not every tick', () => {
    const d = new CostDefense({ limiter: { rateWindowMs: MIN, freezeWhenExhaustedWithinMs: 1_830_000 } });
    d.setBudget('acme', 10 * USD);
    // 0.1 USD a minute against 10 USD: at minute 70, 3 USD are left, 30 minutes at this rate.
    const got = actions(run(d, 'acme', () => 100_000, 100));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      type: 'freeze_tenant', tenant_id: 'acme', at: 70 * MIN, trigger: 'time_to_exhaustion', threshold: 1_830_000,
      derivative: 0, remaining_usd: 3, budget_usd: 10,
    });
    expectRelative(got[0]!.rate, 0.1 / 60);
    expectRelative(got[0]!.smoothed_rate, 0.1 / 60);
    expectRelative(got[0]!.time_to_exhaustion_ms, 1_800_000);
  });

  it('starts a tenant first seen after the first tick from rate 0, so a new runaway shows at once', () => {
    const d = new CostDefense({ limiter: { rateWindowMs: MIN, tauMs: MIN, suspendCanaryAt: 1e-5 } });
    d.setBudget('old', 1000 * USD);
    d.tick(MIN);
    d.record('new', 1 * USD, 2 * MIN);
    const got = actions(d.tick(2 * MIN));
    expect(got).toEqual([expect.objectContaining({ type: 'suspend_canary', tenant_id: 'new', trigger: 'derivative' })]);
    const alpha = ewmaAlpha(60, 60);
    expectRelative(got[0]!.smoothed_rate, alpha * (1 / 60));
    expectRelative(got[0]!.derivative, (alpha * (1 / 60)) / 60);
  });
});

describe('CostDefense over many tenants', () => {
  const options: CostDefenseOptions = {
    limiter: { rateWindowMs: MIN, tauMs: 3 * MIN, suspendCanaryAt: 2e-5, freezeTenantAt: 1e-4, freezeWhenExhaustedWithinMs: 2 * HOUR },
  };
  const ids = Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(3, '0')}`);
  // Per tenant: a budget, a base spend a minute, and maybe a runaway from some minute on, or a burst.
  const plan = (() => {
    const next = rng(7);
    return ids.map((id) => {
      const kind = next() % 4;
      return {
        id,
        budget: (50 + (next() % 500)) * USD,
        base: next() % 40_000,
        from: 10 + (next() % 80),
        kind,
      };
    });
  })();
  const micros = (p: (typeof plan)[number], m: number): number => {
    if (p.kind === 1 && m >= p.from) return Math.min(p.base * 1.5 ** (m - p.from + 1), 50 * USD) | 0;
    if (p.kind === 2 && m >= p.from && m < p.from + 8) return 2 * USD;
    return p.base;
  };

  function batch(order: (minute: number) => readonly number[]): CostDefenseEvent[] {
    const d = new CostDefense(options);
    for (const p of plan) d.setBudget(p.id, p.budget);
    const events: CostDefenseEvent[] = [];
    for (let m = 1; m <= 120; m++) {
      for (const i of order(m)) d.record(plan[i]!.id, micros(plan[i]!, m), m * MIN);
      events.push(...d.tick(m * MIN));
    }
    return events;
  }

  it('gives in one batch exactly the events of each tenant alone, whatever order the records came in', () => {
    const inOrder = batch(() => plan.map((_, i) => i));
    const shuffle = rng(11);
    const shuffled = batch(() => {
      const order = plan.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = shuffle() % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      return order;
    });
    expect(shuffled).toEqual(inOrder);

    const alone: CostDefenseEvent[][] = [];
    for (let m = 0; m < 120; m++) alone.push([]);
    for (const p of plan) {
      const d = new CostDefense(options);
      d.setBudget(p.id, p.budget);
      for (let m = 1; m <= 120; m++) {
        d.record(p.id, micros(p, m), m * MIN);
        alone[m - 1]!.push(...d.tick(m * MIN));
      }
    }
    expect(inOrder).toEqual(alone.flat());

    // Each tick's events are ordered by tenant, and the scenario exercises every kind of event.
    for (let m = 1; m <= 120; m++) {
      const ids = inOrder.filter((e) => e.at === m * MIN).map((e) => e.tenant_id);
      expect(ids).toEqual([...ids].sort());
    }
    expect(new Set(inOrder.map((e) => e.type))).toEqual(new Set(['burn_rate_alert', 'burn_rate_resolved', 'suspend_canary', 'freeze_tenant']));
    expect(new Set(inOrder.map((e) => e.tenant_id)).size).toBeGreaterThan(100);
  });
});

describe('CostDefense listeners', () => {
  it('passes every event to each listener in order until unsubscribed; a throwing listener does not stop the rest', () => {
    const d = new CostDefense();
    d.setBudget('b', 1 * USD);
    d.setBudget('a', 1 * USD);
    const first: CostDefenseEvent[] = [];
    const second: CostDefenseEvent[] = [];
    const off = d.on((e) => first.push(e));
    d.on((e) => second.push(e));
    d.record('b', USD, 0);
    d.record('a', USD, 0);
    const events = d.tick(MIN);
    expect(events.map((e) => e.tenant_id)).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
    expect(first).toEqual(events);
    expect(second).toEqual(events);
    off();
    off();
    const boom = new Error('listener failed');
    d.on(() => {
      throw boom;
    });
    expect(() => d.tick(3 * DAY + MIN)).toThrow(boom);
    // The tick completed: its resolutions reached the other listener and are not emitted again.
    expect(first).toHaveLength(6);
    expect(second.slice(6).map((e) => e.type)).toEqual(Array(6).fill('burn_rate_resolved'));
    expect(d.tick(3 * DAY + 2 * MIN)).toEqual([]);
  });
});

describe('CostDefense refuses bad options and inputs naming the field', () => {
  it('checks options once, with defaults from the SRE Workbook', () => {
    expect(new CostDefense().options).toEqual({
      budgetPeriodMs: 30 * DAY,
      windows: [
        { longMs: HOUR, shortMs: 5 * MIN, burnRate: 14.4, severity: 'page' },
        { longMs: 6 * HOUR, shortMs: 30 * MIN, burnRate: 6, severity: 'page' },
        { longMs: 3 * DAY, shortMs: 6 * HOUR, burnRate: 1, severity: 'ticket' },
      ],
      bucketsPerWindow: 30,
      limiter: {
        tauMs: 300_000, rateWindowMs: 5 * MIN, suspendCanaryAt: undefined, terminateExperimentAt: undefined, freezeTenantAt: undefined,
        suspendCanaryWhenExhaustedWithinMs: undefined, terminateExperimentWhenExhaustedWithinMs: undefined, freezeWhenExhaustedWithinMs: undefined,
      },
    });
    const w = { longMs: HOUR, shortMs: MIN, burnRate: 2, severity: 'page' };
    const bad: [unknown, string][] = [
      [null, 'options'], [{ period: 1 }, 'options.period'], [{ budgetPeriodMs: 0 }, 'budgetPeriodMs'], [{ budgetPeriodMs: 1.5 }, 'budgetPeriodMs'],
      [{ windows: [] }, 'windows'], [{ windows: {} }, 'windows'], [{ windows: [w, 5] }, 'windows[1]'],
      [{ windows: [{ ...w, longMs: -1 }] }, 'windows[0].longMs'], [{ windows: [{ ...w, longMs: 31 * DAY }] }, 'windows[0].longMs'],
      [{ windows: [{ ...w, shortMs: HOUR }] }, 'windows[0].shortMs'], [{ windows: [{ ...w, burnRate: NaN }] }, 'windows[0].burnRate'],
      [{ windows: [{ ...w, severity: 'email' }] }, 'windows[0].severity'], [{ windows: [{ ...w, extra: 1 }] }, 'windows[0].extra'],
      [{ bucketsPerWindow: 0 }, 'bucketsPerWindow'], [{ bucketsPerWindow: 2.5 }, 'bucketsPerWindow'], [{ bucketsPerWindow: 1001 }, 'bucketsPerWindow'],
      [{ limiter: 1 }, 'limiter'], [{ limiter: { tau: 1 } }, 'limiter.tau'], [{ limiter: { tauMs: Infinity } }, 'limiter.tauMs'],
      [{ limiter: { rateWindowMs: 31 * DAY } }, 'limiter.rateWindowMs'], [{ limiter: { freezeTenantAt: -1 } }, 'limiter.freezeTenantAt'],
      [{ limiter: { suspendCanaryAt: 2, terminateExperimentAt: 1 } }, 'limiter.terminateExperimentAt'],
      [{ limiter: { suspendCanaryAt: 2, freezeTenantAt: 1 } }, 'limiter.freezeTenantAt'],
      [{ limiter: { suspendCanaryWhenExhaustedWithinMs: HOUR, freezeWhenExhaustedWithinMs: DAY } }, 'limiter.freezeWhenExhaustedWithinMs'],
      [{ limiter: { terminateExperimentWhenExhaustedWithinMs: '60000' } }, 'limiter.terminateExperimentWhenExhaustedWithinMs'],
    ];
    for (const [options, field] of bad) expectQuotaError(() => new CostDefense(options as CostDefenseOptions), 'INVALID_ARGUMENT', field);
  });

  it('refuses bad tenants, amounts, times and listeners, changing nothing', () => {
    const d = new CostDefense();
    const bad: [() => unknown, QuotaErrorCode, string][] = [
      [() => d.record('', 1, 0), 'INVALID_TENANT_ID', 'tenantId'], [() => d.record(7 as unknown as string, 1, 0), 'INVALID_TENANT_ID', 'tenantId'],
      [() => d.record('a', -1, 0), 'INVALID_AMOUNT', 'micros'], [() => d.record('a', 1.5, 0), 'INVALID_AMOUNT', 'micros'],
      [() => d.record('a', NaN, 0), 'INVALID_AMOUNT', 'micros'], [() => d.record('a', '1' as unknown as number, 0), 'INVALID_AMOUNT', 'micros'],
      [() => d.record('a', 2 ** 53, 0), 'INVALID_AMOUNT', 'micros'],
      [() => d.record('a', 1, NaN), 'INVALID_ARGUMENT', 'at'], [() => d.record('a', 1, Infinity), 'INVALID_ARGUMENT', 'at'],
      [() => d.setBudget('a\n', 1), 'INVALID_TENANT_ID', 'tenantId'], [() => d.setBudget('a', -5), 'INVALID_AMOUNT', 'budgetMicros'],
      [() => d.setBudget('a', 0.5), 'INVALID_AMOUNT', 'budgetMicros'],
      [() => d.tick(NaN), 'INVALID_ARGUMENT', 'now'], [() => d.on('x' as unknown as () => void), 'INVALID_ARGUMENT', 'listener'],
    ];
    for (const [fn, code, field] of bad) expectQuotaError(fn, code, field);
    expect(d.size).toBe(0);
    expect(d.tick(MIN)).toEqual([]);
    expectQuotaError(() => d.tick(MIN), 'INVALID_ARGUMENT', 'now');
    expectQuotaError(() => d.tick(MIN - 1), 'INVALID_ARGUMENT', 'now');
    expect(d.tick(MIN + 1)).toEqual([]);
  });

  it('is deterministic: the same records and ticks give the same events', () => {
    const make = (): CostDefenseEvent[] => {
      const d = new CostDefense({ limiter: { suspendCanaryAt: 1e-6, freezeWhenExhaustedWithinMs: DAY } });
      d.setBudget('x', 20 * USD);
      return run(d, 'x', (m) => 1_000 * m, 240, 5);
    };
    const a = make();
    expect(a.length).toBeGreaterThan(0);
    expect(make()).toEqual(a);
    expect(alerts(a).length + actions(a).length).toBe(a.length);
  });
});
