// createQuota against each store (memory, and Redis on a real redis-server): cap boundaries, calendar
// rollovers in several zones across DST changes, reservation expiry, idempotent settle and release,
// overruns, experiments, prod-traffic share, simulation budget, rate limits, concurrency and bad input.
import { describe, expect, it } from 'vitest';
import { checkControlEvent, controlEventTenant, controlState, type ControlEvent } from '@tenantry/core';
import { createQuota, isQuotaError, type BudgetEnvelope, type Quota, type QuotaEvent, type QuotaOptions, type ReserveResult } from '@tenantry/quota';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { STORES } from './stores.js';

const ENVELOPE: BudgetEnvelope = {
  tenant_id: 'acme', monthly_budget_usd: 1000, daily_budget_usd: 200, experiment_budget_cap_usd: 50,
  max_parallel_experiments: 2, max_prod_traffic_pct: 10, simulation_budget_usd: 20,
};

/** A clock the test moves by hand. */
function manualClock(iso: string): { now: number; clock: () => number; set(iso: string): void; add(ms: number): void } {
  const c = {
    now: Date.parse(iso),
    clock: () => c.now,
    set(s: string) {
      c.now = Date.parse(s);
    },
    add(ms: number) {
      c.now += ms;
    },
  };
  return c;
}

function idOf(r: ReserveResult): string {
  if (!r.ok) throw new Error(`expected an admitted reservation, got ${r.reason}`);
  return r.id;
}

