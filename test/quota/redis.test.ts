// The Redis store where only a real redis-server will do: several OS processes on one tenant, an outage
// in the middle of a run (append-only Redis, halted and restarted), fail-open with a bounded allowance,
// and settlement retried across a reconnect without a double charge.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createQuota, isQuotaError, redisStore, type BudgetEnvelope, type Quota, type ReserveResult } from '@tenantry/quota';
import { expectCodedRejection } from '../helpers/errors.js';
import { startRedis } from '../helpers/redis.js';

const HAMMER = fileURLToPath(new URL('./fixtures/hammer.mjs', import.meta.url));
const BASE = Date.parse('2025-06-10T12:00:00Z');

function envelope(tenant: string, daily: number): BudgetEnvelope {
  return {
    tenant_id: tenant, monthly_budget_usd: 10_000, daily_budget_usd: daily, experiment_budget_cap_usd: 0,
    max_parallel_experiments: 0, max_prod_traffic_pct: 0,
  };
}

/** A clock that starts at BASE (a fixed mid-day instant, so no run crosses midnight) and runs in real time. */
function runningClock(offsetMs = 0): () => number {
  const started = Date.now();
  return () => BASE + offsetMs + (Date.now() - started);
}

function runHammer(args: string[]): Promise<{ admitted: number; settled: number; released: number; abandoned: number; denied: Record<string, number>; chargedMicros: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [HAMMER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`hammer exited with ${code}: ${err}`))));
  });
}

function idOf(r: ReserveResult): string {
  if (!r.ok) throw new Error(`expected an admitted reservation, got ${r.reason}`);
  return r.id;
}

/** Waits until the quota's store answers again after a restart (ioredis reconnects with backoff). */
async function untilReachable(quota: Quota, tenant: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await quota.usage(tenant);
      return;
    } catch (e) {
      if (i === 300) throw e;
      await sleep(50);
    }
  }
}

