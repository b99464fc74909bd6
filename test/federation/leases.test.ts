// Leases with fencing tokens over a real redis-server (docs/architecture.md, "@tenantry/federation"): tokens
// only grow, a paused holder's writes are refused after a takeover, two competitors never share a token, a
// node whose lease ran out steps down, and an unreachable Redis refuses every write (fail closed).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeases, createMembership, createShardKeeper, FENCE_GUARD_LUA, isFederationError, type Leases, type ShardEvent,
} from '@tenantry/federation';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const WRITER = fileURLToPath(new URL('./fixtures/fenced-writer.mjs', import.meta.url));

let redis: RedisServer;
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** Leases under a prefix of their own, so the cases do not share keys. */
function leasesFor(url: string, options: Parameters<typeof createLeases>[1] = {}): Leases {
  return createLeases({ url }, { prefix: `t${++prefixes}:`, ...options });
}

/** Waits until Redis has expired the lease of `resource`. */
async function untilFree(leases: Leases, resource: string): Promise<void> {
  while ((await leases.holder(resource)) !== null) await sleep(20);
}

describe('leases', () => {
  it('hands out tokens that only grow across acquire, expiry, re-acquire and release', async () => {
    const leases = leasesFor(redis.url);
    try {
      const tokens: number[] = [];
      for (let i = 0; i < 4; i++) {
        const a = await leases.acquire('coordinator', 'node-a', 100);
        if (!a.ok) throw new Error('expected a grant');
        tokens.push(a.token);
        await untilFree(leases, 'coordinator');
        const b = await leases.acquire('coordinator', 'node-b', 60_000);
        if (!b.ok) throw new Error('expected a grant');
        tokens.push(b.token);
        // Re-acquiring a lease one holds already gives a new token as well.
        const again = await leases.acquire('coordinator', 'node-b', 60_000);
        if (!again.ok) throw new Error('expected a grant');
        tokens.push(again.token);
        expect(await leases.release('coordinator', 'node-b', b.token)).toBe(false);
        expect(await leases.release('coordinator', 'node-b', again.token)).toBe(true);
      }
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    } finally {
      await leases.close();
    }
  });

  it('refuses an acquire while another node holds the lease, naming the holder', async () => {
    const leases = leasesFor(redis.url);
    try {
      const a = await leases.acquire('shard:3', 'node-a', 60_000);
      const b = await leases.acquire('shard:3', 'node-b', 60_000);
      expect(a.ok).toBe(true);
      expect(b).toMatchObject({ ok: false, holder: 'node-a', token: a.ok ? a.token : -1 });
      expect(await leases.holder('shard:3')).toMatchObject({ nodeId: 'node-a', token: a.ok ? a.token : -1 });
      expect((await leases.renew('shard:3', 'node-b', a.ok ? a.token : 1, 1000)).ok).toBe(false);
      expect((await leases.renew('shard:3', 'node-a', a.ok ? a.token : 1, 1000)).ok).toBe(true);
    } finally {
      await leases.close();
    }
  });

  it('refuses with STALE_TOKEN the write of a paused holder after another node took over', async () => {
    const leases = leasesFor(redis.url);
    try {
      const paused = await leases.acquire('shard:7', 'node-a', 150);
      if (!paused.ok) throw new Error('expected a grant');
      await leases.fencedWrite('shard:7', paused.token, { head: 'a-1' });
      // node-a is paused: it does not renew, and its lease runs out in Redis.
      await untilFree(leases, 'shard:7');
      const taker = await leases.acquire('shard:7', 'node-b', 60_000);
      if (!taker.ok) throw new Error('expected a grant');
      expect(taker.token).toBeGreaterThan(paused.token);
      // node-a wakes up and writes with its old token, before node-b wrote anything.
      await expectCodedRejection(leases.fencedWrite('shard:7', paused.token, { head: 'a-2' }), isFederationError, 'STALE_TOKEN', 'token');
      await leases.fencedWrite('shard:7', taker.token, { head: 'b-1' });
      await expectCodedRejection(leases.fencedWrite('shard:7', paused.token, { head: 'a-3' }), isFederationError, 'STALE_TOKEN', 'token');
      expect(await leases.read('shard:7')).toEqual({ head: 'b-1', _token: String(taker.token) });
    } finally {
      await leases.close();
    }
  });

  it('refuses with LEASE_NOT_HELD a write whose lease ended when nobody took it over yet', async () => {
    const leases = leasesFor(redis.url);
    try {
      const g = await leases.acquire('shard:1', 'node-a', 100);
      if (!g.ok) throw new Error('expected a grant');
      await untilFree(leases, 'shard:1');
      await expectCodedRejection(leases.fencedWrite('shard:1', g.token, { head: 'late' }), isFederationError, 'LEASE_NOT_HELD', 'token');
      const r = await leases.acquire('shard:2', 'node-a', 60_000);
      if (!r.ok) throw new Error('expected a grant');
      expect(await leases.release('shard:2', 'node-a', r.token)).toBe(true);
      await expectCodedRejection(leases.fencedWrite('shard:2', r.token, { head: 'after-release' }), isFederationError, 'LEASE_NOT_HELD', 'token');
      expect(await leases.read('shard:1')).toEqual({});
      expect(await leases.read('shard:2')).toEqual({});
    } finally {
      await leases.close();
    }
  });

  it('never lets two competing nodes hold one lease with the same token', async () => {
    const a = leasesFor(redis.url);
    const b = createLeases({ url: redis.url }, { prefix: `t${prefixes}:` });
    try {
      type Acq = { node: string; token: number };
      const history: Acq[] = [];
      const compete = async (leases: Leases, node: string): Promise<void> => {
        for (let i = 0; i < 60; i++) {
          const g = await leases.acquire('coordinator', node, 30);
          if (g.ok) {
            history.push({ node, token: g.token });
            // Sometimes hand it back, sometimes let it run out.
            if (i % 3 === 0) await leases.release('coordinator', node, g.token);
          }
          await sleep(i % 5);
        }
      };
      await Promise.all([compete(a, 'node-a'), compete(b, 'node-b'), compete(a, 'node-c')]);
      expect(history.length).toBeGreaterThan(1);
      const tokens = history.map((h) => h.token);
      expect(new Set(tokens).size).toBe(tokens.length);
      // Redis ordered the grants: sorted by token, the last writer wins the fence and every earlier one is stale.
      const sorted = [...history].sort((x, y) => x.token - y.token);
      const last = sorted[sorted.length - 1]!;
      const held = await a.holder('coordinator');
      if (held !== null) expect(held.token).toBe(last.token);
      for (const h of sorted.slice(0, -1)) {
        const caught = await a.fencedWrite('coordinator', h.token, { by: h.node }).then(() => null, (e: unknown) => e);
        expect(isFederationError(caught)).toBe(true);
        expect(['STALE_TOKEN', 'LEASE_NOT_HELD']).toContain((caught as { code: string }).code);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('checks its arguments with INVALID_ARGUMENT naming the field', async () => {
    const leases = leasesFor(redis.url);
    try {
      await expectCodedRejection(leases.acquire('a{b}', 'node-a', 100), isFederationError, 'INVALID_ARGUMENT', 'resource');
      await expectCodedRejection(leases.acquire('shard:1', 'node a', 100), isFederationError, 'INVALID_ARGUMENT', 'nodeId');
      await expectCodedRejection(leases.acquire('shard:1', 'node-a', 0), isFederationError, 'INVALID_ARGUMENT', 'leaseMs');
      await expectCodedRejection(leases.fencedWrite('shard:1', 0, { a: 'b' }), isFederationError, 'INVALID_ARGUMENT', 'token');
      await expectCodedRejection(leases.fencedWrite('shard:1', 1, { _token: '9' }), isFederationError, 'INVALID_ARGUMENT', 'entries._token');
      expectCodedError(() => createLeases({ url: 'http://x' }), isFederationError, 'INVALID_ARGUMENT', 'connection.url');
      expectCodedError(() => createLeases({ url: redis.url }, { prefix: '{x}' }), isFederationError, 'INVALID_ARGUMENT', 'options.prefix');
    } finally {
      await leases.close();
    }
  });

  it('exports a fence guard that another script can carry', async () => {
    const leases = leasesFor(redis.url);
    const client = new Redis(redis.url);
    const prefix = `t${prefixes}:`;
    try {
      const g = await leases.acquire('shard:9', 'node-a', 60_000);
      if (!g.ok) throw new Error('expected a grant');
      // A quota-like script in another slot: it checks only the highest token seen (lease key false).
      const script = `${FENCE_GUARD_LUA}
local refused = tenantry_fence(KEYS[1], false, ARGV[1])
if refused then return refused end
redis.call('INCRBY', KEYS[2], 1)
return 'OK'`;
      const fence = `${prefix}{shard:9}:fence`;
      expect(await client.eval(script, 2, fence, 'counter', String(g.token))).toBe('OK');
      expect(await client.eval(script, 2, fence, 'counter', String(g.token - 1))).toBe(`STALE_TOKEN:${g.token}`);
      expect(await client.get('counter')).toBe('1');
    } finally {
      client.disconnect();
      await leases.close();
    }
  });
});

describe('a shard keeper', () => {
  it('steps down by itself when its leases would have ended by its own clock', async () => {
    const prefix = `t${++prefixes}:`;
    const leases = createLeases({ url: redis.url }, { prefix });
    const membership = createMembership({ url: redis.url }, { prefix, ttlMs: 60_000 });
    try {
      await membership.join({ node_id: 'node-a', role: 'coordinator' });
      const keeper = createShardKeeper({ leases, membership, nodeId: 'node-a', role: 'coordinator', shardCount: 4, leaseMs: 300 });
      const events: ShardEvent[] = [];
      const allDown = new Promise<void>((resolve) => {
        keeper.on((e) => {
          events.push(e);
          if (events.filter((x) => x.type === 'stepped_down').length === 5) resolve();
        });
      });
      await keeper.tick();
      expect(keeper.owned()).toEqual([0, 1, 2, 3]);
      expect(keeper.coordinatorToken()).not.toBeNull();
      // No more ticks (a paused node renews nothing): every lease lapses by the node's own clock.
      await allDown;
      const down = events.filter((e) => e.type === 'stepped_down');
      expect(down.every((e) => e.type === 'stepped_down' && e.reason === 'expired')).toBe(true);
      expect(keeper.owned()).toEqual([]);
      expect(keeper.tokenFor(0)).toBeNull();
    } finally {
      await membership.close();
      await leases.close();
    }
  });

  it('steps down when a renewal is refused because another node took its lease', async () => {
    const prefix = `t${++prefixes}:`;
    const leases = createLeases({ url: redis.url }, { prefix });
    const membership = createMembership({ url: redis.url }, { prefix, ttlMs: 60_000 });
    const client = new Redis(redis.url);
    try {
      await membership.join({ node_id: 'node-a', role: 'worker' });
      const keeper = createShardKeeper({ leases, membership, nodeId: 'node-a', shardCount: 1, leaseMs: 60_000 });
      const events: ShardEvent[] = [];
      keeper.on((e) => events.push(e));
      await keeper.tick();
      const token = keeper.tokenFor(0);
      expect(token).not.toBeNull();
      // Someone else's view of the world: the lease vanished and node-z took it.
      await client.del(`${prefix}{shard:0}:lease`);
      const z = await leases.acquire('shard:0', 'node-z', 60_000);
      expect(z.ok).toBe(true);
      await keeper.tick();
      expect(events).toContainEqual({ type: 'stepped_down', resource: 'shard:0', token, reason: 'renew_refused' });
      expect(keeper.tokenFor(0)).toBeNull();
    } finally {
      client.disconnect();
      await membership.close();
      await leases.close();
    }
  });
});

describe('Redis unreachable', () => {
  it('refuses every write while Redis is down (fail closed) and works again once it is back', async () => {
    const own = await startRedis({ persist: true });
    const leases = createLeases({ url: own.url }, { commandTimeoutMs: 500 });
    try {
      const g = await leases.acquire('shard:5', 'node-a', 60_000);
      if (!g.ok) throw new Error('expected a grant');
      await leases.fencedWrite('shard:5', g.token, { head: 'before' });
      await own.halt();
      await expectCodedRejection(leases.fencedWrite('shard:5', g.token, { head: 'during' }), isFederationError, 'REDIS_UNAVAILABLE', 'redis');
      await expectCodedRejection(leases.acquire('shard:6', 'node-a', 60_000), isFederationError, 'REDIS_UNAVAILABLE', 'redis');
      await own.restart();
      for (let i = 0; ; i++) {
        try {
          await leases.fencedWrite('shard:5', g.token, { head: 'after' });
          break;
        } catch (e) {
          if (i === 300 || !isFederationError(e) || e.code !== 'REDIS_UNAVAILABLE') throw e;
          await sleep(50);
        }
      }
      expect(await leases.read('shard:5')).toEqual({ head: 'after', _token: String(g.token) });
      // The counter survived the restart (append-only file): the next token is higher still.
      const next = await leases.acquire('shard:5', 'node-a', 60_000);
      expect(next.ok && next.token > g.token).toBe(true);
    } finally {
      await leases.close();
      await own.stop();
    }
  });
});

describe('a holder in another process, stopped past its lease', () => {
  it('lands nothing after SIGCONT once another node took the lease over', async () => {
    const prefix = `t${++prefixes}:`;
    const leases = createLeases({ url: redis.url }, { prefix });
    const child = spawn(process.execPath, [WRITER, redis.url, prefix, 'shard:0', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let wake: (() => void) | undefined;
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      wake?.();
    });
    const until = (pred: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (pred()) {
            wake = undefined;
            resolve();
          }
        };
        wake = check;
        check();
      });
    try {
      await until(() => lines.some((l) => l.startsWith('OK ')));
      const token = Number(lines.find((l) => l.startsWith('GRANT '))!.slice(6));
      child.kill('SIGSTOP');
      const stoppedAt = lines.length;
      // While it is stopped, its lease runs out and node-b takes over and writes.
      await untilFree(leases, 'shard:0');
      const b = await leases.acquire('shard:0', 'node-b', 60_000);
      if (!b.ok) throw new Error('expected a grant');
      expect(b.token).toBeGreaterThan(token);
      await leases.fencedWrite('shard:0', b.token, { head: 'node-b' });
      child.kill('SIGCONT');
      // Every write it tries from now on is refused; wait for a few of them.
      await until(() => lines.slice(stoppedAt).filter((l) => l.startsWith('REFUSED ')).length >= 5);
      // Writes are sequential: one still in flight at SIGSTOP reached Redis before the takeover and may be
      // reported late; every write from the first refusal on was refused, and STALE_TOKEN.
      const numbered = lines.filter((l) => !l.startsWith('GRANT ')).map((l) => ({ n: Number(l.split(' ')[1]), line: l }));
      const firstRefused = Math.min(...numbered.filter((x) => x.line.startsWith('REFUSED ')).map((x) => x.n));
      const later = numbered.filter((x) => x.n >= firstRefused);
      expect(later.length).toBeGreaterThanOrEqual(5);
      expect(later.every((x) => x.line === `REFUSED ${x.n} STALE_TOKEN`)).toBe(true);
      expect(await leases.read('shard:0')).toEqual({ head: 'node-b', _token: String(b.token) });
    } finally {
      child.kill('SIGKILL');
      await leases.close();
    }
  });
});
