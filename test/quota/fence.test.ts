// Fenced admissions of redisStore (cluster mode; docs/architecture.md, "@tenantry/quota" and
// "@tenantry/federation": fencing at the resource), on a real redis-server with real @tenantry/federation
// leases. Each node's quota admits a tenant under the token of the lease it believes it holds on the tenant's
// shard; a node whose lease ended (another node took it over, or it expired) is refused NOT_OWNER by Redis and
// changes nothing, while settle and release of what it admitted before still land.
//
// A "paused" node is modelled as one that keeps the token it was granted while its lease ends under it (the
// lease released by an operator, as Redis expiring it would, or really expiring): exactly what a node stopped
// past its lease believes when it wakes up.
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeases, isFederationError, shardResource, type Leases } from '@tenantry/federation';
import { createQuota, isQuotaError, redisStore, type Fence, type Quota, type QuotaEvent, type ReserveResult } from '@tenantry/quota';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

/** A fixed mid-day instant: nothing expires and no day ends while a test runs. */
const BASE = Date.parse('2025-06-10T12:00:00Z');
const clock = (): number => BASE;
const LONG_LEASE_MS = 600_000;

let server: RedisServer;
let admin: Redis;
let cases = 0;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

/** A gateway node: its leases, its quota (fenced with the tokens it believes it holds) and its quota's events. */
interface Node {
  readonly id: string;
  readonly leases: Leases;
  readonly quota: Quota;
  /** Shard resource -> the token this node was granted (kept when the lease ends under it: a paused node). */
  readonly held: Map<string, number>;
  readonly events: QuotaEvent[];
  /** How many times the store asked this node's fence, and the token of the last answer (null: none). */
  fenceCalls: number;
  lastToken: number | null;
}

/** A fresh cluster: its own key prefixes, a tenant -> shard map, nodes made on demand, an operator's leases. */
function cluster(options: { failOpenUsd?: number } = {}) {
  const n = ++cases;
  const fedPrefix = `fed${n}:`;
  const quotaPrefix = `q${n}:`;
  const shardOf = new Map<string, string>();
  const operator = createLeases({ url: server.url }, { prefix: fedPrefix });
  const nodes: Node[] = [];
  return {
    quotaPrefix,
    operator,
    nodes,
    /** Puts `tenant` on shard `shard`. */
    place(tenant: string, shard: number): void {
      shardOf.set(tenant, shardResource(shard));
    },
    node(id: string, fence?: (t: string) => Fence | null): Node {
      const leases = createLeases({ url: server.url }, { prefix: fedPrefix });
      const held = new Map<string, number>();
      const fenceOf = fence ?? ((t: string): Fence | null => {
        const resource = shardOf.get(t);
        const token = resource === undefined ? undefined : held.get(resource);
        node.fenceCalls++;
        node.lastToken = token ?? null;
        return resource === undefined || token === undefined ? null : leases.fenceOf(resource, token);
      });
      const quota = createQuota({
        store: redisStore({ url: server.url }, { prefix: quotaPrefix, fence: fenceOf, commandTimeoutMs: 10_000 }),
        clock,
        ...(options.failOpenUsd === undefined ? {} : { failOpen: { usd: options.failOpenUsd } }),
      });
      const events: QuotaEvent[] = [];
      quota.on((e) => events.push(e));
      const node: Node = { id, leases, quota, held, events, fenceCalls: 0, lastToken: null };
      nodes.push(node);
      return node;
    },
    /** `node` acquires shard `shard` (free) and believes it holds it under the new token. */
    async take(node: Node, shard: number, leaseMs = LONG_LEASE_MS): Promise<number> {
      const g = await node.leases.acquire(shardResource(shard), node.id, leaseMs);
      if (!g.ok) throw new Error(`${node.id} could not take ${shardResource(shard)}: held by ${g.holder}`);
      node.held.set(shardResource(shard), g.token);
      return g.token;
    },
    /** The lease of shard `shard` ends under its holder, as if it expired: the holder is not told. */
    async lapse(shard: number): Promise<void> {
      const h = await operator.holder(shardResource(shard));
      if (h === null) throw new Error(`${shardResource(shard)} has no holder`);
      expect(await operator.release(shardResource(shard), h.nodeId, h.token)).toBe(true);
    },
    async close(): Promise<void> {
      await Promise.all(nodes.map(async (x) => {
        await x.quota.close();
        await x.leases.close();
      }));
      await operator.close();
    },
  };
}