describe('quota on a shared Redis', () => {
  it('lets 4 OS processes hammer one tenant with zero overspend and every reservation accounted for', async () => {
    const redis = await startRedis();
    try {
      const prefix = 'hammer:';
      const clock = runningClock();
      const quota = createQuota({ store: redisStore({ url: redis.url }, { prefix }), clock });
      await quota.setEnvelope(envelope('shared', 100));
      const children = Promise.all([1, 2, 3, 4].map((seed) => runHammer([redis.url, prefix, String(seed), '3000', String(BASE)])));
      let finished = false;
      void children.finally(() => (finished = true)).catch(() => {});
      // While they run: spent + held never exceeds the cap.
      const seen: number[] = [];
      while (!finished) {
        const u = await quota.usage('shared');
        seen.push(Math.round((u.day.spent_usd + u.day.reserved_usd) * 1e6));
        await sleep(5);
      }
      const results = await children;
      expect(seen.length).toBeGreaterThan(0);
      expect(Math.max(...seen)).toBeLessThanOrEqual(100_000_000);
      // After every TTL: nothing held, and the spend is exactly the sum of what the processes settled.
      const later = createQuota({ store: redisStore({ url: redis.url }, { prefix }), clock: runningClock(10_000) });
      const u = await later.usage('shared');
      const charged = results.reduce((s, r) => s + r.chargedMicros, 0);
      expect(u.day.reserved_usd).toBe(0);
      expect(u.open_reservations).toBe(0);
      expect(Math.round(u.day.spent_usd * 1e6)).toBe(charged);
      expect(charged).toBeLessThanOrEqual(100_000_000);
      for (const r of results) {
        expect(r.settled + r.released + r.abandoned).toBe(r.admitted);
        expect(Object.keys(r.denied).every((k) => k === 'DAILY_CAP')).toBe(true);
      }
      // The cap was what stopped them: demand was several times the cap.
      expect(results.reduce((s, r) => s + (r.denied.DAILY_CAP ?? 0), 0)).toBeGreaterThan(0);
      await Promise.all([quota.close(), later.close()]);
    } finally {
      await redis.stop();
    }
  });

  it('denies with STORE_UNAVAILABLE while Redis is down and loses no settled charge across its restart', async () => {
    const redis = await startRedis({ persist: true });
    try {
      const quota = createQuota({ store: redisStore({ url: redis.url }, { commandTimeoutMs: 500 }), clock: runningClock() });
      await quota.setEnvelope(envelope('acme', 100));
      let acknowledged = 0;
      for (let i = 0; i < 50; i++) {
        const micros = 1000 + i * 7919;
        const s = await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: micros / 1e6 })), micros / 1e6);
        expect(s.status).toBe('settled');
        acknowledged += micros;
      }
      const inFlight = idOf(await quota.reserve({ tenant_id: 'acme', usd: 2 }));

      await redis.halt();
      expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'STORE_UNAVAILABLE' });
      await expectCodedRejection(quota.settle(inFlight, 1.5), isQuotaError, 'STORE_UNAVAILABLE', 'store');
      await expectCodedRejection(quota.usage('acme'), isQuotaError, 'STORE_UNAVAILABLE', 'store');

      await redis.restart();
      await untilReachable(quota, 'acme');
      expect(Math.round((await quota.usage('acme')).day.spent_usd * 1e6)).toBe(acknowledged);
      // The settle the outage refused is retried: charged once, however often it is retried.
      expect(await quota.settle(inFlight, 1.5)).toMatchObject({ status: 'settled', charged_usd: 1.5 });
      expect(await quota.settle(inFlight, 1.5)).toMatchObject({ status: 'duplicate' });
      const u = await quota.usage('acme');
      expect(Math.round(u.day.spent_usd * 1e6)).toBe(acknowledged + 1_500_000);
      expect(u.day.reserved_usd).toBe(0);
      await quota.close();
    } finally {
      await redis.stop();
    }
  });

  it('fails open only within the configured allowance, and charges those reservations once Redis is back', async () => {
    const redis = await startRedis({ persist: true });
    try {
      const events: unknown[] = [];
      const quota = createQuota({ store: redisStore({ url: redis.url }, { commandTimeoutMs: 500 }), clock: runningClock(), failOpen: { usd: 1 } });
      quota.on((e) => events.push(e));
      await quota.setEnvelope(envelope('acme', 100));
      expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });

      await redis.halt();
      const a = idOf(await quota.reserve({ tenant_id: 'acme', usd: 0.4 }));
      const b = idOf(await quota.reserve({ tenant_id: 'acme', usd: 0.6 }));
      expect(await quota.reserve({ tenant_id: 'acme', usd: 0.000001 })).toEqual({ ok: false, reason: 'STORE_UNAVAILABLE' });
      // A tenant the quota never saw is not let through: its envelope is unknown.
      expect(await quota.reserve({ tenant_id: 'globex', usd: 0.1 })).toEqual({ ok: false, reason: 'STORE_UNAVAILABLE' });
      expect(events).toEqual([
        expect.objectContaining({ type: 'fail_open', tenant_id: 'acme', id: a, usd: 0.4, allowance_left_usd: 0.6 }),
        expect.objectContaining({ type: 'fail_open', tenant_id: 'acme', id: b, usd: 0.6, allowance_left_usd: 0 }),
      ]);
      await expectCodedRejection(quota.settle(a, 0.3), isQuotaError, 'STORE_UNAVAILABLE', 'store');

      await redis.restart();
      await untilReachable(quota, 'acme');
      expect(await quota.settle(a, 0.3)).toMatchObject({ status: 'settled', charged_usd: 0.3 });
      expect(await quota.settle(a, 0.3)).toMatchObject({ status: 'duplicate' });
      expect(await quota.release(b)).toMatchObject({ status: 'released' });
      expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 0.3, reserved_usd: 1 });
      // Reachable again: the allowance is back for the next outage.
      expect(await quota.reserve({ tenant_id: 'acme', usd: 0.1 })).toMatchObject({ ok: true });
      await quota.close();
    } finally {
      await redis.stop();
    }
  });

  it('refuses bad connection options naming the field', () => {
    for (const [conn, options, field] of [
      [{ url: 'http://x' }, {}, 'connection.url'],
      [{ client: {} }, {}, 'connection.client'],
      [{ url: 'redis://127.0.0.1:1' }, { prefix: 'a{b' }, 'options.prefix'],
      [{ url: 'redis://127.0.0.1:1' }, { maxBatch: 0 }, 'options.maxBatch'],
      [{ url: 'redis://127.0.0.1:1' }, { commandTimeoutMs: 1.5 }, 'options.commandTimeoutMs'],
      [{ url: 'redis://127.0.0.1:1' }, { db: 2 }, 'options.db'],
    ] as const) {
      let caught: unknown;
      try {
        redisStore(conn as never, options as never);
      } catch (e) {
        caught = e;
      }
      expect(isQuotaError(caught) && (caught as { field: string }).field).toBe(field);
    }
  });
});

describe('Redis memory per tenant', () => {
  it('forgets the fields of finished days that hold nothing, and keeps a day whose reservation is still open', async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { lazyConnect: true });
    client.on('error', () => {});
    try {
      let now = Date.parse('2025-06-10T12:00:00Z');
      const quota = createQuota({ store: redisStore({ url: redis.url }, { prefix: 'mem:' }), clock: () => now, maxTtlMs: 3 * 86_400_000 });
      await quota.setEnvelope(envelope('acme', 100));
      await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 1 })), 1);
      now = Date.parse('2025-06-11T12:00:00Z');
      const open = idOf(await quota.reserve({ tenant_id: 'acme', usd: 2, ttl_ms: 2 * 86_400_000 }));
      now = Date.parse('2025-06-12T12:00:00Z');
      await quota.settle(idOf(await quota.reserve({ tenant_id: 'acme', usd: 3 })), 3);
      const dayFields = async (): Promise<string[]> => (await client.hkeys('mem:{acme}:h')).filter((k) => k.startsWith('d:')).sort();
      // 10 June is gone; 11 June holds the open reservation (nothing spent there yet); 12 June is today.
      expect(await dayFields()).toEqual(['d:2025-06-11:h', 'd:2025-06-12:h', 'd:2025-06-12:s']);
      expect(await quota.settle(open, 2)).toMatchObject({ status: 'settled' });
      now = Date.parse('2025-06-13T12:00:00Z');
      await quota.reserve({ tenant_id: 'acme', usd: 1 });
      expect(await dayFields()).toEqual(['d:2025-06-13:h']);
      // The month's spend is all there.
      expect((await quota.usage('acme')).month).toMatchObject({ spent_usd: 6, reserved_usd: 1 });
      await quota.close();
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