describe.each(STORES)('quota on the $name store', (kind) => {
  async function setup(env: Partial<BudgetEnvelope> = {}, options: Omit<QuotaOptions, 'store' | 'clock'> = {}, at = '2025-06-10T12:00:00Z') {
    const time = manualClock(at);
    const quota: Quota = createQuota({ store: await kind.make(), clock: time.clock, ...options });
    await quota.setEnvelope({ ...ENVELOPE, ...env });
    return { quota, time };
  }

  it('reaches a 200 cap exactly with 199.99 then 0.01, and denies 0.02 more until the day ends', async () => {
    const { quota, time } = await setup();
    const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 199.99 }));
    // Held, not yet settled: already counts.
    expect(await quota.reserve({ tenant_id: 'acme', usd: 0.02 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    expect(await quota.settle(a, 199.99)).toMatchObject({ status: 'settled', charged_usd: 199.99, overrun: false });
    const b = idOf(await quota.reserve({ tenant_id: 'acme', usd: 0.01 }));
    expect(await quota.settle(b, 0.01)).toMatchObject({ status: 'settled' });
    const denied = await quota.reserve({ tenant_id: 'acme', usd: 0.02 });
    expect(denied).toEqual({ ok: false, reason: 'DAILY_CAP', retry_after_ms: Date.parse('2025-06-11T00:00:00Z') - time.now });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 0 })).toMatchObject({ ok: true });
    const u = await quota.usage('acme');
    expect(u.day).toMatchObject({ key: '2025-06-10', cap_usd: 200, spent_usd: 200, reserved_usd: 0, remaining_usd: 0 });
    expect(u.month).toMatchObject({ key: '2025-06', spent_usd: 200, remaining_usd: 800 });
    time.set('2025-06-11T00:00:00Z');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 0.02 })).toMatchObject({ ok: true });
  });

  it('stops at the monthly cap across days, and opens again in the next month', async () => {
    const { quota, time } = await setup({ monthly_budget_usd: 500 }, {}, '2025-01-29T10:00:00Z');
    for (const day of ['2025-01-29', '2025-01-30']) {
      time.set(`${day}T10:00:00Z`);
      await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 200 })), 200);
    }
    time.set('2025-01-31T10:00:00Z');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 100.000001 })).toEqual({
      ok: false, reason: 'MONTHLY_CAP', retry_after_ms: Date.parse('2025-02-01T00:00:00Z') - time.now,
    });
    await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 100 })), 100);
    expect((await quota.usage('acme')).month).toMatchObject({ spent_usd: 500, remaining_usd: 0 });
    time.set('2025-02-01T00:00:00Z');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 200 })).toMatchObject({ ok: true });
  });

  it.each([
    // [zone, last instant of a local day, first instant of the next; a DST change inside]
    ['America/New_York', '2025-03-09T06:00:00Z', '2025-03-10T03:59:59.999Z', '2025-03-10T04:00:00Z'],
    ['America/New_York', '2025-11-02T04:59:59.999Z', '2025-11-03T04:59:59.999Z', '2025-11-03T05:00:00Z'],
    ['Europe/Berlin', '2025-03-30T21:59:59.999Z', '2025-03-30T21:59:59.999Z', '2025-03-30T22:00:00Z'],
    ['Europe/Berlin', '2025-10-26T00:00:00Z', '2025-10-26T22:59:59.999Z', '2025-10-26T23:00:00Z'],
    ['Asia/Kolkata', '2025-06-10T00:00:00Z', '2025-06-10T18:29:59.999Z', '2025-06-10T18:30:00Z'],
    ['Australia/Lord_Howe', '2025-10-05T00:00:00Z', '2025-10-05T12:59:59.999Z', '2025-10-05T13:00:00Z'],
  ])('rolls the daily cap over at local midnight in %s (spent at %s, still denied at %s, open at %s)', async (zone, spentAt, lastDenied, opens) => {
    const { quota, time } = await setup({ timezone: zone }, {}, spentAt);
    await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 200 })), 200);
    time.set(lastDenied);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: false, reason: 'DAILY_CAP', retry_after_ms: 1 });
    time.set(opens);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
  });

  it('rolls the month over at local midnight across a DST change (Berlin, October 2025)', async () => {
    const { quota, time } = await setup({ timezone: 'Europe/Berlin', daily_budget_usd: 1000, monthly_budget_usd: 300 }, {}, '2025-10-26T00:30:00Z');
    await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 300 })), 300);
    time.set('2025-10-31T22:59:59.999Z'); // 23:59:59.999 CET on 31 October
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: false, reason: 'MONTHLY_CAP', retry_after_ms: 1 });
    time.set('2025-10-31T23:00:00Z');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    expect((await quota.usage('acme')).month).toMatchObject({ key: '2025-11', spent_usd: 0, reserved_usd: 1 });
  });

  it('returns the amount of a reservation at its TTL, and still charges it when settled late', async () => {
    const { quota, time } = await setup();
    const held = idOf(await quota.reserve({ tenant_id: 'acme', usd: 150, ttl_ms: 1000 }));
    time.add(999);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 60 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    time.add(1);
    const other = idOf(await quota.reserve({ tenant_id: 'acme', usd: 60 }));
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 0, reserved_usd: 60 });
    expect(await quota.settle(held, 150)).toMatchObject({ status: 'settled', late: true, charged_usd: 150 });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 150, reserved_usd: 60 });
    expect(await quota.settle(held, 150)).toMatchObject({ status: 'duplicate' });
    expect(await quota.release(other)).toMatchObject({ status: 'released' });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 150, reserved_usd: 0, remaining_usd: 50 });
  });

  it('settles and releases each reservation once', async () => {
    const { quota, time } = await setup({}, { retainMs: 60_000 });
    const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 10 }));
    expect(await quota.settle(a, 7)).toMatchObject({ status: 'settled', tenant_id: 'acme', reserved_usd: 10, charged_usd: 7 });
    expect(await quota.settle(a, 7)).toEqual({ status: 'duplicate', tenant_id: 'acme' });
    expect(await quota.release(a)).toEqual({ status: 'duplicate', tenant_id: 'acme' });
    const b = idOf(await quota.reserve({ tenant_id: 'acme', usd: 10 }));
    expect(await quota.release(b)).toEqual({ status: 'released', tenant_id: 'acme' });
    expect(await quota.release(b)).toEqual({ status: 'duplicate', tenant_id: 'acme' });
    expect(await quota.settle(b, 10)).toEqual({ status: 'duplicate', tenant_id: 'acme' });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 7, reserved_usd: 0 });
    // Redis forgets a closed id after retainMs (memory after its last million closes): then a repeat is
    // unknown. Either way it charges nothing.
    time.add(2 * 60_000 + 1);
    await quota.reserve({ tenant_id: 'acme', usd: 0 });
    expect(await quota.settle(a, 7)).toEqual({ status: kind.name.startsWith('redis') ? 'unknown' : 'duplicate', tenant_id: 'acme' });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 7 });
  });

  it('charges an overrun in full, flags it, emits it and freezes the tenant when configured', async () => {
    const { quota } = await setup({}, { freezeOnOverrun: true });
    const events: unknown[] = [];
    quota.on((e) => events.push(e));
    const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    expect(await quota.settle(a, 2.5)).toMatchObject({ status: 'settled', reserved_usd: 1, charged_usd: 2.5, overrun: true, froze: true });
    expect(events).toEqual([expect.objectContaining({ type: 'overrun', tenant_id: 'acme', id: a, reserved_usd: 1, charged_usd: 2.5, froze: true })]);
    expect((await quota.usage('acme')).day.spent_usd).toBe(2.5);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'FROZEN' });
    expect((await quota.usage('acme')).frozen).toBe('OVERRUN');
    await quota.unfreeze('acme');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    await quota.freeze('acme', 'manual review');
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'FROZEN' });
    expect((await quota.usage('acme')).frozen).toBe('manual review');
  });

  it('runs experiments: start before spend, at most max_parallel, each under its cap', async () => {
    const { quota } = await setup({ max_prod_traffic_pct: 100 });
    const req = { tenant_id: 'acme', experiment_id: 'exp-a', usd: 20 };
    expect(await quota.reserve(req)).toEqual({ ok: false, reason: 'EXPERIMENT_NOT_RUNNING' });
    expect(await quota.startExperiment('acme', 'exp-a')).toEqual({ ok: true, started: true });
    expect(await quota.startExperiment('acme', 'exp-a')).toEqual({ ok: true, started: false });
    expect(await quota.startExperiment('acme', 'exp-b')).toEqual({ ok: true, started: true });
    expect(await quota.startExperiment('acme', 'exp-c')).toEqual({ ok: false, reason: 'MAX_PARALLEL' });
    await quota.settle(idOf(await quota.reserve(req)), 20);
    const held = idOf(await quota.reserve(req));
    expect(await quota.reserve({ ...req, usd: 10.000001 })).toEqual({ ok: false, reason: 'EXPERIMENT_CAP' });
    expect(await quota.reserve({ ...req, usd: 10 })).toMatchObject({ ok: true });
    // Another experiment has its own cap.
    expect(await quota.reserve({ ...req, experiment_id: 'exp-b', usd: 50 })).toMatchObject({ ok: true });
    expect(await quota.endExperiment('acme', 'exp-a')).toBe(true);
    expect(await quota.endExperiment('acme', 'exp-a')).toBe(false);
    expect(await quota.reserve({ ...req, usd: 1 })).toEqual({ ok: false, reason: 'EXPERIMENT_NOT_RUNNING' });
    // An ended experiment's open reservations still settle.
    expect(await quota.settle(held, 20)).toMatchObject({ status: 'settled' });
    expect(await quota.startExperiment('acme', 'exp-c')).toEqual({ ok: true, started: true });
    const u = await quota.usage('acme');
    expect(u.experiments).toEqual([
      { experiment_id: 'exp-a', running: false, cap_usd: 50, spent_usd: 40, reserved_usd: 10, remaining_usd: 0 },
      { experiment_id: 'exp-b', running: true, cap_usd: 50, spent_usd: 0, reserved_usd: 50, remaining_usd: 0 },
      { experiment_id: 'exp-c', running: true, cap_usd: 50, spent_usd: 0, reserved_usd: 0, remaining_usd: 50 },
    ]);
    // Experiment spend is the tenant's spend too.
    expect(u.day).toMatchObject({ spent_usd: 40, reserved_usd: 60 });
  });

  it('gives experiments at most max_prod_traffic_pct of the PROD requests over the sliding window', async () => {
    const { quota, time } = await setup({ max_prod_traffic_pct: 10 }, { prodWindowMs: 60_000 }, '2025-06-10T12:00:00Z');
    await quota.startExperiment('acme', 'exp');
    const prod = { tenant_id: 'acme', usd: 0 };
    const exp = { ...prod, experiment_id: 'exp' };
    expect(await quota.reserve(exp)).toEqual({ ok: false, reason: 'PROD_TRAFFIC' });
    for (let i = 0; i < 90; i++) await quota.reserve(prod);
    // (e + 1) × 100 ≤ 10 × (total + 1): ten experiment requests bring it to exactly 10 of 100.
    for (let i = 0; i < 10; i++) expect(await quota.reserve(exp)).toMatchObject({ ok: true });
    expect(await quota.reserve(exp)).toEqual({ ok: false, reason: 'PROD_TRAFFIC' });
    // LAB and SHADOW requests, and simulations, are not PROD traffic: neither counted nor limited.
    expect(await quota.reserve({ ...exp, domain: 'LAB' })).toMatchObject({ ok: true });
    expect(await quota.reserve({ ...prod, domain: 'SHADOW' })).toMatchObject({ ok: true });
    expect((await quota.usage('acme')).prod_traffic).toEqual({ window_ms: 60_000, requests: 100, experiment_requests: 10, max_pct: 10 });
    // Half a window into the next bucket, the previous counts weigh half.
    time.add(90_000);
    expect((await quota.usage('acme')).prod_traffic).toMatchObject({ requests: 50, experiment_requests: 5 });
    // Two windows later nothing of it is left.
    time.add(60_000);
    expect((await quota.usage('acme')).prod_traffic).toMatchObject({ requests: 0, experiment_requests: 0 });
  });

  it('keeps simulation spend on its own budget', async () => {
    const { quota } = await setup({ daily_budget_usd: 5 });
    await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 5 })), 5);
    const sim = idOf(await quota.reserve({ tenant_id: 'acme', usd: 15, simulation: true }));
    await quota.settle(sim, 15);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 5.000001, simulation: true })).toMatchObject({ ok: false, reason: 'SIMULATION_CAP' });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 5, simulation: true })).toMatchObject({ ok: true });
    const u = await quota.usage('acme');
    expect(u.day.spent_usd).toBe(5);
    expect(u.simulation).toMatchObject({ key: '2025-06', cap_usd: 20, spent_usd: 15, reserved_usd: 5 });
    // Without a simulation budget there is no simulation spend.
    const { simulation_budget_usd: _unset, ...withoutSimulation } = ENVELOPE;
    await quota.setEnvelope({ ...withoutSimulation, tenant_id: 'globex' });
    expect(await quota.reserve({ tenant_id: 'globex', usd: 0.000001, simulation: true })).toMatchObject({ ok: false, reason: 'SIMULATION_CAP' });
  });

  it('applies request and token rate limits per tenant and per route, taking nothing on denial', async () => {
    const { quota, time } = await setup({}, {
      rateLimits: { requests: { limit: 3, windowMs: 3000 }, routeTokens: { limit: 1000, windowMs: 1000 } },
    });
    for (let i = 0; i < 3; i++) expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 1000 });
    time.add(1000);
    // A cap denial takes no rate unit: the freed unit is still there afterwards.
    expect(await quota.reserve({ tenant_id: 'acme', usd: 500 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1, route: '/v1/chat', tokens: 800 })).toMatchObject({ ok: true });
    time.add(3000);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1, route: '/v1/chat', tokens: 800 })).toMatchObject({ ok: true });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1, route: '/v1/chat', tokens: 300 })).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 100 });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1, route: '/v1/embed', tokens: 300 })).toMatchObject({ ok: true });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1, route: '/v1/chat', tokens: 2000 })).toEqual({ ok: false, reason: 'RATE_LIMIT' });
  });

  it('admits exactly what fits when 10 000 reservations race for one cap', async () => {
    const { quota } = await setup({ daily_budget_usd: 100 });
    const results = await Promise.all(Array.from({ length: 10_000 }, () => quota.reserve({ tenant_id: 'acme', usd: 0.03 })));
    const admitted = results.filter((r) => r.ok);
    expect(admitted.length).toBe(3333);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'DAILY_CAP')).toBe(true);
    expect((await quota.usage('acme')).day).toMatchObject({ reserved_usd: 99.99, spent_usd: 0, remaining_usd: 0.01 });
    const settled = await Promise.all(admitted.map((r) => quota.settle(idOf(r), 0.02)));
    expect(settled.every((s) => s.status === 'settled')).toBe(true);
    expect((await quota.usage('acme')).day).toMatchObject({ reserved_usd: 0, spent_usd: 66.66 });
  });

  it('answers UNKNOWN_TENANT for a tenant without an envelope, and reads a zone another quota changed', async () => {
    const store = await kind.make();
    const a = createQuota({ store });
    const b = createQuota({ store });
    expect(await a.reserve({ tenant_id: 'nobody', usd: 1 })).toEqual({ ok: false, reason: 'UNKNOWN_TENANT' });
    await expectCodedRejection(a.usage('nobody'), isQuotaError, 'UNKNOWN_TENANT', 'tenant_id');
    await expectCodedRejection(a.freeze('nobody', 'x'), isQuotaError, 'UNKNOWN_TENANT', 'tenant_id');
    await a.setEnvelope(ENVELOPE);
    expect(await b.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    await a.setEnvelope({ ...ENVELOPE, timezone: 'Pacific/Kiritimati' });
    expect(await b.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    expect((await b.usage('acme')).timezone).toBe('Pacific/Kiritimati');
  });

  it('refuses bad input with a typed error naming the field', async () => {
    const { quota } = await setup();
    const bad: Array<[unknown, string, string]> = [
      [{ tenant_id: '', usd: 1 }, 'INVALID_TENANT_ID', 'tenant_id'],
      [{ tenant_id: 'a'.repeat(121), usd: 1 }, 'INVALID_TENANT_ID', 'tenant_id'],
      [{ tenant_id: 'acme', usd: -1 }, 'INVALID_AMOUNT', 'usd'],
      [{ tenant_id: 'acme', usd: '1' }, 'INVALID_AMOUNT', 'usd'],
      [{ tenant_id: 'acme', usd: Number.NaN }, 'INVALID_AMOUNT', 'usd'],
      [{ tenant_id: 'acme', usd: 1, domain: 'prod' }, 'INVALID_ARGUMENT', 'domain'],
      [{ tenant_id: 'acme', usd: 1, experiment_id: '' }, 'INVALID_ARGUMENT', 'experiment_id'],
      [{ tenant_id: 'acme', usd: 1, simulation: 'yes' }, 'INVALID_ARGUMENT', 'simulation'],
      [{ tenant_id: 'acme', usd: 1, ttl_ms: 0 }, 'INVALID_ARGUMENT', 'ttl_ms'],
      [{ tenant_id: 'acme', usd: 1, ttl_ms: 1.5 }, 'INVALID_ARGUMENT', 'ttl_ms'],
      [{ tenant_id: 'acme', usd: 1, ttl_ms: 86_400_001 }, 'INVALID_ARGUMENT', 'ttl_ms'],
      [{ tenant_id: 'acme', usd: 1, route: 7 }, 'INVALID_ARGUMENT', 'route'],
      [{ tenant_id: 'acme', usd: 1, tokens: -3 }, 'INVALID_ARGUMENT', 'tokens'],
      [{ tenant_id: 'acme', usd: 1, usd_estimate: 2 }, 'INVALID_ARGUMENT', 'usd_estimate'],
      [null, 'INVALID_ARGUMENT', 'request'],
    ];
    for (const [req, code, field] of bad) await expectCodedRejection(quota.reserve(req as never), isQuotaError, code, field);
    await expectCodedRejection(quota.settle('not-an-id', 1), isQuotaError, 'INVALID_ARGUMENT', 'id');
    await expectCodedRejection(quota.settle(42 as never, 1), isQuotaError, 'INVALID_ARGUMENT', 'id');
    const id = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    await expectCodedRejection(quota.settle(id, -0.5), isQuotaError, 'INVALID_AMOUNT', 'usd');
    await expectCodedRejection(quota.release('a.b.%E0%A4%A'), isQuotaError, 'INVALID_ARGUMENT', 'id');
    await expectCodedRejection(quota.startExperiment('acme', ''), isQuotaError, 'INVALID_ARGUMENT', 'experiment_id');
    await expectCodedRejection(quota.freeze('acme', ''), isQuotaError, 'INVALID_ARGUMENT', 'reason');
    await expectCodedRejection(quota.setEnvelope({ ...ENVELOPE, daily_budget_usd: -5 }), isQuotaError, 'INVALID_AMOUNT', 'daily_budget_usd');
    await expectCodedRejection(quota.setEnvelope({ ...ENVELOPE, max_prod_traffic_pct: 101 }), isQuotaError, 'INVALID_ARGUMENT', 'max_prod_traffic_pct');
    await expectCodedRejection(quota.setEnvelope({ ...ENVELOPE, timezone: 'Mars/Olympus' }), isQuotaError, 'INVALID_TIMEZONE', 'timezone');
  });
});

