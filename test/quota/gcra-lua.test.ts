// GCRA, differential: the Lua of redisStore (on a real redis-server) and memoryStore against GcraMeter, the
// package's reference GCRA. One long seeded sequence of reservations under four rate limits at once (per
// tenant and per route, requests and tokens), with random limits, windows, bursts (below, at and above the
// limit, fractional too), costs (none, fractional, above the burst), several tenants and routes, and a
// monotonic clock whose steps are often 0 and sometimes fractions of a millisecond. Reservations issued in
// the same tick travel in one script call, so the in-script cache is exercised as well. Every answer must
// be the reference's: admitted, or RATE_LIMIT with the same retry_after_ms (none when waiting cannot help).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuota, GcraMeter, memoryStore, redisStore, type BudgetEnvelope, type Quota, type QuotaRateLimits, type RateLimit, type ReserveResult } from '@tenantry/quota';
import { rng } from '../helpers/random.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const BASE = Date.parse('2025-06-10T08:00:00Z');
const TENANTS = ['acme', 'globex'];
const ROUTES = [undefined, '/v1/chat', '/v1/embed'];
const KINDS = ['requests', 'tokens', 'routeRequests', 'routeTokens'] as const;
type Kind = (typeof KINDS)[number];

function envelope(tenant: string): BudgetEnvelope {
  return {
    tenant_id: tenant, monthly_budget_usd: 1000, daily_budget_usd: 1000, experiment_budget_cap_usd: 0, max_parallel_experiments: 0,
    max_prod_traffic_pct: 0,
  };
}

/** The reference: one GcraMeter per limit, combined as a reservation combines its checks (all or nothing). */
class Reference {
  readonly #meters = new Map<Kind, GcraMeter>();

  constructor(limits: QuotaRateLimits) {
    for (const k of KINDS) if (limits[k] !== undefined) this.#meters.set(k, new GcraMeter(limits[k]));
  }

  reserve(tenant: string, route: string | undefined, tokens: number, now: number): ReserveResult | { ok: true } {
    const checks: Array<[GcraMeter, string, number]> = [];
    const add = (kind: Kind, key: string, cost: number): void => {
      const m = this.#meters.get(kind);
      if (m !== undefined && cost > 0) checks.push([m, key, cost]);
    };
    add('requests', tenant, 1);
    add('tokens', tenant, tokens);
    if (route !== undefined) {
      add('routeRequests', `${tenant} ${route}`, 1);
      add('routeTokens', `${tenant} ${route}`, tokens);
    }
    let wait = 0;
    for (const [m, key, cost] of checks) wait = Math.max(wait, m.wait(key, now, cost));
    if (wait === 0) {
      for (const [m, key, cost] of checks) expect(m.take(key, now, cost).ok).toBe(true);
      return { ok: true };
    }
    return wait === Infinity ? { ok: false, reason: 'RATE_LIMIT' } : { ok: false, reason: 'RATE_LIMIT', retry_after_ms: wait };
  }
}

interface Round {
  seed: number;
  steps: number;
  /**
   * The clock's pace: 'fast' over windows of 0.1 to 7 s; 'slow' and 'stalled' over windows of a few ms, the
   * stalled clock far slower than the wall clock (a store must not let rate keys lapse by its own clock).
   */
  pace: 'fast' | 'slow' | 'stalled';
}

const ROUNDS: Round[] = [
  { seed: 0x6c7a, steps: 700, pace: 'fast' },
  { seed: 0x1d05, steps: 700, pace: 'fast' },
  { seed: 0x90f3, steps: 700, pace: 'fast' },
  { seed: 0x51e7, steps: 500, pace: 'slow' },
  { seed: 0x3b2e, steps: 500, pace: 'slow' },
  { seed: 0x7f21, steps: 500, pace: 'stalled' },
];