function envelope(tenant: string, dailyUsd = 100) {
  return {
    tenant_id: tenant, monthly_budget_usd: 1000, daily_budget_usd: dailyUsd, experiment_budget_cap_usd: 50,
    max_parallel_experiments: 2, max_prod_traffic_pct: 100,
  };
}

function idOf(r: ReserveResult): string {
  if (!r.ok) throw new Error(`expected an admitted reservation, got ${r.reason}`);
  return r.id;
}

const micros = (usd: number): number => Math.round(usd * 1e6);

/** Every key of `tenant` under the quota's prefix, byte for byte (DUMP), to show a refusal changed nothing. */
async function snapshot(prefix: string, tenant: string): Promise<Record<string, string>> {
  const keys = (await admin.keys(`${prefix}{${encodeURIComponent(tenant)}}:*`)).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = (await admin.dumpBuffer(k))?.toString('hex') ?? '';
  return out;
}

/**
 * The commands Redis ran while `during` ran (MONITOR). Redis reports commands in the order it runs them: a
 * probe seen first means the monitor is in place, a sentinel sent after `during` means all of it was seen.
 */
async function commandsDuring(during: () => Promise<void>): Promise<string[][]> {
  const n = ++cases;
  const probe = `fence-test-probe-${n}`;
  const sentinel = `fence-test-sentinel-${n}`;
  const monitor = await admin.monitor();
  let phase: 'probing' | 'recording' | 'done' = 'probing';
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[]) => {
    const echo = args[0]?.toLowerCase() === 'echo' ? args[1] : undefined;
    if (phase === 'probing') {
      if (echo === probe) phase = 'recording';
    } else if (phase === 'recording') {
      if (echo === sentinel) phase = 'done';
      else if (echo !== probe) seen.push(args);
    }
  });
  try {
    for (let i = 0; phase === 'probing'; i++) {
      if (i === 1000) throw new Error('MONITOR reported nothing');
      await admin.echo(probe);
      await sleep(10);
    }
    await during();
    await admin.echo(sentinel);
    for (let i = 0; phase !== 'done'; i++) {
      if (i === 1000) throw new Error('MONITOR never reported the sentinel');
      await sleep(10);
    }
  } finally {
    monitor.disconnect();
  }
  return seen;
}

const isScript = (a: string[]): boolean => ['evalsha', 'eval'].includes(a[0]!.toLowerCase());