describe('createQuota options', () => {
  it.each([
    [{ store: {} }, 'options.store'],
    [{ clock: 5 }, 'options.clock'],
    [{ defaultTtlMs: 0 }, 'options.defaultTtlMs'],
    [{ maxTtlMs: 1000, defaultTtlMs: 2000 }, 'options.defaultTtlMs'],
    [{ retainMs: -1 }, 'options.retainMs'],
    [{ prodWindowMs: Number.NaN }, 'options.prodWindowMs'],
    [{ rateLimits: { request: { limit: 1, windowMs: 1 } } }, 'options.rateLimits.request'],
    [{ rateLimits: { requests: { limit: 0, windowMs: 1 } } }, 'options.rateLimits.requests.limit'],
    [{ freezeOnOverrun: 'yes' }, 'options.freezeOnOverrun'],
    [{ failOpen: { usd: -1 } }, 'options.failOpen.usd'],
    [{ control: 'the log' }, 'options.control'],
    [{ colour: 'blue' }, 'options.colour'],
  ])('refuses %j naming %s', (options, field) => {
    let caught: unknown;
    try {
      createQuota(options as never);
    } catch (e) {
      caught = e;
    }
    expect(isQuotaError(caught)).toBe(true);
    expect((caught as { field: string }).field).toBe(field);
  });

  it('fails a clock that returns no time with a typed error', async () => {
    const quota = createQuota({ clock: () => Number.NaN });
    await expectCodedRejection(quota.reserve({ tenant_id: 'acme', usd: 1 }), isQuotaError, 'INVALID_ARGUMENT', 'options.clock');
  });
});