function randomLimits(u: () => number, slow: boolean): QuotaRateLimits {
  const limits: QuotaRateLimits = {};
  for (const kind of KINDS) {
    if (kind !== 'requests' && u() < 0.25) continue;
    const tokens = kind === 'tokens' || kind === 'routeTokens';
    const base = tokens ? 20 + Math.floor(u() * 400) : 1 + Math.floor(u() * 12);
    const limit = u() < 0.3 ? base + 0.5 : base;
    const windowMs = slow ? 5 + u() * 40 : [100, 1000, 3000, 7000][Math.floor(u() * 4)]! + (u() < 0.3 ? u() * 10 : 0);
    const r: RateLimit = { limit, windowMs };
    const b = u();
    if (b < 0.3) r.burst = limit * (0.3 + u());
    else if (b < 0.6) r.burst = Math.max(1, Math.floor(limit * (1 + 2 * u())));
    limits[kind] = r;
  }
  return limits;
}

describe('GCRA in Lua and in memoryStore against GcraMeter', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each(ROUNDS)('answers every reservation of a random sequence as GcraMeter does (seed $seed, $pace clock)', async ({ seed, steps, pace }) => {
    const next = rng(seed);
    const u = (): number => next() / 2 ** 32;
    const limits = randomLimits(u, pace !== 'fast');
    let now = BASE;
    const clock = (): number => now;
    const redis = createQuota({ store: redisStore({ url: server.url }, { prefix: `gcra${seed}:` }), clock, rateLimits: limits });
    const memory = createQuota({ store: memoryStore(), clock, rateLimits: limits });
    const reference = new Reference(limits);
    const quotas: Quota[] = [redis, memory];
    for (const q of quotas) {
      for (const t of TENANTS) {
        await q.setEnvelope(envelope(t));
        // Loads the tenant, so that every later reservation takes the fast path in call order.
        await q.usage(t);
      }
    }
    const tokenBurst = Math.max(...[limits.tokens, limits.routeTokens].map((l) => (l === undefined ? 0 : l.burst ?? l.limit)));
    const tally = { admitted: 0, wait: 0, never: 0 };
    let step = 0;
    while (step < steps) {
      // A group issued in one tick: one script call on Redis, applied in order.
      const group = 1 + Math.floor(u() * 4);
      const pending: Array<{ expected: ReserveResult | { ok: true }; got: Array<Promise<ReserveResult>>; what: string }> = [];
      for (let g = 0; g < group && step < steps; g++, step++) {
        const d = u();
        if (pace === 'stalled') now += d < 0.8 ? 0 : u() * 0.2;
        else if (pace === 'slow') now += d < 0.5 ? 0 : d < 0.9 ? u() * 0.3 : u() * 5;
        else now += d < 0.35 ? 0 : d < 0.7 ? u() * 20 : d < 0.95 ? Math.floor(u() * 300) : Math.floor(u() * 10_000);
        const tenant = TENANTS[Math.floor(u() * TENANTS.length)]!;
        const route = ROUTES[Math.floor(u() * ROUTES.length)];
        const c = u();
        const tokens = c < 0.25 ? 0 : c < 0.4 ? Math.round(u() * 40) / 4 : c < 0.95 ? 1 + Math.floor(u() * 60) : Math.ceil(tokenBurst) + 1;
        const req = route === undefined ? { tenant_id: tenant, usd: 0, tokens } : { tenant_id: tenant, usd: 0, tokens, route };
        const expected = reference.reserve(tenant, route, tokens, now);
        pending.push({ expected, got: quotas.map((q) => q.reserve(req)), what: `step ${step} at +${now - BASE} ms: ${JSON.stringify(req)}` });
      }
      for (const { expected, got, what } of pending) {
        const [fromRedis, fromMemory] = await Promise.all(got);
        const answer = (r: ReserveResult | undefined): unknown => (r?.ok ? { ok: true } : r);
        expect(answer(fromRedis), `redisStore, ${what}`).toEqual(expected);
        expect(answer(fromMemory), `memoryStore, ${what}`).toEqual(expected);
        if (expected.ok) tally.admitted++;
        else if ('retry_after_ms' in expected) tally.wait++;
        else tally.never++;
      }
    }
    // The sequence exercised every answer, not only one of them.
    expect(tally.admitted).toBeGreaterThan(pace === 'stalled' ? 5 : steps / 10);
    expect(tally.wait).toBeGreaterThan(steps / 10);
    if (limits.tokens !== undefined || limits.routeTokens !== undefined) expect(tally.never).toBeGreaterThan(0);
    await Promise.all(quotas.map((q) => q.close()));
  });
});