describe('fenced admissions (redisStore with fence, real leases)', () => {
  it('admits under the holder\'s token: reserve, settle, start an experiment', async () => {
    const c = cluster();
    try {
      const a = c.node('node-a');
      c.place('acme', 3);
      await c.take(a, 3);
      await a.quota.setEnvelope(envelope('acme'));
      const r = await a.quota.reserve({ tenant_id: 'acme', usd: 2 });
      expect(r.ok).toBe(true);
      expect((await a.quota.settle(idOf(r), 1.5)).status).toBe('settled');
      const u = await a.quota.usage('acme');
      expect(u.day.spent_usd).toBe(1.5);
      expect(u.day.reserved_usd).toBe(0);
      const exp = await a.quota.startExperiment('acme', 'prompt-v2');
      expect(exp).toEqual({ ok: true, started: true });
    } finally {
      await c.close();
    }
  });

  it('refuses the old token after another node took the lease over (NOT_OWNER, nothing held), and admits the new holder', async () => {
    const c = cluster();
    try {
      const a = c.node('node-a');
      const b = c.node('node-b');
      c.place('acme', 5);
      const old = await c.take(a, 5);
      await a.quota.setEnvelope(envelope('acme'));
      const before = idOf(await a.quota.reserve({ tenant_id: 'acme', usd: 1 }));
      await c.lapse(5);
      const newer = await c.take(b, 5);
      expect(newer).toBeGreaterThan(old);

      const keys = await snapshot(c.quotaPrefix, 'acme');
      expect(await a.quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'NOT_OWNER' });
      expect(await a.quota.startExperiment('acme', 'exp-a')).toEqual({ ok: false, reason: 'NOT_OWNER' });
      expect(await snapshot(c.quotaPrefix, 'acme')).toEqual(keys);
      // The same refusal as federation's own fenced writes give that token.
      await expectCodedRejection(a.leases.fencedWrite(shardResource(5), old, { probe: '1' }), isFederationError, 'STALE_TOKEN');

      const u = await b.quota.usage('acme');
      expect(u.day.reserved_usd).toBe(1);
      expect(u.open_reservations).toBe(1);
      expect(u.experiments).toEqual([]);
      expect(a.events.filter((e) => e.type === 'fail_open')).toEqual([]);

      const r = await b.quota.reserve({ tenant_id: 'acme', usd: 1 });
      expect(r.ok).toBe(true);
      expect(await b.quota.startExperiment('acme', 'exp-b')).toEqual({ ok: true, started: true });
      expect((await b.quota.usage('acme')).day.reserved_usd).toBe(2);
      expect((await a.quota.release(before)).status).toBe('released');
    } finally {
      await c.close();
    }
  });

  it('refuses a token whose lease expired with nobody taking it (NOT_OWNER; the guard says LEASE_NOT_HELD)', async () => {
    const c = cluster();
    try {
      const a = c.node('node-a');
      c.place('acme', 1);
      await a.quota.setEnvelope(envelope('acme'));
      const token = await c.take(a, 1, 100);
      // Redis expires the lease (PX); the node is not told.
      for (let i = 0; (await c.operator.holder(shardResource(1))) !== null; i++) {
        if (i === 1000) throw new Error('the lease never expired');
        await sleep(20);
      }
      const keys = await snapshot(c.quotaPrefix, 'acme');
      expect(await a.quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'NOT_OWNER' });
      expect(await snapshot(c.quotaPrefix, 'acme')).toEqual(keys);
      await expectCodedRejection(a.leases.fencedWrite(shardResource(1), token, { probe: '1' }), isFederationError, 'LEASE_NOT_HELD');
      const u = await a.quota.usage('acme');
      expect(u.day.reserved_usd).toBe(0);
      expect(u.open_reservations).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('answers NOT_OWNER without a command to Redis when fence returns null, never from the fail-open allowance', async () => {
    const c = cluster({ failOpenUsd: 100 });
    try {
      const a = c.node('node-a');
      c.place('acme', 2);
      await c.take(a, 2);
      await a.quota.setEnvelope(envelope('acme'));
      // The tenant is now known to the quota (no envelope read on the next reserve).
      idOf(await a.quota.reserve({ tenant_id: 'acme', usd: 1 }));
      a.held.clear();
      const answers: unknown[] = [];
      const commands = await commandsDuring(async () => {
        answers.push(await a.quota.reserve({ tenant_id: 'acme', usd: 1 }));
        answers.push(await a.quota.startExperiment('acme', 'exp'));
      });
      expect(answers).toEqual([{ ok: false, reason: 'NOT_OWNER' }, { ok: false, reason: 'NOT_OWNER' }]);
      expect(commands).toEqual([]);
      expect(a.events.filter((e) => e.type === 'fail_open')).toEqual([]);
      expect((await a.quota.usage('acme')).day.reserved_usd).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('answers each op of one batch right: fenced and current, fenced and stale, not held, and unfenced settle / release', async () => {
    const c = cluster();
    try {
      const a = c.node('node-a');
      const b = c.node('node-b');
      c.place('ok-1', 1);
      c.place('ok-2', 1);
      c.place('stale', 2);
      c.place('moved', 2);
      c.place('orphan', 3);
      await c.take(a, 1);
      await c.take(a, 2);
      for (const t of ['ok-1', 'ok-2', 'stale', 'moved', 'orphan']) await a.quota.setEnvelope(envelope(t));
      // Every tenant known to the quota (so each reserve below goes to the store in the same tick) and the
      // scripts loaded; `moved` with two reservations admitted while node-a held shard 2.
      for (const t of ['ok-1', 'ok-2', 'stale']) idOf(await a.quota.reserve({ tenant_id: t, usd: 0.5 }));
      const toSettle = idOf(await a.quota.reserve({ tenant_id: 'moved', usd: 2 }));
      const toRelease = idOf(await a.quota.reserve({ tenant_id: 'moved', usd: 3 }));
      a.held.set(shardResource(3), 1);
      await expect(a.quota.reserve({ tenant_id: 'orphan', usd: 1 })).resolves.toEqual({ ok: false, reason: 'NOT_OWNER' });
      a.held.delete(shardResource(3));
      await c.lapse(2);
      await c.take(b, 2);
      const staleKeys = await snapshot(c.quotaPrefix, 'stale');

      let answers: unknown[] = [];
      const commands = await commandsDuring(async () => {
        answers = await Promise.all([
          a.quota.reserve({ tenant_id: 'ok-1', usd: 1 }),
          a.quota.reserve({ tenant_id: 'stale', usd: 1 }),
          a.quota.settle(toSettle, 1.75),
          a.quota.reserve({ tenant_id: 'orphan', usd: 1 }),
          a.quota.reserve({ tenant_id: 'ok-2', usd: 1 }),
          a.quota.release(toRelease),
          a.quota.reserve({ tenant_id: 'stale', usd: 0.25 }),
          a.quota.reserve({ tenant_id: 'ok-1', usd: 1000 }),
        ]);
      });
      expect(commands.filter(isScript)).toHaveLength(1);
      expect(answers).toMatchObject([
        { ok: true },
        { ok: false, reason: 'NOT_OWNER' },
        { status: 'settled', charged_usd: 1.75, reserved_usd: 2 },
        { ok: false, reason: 'NOT_OWNER' },
        { ok: true },
        { status: 'released' },
        { ok: false, reason: 'NOT_OWNER' },
        { ok: false, reason: 'DAILY_CAP' },
      ]);
      expect(await snapshot(c.quotaPrefix, 'stale')).toEqual(staleKeys);
      const usage = async (t: string) => {
        const u = await b.quota.usage(t);
        return { spent: u.day.spent_usd, held: u.day.reserved_usd };
      };
      expect(await usage('ok-1')).toEqual({ spent: 0, held: 1.5 });
      expect(await usage('ok-2')).toEqual({ spent: 0, held: 1.5 });
      expect(await usage('stale')).toEqual({ spent: 0, held: 0.5 });
      expect(await usage('moved')).toEqual({ spent: 1.75, held: 0 });
      expect(await usage('orphan')).toEqual({ spent: 0, held: 0 });
    } finally {
      await c.close();
    }
  });

  it('still settles and releases, once, what was admitted before the takeover (money not lost)', async () => {
    const c = cluster();
    try {
      const a = c.node('node-a');
      const b = c.node('node-b');
      c.place('acme', 4);
      await c.take(a, 4);
      await a.quota.setEnvelope(envelope('acme', 5));
      const r1 = idOf(await a.quota.reserve({ tenant_id: 'acme', usd: 2 }));
      const r2 = idOf(await a.quota.reserve({ tenant_id: 'acme', usd: 1 }));
      const r3 = idOf(await a.quota.reserve({ tenant_id: 'acme', usd: 1 }));
      await c.lapse(4);
      await c.take(b, 4);
      expect(await a.quota.reserve({ tenant_id: 'acme', usd: 0.01 })).toEqual({ ok: false, reason: 'NOT_OWNER' });
      expect(await a.quota.settle(r1, 2.5)).toMatchObject({ status: 'settled', charged_usd: 2.5, overrun: true });
      expect(await a.quota.release(r2)).toMatchObject({ status: 'released' });
      expect(await b.quota.settle(r3, 0.5)).toMatchObject({ status: 'settled', charged_usd: 0.5 });
      expect((await a.quota.settle(r1, 2.5)).status).toBe('duplicate');
      expect((await a.quota.release(r2)).status).toBe('duplicate');
      const u = await b.quota.usage('acme');
      expect(u.day.spent_usd).toBe(3);
      expect(u.day.reserved_usd).toBe(0);
      // The new holder admits what is left of the cap, and no more.
      expect((await b.quota.reserve({ tenant_id: 'acme', usd: 2 })).ok).toBe(true);
      expect(await b.quota.reserve({ tenant_id: 'acme', usd: 0.01 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
    } finally {
      await c.close();
    }
  });

  it('checks the option: a non-function at construction, a bad Fence or a throwing fence at reserve time, never admitting', async () => {
    expectCodedError(() => redisStore({ url: server.url }, { fence: 42 as never }), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
    expectCodedError(() => redisStore({ url: server.url }, { fence: { fenceKey: 'f', leaseKey: 'l', token: 1 } as never }), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
    const bad: Array<[string, () => unknown]> = [
      ['empty fenceKey', () => ({ fenceKey: '', leaseKey: 'l', token: 1 })],
      ['leaseKey not a string', () => ({ fenceKey: 'f', leaseKey: 7, token: 1 })],
      ['token zero', () => ({ fenceKey: 'f', leaseKey: 'l', token: 0 })],
      ['token fractional', () => ({ fenceKey: 'f', leaseKey: 'l', token: 1.5 })],
      ['token as text', () => ({ fenceKey: 'f', leaseKey: 'l', token: '3' })],
      ['token unsafe', () => ({ fenceKey: 'f', leaseKey: 'l', token: 2 ** 53 })],
      ['undefined', () => undefined],
      ['a string', () => 'shard:1'],
      ['throws', () => {
        throw new Error('no view of the shards yet');
      }],
    ];
    const c = cluster({ failOpenUsd: 100 });
    try {
      for (const [name, f] of bad) {
        const node = c.node(`node-${name.replace(/\W/g, '-')}`, f as (t: string) => Fence | null);
        await node.quota.setEnvelope(envelope('acme'));
        await expectCodedRejection(node.quota.reserve({ tenant_id: 'acme', usd: 1 }), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
        // Twice: the second with the tenant known to the quota (the fast path).
        await expectCodedRejection(node.quota.reserve({ tenant_id: 'acme', usd: 1 }), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
        await expectCodedRejection(node.quota.startExperiment('acme', 'exp'), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
        expect(node.events.filter((e) => e.type === 'fail_open'), name).toEqual([]);
        const u = await node.quota.usage('acme');
        expect(u.day.reserved_usd, name).toBe(0);
        expect(u.open_reservations, name).toBe(0);
        expect(u.experiments, name).toEqual([]);
      }
    } finally {
      await c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property: two nodes' quotas, reserves, settles and releases interleaved with takeovers and lapses of the
// tenant's shard lease, against a 5 USD daily cap. Logical time `t` orders what the test observed: a reserve
// is issued at `s` (its fence is read then, synchronously) and answered at `e`; a lease change (a lapse, an
// acquire) starts and ends. What must hold:
//   - spent + held never exceeds the cap, and equals what the answers say was admitted, settled and released;
//   - an admitted reserve's token is not lower than any token granted (acquire answered) before it was issued,
//     and it was the lease's token at some moment in [s, e];
//   - a refused (NOT_OWNER) reserve's token was not the lease's at some moment in [s, e];
//   - settle and release of admitted reservations always land, whoever holds the lease.

type Action =
  | { kind: 'reserve'; node: 0 | 1; usd: number; delay: number }
  | { kind: 'settle'; node: 0 | 1; pick: number; half: boolean; delay: number }
  | { kind: 'release'; node: 0 | 1; pick: number; delay: number }
  | { kind: 'takeover'; node: 0 | 1; delay: number }
  | { kind: 'lapse'; delay: number };

const CAP_USD = 5;
const delay = fc.integer({ min: 0, max: 3 });
const nodeIx = fc.constantFrom<0 | 1>(0, 1);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('reserve' as const), node: nodeIx, usd: fc.constantFrom(0.25, 0.5, 1, 1.5, 2), delay }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('settle' as const), node: nodeIx, pick: fc.nat(), half: fc.boolean(), delay }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), node: nodeIx, pick: fc.nat(), delay }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('takeover' as const), node: nodeIx, delay }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lapse' as const), delay }) },
);
/** Rounds of actions run concurrently; at most one lease change (takeover or lapse) per round. */
const rounds = fc.array(fc.array(action, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 10 }).map((rs) =>
  rs.map((r) => {
    let changes = 0;
    return r.filter((x) => (x.kind === 'takeover' || x.kind === 'lapse' ? ++changes === 1 : true));
  }));

interface Change {
  start: number;
  end: number;
  /** The lease's token after the change (null: not held). */
  after: number | null;
  /** The token granted (an acquire). */
  granted: number | null;
}

describe('fenced admissions, property', () => {
  it('two nodes under takeovers: never past the cap, never admitted under a superseded token', async () => {
    const c = cluster();
    const nodes = [c.node('node-0'), c.node('node-1')];
    let runs = 0;
    try {
      await fc.assert(
        fc.asyncProperty(rounds, async (plan) => {
          const run = ++runs;
          const tenant = `prop-${run}`;
          const shard = 1000 + run;
          const resource = shardResource(shard);
          c.place(tenant, shard);
          await nodes[0]!.quota.setEnvelope(envelope(tenant, CAP_USD));
          // Both quotas know the tenant (usage reads its envelope), so a reserve reads the fence at once.
          for (const n of nodes) await n.quota.usage(tenant);
          let t = 0;
          const changes: Change[] = [];
          /** The lease's token as of the changes finished by then (the lease starts unheld). */
          const leaseAt = (time: number): number | null => {
            let v: number | null = null;
            for (const ch of changes) if (ch.end < time) v = ch.after;
            return v;
          };
          let current: number | null = null;
          const open: Array<{ id: string; micros: number }> = [];
          let spent = 0;
          const capMicros = micros(CAP_USD);

          const reserve = async (a: Extract<Action, { kind: 'reserve' }>): Promise<void> => {
            const node = nodes[a.node]!;
            const s = ++t;
            const calls = node.fenceCalls;
            const pending = node.quota.reserve({ tenant_id: tenant, usd: a.usd });
            // The fence is read when the reserve is issued (the tenant is known to the quota: no await before it).
            expect(node.fenceCalls).toBe(calls + 1);
            const token = node.lastToken;
            const r = await pending;
            const e = ++t;
            // Tokens the lease had at some moment in [s, e]: as of s, and after every change that overlaps.
            const valid = new Set<number | null>([leaseAt(s)]);
            for (const ch of changes) if (ch.start < e && ch.end > s) valid.add(ch.after);
            const steady = valid.size === 1;
            if (r.ok) {
              expect(token).not.toBeNull();
              const grantedBefore = changes.filter((ch) => ch.end < s && ch.granted !== null).map((ch) => ch.granted!);
              expect(token!).toBeGreaterThanOrEqual(Math.max(0, ...grantedBefore));
              expect(valid.has(token)).toBe(true);
              open.push({ id: r.id, micros: micros(a.usd) });
            } else if (r.reason === 'NOT_OWNER') {
              expect(steady && token !== null && valid.has(token), `NOT_OWNER for the steady holder's token ${String(token)}`).toBe(false);
            } else {
              expect(r.reason).toBe('DAILY_CAP');
              expect(token !== null && valid.has(token)).toBe(true);
            }
          };
          const change = async (node: 0 | 1 | null): Promise<void> => {
            const ch: Change = { start: ++t, end: Infinity, after: null, granted: null };
            changes.push(ch);
            if (current !== null) {
              const h = await c.operator.holder(resource);
              expect(h?.token).toBe(current);
              expect(await c.operator.release(resource, h!.nodeId, h!.token)).toBe(true);
            }
            if (node !== null) {
              const g = await nodes[node]!.leases.acquire(resource, nodes[node]!.id, LONG_LEASE_MS);
              if (!g.ok) throw new Error('the lease was not free');
              nodes[node]!.held.set(resource, g.token);
              ch.granted = g.token;
            }
            current = ch.granted;
            ch.after = current;
            ch.end = ++t;
          };

          for (const round of plan) {
            await Promise.all(round.map(async (a) => {
              for (let i = 0; i < a.delay; i++) await sleep(0);
              if (a.kind === 'reserve') return reserve(a);
              if (a.kind === 'takeover') return change(a.node);
              if (a.kind === 'lapse') return change(null);
              if (open.length === 0) return;
              const [r] = open.splice(a.pick % open.length, 1);
              const q = nodes[a.node]!.quota;
              if (a.kind === 'release') {
                expect((await q.release(r!.id)).status).toBe('released');
              } else {
                const charge = a.half ? r!.micros / 2 : r!.micros;
                const out = await q.settle(r!.id, charge / 1e6);
                expect(out).toMatchObject({ status: 'settled', overrun: false });
                spent += charge;
              }
            }));
            const u = await nodes[1]!.quota.usage(tenant);
            const held = open.reduce((sum, r) => sum + r.micros, 0);
            expect(micros(u.day.spent_usd)).toBe(spent);
            expect(micros(u.day.reserved_usd)).toBe(held);
            expect(spent + held).toBeLessThanOrEqual(capMicros);
          }
          for (const n of nodes) expect(n.events.filter((e) => e.type === 'fail_open')).toEqual([]);
        }),
        { numRuns: 40, seed: 20250610, endOnFailure: true },
      );
    } finally {
      await c.close();
    }
  });
});