describe.each(STORES)('cost defense wired into the quota on the $name store', (kind) => {
  it('alerts on the SRE page window and applies the limiter: experiments ended, tenant frozen', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    const quota = createQuota({
      store: await kind.make(), clock: time.clock,
      defense: { tickMs: 0, limiter: { suspendCanaryWhenExhaustedWithinMs: 10 * 3_600_000, terminateExperimentWhenExhaustedWithinMs: 8 * 3_600_000, freezeWhenExhaustedWithinMs: 6 * 3_600_000 } },
    });
    const events: Array<{ type: string }> = [];
    quota.on((e) => events.push(e));
    await quota.setEnvelope({ ...ENVELOPE, monthly_budget_usd: 1000 });
    expect(await quota.tickDefense()).toEqual([]);
    await quota.startExperiment('acme', 'exp-a');
    // 2 % of the 30-day budget inside five minutes: burn rate 14.4 over the hour, far more over 5 minutes.
    for (let m = 1; m <= 4; m++) {
      time.set(`2025-06-10T12:0${m}:00Z`);
      await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 5 })), 5);
    }
    time.set('2025-06-10T12:05:00Z');
    expect((await quota.usage('acme')).experiments).toEqual([expect.objectContaining({ experiment_id: 'exp-a', running: true })]);
    const fired = await quota.tickDefense();
    expect(fired).toContainEqual(expect.objectContaining({ type: 'burn_rate_alert', tenant_id: 'acme', severity: 'page', window: 0, threshold: 14.4 }));
    const alert = fired.find((e) => e.type === 'burn_rate_alert') as { long_burn_rate: number; short_burn_rate: number };
    expect(alert.long_burn_rate).toBeCloseTo(14.4, 9);
    expect(alert.short_burn_rate).toBeCloseTo(172.8, 9);
    for (const type of ['suspend_canary', 'terminate_experiment', 'freeze_tenant']) {
      expect(fired).toContainEqual(expect.objectContaining({ type, tenant_id: 'acme', trigger: 'time_to_exhaustion', budget_usd: 1000 }));
    }
    // The same events reached the quota's listeners, and the actions were applied.
    expect(events.filter((e) => e.type !== 'overrun')).toEqual(fired);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'FROZEN' });
    const u = await quota.usage('acme');
    expect(u.frozen).toBe('COST_LIMITER');
    expect(u.experiments.filter((x) => x.running)).toEqual([]);
    await quota.close();
  });

  it('has no defense unless configured', async () => {
    const quota = createQuota({ store: await kind.make() });
    expect(quota.defense).toBeNull();
    await expectCodedRejection(quota.tickDefense(), isQuotaError, 'INVALID_ARGUMENT', 'options.defense');
  });
});

