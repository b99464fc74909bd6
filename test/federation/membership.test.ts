// Membership and shard ownership over a real redis-server (docs/architecture.md, "@tenantry/federation"): a
// node that stops heart-beating disappears after its TTL, and only the shards it owned move, each to the
// node rendezvous hashing names and under a new, higher token.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rankNodes, shardOf } from '@tenantry/kernels';
import {
  createLeases, createMembership, createShardKeeper, isFederationError, movedShards, shardOwners, tenantShard, type ShardKeeper,
} from '@tenantry/federation';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

const SHARDS = 16;

describe('membership', () => {
  it('lists the live nodes and drops one that stops heart-beating after its TTL', async () => {
    const m = createMembership({ url: redis.url }, { prefix: 'm1:', ttlMs: 300, heartbeatMs: 50 });
    try {
      const a = await m.join({ node_id: 'node-a', role: 'coordinator', address: 'http://10.0.0.1:8787' });
      const b = await m.join({ node_id: 'node-b', role: 'worker' });
      await m.join({ node_id: 'node-c', role: 'observer' });
      expect(a.record).toMatchObject({ node_id: 'node-a', role: 'coordinator', address: 'http://10.0.0.1:8787' });
      expect((await m.liveNodes()).map((n) => [n.node_id, n.role])).toEqual([['node-a', 'coordinator'], ['node-b', 'worker'], ['node-c', 'observer']]);
      b.stop();
      while ((await m.liveNodes()).some((n) => n.node_id === 'node-b')) await sleep(25);
      // The others kept beating through b's TTL, so they are still there.
      expect((await m.liveNodes()).map((n) => n.node_id)).toEqual(['node-a', 'node-c']);
      await a.leave();
      expect((await m.liveNodes()).map((n) => n.node_id)).toEqual(['node-c']);
    } finally {
      await m.close();
    }
  });

  it('checks its arguments with INVALID_ARGUMENT naming the field', async () => {
    const m = createMembership({ url: redis.url }, { prefix: 'm2:' });
    try {
      await expectCodedRejection(m.join({ node_id: '', role: 'worker' }), isFederationError, 'INVALID_ARGUMENT', 'node.node_id');
      await expectCodedRejection(m.join({ node_id: 'n', role: 'boss' as never }), isFederationError, 'INVALID_ARGUMENT', 'node.role');
      expectCodedError(() => createMembership({ url: redis.url }, { ttlMs: 100, heartbeatMs: 100 }), isFederationError, 'INVALID_ARGUMENT', 'options.heartbeatMs');
      expectCodedError(() => createMembership({ url: redis.url }, { ttl: 1 } as never), isFederationError, 'INVALID_ARGUMENT', 'options.ttl');
    } finally {
      await m.close();
    }
  });
});

describe('shard ownership', () => {
  it('maps tenants with shardOf and shards with rankNodes, and moves only the shards of a node that left', () => {
    expect(tenantShard('acme', SHARDS)).toBe(shardOf('acme', SHARDS));
    const before = shardOwners(['n1', 'n2', 'n3', 'n4'], SHARDS);
    for (const o of before) {
      const ranked = rankNodes(String(o.shard), ['n1', 'n2', 'n3', 'n4']);
      expect([o.primary, o.secondary]).toEqual([ranked[0], ranked[1]]);
    }
    const after = shardOwners(['n1', 'n2', 'n4'], SHARDS);
    const moved = movedShards(before, after);
    expect(moved).toEqual(before.filter((o) => o.primary === 'n3').map((o) => o.shard));
    // Where n3 was primary, its secondary takes over.
    for (const s of moved) expect(after[s]!.primary).toBe(before[s]!.secondary);
    expectCodedError(() => tenantShard('a\u0000b', SHARDS), (e) => (e as { code?: string }).code === 'INVALID_TENANT_ID', 'INVALID_TENANT_ID');
  });

  it('hands the shards of a node that stops heart-beating to the others, under new tokens, moving nothing else', async () => {
    const prefix = 'm3:';
    const ttlMs = 400;
    const leaseMs = 400;
    const ids = ['node-a', 'node-b', 'node-c'];
    const nodes = ids.map((id) => {
      const leases = createLeases({ url: redis.url }, { prefix });
      const membership = createMembership({ url: redis.url }, { prefix, ttlMs, heartbeatMs: 50 });
      return { id, leases, membership, keeper: createShardKeeper({ leases, membership, nodeId: id, shardCount: SHARDS, leaseMs }) };
    });
    try {
      const members = await Promise.all(nodes.map((n) => n.membership.join({ node_id: n.id, role: 'worker' })));
      const owned = (keepers: ShardKeeper[]): Map<number, { node: number; token: number }> => {
        const out = new Map<number, { node: number; token: number }>();
        keepers.forEach((k, i) => {
          for (const s of k.owned()) {
            expect(out.has(s), `shard ${s} held by two nodes`).toBe(false);
            out.set(s, { node: i, token: k.tokenFor(s)! });
          }
        });
        return out;
      };
      // Tick until every shard is held (ticks renew too, so leases do not lapse meanwhile).
      const settle = async (keepers: ShardKeeper[]): Promise<Map<number, { node: number; token: number }>> => {
        for (let i = 0; ; i++) {
          await Promise.all(keepers.map((k) => k.tick()));
          const o = owned(keepers);
          if (o.size === SHARDS) return o;
          if (i === 500) throw new Error(`only ${o.size} of ${SHARDS} shards held`);
          await sleep(20);
        }
      };
      const before = await settle(nodes.map((n) => n.keeper));
      const expected = shardOwners(ids, SHARDS);
      for (const [s, o] of before) expect(ids[o.node]).toBe(expected[s]!.primary);

      // node-c stops: no more heartbeats, no more renewals (as if it crashed or was paused).
      const cShards = nodes[2]!.keeper.owned();
      expect(cShards.length).toBeGreaterThan(0);
      members[2]!.stop();
      nodes[2]!.keeper.stop();
      const rest = nodes.slice(0, 2);
      for (let i = 0; ; i++) {
        const live = await rest[0]!.membership.liveNodes();
        if (!live.some((n) => n.node_id === 'node-c')) break;
        if (i === 500) throw new Error('node-c never expired');
        await Promise.all(rest.map((n) => n.keeper.tick()));
        await sleep(20);
      }
      const after = await settle(rest.map((n) => n.keeper));
      const moved = [...after].filter(([s, o]) => before.get(s)!.node !== o.node).map(([s]) => s).sort((x, y) => x - y);
      expect(moved).toEqual(cShards);
      const survivors = shardOwners(['node-a', 'node-b'], SHARDS);
      for (const s of moved) {
        expect(ids[after.get(s)!.node]).toBe(survivors[s]!.primary);
        expect(after.get(s)!.token).toBeGreaterThan(before.get(s)!.token);
        // node-c's old token cannot write to the shard it lost.
        const caught = await nodes[0]!.leases.fencedWrite(`shard:${s}`, before.get(s)!.token, { by: 'node-c' }).then(() => null, (e: unknown) => e);
        expect((caught as { code?: string }).code).toBe('STALE_TOKEN');
      }
      for (const [s, o] of after) if (!moved.includes(s)) expect(o).toEqual(before.get(s));
    } finally {
      for (const n of nodes) {
        n.keeper.stop();
        await n.membership.close();
        await n.leases.close();
      }
    }
  });
});
