// The cluster node: what one gateway node runs in cluster mode (docs/architecture.md, "@tenantry/federation").
//
// It composes the parts of this package over one Redis connection:
//   membership  its record { node_id, role, address } beats every heartbeatMs and expires after leaseMs;
//   shard keeper every heartbeatMs one round: read the live nodes, hold the shards this node is primary of (and,
//               for a coordinator, the coordinator lease), hand over the others; the same read of the live nodes
//               is kept as the node's snapshot of the cluster (members, owners), so route() answers from memory;
//   revocation feed polls the operator's published list every revocationPollMs (revocation-feed.ts);
//   messages    sign() with this node's key; open() with the operator key, the feed's revocations, a replay guard,
//               maxSkewMs and a cache of checked certificates (certificate-cache.ts).
//
// Fail closed: with Redis unreachable the node keeps each shard only until its lease would have ended by its own
// clock (shards.ts); from then on route() stops answering `self` and fenceFor() answers null, while the owners of
// the last snapshot still name who should own the shard (this node: `not_yet_acquired`, a 503 with Retry-After).
// The revocation list in force stays in force.
//
// Preconditions: one ClusterNode per node id in the cluster; `nodeKey` certified by the operator for `nodeId`.
import type { Fence } from '@tenantry/core';
import { isObject } from '@tenantry/core';
import { Redis } from 'ioredis';
import { CertificateCache } from './certificate-cache.js';
import { FederationError, isFederationError, type FederationErrorCode } from './errors.js';
import { _argument, _checkMs, _commonOptions, _failClosedRedis, _unavailable, createLeases, type Leases, type RedisConnection } from './lease.js';
import { NODE_ROLES, createMembership, type Member, type Membership, type NodeRecord, type NodeRole } from './membership.js';
import { openMessage, signMessage, type MessageTrust, type OpenedMessage, type SignedMessage } from './messages.js';
import { _secretOf, checkCertificate, nodeIdProblem, type NodeKey } from './node-keys.js';
import { ReplayGuard } from './replay-guard.js';
import { _operatorKeyBytes, createRevocationFeed, type RevocationFeed } from './revocation-feed.js';
import { Revocations } from './revocation.js';
import {
  DEFAULT_SHARD_COUNT, createShardKeeper, shardOwners, shardResource, tenantShard, type ShardEvent, type ShardKeeper,
} from './shards.js';
import { _encodeBase64 } from './signing.js';

export interface ClusterNodeOptions {
  /** `{ url }` (a connection made here, closed by close()) or `{ client }` (yours, left open; make it with
   *  `enableOfflineQueue: false` and a `commandTimeout` so that it fails closed). */
  redis: RedisConnection;
  /** This node's id (nodeIdProblem's rule). */
  nodeId: string;
  /** Default 'worker'. */
  role?: NodeRole;
  /** How peers reach this node's HTTP: an http:// or https:// URL with no path, e.g. "http://127.0.0.1:8788". */
  address: string;
  /** Shard and coordinator leases and the membership TTL, in ms (default 10000). */
  leaseMs?: number;
  /** Membership beats and keeper rounds, in ms (default floor(leaseMs / 3)); shorter than leaseMs. */
  heartbeatMs?: number;
  /** Default DEFAULT_SHARD_COUNT (64). */
  shardCount?: number;
  /** Prefix of every key (default "tenantry:fed:"); no `{` or `}`. */
  prefix?: string;
  /** A Redis command without an answer after this long fails REDIS_UNAVAILABLE (default min(2000, leaseMs / 2)). */
  commandTimeoutMs?: number;
  /** This node's key and certificate (issueNodeKey, or the file of `tenantry-federation issue-node-key`). */
  nodeKey: NodeKey;
  /** The operator's public key: base64 of 32 bytes, or the 32 bytes. */
  operatorPublicKey: string | Uint8Array;
  /** Largest accepted |now − timestamp| of a message, in ms (default 30000). */
  maxSkewMs?: number;
  /** Time between polls of the revocation list, in ms (default heartbeatMs). */
  revocationPollMs?: number;
}

export interface ClusterMember {
  node_id: string;
  role: NodeRole;
  /** Null when the member's record carries no address. */
  address: string | null;
}

export interface ClusterShard {
  shard: number;
  primary: string | null;
  secondary: string | null;
  /** The token the shard's lease is held with now, as Redis says; null when nobody holds it. */
  token: number | null;
}