/** The defense options and spend under which the limiter's freeze_tenant fires at the 12:05 tick. */
const RUNAWAY_DEFENSE: QuotaOptions['defense'] = {
  tickMs: 0, limiter: { freezeWhenExhaustedWithinMs: 6 * 3_600_000 },
};

async function runaway(quota: Quota, time: ReturnType<typeof manualClock>): Promise<void> {
  await quota.setEnvelope({ ...ENVELOPE, monthly_budget_usd: 1000 });
  await quota.tickDefense();
  for (let m = 1; m <= 4; m++) {
    time.set(`2025-06-10T12:0${m}:00Z`);
    await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 5 })), 5);
  }
  time.set('2025-06-10T12:05:00Z');
}

describe.each(STORES)('automatic freezes as control events on the $name store', (kind) => {
  /** A sink that records each event with the tenant's freeze as usage() showed it while the sink ran. */
  function recordingSink(quota: () => Quota, fail?: Error) {
    const seen: Array<{ event: ControlEvent; frozenMeanwhile: string | null }> = [];
    const control = async (event: ControlEvent): Promise<void> => {
      seen.push({ event, frozenMeanwhile: (await quota().usage(controlEventTenant(event) ?? '')).frozen });
      if (fail !== undefined) throw fail;
    };
    return { seen, control };
  }

  it('hands an OVERRUN freeze to the sink, once, before it is visible; host calls never reach the sink', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    let quota!: Quota;
    const sink = recordingSink(() => quota);
    quota = createQuota({ store: await kind.make(), clock: time.clock, freezeOnOverrun: true, control: sink.control });
    await quota.setEnvelope(ENVELOPE);
    const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    const b = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    expect(await quota.settle(a, 1)).toMatchObject({ overrun: false, froze: false });
    expect(sink.seen).toEqual([]);
    const c = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    expect(await quota.settle(c, 3)).toMatchObject({ status: 'settled', overrun: true, froze: true });
    const event = { type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' };
    expect(sink.seen).toEqual([{ event, frozenMeanwhile: null }]);
    expect(checkControlEvent(sink.seen[0]!.event)).toEqual(event);
    expect(controlState(sink.seen.map((x) => x.event)).frozen.get('acme')).toEqual({ source: 'OVERRUN', reason: 'OVERRUN' });
    expect((await quota.usage('acme')).frozen).toBe('OVERRUN');
    // An overrun of a tenant frozen already freezes nothing: no second event.
    expect(await quota.settle(b, 2)).toMatchObject({ overrun: true, froze: false });
    // The host's own calls are the host's to record.
    await quota.unfreeze('acme');
    await quota.freeze('acme', 'manual review');
    await quota.unfreeze('acme');
    await quota.setEnvelope({ ...ENVELOPE, daily_budget_usd: 300 });
    expect(sink.seen).toHaveLength(1);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
  });

  it('still freezes when the sink rejects, and settle rejects with CONTROL_FAILED once the charge has landed', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    const failure = new Error('control-plane log unavailable');
    let quota!: Quota;
    const sink = recordingSink(() => quota, failure);
    quota = createQuota({ store: await kind.make(), clock: time.clock, freezeOnOverrun: true, control: sink.control });
    const events: QuotaEvent[] = [];
    quota.on((e) => events.push(e));
    await quota.setEnvelope(ENVELOPE);
    const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 }));
    const caught = await quota.settle(a, 4).then(() => undefined, (e: unknown) => e);
    expect(isQuotaError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'CONTROL_FAILED', field: 'options.control', cause: failure });
    expect(sink.seen).toEqual([{ event: { type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' }, frozenMeanwhile: null }]);
    const u = await quota.usage('acme');
    expect(u.frozen).toBe('OVERRUN');
    expect(u.day).toMatchObject({ spent_usd: 4, reserved_usd: 0 });
    expect(events).toEqual([expect.objectContaining({ type: 'overrun', id: a, charged_usd: 4, froze: true })]);
    // The settlement landed: a retry answers duplicate and charges nothing more.
    expect(await quota.settle(a, 4)).toMatchObject({ status: 'duplicate' });
    expect((await quota.usage('acme')).day.spent_usd).toBe(4);
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'FROZEN' });
  });

  it('hands the limiter\'s COST_LIMITER freeze to the sink before applying it', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    let quota!: Quota;
    const sink = recordingSink(() => quota);
    quota = createQuota({ store: await kind.make(), clock: time.clock, defense: RUNAWAY_DEFENSE, control: sink.control });
    await runaway(quota, time);
    expect(sink.seen).toEqual([]);
    expect(await quota.tickDefense()).toContainEqual(expect.objectContaining({ type: 'freeze_tenant', tenant_id: 'acme' }));
    expect(sink.seen).toEqual([{ event: { type: 'freeze', tenant_id: 'acme', source: 'COST_LIMITER', reason: 'COST_LIMITER' }, frozenMeanwhile: null }]);
    expect((await quota.usage('acme')).frozen).toBe('COST_LIMITER');
    await quota.close();
  });

  it('applies a COST_LIMITER freeze whose event the sink rejected, and reports it as a defense_error', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    let quota!: Quota;
    const sink = recordingSink(() => quota, new Error('control-plane log unavailable'));
    quota = createQuota({ store: await kind.make(), clock: time.clock, defense: RUNAWAY_DEFENSE, control: sink.control });
    const events: QuotaEvent[] = [];
    quota.on((e) => events.push(e));
    await runaway(quota, time);
    await quota.tickDefense();
    expect(sink.seen).toHaveLength(1);
    expect((await quota.usage('acme')).frozen).toBe('COST_LIMITER');
    const errors = events.filter((e) => e.type === 'defense_error');
    expect(errors).toEqual([expect.objectContaining({ type: 'defense_error', tenant_id: 'acme', action: 'freeze_tenant' })]);
    expect((errors[0] as { message: string }).message).toContain('control-plane log unavailable');
    await quota.close();
  });

  it('freezes without a sink as before: directly, with no event anywhere', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    const quota = createQuota({ store: await kind.make(), clock: time.clock, defense: RUNAWAY_DEFENSE });
    await runaway(quota, time);
    await quota.tickDefense();
    expect((await quota.usage('acme')).frozen).toBe('COST_LIMITER');
    await quota.close();
  });
});

