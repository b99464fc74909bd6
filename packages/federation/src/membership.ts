// Membership by heartbeat (docs/architecture.md, "@tenantry/federation").
//
// Each node writes its record `{ node_id, role, address?, started_at }` as a Redis key with a PX expiry of
// `ttlMs` and rewrites it every `heartbeatMs`; a node that stops (crash, pause, partition) disappears when
// Redis expires its key — no node decides another is dead. An index set names the members so that
// liveNodes() needs no SCAN; one Lua step reads the records and drops the ids whose key expired.
//
// All membership keys share the hash tag `{members}` (one Redis Cluster slot), which the script relies on.
import { FederationError } from './errors.js';
import { _argument, _checkMs, _checkNodeId, _commonOptions, _connect, type _Connection, type RedisConnection } from './lease.js';

/** What a node does in the cluster: a coordinator may hold the coordinator lease; an observer owns no shard. */
export type NodeRole = 'coordinator' | 'worker' | 'observer';

export const NODE_ROLES: readonly NodeRole[] = ['coordinator', 'worker', 'observer'];

export interface NodeRecord {
  readonly node_id: string;
  readonly role: NodeRole;
  readonly address?: string;
  /** When the node joined, ms since the epoch (its own clock; informative only). */
  readonly started_at: number;
}

export interface MembershipOptions {
  /** Prefix of every key (default "tenantry:fed:"). */
  prefix?: string;
  /** A command without an answer after this long fails REDIS_UNAVAILABLE (default 2000). */
  commandTimeoutMs?: number;
  /** A record not rewritten for this long expires (default 10000). */
  ttlMs?: number;
  /** Time between heartbeats (default ttlMs / 3). */
  heartbeatMs?: number;
}

/** One node's membership, from join() to leave() or stop(). */
export interface Member {
  readonly record: NodeRecord;
  /** Rewrites the record now (the timer does it every heartbeatMs). @throws REDIS_UNAVAILABLE */
  beat(): Promise<void>;
  /** Stops the heartbeats and removes the record at once. */
  leave(): Promise<void>;
  /** Stops the heartbeats only: the record expires after its TTL, as when the node crashed. */
  stop(): void;
  /** Heartbeat failures (Redis unreachable), as they happen. @returns unsubscribe */
  onError(listener: (error: FederationError) => void): () => void;
}

export interface Membership {
  /**
   * Writes the node's record and starts its heartbeats. @throws INVALID_ARGUMENT naming the field,
   * REDIS_UNAVAILABLE when the first heartbeat cannot be written.
   */
  join(node: { node_id: string; role: NodeRole; address?: string }): Promise<Member>;
  /** The records whose TTL has not run out, ordered by node id. @throws REDIS_UNAVAILABLE */
  liveNodes(): Promise<NodeRecord[]>;
  /** Stops every heartbeat this object started (records expire by TTL) and closes an owned connection. */
  close(): Promise<void>;
}

/** KEYS index; ARGV key prefix of the records. The live records; drops the ids whose record expired. */
const LIVE_LUA = `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then out[#out + 1] = v else redis.call('SREM', KEYS[1], id) end
end
return out
`;

type WithLive = { tenantryLive(...a: string[]): Promise<string[]> };

function parseRecord(json: string): NodeRecord | null {
  try {
    const v = JSON.parse(json) as NodeRecord;
    return typeof v.node_id === 'string' && NODE_ROLES.includes(v.role) ? v : null;
  } catch {
    return null;
  }
}

class RedisMembership implements Membership {
  readonly #conn: _Connection;
  readonly #ttlMs: number;
  readonly #heartbeatMs: number;
  readonly #index: string;
  readonly #recordPrefix: string;
  readonly #members = new Set<{ stop(): void }>();