export interface ClusterState {
  node_id: string;
  role: NodeRole;
  members: ClusterMember[];
  shards: ClusterShard[];
}

export type TenantRoute =
  /** This node holds the tenant's shard now, by its own clock: serve, and carry `token` in every write. */
  | { self: true; shard: number; token: number }
  /**
   * Another node should serve: `other_owner` (forward to `owner`); `not_yet_acquired` when this node IS the
   * computed primary but does not hold the lease (yet: the previous owner's lease has not ended; or no longer:
   * Redis unreachable) — answer 503 with Retry-After; `no_owner` when no node may own shards (or before the
   * first round).
   */
  | { self: false; shard: number; owner: ClusterMember | null; reason: 'other_owner' | 'not_yet_acquired' | 'no_owner' };

export interface ClusterStats {
  members: number;
  shardsOwned: number;
  coordinator: boolean;
  handovers: { acquired: number; released: number; stepped_down: number };
  /** Messages refused by open(), by FederationError code. */
  refused: Record<string, number>;
  /** Messages open() accepted. */
  accepted: number;
  /** Heartbeats, keeper rounds and revocation polls that could not reach Redis. */
  redisUnavailable: number;
  revocationsVersion: number;
}

export type ClusterEvent =
  | ShardEvent
  | { type: 'revocations'; version: number }
  | { type: 'members'; members: ClusterMember[] }
  /** A published revocation list was not applied (not the operator's, or not newer); the list in force stays. */
  | { type: 'revocations_refused'; reason: string };

export interface ClusterNode {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly shardCount: number;
  readonly address: string;
  /**
   * Joins (the first heartbeat must reach Redis: else REDIS_UNAVAILABLE, and nothing was started), runs the
   * first keeper round and revocation poll, then the timers. Calling it again while started is a no-op.
   */
  start(): Promise<void>;
  /** Stops the timers, releases every lease held, leaves the membership, closes an owned connection. Idempotent. */
  close(): Promise<void>;
  /** One round now, as the timers run it: a heartbeat, a keeper round, a revocation poll. @throws REDIS_UNAVAILABLE */
  tick(): Promise<void>;
  /** tenantShard(tenantId, shardCount). @throws CoreError INVALID_TENANT_ID */
  shardOf(tenantId: string): number;
  /** Where the tenant's requests go now; synchronous, from memory. @throws CoreError INVALID_TENANT_ID */
  route(tenantId: string): TenantRoute;
  /** The fence of the tenant's shard for a fenced script (the quota's `redisStore({ fence })`); null unless held. */
  fenceFor(tenantId: string): Fence | null;
  /** A message to `targetNode` (a node id or BROADCAST) signed with this node's key. */
  sign(targetNode: string, messageType: string, payload: unknown): SignedMessage;
  /** The checked message; a refusal is counted in stats().refused[code] and rethrown (FederationError). */
  open(envelope: unknown): OpenedMessage;
  /** Members of the last round; owners over its live non-observer nodes; tokens read from Redis in one round trip. */
  state(): Promise<ClusterState>;
  stats(): ClusterStats;
  on(listener: (e: ClusterEvent) => void): () => void;
}

const OPTIONS = [
  'redis', 'nodeId', 'role', 'address', 'leaseMs', 'heartbeatMs', 'shardCount', 'prefix', 'commandTimeoutMs', 'nodeKey',
  'operatorPublicKey', 'maxSkewMs', 'revocationPollMs',
];
const MAX_ADDRESS = 512;