describe('synchronous reserve, settle and release', () => {
  it('answer as the promise forms do on the memory store', async () => {
    const time = manualClock('2025-06-10T12:00:00Z');
    const quota = createQuota({ clock: time.clock });
    await quota.setEnvelope(ENVELOPE);
    expect(quota.reserveSync({ tenant_id: 'nobody', usd: 1 })).toEqual({ ok: false, reason: 'UNKNOWN_TENANT' });
    const a = idOf(quota.reserveSync({ tenant_id: 'acme', usd: 199.99 }));
    expect(quota.reserveSync({ tenant_id: 'acme', usd: 0.02 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    expect(quota.settleSync(a, 199.99)).toMatchObject({ status: 'settled', charged_usd: 199.99 });
    expect(quota.settleSync(a, 199.99)).toEqual({ status: 'duplicate', tenant_id: 'acme' });
    const b = idOf(quota.reserveSync({ tenant_id: 'acme', usd: 0.01 }));
    expect(quota.releaseSync(b)).toEqual({ status: 'released', tenant_id: 'acme' });
    expect(idOf(quota.reserveSync({ tenant_id: 'acme', usd: 0.01 }))).toMatch(/\.acme$/);
    expect(quota.reserveSync({ tenant_id: 'acme', usd: 0.01 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 199.99, reserved_usd: 0.01, remaining_usd: 0 });
    expectCodedError(() => quota.reserveSync({ tenant_id: 'acme', usd: -1 }), isQuotaError, 'INVALID_AMOUNT', 'usd');
    expectCodedError(() => quota.settleSync('nope', 1), isQuotaError, 'INVALID_ARGUMENT', 'id');
  });

  it('freeze an overrun at once without a sink, and refuse settleSync when the freeze would await one', async () => {
    const plain = createQuota({ freezeOnOverrun: true });
    await plain.setEnvelope(ENVELOPE);
    expect(plain.settleSync(idOf(plain.reserveSync({ tenant_id: 'acme', usd: 1 })), 2)).toMatchObject({ overrun: true, froze: true });
    expect(plain.reserveSync({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'FROZEN' });
    const events: ControlEvent[] = [];
    const sinked = createQuota({ freezeOnOverrun: true, control: async (e) => void events.push(e) });
    await sinked.setEnvelope(ENVELOPE);
    const id = idOf(sinked.reserveSync({ tenant_id: 'acme', usd: 1 }));
    expectCodedError(() => sinked.settleSync(id, 2), isQuotaError, 'INVALID_ARGUMENT', 'options.control');
    // Refused before anything was done: the reservation is still open, and settle() freezes through the sink.
    expect((await sinked.usage('acme')).open_reservations).toBe(1);
    expect(await sinked.settle(id, 2)).toMatchObject({ status: 'settled', froze: true });
    expect(events).toEqual([{ type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' }]);
  });

  it('are refused on the Redis store before anything is done', async () => {
    const quota = createQuota({ store: await STORES[1]!.make() });
    await quota.setEnvelope(ENVELOPE);
    expectCodedError(() => quota.reserveSync({ tenant_id: 'acme', usd: 1 }), isQuotaError, 'INVALID_ARGUMENT', 'options.store');
    expect((await quota.usage('acme')).open_reservations).toBe(0);
  });
});

describe('several quotas on one store', () => {
  it.each(STORES)('settle each other\'s reservations on the $name store, serials colliding', async (kind) => {
    const store = await kind.make();
    const a = createQuota({ store });
    const b = createQuota({ store });
    await a.setEnvelope(ENVELOPE);
    // Both quotas number their reservations from 0: the same serials, different ids.
    const fromA = await Promise.all(Array.from({ length: 50 }, () => a.reserve({ tenant_id: 'acme', usd: 1 })));
    const fromB = await Promise.all(Array.from({ length: 50 }, () => b.reserve({ tenant_id: 'acme', usd: 2 })));
    expect(new Set([...fromA, ...fromB].map(idOf)).size).toBe(100);
    expect((await a.usage('acme')).day.reserved_usd).toBe(150);
    for (const r of fromA) expect(await b.settle(idOf(r), 1)).toMatchObject({ status: 'settled', reserved_usd: 1 });
    for (const r of fromB) expect(await a.settle(idOf(r), 2)).toMatchObject({ status: 'settled', reserved_usd: 2 });
    for (const r of fromA) expect((await a.settle(idOf(r), 1)).status).toBe('duplicate');
    expect((await b.usage('acme')).day).toMatchObject({ spent_usd: 150, reserved_usd: 0 });
    expect((await b.usage('acme')).open_reservations).toBe(0);
  });
});

describe('several quotas with different rate limits on one store', () => {
  it.each(STORES)('apply each its own limit to the one TAT of a key on the $name store', async (kind) => {
    const store = await kind.make();
    const time = manualClock('2025-06-10T12:00:00Z');
    const a = createQuota({ store, clock: time.clock, rateLimits: { requests: { limit: 2, windowMs: 1000 } } });
    const b = createQuota({ store, clock: time.clock, rateLimits: { requests: { limit: 1, windowMs: 1000 } } });
    await a.setEnvelope(ENVELOPE);
    await b.usage('acme');
    const req = { tenant_id: 'acme', usd: 0 };
    expect(await a.reserve(req)).toMatchObject({ ok: true });
    expect(await a.reserve(req)).toMatchObject({ ok: true });
    // TAT 1000: a (interval 500, tolerance 1000) may pass at 500; b (interval and tolerance 1000) at 1000.
    expect(await a.reserve(req)).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 500 });
    expect(await b.reserve(req)).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 1000 });
    time.add(500);
    expect(await a.reserve(req)).toMatchObject({ ok: true });
    expect(await b.reserve(req)).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 1000 });
    time.add(1000);
    expect(await b.reserve(req)).toMatchObject({ ok: true });
    expect(await a.reserve(req)).toEqual({ ok: false, reason: 'RATE_LIMIT', retry_after_ms: 500 });
  });
});

describe('malformed requests', () => {
  it('never get anything but a typed error or an answer', async () => {
    const quota = createQuota();
    await quota.setEnvelope(ENVELOPE);
    const values: unknown[] = [undefined, null, 0, -1, 1.5, Number.NaN, Infinity, '', 'x', '1', true, [], {}, [1], { a: 1 }, 'acme', 'PROD', 2 ** 60];
    const fields = ['tenant_id', 'usd', 'domain', 'experiment_id', 'simulation', 'ttl_ms', 'route', 'tokens'];
    let state = 7;
    const pick = (): unknown => values[(state = (state * 1103515245 + 12345) % 2 ** 31) % values.length];
    let answered = 0;
    for (let i = 0; i < 2000; i++) {
      const req: Record<string, unknown> = { tenant_id: 'acme', usd: 0.01 };
      for (const f of fields) if (pick() !== undefined && state % 3 === 0) req[f] = pick();
      try {
        const r = await quota.reserve(req as never);
        expect(typeof r.ok).toBe('boolean');
        answered++;
      } catch (e) {
        expect(isQuotaError(e), String(e)).toBe(true);
        expect((e as { field?: string }).field).toBeTypeOf('string');
      }
    }
    // Some requests were valid and answered; the envelope's numbers are intact.
    expect(answered).toBeGreaterThan(0);
    const u = await quota.usage('acme');
    expect(u.day.spent_usd).toBe(0);
    expect(u.day.reserved_usd).toBeLessThanOrEqual(200);
  });
});

describe.each(STORES)('ε budgets in the $name store', (kind) => {
  it('spend as EpsilonLedger does, shared by every quota on the store', async () => {
    const store = await kind.make();
    const a = createQuota({ store });
    const b = createQuota({ store });
    await a.setEnvelope(ENVELOPE);
    // No budget: nothing to spend (fail closed).
    expect(await a.spendEpsilon('acme', 0.1)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    await a.setEpsilonBudget('acme', 1);
    await b.setEpsilonBudget('acme', 0.5, 'patients');
    // Twenty spends of 0.1 from two quotas at once: exactly ten fit (0.1 × 10 = 1, with no float drift).
    const spends = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).spendEpsilon('acme', 0.1, i < 4 ? 'patients' : undefined)));
    expect(spends.filter((s) => s.ok)).toHaveLength(10);
    expect(await a.epsilonRemaining('acme')).toBe(0);
    expect(await b.epsilonRemaining('acme', 'patients')).toBe(0);
    await a.resetEpsilon('acme', 'patients');
    // The key's 0.4 came off the total too.
    expect(await a.epsilonRemaining('acme')).toBe(0.4);
    expect(await b.spendEpsilon('acme', 0.4, 'patients')).toEqual({ ok: true, remaining: 0 });
    await a.resetEpsilon('acme');
    expect(await b.epsilonRemaining('acme')).toBe(1);
    await expectCodedRejection(a.spendEpsilon('nobody', 0.1), isQuotaError, 'UNKNOWN_TENANT', 'tenant_id');
    await expectCodedRejection(a.spendEpsilon('acme', 0.1234567), isQuotaError, 'INVALID_AMOUNT', 'epsilon');
    await expectCodedRejection(a.setEpsilonBudget('acme', -1), isQuotaError, 'INVALID_AMOUNT', 'budget');
    await expectCodedRejection(a.spendEpsilon('acme', 0.1, ''), isQuotaError, 'INVALID_ARGUMENT', 'key');
  });
});
