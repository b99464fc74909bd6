// Shard ownership (docs/architecture.md, "@tenantry/federation").
//
// Tenants map to shards with `shardOf(tenant, N)` and shards to owners with `rankNodes(String(shard), live
// node ids)` (@tenantry/kernels; rendezvous hashing): index 0 is the primary, 1 the secondary. Rendezvous
// hashing moves only the shards whose primary changed when a node joins or leaves (about 1/N of them per
// node), and every node that sees the same live set computes the same owners.
//
// Each shard `shard:<n>` is held under a lease (lease.ts) by its primary; the keeper below acquires the
// shards this node is primary of, renews them, releases the ones it is no longer primary of (so the new
// primary acquires them, under a new and higher token), and steps down by itself — an event — when a renewal
// is refused or when a lease would have ended by its own clock (from the time it SENT the acquire or renewal,
// minus the safety margin). Redis unreachable: nothing is acquired or renewed, so the node keeps its shards
// only until their leases would have ended. Nodes with role `coordinator` also compete for the `coordinator`
// lease the same way.
import { checkTenantId, type Fence } from '@tenantry/core';
import { rankNodes, shardOf } from '@tenantry/kernels';
import { FederationError } from './errors.js';
import { _argument, _checkMs, _checkNodeId, type Leases } from './lease.js';
import type { Membership, NodeRecord } from './membership.js';

/** Default number of shards. */
export const DEFAULT_SHARD_COUNT = 64;

/** The lease resource of the coordinator. */
export const COORDINATOR_RESOURCE = 'coordinator';

export interface ShardOwners {
  readonly shard: number;
  /** Null when no node may own shards. */
  readonly primary: string | null;
  readonly secondary: string | null;
}

/** The lease resource of shard `n`. */
export function shardResource(n: number): string {
  return `shard:${n}`;
}

/** The shard of a tenant (core's tenant id rule first). @throws CoreError INVALID_TENANT_ID */
export function tenantShard(tenantId: string, shardCount: number = DEFAULT_SHARD_COUNT): number {
  checkTenantId(tenantId);
  return shardOf(tenantId, shardCount);
}

/** Primary and secondary of every shard for the given live node ids (order of the ids does not matter). */
export function shardOwners(nodeIds: readonly string[], shardCount: number = DEFAULT_SHARD_COUNT): ShardOwners[] {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > 65_536) throw _argument('shardCount', `must be an integer from 1 to 65536, got ${String(shardCount)}`);
  const out: ShardOwners[] = [];
  for (let s = 0; s < shardCount; s++) {
    const ranked = nodeIds.length === 0 ? [] : rankNodes(String(s), nodeIds);
    out.push({ shard: s, primary: ranked[0] ?? null, secondary: ranked[1] ?? null });
  }
  return out;
}

/** The shards whose primary differs between two assignments of the same shard count. */
export function movedShards(before: readonly ShardOwners[], after: readonly ShardOwners[]): number[] {
  if (before.length !== after.length) throw _argument('after', `must have as many shards as before (${before.length}), got ${after.length}`);
  const out: number[] = [];
  for (let s = 0; s < before.length; s++) if (before[s]!.primary !== after[s]!.primary) out.push(s);
  return out;
}

/** What a keeper tells its listeners. */
export type ShardEvent =
  | { readonly type: 'acquired'; readonly resource: string; readonly token: number }
  /** Handed over: this node is no longer the primary and released the lease for the new one. */
  | { readonly type: 'released'; readonly resource: string; readonly token: number }
  /** Lost without handing over: the renewal was refused, or the lease would have ended by this node's clock. */
  | { readonly type: 'stepped_down'; readonly resource: string; readonly token: number; readonly reason: 'renew_refused' | 'expired' }
  /** A tick could not reach Redis; what is held stays held only until it would have ended. */
  | { readonly type: 'unavailable'; readonly error: FederationError };

export interface ShardKeeperOptions {
  readonly leases: Leases;
  readonly membership: Membership;
  /** This node's id, as it joined the membership. */
  readonly nodeId: string;
  /** This node's role: observers own nothing; coordinators also compete for the coordinator lease (default worker). */
  readonly role?: NodeRecord['role'];
  readonly shardCount?: number;
  /** Lease length (default 10000). */
  readonly leaseMs?: number;
}