  constructor(conn: _Connection, ttlMs: number, heartbeatMs: number) {
    this.#conn = conn;
    this.#ttlMs = ttlMs;
    this.#heartbeatMs = heartbeatMs;
    this.#index = `${conn.prefix}{members}:index`;
    this.#recordPrefix = `${conn.prefix}{members}:node:`;
    conn.redis.defineCommand('tenantryLive', { numberOfKeys: 1, lua: LIVE_LUA });
  }

  async join(node: { node_id: string; role: NodeRole; address?: string }): Promise<Member> {
    if (typeof node !== 'object' || node === null) throw _argument('node', 'must be an object');
    _checkNodeId(node.node_id, 'node.node_id');
    if (!NODE_ROLES.includes(node.role)) throw _argument('node.role', `must be one of ${NODE_ROLES.join(', ')}`);
    if (node.address !== undefined && (typeof node.address !== 'string' || node.address.length > 512)) throw _argument('node.address', 'must be a string of at most 512 characters');
    const record: NodeRecord = {
      node_id: node.node_id, role: node.role, ...(node.address === undefined ? {} : { address: node.address }), started_at: Date.now(),
    };
    const json = JSON.stringify(record);
    const key = this.#recordPrefix + record.node_id;
    const conn = this.#conn;
    const ttl = this.#ttlMs;
    const index = this.#index;
    const listeners = new Set<(e: FederationError) => void>();
    const beat = async (): Promise<void> => {
      await conn.call(async (r) => {
        await r.multi().set(key, json, 'PX', ttl).sadd(index, record.node_id).exec();
      });
    };
    await beat();
    let timer: NodeJS.Timeout | undefined = setInterval(() => {
      beat().catch((e: unknown) => {
        for (const l of listeners) l(e as FederationError);
      });
    }, this.#heartbeatMs);
    timer.unref();
    const handle = {
      stop: (): void => {
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
        this.#members.delete(handle);
      },
    };
    this.#members.add(handle);
    return {
      record,
      beat,
      stop: handle.stop,
      async leave(): Promise<void> {
        handle.stop();
        await conn.call(async (r) => {
          await r.multi().del(key).srem(index, record.node_id).exec();
        });
      },
      onError(listener: (error: FederationError) => void): () => void {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
  }

  async liveNodes(): Promise<NodeRecord[]> {
    const raw = await this.#conn.call((r) => (r as unknown as WithLive).tenantryLive(this.#index, this.#recordPrefix));
    const out: NodeRecord[] = [];
    for (const j of raw) {
      const rec = parseRecord(j);
      if (rec !== null) out.push(rec);
    }
    return out.sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
  }

  async close(): Promise<void> {
    for (const m of [...this.#members]) m.stop();
    this.#conn.close();
  }
}

/**
 * Membership over one Redis.
 * @param conn `{ url }` (made and closed here) or `{ client }` (yours; left open by close()).
 * @throws FederationError INVALID_ARGUMENT naming the field at fault.
 * @example
 *   const membership = createMembership({ url: 'redis://127.0.0.1:6379' }, { ttlMs: 10_000 });
 *   const me = await membership.join({ node_id: 'node-a', role: 'worker' });
 *   const live = await membership.liveNodes();
 */
export function createMembership(conn: RedisConnection, options: MembershipOptions = {}): Membership {
  _commonOptions(options, ['prefix', 'commandTimeoutMs', 'ttlMs', 'heartbeatMs'], 'createMembership');
  const ttlMs = options.ttlMs ?? 10_000;
  _checkMs(ttlMs, 'options.ttlMs');
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(ttlMs / 3));
  _checkMs(heartbeatMs, 'options.heartbeatMs');
  if (heartbeatMs >= ttlMs) throw _argument('options.heartbeatMs', `must be shorter than options.ttlMs (${ttlMs}), got ${heartbeatMs}`);
  return new RedisMembership(_connect(conn, options.prefix ?? 'tenantry:fed:', options.commandTimeoutMs ?? 2000), ttlMs, heartbeatMs);
}
