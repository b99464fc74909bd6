// The cluster node over a real redis-server (docs/architecture.md, "@tenantry/federation"): three nodes agree on
// the cluster's state, each tenant is served by exactly one node, a node killed in another process hands over
// only its own shards, open() refuses and counts every kind of bad message, revocations published by the
// operator reach every node at its next poll, and Redis unreachable fails closed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateCache, createClusterNode, generateOperatorKey, isFederationError, issueNodeKey, publishRevocations, revocationsKey,
  shardOwners, signMessage, signRevocationList, type ClusterEvent, type ClusterNode, type ClusterNodeOptions, type NodeKey,
} from '@tenantry/federation';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/cluster-node.mjs', import.meta.url));
const SHARDS = 16;
const TENANTS = Array.from({ length: 60 }, (_, i) => `tenant-${i}`);

const operator = generateOperatorKey('cluster-test');
const impostor = generateOperatorKey('impostor');
const now = Date.now();
const keys = new Map<string, NodeKey>();
function keyOf(id: string): NodeKey {
  let k = keys.get(id);
  if (k === undefined) {
    k = issueNodeKey(operator, { node_id: id, not_before: now - 60_000, not_after: now + 86_400_000 });
    keys.set(id, k);
  }
  return k;
}
const addressOf = (id: string, port = 8700 + id.charCodeAt(id.length - 1)) => `http://127.0.0.1:${port}`;