export interface ShardKeeper {
  /** One round: read the live nodes, then acquire, renew, release and step down as needed. @throws REDIS_UNAVAILABLE */
  tick(): Promise<void>;
  /** Ticks every `intervalMs` (default leaseMs / 3) until stop(); failures become `unavailable` events. */
  start(intervalMs?: number): void;
  /** Stops ticking; what is held stays held until it would have ended (then `stepped_down`), unless released. */
  stop(): void;
  /** Stops ticking and releases every lease held. */
  close(): Promise<void>;
  /** The token this node holds `shard` with, by its own clock; null when it does not (or no longer) hold it. */
  tokenFor(shard: number): number | null;
  /**
   * The fence of `shard` for a script that writes on this node's behalf (Leases.fenceOf with the token of
   * tokenFor), e.g. `redisStore({ fence: (t) => keeper.fenceFor(tenantShard(t, n)) })`; null when this node does
   * not hold the shard by its own clock.
   */
  fenceFor(shard: number): Fence | null;
  /** The token of the coordinator lease, as tokenFor. */
  coordinatorToken(): number | null;
  /** The shards held now (by this node's clock), ascending. */
  owned(): number[];
  /** The owners computed at the last tick. */
  owners(): readonly ShardOwners[];
  on(listener: (event: ShardEvent) => void): () => void;
}

interface Held {
  token: number;
  validUntil: number;
  timer: NodeJS.Timeout;
}