/** Why `v` is not a node address (an http:// or https:// URL with host and no path, query, fragment or user), or undefined. */
export function addressProblem(v: unknown): string | undefined {
  const rule = 'must be an http:// or https:// URL with no path, e.g. "http://127.0.0.1:8788"';
  if (typeof v !== 'string' || v.length > MAX_ADDRESS || !/^https?:\/\/[^/?#]+$/.test(v)) return rule;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return rule;
  }
  if (url.hostname === '' || url.username !== '' || url.password !== '') return rule;
  return undefined;
}

function member(r: NodeRecord): ClusterMember {
  return { node_id: r.node_id, role: r.role, address: r.address ?? null };
}

interface Snapshot {
  readonly members: readonly ClusterMember[];
  /** Per shard: its computed primary and secondary. */
  readonly owners: ReadonlyArray<{ readonly primary: ClusterMember | null; readonly secondary: ClusterMember | null }>;
  /** To tell listeners when the member list changed. */
  readonly signature: string;
}

interface Resolved {
  readonly redis: RedisConnection;
  readonly owned: Redis | undefined;
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly address: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly shardCount: number;
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly nodeKey: NodeKey;
  readonly operator: string;
  readonly maxSkewMs: number;
  readonly revocationPollMs: number;
}

class Node implements ClusterNode {
  readonly nodeId: string;
  readonly role: NodeRole;
  readonly shardCount: number;
  readonly address: string;
  readonly #o: Resolved;
  readonly #leases: Leases;
  readonly #membership: Membership;
  readonly #keeper: ShardKeeper;
  readonly #revocations: Revocations;
  readonly #feed: RevocationFeed;
  readonly #trust: MessageTrust;
  readonly #listeners = new Set<(e: ClusterEvent) => void>();
  #snapshot: Snapshot = { members: [], owners: [], signature: '' };
  #member: Member | undefined;
  #timer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  readonly #handovers = { acquired: 0, released: 0, stepped_down: 0 };
  readonly #refused: Record<string, number> = {};
  #accepted = 0;
  #redisUnavailable = 0;

  constructor(o: Resolved) {
    this.#o = o;
    this.nodeId = o.nodeId;
    this.role = o.role;
    this.shardCount = o.shardCount;
    this.address = o.address;
    const common = { prefix: o.prefix, commandTimeoutMs: o.commandTimeoutMs };
    this.#leases = createLeases(o.redis, common);
    const membership = createMembership(o.redis, { ...common, ttlMs: o.leaseMs, heartbeatMs: o.heartbeatMs });
    this.#membership = membership;
    // The keeper's one read of the live nodes per round is also the node's snapshot of the cluster.
    const observed: Membership = {
      join: (node) => membership.join(node),
      liveNodes: async () => {
        const live = await membership.liveNodes();
        this.#observe(live);
        return live;
      },
      close: () => membership.close(),
    };
    this.#keeper = createShardKeeper({ leases: this.#leases, membership: observed, nodeId: o.nodeId, role: o.role, shardCount: o.shardCount, leaseMs: o.leaseMs });
    this.#keeper.on((e) => {
      if (e.type === 'unavailable') this.#redisUnavailable++;
      else this.#handovers[e.type]++;
      this.#emit(e);
    });
    this.#revocations = new Revocations(o.operator);
    this.#feed = createRevocationFeed(o.redis, { ...common, operatorPublicKey: o.operator, revocations: this.#revocations, pollMs: o.revocationPollMs });
    this.#feed.on((e) => {
      if (e.type === 'updated') this.#emit({ type: 'revocations', version: e.version });
      else if (e.type === 'refused') this.#emit({ type: 'revocations_refused', reason: e.reason });
      else this.#unavailable(e.error);
    });
    this.#trust = {
      nodeId: o.nodeId,
      operatorPublicKey: o.operator,
      revocations: this.#revocations,
      replayGuard: new ReplayGuard({ windowMs: Math.max(1, o.maxSkewMs) }),
      maxSkewMs: o.maxSkewMs,
      certificates: new CertificateCache(),
    };
  }

  #emit(e: ClusterEvent): void {
    for (const l of this.#listeners) l(e);
  }

  #unavailable(e: unknown): void {
    this.#redisUnavailable++;
    this.#emit({ type: 'unavailable', error: _unavailable(e) });
  }

  /** Keeps the live nodes of this round: members, and each shard's owners as the keeper computes them. */
  #observe(live: readonly NodeRecord[]): void {
    const members = live.map(member);
    const byId = new Map(members.map((m) => [m.node_id, m]));
    const ids = live.filter((n) => n.role !== 'observer').map((n) => n.node_id);
    const owners = shardOwners(ids, this.shardCount).map((o) => ({
      primary: o.primary === null ? null : byId.get(o.primary)!,
      secondary: o.secondary === null ? null : byId.get(o.secondary)!,
    }));
    const signature = JSON.stringify(members);
    const changed = signature !== this.#snapshot.signature;
    this.#snapshot = { members, owners, signature };
    if (changed) this.#emit({ type: 'members', members: members.map((m) => ({ ...m })) });
  }

  start(): Promise<void> {
    this.#starting ??= this.#start().catch((e: unknown) => {
      this.#starting = undefined;
      throw e;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#closed) throw new FederationError('CLOSED', 'the cluster node is closed', { field: 'node' });
    const me = await this.#membership.join({ node_id: this.nodeId, role: this.role, address: this.address });
    if (this.#closed) {
      await me.leave().catch(() => undefined);
      throw new FederationError('CLOSED', 'the cluster node was closed while it started', { field: 'node' });
    }
    this.#member = me;
    me.onError((e) => this.#unavailable(e));
    await this.#round();
    await this.#feed.poll();
    if (this.#closed) return;
    this.#timer = setInterval(() => void this.#round(), this.#o.heartbeatMs);
    this.#timer.unref();
    this.#feed.start();
  }

  /** A keeper round whose failure is counted and told, never thrown. */
  async #round(): Promise<void> {
    try {
      await this.#keeper.tick();
    } catch (e) {
      this.#unavailable(e);
    }
  }

  async tick(): Promise<void> {
    if (this.#member === undefined) throw new FederationError('CLOSED', 'the cluster node is not started (or closed)', { field: 'node' });
    try {
      await this.#member.beat();
      await this.#keeper.tick();
    } catch (e) {
      this.#unavailable(e);
      throw _unavailable(e);
    }
    await this.#feed.poll();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#feed.stop();
    // Releases every lease held (after the round in flight); Redis unreachable: they end by their TTL.
    await this.#keeper.close();
    const me = this.#member;
    this.#member = undefined;
    if (me !== undefined) await me.leave().catch(() => me.stop());
    await this.#feed.close();
    await this.#leases.close();
    await this.#membership.close();
    this.#o.owned?.disconnect();
  }

  shardOf(tenantId: string): number {
    return tenantShard(tenantId, this.shardCount);
  }

  route(tenantId: string): TenantRoute {
    const shard = tenantShard(tenantId, this.shardCount);
    const token = this.#keeper.tokenFor(shard);
    if (token !== null) return { self: true, shard, token };
    const owner = this.#snapshot.owners[shard]?.primary ?? null;
    if (owner === null) return { self: false, shard, owner: null, reason: 'no_owner' };
    return { self: false, shard, owner: { ...owner }, reason: owner.node_id === this.nodeId ? 'not_yet_acquired' : 'other_owner' };
  }

  fenceFor(tenantId: string): Fence | null {
    return this.#keeper.fenceFor(tenantShard(tenantId, this.shardCount));
  }

  sign(targetNode: string, messageType: string, payload: unknown): SignedMessage {
    return signMessage({ target_node: targetNode, message_type: messageType, payload }, this.#o.nodeKey);
  }

  open(envelope: unknown): OpenedMessage {
    try {
      const m = openMessage(envelope, this.#trust);
      this.#accepted++;
      return m;
    } catch (e) {
      if (isFederationError(e)) {
        const code: FederationErrorCode = e.code;
        this.#refused[code] = (this.#refused[code] ?? 0) + 1;
      }
      throw e;
    }
  }

  async state(): Promise<ClusterState> {
    const snap = this.#snapshot;
    const holders = await this.#leases.holders(Array.from({ length: this.shardCount }, (_, s) => shardResource(s)));
    return {
      node_id: this.nodeId,
      role: this.role,
      members: snap.members.map((m) => ({ ...m })),
      shards: holders.map((h, s) => ({
        shard: s,
        primary: snap.owners[s]?.primary?.node_id ?? null,
        secondary: snap.owners[s]?.secondary?.node_id ?? null,
        token: h === null ? null : h.token,
      })),
    };
  }

  stats(): ClusterStats {
    return {
      members: this.#snapshot.members.length,
      shardsOwned: this.#keeper.owned().length,
      coordinator: this.#keeper.coordinatorToken() !== null,
      handovers: { ...this.#handovers },
      refused: { ...this.#refused },
      accepted: this.#accepted,
      redisUnavailable: this.#redisUnavailable,
      revocationsVersion: this.#revocations.version,
    };
  }

  on(listener: (e: ClusterEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function invalidKey(field: string, message: string): FederationError {
  return new FederationError('INVALID_KEY', `${field} ${message}`, { field });
}

/**
 * A cluster node (see the file comment). Nothing touches Redis until start().
 * @throws FederationError INVALID_ARGUMENT naming the option at fault; INVALID_KEY when `nodeKey` is not a key
 *   of `nodeId` certified by `operatorPublicKey` and valid now.
 * @example
 *   const node = createClusterNode({ redis: { url: process.env.REDIS_URL! }, nodeId: 'node-1', address: 'http://10.0.0.5:8787',
 *     nodeKey: JSON.parse(readFileSync('node-1.key.json', 'utf8')), operatorPublicKey });
 *   await node.start();
 *   const r = node.route(tenantId);   // self: serve with node.fenceFor(tenantId); else forward to r.owner
 */
export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  if (!isObject(options)) throw _argument('options', 'must be an object');
  _commonOptions(options, OPTIONS, 'createClusterNode');
  const idProblem = nodeIdProblem(options.nodeId);
  if (idProblem !== undefined) throw _argument('options.nodeId', idProblem);
  const role = options.role ?? 'worker';
  if (!NODE_ROLES.includes(role)) throw _argument('options.role', `must be one of ${NODE_ROLES.join(', ')}`);
  const addr = addressProblem(options.address);
  if (addr !== undefined) throw _argument('options.address', addr);
  const leaseMs = options.leaseMs ?? 10_000;
  _checkMs(leaseMs, 'options.leaseMs');
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 3));
  _checkMs(heartbeatMs, 'options.heartbeatMs');
  if (heartbeatMs >= leaseMs) throw _argument('options.heartbeatMs', `must be shorter than options.leaseMs (${leaseMs}), got ${heartbeatMs}`);
  const shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > 65_536) throw _argument('options.shardCount', `must be an integer from 1 to 65536, got ${String(shardCount)}`);
  const commandTimeoutMs = options.commandTimeoutMs ?? Math.max(1, Math.min(2000, Math.floor(leaseMs / 2)));
  const maxSkewMs = options.maxSkewMs ?? 30_000;
  if (!Number.isSafeInteger(maxSkewMs) || maxSkewMs < 0) throw _argument('options.maxSkewMs', `must be a non-negative integer, got ${String(maxSkewMs)}`);
  const revocationPollMs = options.revocationPollMs ?? heartbeatMs;
  _checkMs(revocationPollMs, 'options.revocationPollMs');
  const operatorBytes = _operatorKeyBytes(options.operatorPublicKey, 'options.operatorPublicKey');
  const operator = _encodeBase64(operatorBytes);

  const nodeKey = options.nodeKey;
  _secretOf(nodeKey, 'options.nodeKey');
  if (nodeKey.node_id !== options.nodeId) throw invalidKey('options.nodeKey.node_id', `is ${JSON.stringify(nodeKey.node_id)}, not options.nodeId`);
  const cert = nodeKey.certificate as unknown;
  if (!isObject(cert) || cert.key_id !== nodeKey.key_id || cert.node_id !== nodeKey.node_id || cert.public_key !== nodeKey.public_key) {
    throw invalidKey('options.nodeKey.certificate', 'is not the certificate of this key');
  }
  try {
    checkCertificate(cert, operatorBytes, Date.now(), 'options.nodeKey.certificate');
  } catch (e) {
    if (isFederationError(e)) throw new FederationError('INVALID_KEY', e.message, { field: e.field ?? 'options.nodeKey.certificate', cause: e });
    throw e;
  }

  const conn = options.redis as unknown;
  let redis: RedisConnection;
  let owned: Redis | undefined;
  if (!isObject(conn)) throw _argument('options.redis', 'must be { url } or { client }');
  if ('client' in conn) {
    if (!(conn.client instanceof Redis)) throw _argument('options.redis.client', 'must be an ioredis client');
    redis = { client: conn.client };
  } else {
    if (typeof conn.url !== 'string' || !/^rediss?:\/\//.test(conn.url)) throw _argument('options.redis.url', 'must be a redis:// or rediss:// URL');
    // One connection for membership, leases and the feed, made here and closed by close().
    owned = _failClosedRedis(conn.url, commandTimeoutMs);
    redis = { client: owned };
  }
  const prefix = options.prefix ?? 'tenantry:fed:';
  return new Node({
    redis, owned, nodeId: options.nodeId, role, address: options.address, leaseMs, heartbeatMs, shardCount, prefix,
    commandTimeoutMs, nodeKey, operator, maxSkewMs, revocationPollMs,
  });
}