let redis: RedisServer;
let prefixes = 0;
const open = new Set<ClusterNode>();
const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'tenantry-cluster-node-'));

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.allSettled([...open].map((n) => n.close()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function node(id: string, prefix: string, extra: Partial<ClusterNodeOptions> = {}): ClusterNode {
  const n = createClusterNode({
    redis: { url: redis.url }, nodeId: id, address: addressOf(id), nodeKey: keyOf(id), operatorPublicKey: operator.public_key,
    prefix, shardCount: SHARDS, leaseMs: 60_000, ...extra,
  });
  open.add(n);
  return n;
}

/** Rounds on every node until `settled` holds (nodes hand over in their own rounds: two usually suffice). */
async function settle(nodes: readonly ClusterNode[], settled: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    await Promise.all(nodes.map((n) => n.tick()));
    if (await settled()) return;
    if (i === 400) throw new Error(`did not settle: ${what}`);
    await sleep(25);
  }
}

/** True when every shard is held by the node the live members make its primary. */
async function heldByPrimaries(n: ClusterNode, members: number): Promise<boolean> {
  const s = await n.state();
  return s.members.length === members && s.shards.every((x) => x.primary !== null && x.token !== null);
}

/** The one node whose route for `tenant` is self, or an error naming how many claim it. */
function server(nodes: readonly ClusterNode[], tenant: string): ClusterNode {
  const selves = nodes.filter((n) => n.route(tenant).self);
  if (selves.length !== 1) throw new Error(`${tenant}: ${selves.length} nodes route it to themselves`);
  return selves[0]!;
}

function refusalOf(n: ClusterNode, envelope: unknown): string {
  try {
    n.open(envelope);
    return 'accepted';
  } catch (e) {
    return isFederationError(e) ? e.code : String(e);
  }
}

describe('three cluster nodes', () => {
  it('agree on state(), and route each tenant to exactly one of them, the shard primary', async () => {
    const prefix = `cn${++prefixes}:`;
    const a = node('node-a', prefix, { role: 'coordinator' });
    const b = node('node-b', prefix);
    const c = node('node-c', prefix);
    const nodes = [a, b, c];
    const events: ClusterEvent[] = [];
    a.on((e) => events.push(e));
    for (const n of nodes) await n.start();
    await settle(nodes, () => heldByPrimaries(a, 3), 'every shard held');
    await settle(nodes, () => TENANTS.every((t) => nodes.filter((n) => n.route(t).self).length === 1), 'one server per tenant');

    const states = await Promise.all(nodes.map((n) => n.state()));
    const owners = shardOwners(['node-a', 'node-b', 'node-c'], SHARDS);
    for (const [i, s] of states.entries()) {
      expect(s.node_id).toBe(nodes[i]!.nodeId);
      expect(s.members).toEqual(['node-a', 'node-b', 'node-c'].map((id) => ({ node_id: id, role: id === 'node-a' ? 'coordinator' : 'worker', address: addressOf(id) })));
      expect(s.shards.map((x) => [x.shard, x.primary, x.secondary])).toEqual(owners.map((o) => [o.shard, o.primary, o.secondary]));
      expect({ members: s.members, shards: s.shards }).toEqual({ members: states[0]!.members, shards: states[0]!.shards });
    }
    expect(states[0]!.role).toBe('coordinator');

    for (const t of TENANTS) {
      const shard = a.shardOf(t);
      const owner = server(nodes, t);
      const primary = states[0]!.shards[shard]!;
      expect(owner.nodeId).toBe(primary.primary);
      const here = owner.route(t);
      expect(here).toEqual({ self: true, shard, token: primary.token });
      expect(owner.fenceFor(t)).toEqual({ fenceKey: `${prefix}{shard:${shard}}:fence`, leaseKey: `${prefix}{shard:${shard}}:lease`, token: primary.token });
      for (const other of nodes.filter((n) => n !== owner)) {
        expect(other.route(t)).toEqual({ self: false, shard, owner: { node_id: owner.nodeId, role: owner.role, address: owner.address }, reason: 'other_owner' });
        expect(other.fenceFor(t)).toBeNull();
      }
    }
    const stats = nodes.map((n) => n.stats());
    expect(stats.reduce((sum, s) => sum + s.shardsOwned, 0)).toBe(SHARDS);
    expect(stats.map((s) => s.coordinator)).toEqual([true, false, false]);
    expect(stats.every((s) => s.members === 3)).toBe(true);
    // node-a came first and held every shard, then handed over those of b and c.
    expect(stats[0]!.handovers.released).toBe(owners.filter((o) => o.primary !== 'node-a').length);
    expect(events.filter((e) => e.type === 'members').at(-1)).toMatchObject({ type: 'members', members: states[0]!.members });

    // An observer joins: listed as a member, owns nothing, serves nobody, moves no shard.
    const d = node('node-d', prefix, { role: 'observer' });
    await d.start();
    await settle([...nodes, d], async () => (await d.state()).members.length === 4 && a.stats().members === 4, 'observer seen');
    expect((await d.state()).shards).toEqual((await a.state()).shards);
    for (const t of TENANTS) {
      expect(d.route(t)).toMatchObject({ self: false, reason: 'other_owner', owner: { node_id: server(nodes, t).nodeId } });
    }
    expect(d.stats().shardsOwned).toBe(0);

    // close() hands the leases back at once: node-b's shards are free before any TTL ran out.
    const bShards = owners.filter((o) => o.primary === 'node-b').map((o) => o.shard);
    await b.close();
    await b.close(); // idempotent
    const after = await a.state();
    for (const s of bShards) expect(after.shards[s]!.token).toBeNull();
    await settle([a, c, d], () => TENANTS.every((t) => [a, c].filter((n) => n.route(t).self).length === 1), 'b gone');
    await Promise.all([a.close(), c.close(), d.close()]);
  });

  it('moves only the shards of a node killed in another process, each to its secondary under a higher token', async () => {
    const prefix = `cn${++prefixes}:`;
    const leaseMs = 2000;
    const keyFile = join(dir, 'node-c.json');
    writeFileSync(keyFile, JSON.stringify(keyOf('node-c')), { mode: 0o600 });
    const a = node('node-a', prefix, { leaseMs });
    const b = node('node-b', prefix, { leaseMs });
    await a.start();
    await b.start();
    const child = spawn(process.execPath, [FIXTURE, redis.url, prefix, keyFile, operator.public_key, String(leaseMs), String(SHARDS), addressOf('node-c')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; !out.includes('READY\n'); i++) {
      if (i === 800 || child.exitCode !== null) throw new Error(`the node-c process did not start: ${err}`);
      await sleep(25);
    }
    const owners3 = shardOwners(['node-a', 'node-b', 'node-c'], SHARDS);
    const cShards = owners3.filter((o) => o.primary === 'node-c').map((o) => o.shard);
    expect(cShards.length).toBeGreaterThan(0);
    await settle([a, b], async () => {
      const s = await a.state();
      const held = a.stats().shardsOwned + b.stats().shardsOwned;
      return s.members.length === 3 && cShards.every((x) => out.includes(`ACQUIRED shard:${x} `)) && held === SHARDS - cShards.length && s.shards.every((x) => x.token !== null);
    }, 'three nodes, every shard held');
    const before = await a.state();
    const handed = a.stats().handovers.acquired + b.stats().handovers.acquired;

    child.kill('SIGKILL');
    await settle([a, b], async () => {
      const s = await a.state();
      // Held by a and b by their own clocks: node-c's leases ended (they may outlive its record by a heartbeat).
      return s.members.length === 2 && a.stats().shardsOwned + b.stats().shardsOwned === SHARDS;
    }, 'node-c expired, its shards taken over');
    const after = await a.state();
    expect(after.members.map((m) => m.node_id)).toEqual(['node-a', 'node-b']);
    for (const s of after.shards) {
      const was = before.shards[s.shard]!;
      if (cShards.includes(s.shard)) {
        expect(s.primary).toBe(was.secondary);
        expect(s.token).toBeGreaterThan(was.token!);
      } else {
        // Not moved, not even re-acquired: the same holder, the same token.
        expect([s.primary, s.token]).toEqual([was.primary, was.token]);
      }
    }
    expect(a.stats().handovers.acquired + b.stats().handovers.acquired - handed).toBe(cShards.length);
    for (const t of TENANTS) expect(server([a, b], t).nodeId).toBe(after.shards[a.shardOf(t)]!.primary);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('messages between cluster nodes', () => {
  it('opens a peer\'s message once and refuses forged, replayed, stale, mistargeted, unsigned, untrusted and revoked ones, counting each', async () => {
    const prefix = `cn${++prefixes}:`;
    const a = node('node-a', prefix, { maxSkewMs: 5000 });
    const c = node('node-c', prefix);
    await a.start();
    await c.start();
    const events: ClusterEvent[] = [];
    a.on((e) => events.push(e));

    const good = c.sign('node-a', 'ping', { n: 1 });
    expect(a.open(JSON.stringify(good))).toMatchObject({ source_node: 'node-c', target_node: 'node-a', message_type: 'ping', payload: { n: 1 } });
    expect(refusalOf(a, good)).toBe('REPLAYED');
    expect(refusalOf(a, { ...c.sign('node-a', 'ping', { n: 2 }), payload: { n: 3 } })).toBe('FORGED');
    expect(refusalOf(a, c.sign('node-b', 'ping', {}))).toBe('WRONG_TARGET');
    expect(refusalOf(a, signMessage({ target_node: 'node-a', message_type: 'ping', payload: {}, timestamp: Date.now() - 60_000 }, keyOf('node-c')))).toBe('STALE');
    const { signature: _s, ...unsigned } = c.sign('node-a', 'ping', {});
    expect(refusalOf(a, unsigned)).toBe('UNSIGNED');
    const stranger = issueNodeKey(impostor, { node_id: 'node-x', not_before: now - 60_000, not_after: now + 86_400_000 });
    expect(refusalOf(a, signMessage({ target_node: 'node-a', message_type: 'ping', payload: {} }, stranger))).toBe('UNTRUSTED_KEY');
    // A known certificate with its dates stretched is not the certificate that was checked: refused, not cached.
    const stretched = c.sign('node-a', 'ping', {});
    stretched.certificate = { ...stretched.certificate, not_after: stretched.certificate.not_after + 1 };
    expect(refusalOf(a, stretched)).toBe('UNTRUSTED_KEY');
    expect(refusalOf(a, BROADCAST_FROM(c))).toBe('accepted');

    // The operator revokes node-c's key; node-a obeys from its next poll.
    expect(await publishRevocations({ url: redis.url }, signRevocationList(operator, { version: 1, revoked: [keyOf('node-c').key_id], issued_at: now }), { operatorPublicKey: operator.public_key, prefix })).toBe('published');
    await a.tick();
    expect(events).toContainEqual({ type: 'revocations', version: 1 });
    expect(refusalOf(a, c.sign('node-a', 'ping', {}))).toBe('REVOKED');
    expect(a.stats()).toMatchObject({
      accepted: 2,
      refused: { REPLAYED: 1, FORGED: 1, WRONG_TARGET: 1, STALE: 1, UNSIGNED: 1, UNTRUSTED_KEY: 2, REVOKED: 1 },
      revocationsVersion: 1,
    });
    await Promise.all([a.close(), c.close()]);
  });

  it('remembers checked certificates, bounded, and still checks their dates on every use', () => {
    const cache = new CertificateCache({ maxEntries: 2 });
    const op = new Uint8Array(Buffer.from(operator.public_key, 'base64'));
    const [k1, k2, k3] = ['node-1', 'node-2', 'node-3'].map((id) => issueNodeKey(operator, { node_id: id, not_before: 1000, not_after: 2000 }));
    expect(cache.check(k1!.certificate, op, 1500).node_id).toBe('node-1');
    expect(cache.check({ ...k1!.certificate }, op, 1600).key_id).toBe(k1!.key_id);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, size: 1 });
    expectCodedError(() => cache.check(k1!.certificate, op, 2001), isFederationError, 'UNTRUSTED_KEY', 'certificate.not_after');
    expectCodedError(() => cache.check(k1!.certificate, op, 999), isFederationError, 'UNTRUSTED_KEY', 'certificate.not_before');
    expectCodedError(() => cache.check({ ...k1!.certificate, extra: 1 }, op, 1500), isFederationError, 'MALFORMED', 'certificate');
    expectCodedError(() => cache.check({ ...k1!.certificate, node_id: 'node-9' }, op, 1500), isFederationError, 'UNTRUSTED_KEY', 'certificate.signature');
    // Under another operator key the same certificate is not trusted, cached or not.
    const other = new Uint8Array(Buffer.from(impostor.public_key, 'base64'));
    expectCodedError(() => cache.check(k2!.certificate, other, 1500), isFederationError, 'UNTRUSTED_KEY', 'certificate.signature');
    cache.check(k2!.certificate, op, 1500);
    cache.check(k3!.certificate, op, 1500);
    expect(cache.stats().size).toBe(2);
    expectCodedError(() => new CertificateCache({ maxEntries: 0 }), isFederationError, 'INVALID_ARGUMENT', 'options.maxEntries');
  });
});

function BROADCAST_FROM(n: ClusterNode) {
  return n.sign('*', 'hello', { from: n.nodeId });
}

describe('revocations across the cluster', () => {
  it('are in force on all three nodes after their next poll; a forged or older list is refused and un-revokes nothing', async () => {
    const prefix = `cn${++prefixes}:`;
    const nodes = ['node-a', 'node-b', 'node-c'].map((id) => node(id, prefix, { revocationPollMs: 60_000 }));
    const refused = nodes.map(() => [] as string[]);
    nodes.forEach((n, i) => n.on((e) => {
      if (e.type === 'revocations_refused') refused[i]!.push(e.reason);
    }));
    for (const n of nodes) await n.start();
    const victim = keyOf('node-v');
    const msgFrom = (to: ClusterNode) => signMessage({ target_node: to.nodeId, message_type: 'ping', payload: {} }, victim);
    for (const n of nodes) expect(refusalOf(n, msgFrom(n))).toBe('accepted');

    const opts = { operatorPublicKey: operator.public_key, prefix };
    expect(await publishRevocations({ url: redis.url }, signRevocationList(operator, { version: 1, revoked: [], issued_at: now }), opts)).toBe('published');
    expect(await publishRevocations({ url: redis.url }, signRevocationList(operator, { version: 2, revoked: [victim.key_id], issued_at: now }), opts)).toBe('published');
    for (const n of nodes) {
      await n.tick();
      expect(n.stats().revocationsVersion).toBe(2);
      expect(refusalOf(n, msgFrom(n))).toBe('REVOKED');
    }
    const client = new Redis(redis.url);
    try {
      await client.set(revocationsKey(prefix), JSON.stringify(signRevocationList(impostor, { version: 3, revoked: [], issued_at: now })));
      for (const [i, n] of nodes.entries()) {
        await n.tick();
        expect(refused[i]!.at(-1)).toMatch(/^FORGED/);
        expect(refusalOf(n, msgFrom(n))).toBe('REVOKED');
      }
      await client.set(revocationsKey(prefix), JSON.stringify(signRevocationList(operator, { version: 1, revoked: [], issued_at: now })));
      for (const [i, n] of nodes.entries()) {
        await n.tick();
        expect(refused[i]!.at(-1)).toMatch(/^REVOCATION_ROLLBACK/);
        expect(refusalOf(n, msgFrom(n))).toBe('REVOKED');
        expect(n.stats().revocationsVersion).toBe(2);
      }
    } finally {
      client.disconnect();
    }
    await Promise.all(nodes.map((n) => n.close()));
  });
});

describe('Redis unreachable', () => {
  it('refuses to start, then fails closed: shards are served only until their leases would have ended', async () => {
    const own = await startRedis();
    const prefix = `cn${++prefixes}:`;
    const gone = await startRedis();
    await gone.stop();
    const never = node('node-a', prefix, { redis: { url: gone.url }, leaseMs: 1000 });
    await expectCodedRejection(never.start(), isFederationError, 'REDIS_UNAVAILABLE', 'redis');
    await never.close();

    const a = node('node-a', prefix, { redis: { url: own.url }, leaseMs: 900 });
    const events: ClusterEvent[] = [];
    let halted = false;
    const down = new Set<string>();
    const allDown = new Promise<void>((resolve) => {
      a.on((e) => {
        events.push(e);
        if (e.type === 'acquired') down.delete(e.resource);
        if (e.type === 'stepped_down' && halted) down.add(e.resource);
        if (down.size === SHARDS) resolve();
      });
    });
    try {
      await a.start();
      await settle([a], () => TENANTS.every((t) => a.route(t).self), 'node-a serves every tenant');
      halted = true;
      await own.halt();
      await expectCodedRejection(a.tick(), isFederationError, 'REDIS_UNAVAILABLE', 'redis');
      await expectCodedRejection(a.state(), isFederationError, 'REDIS_UNAVAILABLE', 'redis');
      // No renewal reaches Redis: every shard lapses by node-a's own clock.
      await allDown;
      expect(events.filter((e) => e.type === 'stepped_down').every((e) => e.type === 'stepped_down' && e.reason === 'expired')).toBe(true);
      expect(events.some((e) => e.type === 'unavailable' && e.error.code === 'REDIS_UNAVAILABLE')).toBe(true);
      for (const t of TENANTS) {
        expect(a.route(t)).toMatchObject({ self: false, reason: 'not_yet_acquired', owner: { node_id: 'node-a' } });
        expect(a.fenceFor(t)).toBeNull();
      }
      expect(a.stats().redisUnavailable).toBeGreaterThan(0);
      expect(a.stats().shardsOwned).toBe(0);
      // Back: the next rounds take the shards again.
      await own.restart();
      for (let i = 0; !TENANTS.every((t) => a.route(t).self); i++) {
        if (i === 400) throw new Error('node-a did not take its shards back');
        await a.tick().catch(() => undefined);
        await sleep(25);
      }
    } finally {
      await a.close();
      await own.stop();
    }
  });

  it('checks its options with a typed error naming the option', () => {
    const base: ClusterNodeOptions = { redis: { url: redis.url }, nodeId: 'node-a', address: 'http://127.0.0.1:8788', nodeKey: keyOf('node-a'), operatorPublicKey: operator.public_key };
    const bad = (o: Partial<ClusterNodeOptions> & Record<string, unknown>) => () => createClusterNode({ ...base, ...o } as ClusterNodeOptions);
    expectCodedError(bad({ nodeId: 'node a' }), isFederationError, 'INVALID_ARGUMENT', 'options.nodeId');
    expectCodedError(bad({ role: 'boss' as never }), isFederationError, 'INVALID_ARGUMENT', 'options.role');
    expectCodedError(bad({ address: 'http://127.0.0.1:8788/v1' }), isFederationError, 'INVALID_ARGUMENT', 'options.address');
    expectCodedError(bad({ address: 'ftp://127.0.0.1' }), isFederationError, 'INVALID_ARGUMENT', 'options.address');
    expectCodedError(bad({ leaseMs: 900, heartbeatMs: 900 }), isFederationError, 'INVALID_ARGUMENT', 'options.heartbeatMs');
    expectCodedError(bad({ shardCount: 0 }), isFederationError, 'INVALID_ARGUMENT', 'options.shardCount');
    expectCodedError(bad({ maxSkewMs: -1 }), isFederationError, 'INVALID_ARGUMENT', 'options.maxSkewMs');
    expectCodedError(bad({ redis: { url: 'http://x' } }), isFederationError, 'INVALID_ARGUMENT', 'options.redis.url');
    expectCodedError(bad({ lease: 5 }), isFederationError, 'INVALID_ARGUMENT', 'options.lease');
    expectCodedError(bad({ nodeKey: keyOf('node-b') }), isFederationError, 'INVALID_KEY', 'options.nodeKey.node_id');
    expectCodedError(bad({ operatorPublicKey: impostor.public_key }), isFederationError, 'INVALID_KEY', 'options.nodeKey.certificate.signature');
    expectCodedError(bad({ operatorPublicKey: 'nope' }), isFederationError, 'INVALID_KEY', 'options.operatorPublicKey');
  });
});