class Keeper implements ShardKeeper {
  readonly #leases: Leases;
  readonly #membership: Membership;
  readonly #nodeId: string;
  readonly #role: NodeRecord['role'];
  readonly #shardCount: number;
  readonly #leaseMs: number;
  readonly #held = new Map<string, Held>();
  readonly #listeners = new Set<(e: ShardEvent) => void>();
  #owners: ShardOwners[] = [];
  #interval: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(o: Required<ShardKeeperOptions>) {
    this.#leases = o.leases;
    this.#membership = o.membership;
    this.#nodeId = o.nodeId;
    this.#role = o.role;
    this.#shardCount = o.shardCount;
    this.#leaseMs = o.leaseMs;
  }

  #emit(e: ShardEvent): void {
    for (const l of this.#listeners) l(e);
  }

  /** Holds `resource` until `validUntil` by this node's clock; past it, steps down without asking Redis. */
  #hold(resource: string, token: number, validUntil: number): void {
    const prev = this.#held.get(resource);
    if (prev !== undefined) clearTimeout(prev.timer);
    const timer = setTimeout(() => this.#expire(resource, token), Math.max(0, validUntil - this.#leases.now()));
    timer.unref();
    this.#held.set(resource, { token, validUntil, timer });
  }

  #expire(resource: string, token: number): void {
    const h = this.#held.get(resource);
    if (h === undefined || h.token !== token) return;
    if (this.#leases.now() < h.validUntil) {
      this.#hold(resource, token, h.validUntil);
      return;
    }
    this.#drop(resource, 'expired');
  }

  #drop(resource: string, reason: 'renew_refused' | 'expired' | 'released'): void {
    const h = this.#held.get(resource);
    if (h === undefined) return;
    clearTimeout(h.timer);
    this.#held.delete(resource);
    this.#emit(reason === 'released' ? { type: 'released', resource, token: h.token } : { type: 'stepped_down', resource, token: h.token, reason });
  }

  /** The token of `resource` if held and valid by this node's clock (a lapsed one is dropped here). */
  #token(resource: string): number | null {
    const h = this.#held.get(resource);
    if (h === undefined) return null;
    if (this.#leases.now() >= h.validUntil) {
      this.#drop(resource, 'expired');
      return null;
    }
    return h.token;
  }

  tick(): Promise<void> {
    // One round at a time: a slow round and the timer's next one must not race on the same leases.
    this.#ticking ??= this.#round().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #round(): Promise<void> {
    for (const r of [...this.#held.keys()]) this.#token(r);
    const live = await this.#membership.liveNodes();
    const ids = live.filter((n) => n.role !== 'observer').map((n) => n.node_id);
    this.#owners = shardOwners(ids, this.#shardCount);
    const wanted = new Set<string>();
    if (this.#role !== 'observer') {
      for (const o of this.#owners) if (o.primary === this.#nodeId) wanted.add(shardResource(o.shard));
      if (this.#role === 'coordinator') wanted.add(COORDINATOR_RESOURCE);
    }
    const work: Array<Promise<void>> = [];
    for (const [resource, h] of this.#held) {
      if (!wanted.has(resource)) work.push(this.#handOver(resource, h.token));
      else work.push(this.#renew(resource, h.token));
    }
    for (const resource of wanted) if (!this.#held.has(resource)) work.push(this.#acquire(resource));
    const results = await Promise.allSettled(work);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  async #acquire(resource: string): Promise<void> {
    const g = await this.#leases.acquire(resource, this.#nodeId, this.#leaseMs);
    // Refused: the previous primary still holds it (it releases at its next tick, or its lease runs out).
    if (!g.ok) return;
    this.#hold(resource, g.token, g.validUntil);
    this.#emit({ type: 'acquired', resource, token: g.token });
  }

  async #renew(resource: string, token: number): Promise<void> {
    const r = await this.#leases.renew(resource, this.#nodeId, token, this.#leaseMs);
    if (this.#held.get(resource)?.token !== token) return;
    if (r.ok) this.#hold(resource, token, r.validUntil);
    else this.#drop(resource, 'renew_refused');
  }

  async #handOver(resource: string, token: number): Promise<void> {
    // Stop acting first, then release: from here on this node makes no write with this token.
    this.#drop(resource, 'released');
    await this.#leases.release(resource, this.#nodeId, token);
  }

  start(intervalMs: number = Math.max(1, Math.floor(this.#leaseMs / 3))): void {
    _checkMs(intervalMs, 'intervalMs');
    if (this.#interval !== undefined) return;
    const run = (): void => {
      this.tick().catch((e: unknown) => {
        const error = e instanceof FederationError ? e : new FederationError('REDIS_UNAVAILABLE', `redis: ${String(e)}`, { field: 'redis', cause: e });
        this.#emit({ type: 'unavailable', error });
      });
    };
    this.#interval = setInterval(run, intervalMs);
    this.#interval.unref();
    run();
  }

  stop(): void {
    if (this.#interval !== undefined) clearInterval(this.#interval);
    this.#interval = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    await this.#ticking?.catch(() => undefined);
    const held = [...this.#held.entries()];
    for (const [resource] of held) this.#drop(resource, 'released');
    await Promise.allSettled(held.map(([resource, h]) => this.#leases.release(resource, this.#nodeId, h.token)));
  }

  tokenFor(shard: number): number | null {
    return this.#token(shardResource(shard));
  }

  fenceFor(shard: number): Fence | null {
    const token = this.tokenFor(shard);
    return token === null ? null : this.#leases.fenceOf(shardResource(shard), token);
  }

  coordinatorToken(): number | null {
    return this.#token(COORDINATOR_RESOURCE);
  }

  owned(): number[] {
    const out: number[] = [];
    for (const r of [...this.#held.keys()]) if (r.startsWith('shard:') && this.#token(r) !== null) out.push(Number(r.slice(6)));
    return out.sort((a, b) => a - b);
  }

  owners(): readonly ShardOwners[] {
    return this.#owners;
  }

  on(listener: (event: ShardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * The shard keeper of one node: holds the leases of the shards it is primary of.
 * @throws FederationError INVALID_ARGUMENT naming the field at fault.
 * @example
 *   const keeper = createShardKeeper({ leases, membership, nodeId: 'node-a', leaseMs: 10_000 });
 *   keeper.on((e) => { if (e.type === 'stepped_down') stopServing(e.resource); });
 *   keeper.start();
 *   const token = keeper.tokenFor(tenantShard('acme'));   // carry it in every write: leases.fencedWrite(...)
 */
export function createShardKeeper(options: ShardKeeperOptions): ShardKeeper {
  if (typeof options !== 'object' || options === null) throw _argument('options', 'must be an object');
  if (typeof options.leases?.acquire !== 'function') throw _argument('options.leases', 'must be the result of createLeases');
  if (typeof options.membership?.liveNodes !== 'function') throw _argument('options.membership', 'must be the result of createMembership');
  _checkNodeId(options.nodeId, 'options.nodeId');
  const role = options.role ?? 'worker';
  if (role !== 'coordinator' && role !== 'worker' && role !== 'observer') throw _argument('options.role', 'must be coordinator, worker or observer');
  const shardCount = options.shardCount ?? DEFAULT_SHARD_COUNT;
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > 65_536) throw _argument('options.shardCount', `must be an integer from 1 to 65536, got ${String(shardCount)}`);
  const leaseMs = options.leaseMs ?? 10_000;
  _checkMs(leaseMs, 'options.leaseMs');
  return new Keeper({ leases: options.leases, membership: options.membership, nodeId: options.nodeId, role, shardCount, leaseMs });
}
