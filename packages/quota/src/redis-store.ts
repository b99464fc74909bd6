// redisStore(...): the quota's numbers in Redis, shared by every node (docs/architecture.md,
// "@tenantry/quota": stores over Redis).
//
// Each operation is applied by a Lua script (redis-lua.ts), so check-and-charge across every cap is one
// atomic step in Redis whatever the number of nodes. Operations issued in the same tick, for any tenants,
// travel in one script call of up to `maxBatch` operations (one round trip and one script run for many
// reservations and settlements, each still applied atomically and in order).
//
// One Redis server (standalone, or a primary with replicas), or a Redis Cluster. Each tenant's keys share one
// hash tag (`<prefix>{<tenant>}:…`), so they are in one slot. A batch touches the keys of several tenants,
// which Redis Cluster refuses across slots (CROSSSLOT): on a cluster the queued operations are grouped by the
// slot of their tenant (cluster-slot.ts) and each group is one script call, run on the primary that serves
// the slot. On one server nothing is grouped (no slot is computed). Every other operation names one tenant's
// keys only and runs unchanged on a cluster.
//
// Fail closed: commands are not queued while Redis is unreachable (enableOfflineQueue: false) and time out
// after `commandTimeoutMs`, so the quota denies with STORE_UNAVAILABLE at once instead of waiting. Money
// is not lost across a reconnect: a settlement is acknowledged only when Redis answered, and a retried
// settlement of the same id is answered `duplicate` (settle is idempotent by reservation id). A reservation
// whose answer was lost holds its amount until its TTL.
//
// Cluster mode (`fence`, fence.ts): admissions — reserve and startExperiment — carry the tenant's shard
// Fence, checked by the script before anything else (NOT_OWNER). Nothing else is fenced: settle, release,
// restore, setFrozen, endExperiment, usage, ε and envelope writes account for or administer work that was
// admitted under a valid token, and are idempotent by reservation id; a settle after the shard moved still
// charges the call that happened. Refusing them would lose money, not save it.
//
// Fences on Redis Cluster: the guard reads and raises the shard's fence key (and reads its lease key) in the
// script of the admission, so both keys must be in the slot of the tenant's keys; a script cannot touch
// another slot (FENCE_GUARD_LUA's "false lease key" mode still reads the fence key, so it does not help).
// A fence whose keys hash to another slot (`<fedprefix>{shard:N}:fence` does, for nearly every tenant) is
// refused with INVALID_ARGUMENT naming options.fence, before anything is sent: an admission is never made
// without its fence check. A host that fences on a cluster gives each admission fence keys in the tenant's
// slot (e.g. a hash tag that hashes to it).
import { untilReady, type Fence } from '@tenantry/core';
import { Cluster, Redis } from 'ioredis';
import { clusterSlot } from './cluster-slot.js';
import type { CheckedEnvelope } from './envelope.js';
import { QuotaError } from './errors.js';
import { checkedFence, type FenceOf } from './fence.js';
import { BATCH_LUA, EPSILON_LUA, FENCED_START_EXPERIMENT_LUA, KEYS_PER_TENANT, SET_FROZEN_LUA, START_EXPERIMENT_LUA, USAGE_LUA } from './redis-lua.js';
import type {
  EpsilonOp, EpsilonOutcome, ExperimentOutcome, QuotaStore, RawUsage, ReleaseOp, ReleaseOutcome, ReserveOp, ReserveOutcome, RestoreOp,
  RestoreOutcome, SettleOp, SettleOutcome, UsageOp, DenyReason,
} from './store.js';

export interface RedisStoreOptions {
  /** Prefix of every key (default "tenantry:quota:"). */
  prefix?: string;
  /** A command without an answer after this long fails (store unavailable; default 2000). */
  commandTimeoutMs?: number;
  /** Most operations in one script call (default 256). */
  maxBatch?: number;
  /**
   * Cluster mode: the Fence of the tenant's shard as this node holds it, or null when it does not hold it
   * (e.g. `(t) => keeper.fenceFor(tenantShard(t, n))` of @tenantry/federation). Called for every reserve and
   * startExperiment when queued; null answers NOT_OWNER without a round trip, a Fence is checked in the
   * same script as the admission (fence.ts). None (the default): nothing is fenced.
   */
  fence?: FenceOf;
}

/** A node of a Redis Cluster to discover the cluster from. */
export interface RedisClusterNode {
  host: string;
  port: number;
}

/**
 * `{ url }`: one Redis server, the store's own connection. `{ cluster }`: a Redis Cluster, discovered from these
 * nodes, the store's own connection. `{ client }`: an ioredis `Redis` or `Cluster` of yours, left open by close().
 */
export type RedisConnection = { url: string } | { cluster: readonly RedisClusterNode[] } | { client: Redis | Cluster };

const KEY_NAMES = ['h', 'run', 'ids', 'g'] as const;
/** The batch script's answers to a restore operation (redis-lua.ts). */
const RESTORED: Readonly<Record<string, RestoreOutcome>> = {
  C: 'charged', S: 'settled', D: 'duplicate', K: 'skipped', H: 'held', N: 'unknown_tenant',
};
const ENVELOPE_FIELDS = ['tz', 'd', 'm', 'x', 'p', 'pct', 's'] as const;

interface Pending {
  tenantId: string;
  /**
   * The operation as the batch script reads it (redis-lua.ts); index 1, the tenant's group, is set when sent,
   * and so is index 2 of a fenced reserve, the index of its fence keys.
   */
  op: Array<string | number>;
  /** A fenced reserve's Fence (its token is in op already). */
  fence: Fence | undefined;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

type Scripted = (Redis | Cluster) & {
  tenantryBatch(...a: string[]): Promise<string>;
  tenantryStart(...a: string[]): Promise<string>;
  tenantryStartFenced(...a: string[]): Promise<string>;
  tenantryFreeze(...a: string[]): Promise<number>;
  tenantryUsage(...a: string[]): Promise<unknown[] | null>;
  tenantryEpsilon(...a: string[]): Promise<[number, string] | null>;
};

/** An envelope from its hash fields (ENVELOPE_FIELDS order); null when the tenant has none. */
function envelopeOf(tenantId: string, v: Array<string | null>): CheckedEnvelope | null {
  const [tz, d, m, x, p, pct, sim] = v;
  if (tz === null || tz === undefined) return null;
  return {
    tenantId, timeZone: tz, dailyMicros: Number(d), monthlyMicros: Number(m), experimentCapMicros: Number(x),
    maxParallelExperiments: Number(p), maxProdTrafficPct: Number(pct), simulationMicros: Number(sim),
  };
}

/** The simulation flag and experiment of the record inside a reservation id (redis-lua.ts). */
function recordOf(id: string): { simulation: boolean; experimentId: string | null } {
  const parts = id.split('|');
  const exp = parts.slice(5).join('|');
  return { simulation: parts[2] === '1', experimentId: exp === '' ? null : exp };
}

function argument(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

class RedisStore implements QuotaStore {
  readonly kind = 'redis';
  /** Reservation ids carry their record (see redis-lua.ts), so a settlement needs no lookup. */
  readonly recordInId = true;
  readonly #redis: Scripted;
  readonly #owned: boolean;
  /** A Redis Cluster: batches are grouped by slot, and fences must share the tenant's slot. */
  readonly #cluster: boolean;
  readonly #commandTimeoutMs: number;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #fence: FenceOf | null;
  #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;

  constructor(conn: RedisConnection, o: Required<Omit<RedisStoreOptions, 'fence'>> & { fence: FenceOf | null }) {
    this.#prefix = o.prefix;
    this.#maxBatch = o.maxBatch;
    this.#fence = o.fence;
    this.#commandTimeoutMs = o.commandTimeoutMs;
    if ('client' in conn) {
      this.#redis = conn.client as Scripted;
      this.#owned = false;
    } else if ('cluster' in conn) {
      // The same fail-closed settings as one server: nothing queued while a node is unreachable, a command
      // without an answer fails after commandTimeoutMs, and no retry of a timed-out script.
      this.#redis = new Cluster(conn.cluster.map(({ host, port }) => ({ host, port })), {
        enableOfflineQueue: false, lazyConnect: true,
        redisOptions: { commandTimeout: o.commandTimeoutMs, maxRetriesPerRequest: 0 },
      }) as Scripted;
      this.#redis.on('error', () => {});
      this.#owned = true;
    } else {
      this.#redis = new Redis(conn.url, { enableOfflineQueue: false, commandTimeout: o.commandTimeoutMs, maxRetriesPerRequest: 0, lazyConnect: true }) as Scripted;
      // Errors surface on the commands (as STORE_UNAVAILABLE); the connection keeps retrying.
      this.#redis.on('error', () => {});
      this.#owned = true;
    }
    this.#cluster = this.#redis instanceof Cluster;
    // The batch takes a varying number of keys: numkeys is its first argument.
    this.#redis.defineCommand('tenantryBatch', { lua: BATCH_LUA });
    this.#redis.defineCommand('tenantryStart', { numberOfKeys: KEYS_PER_TENANT, lua: START_EXPERIMENT_LUA });
    this.#redis.defineCommand('tenantryStartFenced', { numberOfKeys: KEYS_PER_TENANT + 2, lua: FENCED_START_EXPERIMENT_LUA });
    this.#redis.defineCommand('tenantryFreeze', { numberOfKeys: KEYS_PER_TENANT, lua: SET_FROZEN_LUA });
    this.#redis.defineCommand('tenantryUsage', { numberOfKeys: KEYS_PER_TENANT, lua: USAGE_LUA });
    this.#redis.defineCommand('tenantryEpsilon', { numberOfKeys: 1, lua: EPSILON_LUA });
  }

  /** The client, connected: the first use connects (waiting up to the command timeout); later outages fail at once. */
  async #client(): Promise<Scripted> {
    const r = this.#redis;
    if (this.#closed) throw new Error('the store is closed');
    if (r.status === 'wait' || r.status === 'connecting' || r.status === 'connect') {
      // One wait shared by every caller of the moment (a burst would otherwise add a listener pair each).
      this.#ready ??= this.#waitReady(r).finally(() => {
        this.#ready = undefined;
      });
      await this.#ready;
    }
    return r;
  }

  #ready: Promise<void> | undefined;

  async #waitReady(r: Scripted): Promise<void> {
    if (r.status === 'wait') {
      await r.connect();
      return;
    }
    await untilReady(r, this.#readyTimeoutMs());
  }

  /** How long the first use waits for the connection: the client's command timeout, else the store's. */
  #readyTimeoutMs(): number {
    const r = this.#redis;
    const t = r instanceof Cluster ? r.options.redisOptions?.commandTimeout : r.options.commandTimeout;
    return t ?? this.#commandTimeoutMs;
  }

  readonly #keyCache = new Map<string, string[]>();
  readonly #slotCache = new Map<string, number>();

  /** The cluster slot of the tenant's keys (cached like the keys). Precondition: a cluster store. */
  #slot(tenantId: string): number {
    let slot = this.#slotCache.get(tenantId);
    if (slot === undefined) {
      slot = clusterSlot(this.#keys(tenantId)[0]!);
      if (this.#slotCache.size >= 100_000) this.#slotCache.clear();
      this.#slotCache.set(tenantId, slot);
    }
    return slot;
  }

  /**
   * The tenant's fence, checked (fence.ts); on a cluster its two keys must be in the tenant's slot, since the
   * guard runs in the admission's script (see the header). null: this node does not hold the tenant's shard.
   * Precondition: a fenced store.
   */
  #fenceFor(fence: FenceOf, tenantId: string): Fence | null {
    const f = checkedFence(fence, tenantId);
    if (f === null || !this.#cluster) return f;
    const slot = this.#slot(tenantId);
    for (const [name, key] of [['fenceKey', f.fenceKey], ['leaseKey', f.leaseKey]] as const) {
      const at = clusterSlot(key);
      if (at !== slot) {
        throw argument('options.fence', `returned a Fence whose ${name} ${JSON.stringify(key)} is in hash slot ${at}, not in slot ${slot} of tenant `
          + `${JSON.stringify(tenantId)}'s keys: on Redis Cluster a fenced admission needs the fence keys in the tenant's slot`);
      }
    }
    return f;
  }

  /** The tenant's keys (cached: a batch names them for every tenant it touches). */
  #keys(tenantId: string): string[] {
    let keys = this.#keyCache.get(tenantId);
    if (keys === undefined) {
      const tag = `${this.#prefix}{${encodeURIComponent(tenantId)}}:`;
      keys = KEY_NAMES.map((k) => tag + k);
      if (this.#keyCache.size >= 100_000) this.#keyCache.clear();
      this.#keyCache.set(tenantId, keys);
    }
    return keys;
  }

  /** Queues one operation for the next batch. */
  #enqueue(tenantId: string, op: Array<string | number>, fence?: Fence): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ tenantId, op, fence, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    this.#client().then(
      (r) => {
        if (!this.#cluster) {
          for (let i = 0; i < queue.length; i += this.#maxBatch) this.#send(r, queue.slice(i, i + this.#maxBatch));
          return;
        }
        // One call per slot (a script's keys must share one): each tenant's operations stay in their order.
        const bySlot = new Map<number, Pending[]>();
        for (const p of queue) {
          const slot = this.#slot(p.tenantId);
          const group = bySlot.get(slot);
          if (group === undefined) bySlot.set(slot, [p]);
          else group.push(p);
        }
        for (const group of bySlot.values()) {
          for (let i = 0; i < group.length; i += this.#maxBatch) this.#send(r, group.slice(i, i + this.#maxBatch));
        }
      },
      (e: unknown) => {
        for (const p of queue) p.reject(e);
      },
    );
  }

  /**
   * One script call: the keys of each tenant in the batch once, then the fence and lease keys of each
   * distinct Fence once, then the operations as one JSON array (one argument instead of a dozen per
   * operation: the client's per-argument cost was most of its time); the script answers one JSON array too.
   */
  #send(r: Scripted, ops: Pending[]): void {
    const groups = new Map<string, number>();
    const keys: string[] = [];
    const batch: Array<Array<string | number>> = [];
    /** The distinct fences of the batch (by their two keys), and each fenced op with the number of its fence. */
    let fences: Map<string, number> | undefined;
    let fenceKeys: string[] | undefined;
    let fenced: Array<[Pending, number]> | undefined;
    for (const p of ops) {
      let g = groups.get(p.tenantId);
      if (g === undefined) {
        groups.set(p.tenantId, (g = groups.size));
        for (const k of this.#keys(p.tenantId)) keys.push(k);
      }
      p.op[1] = g;
      batch.push(p.op);
      if (p.fence !== undefined) {
        fences ??= new Map();
        fenceKeys ??= [];
        fenced ??= [];
        const pair = JSON.stringify([p.fence.fenceKey, p.fence.leaseKey]);
        let f = fences.get(pair);
        if (f === undefined) {
          fences.set(pair, (f = fences.size));
          fenceKeys.push(p.fence.fenceKey, p.fence.leaseKey);
        }
        fenced.push([p, f]);
      }
    }
    if (fenceKeys !== undefined && fenced !== undefined) {
      // After every tenant's keys; Lua's KEYS is 1-based.
      const base = keys.length + 1;
      for (const [p, f] of fenced) p.op[2] = base + 2 * f;
      for (const k of fenceKeys) keys.push(k);
    }
    keys.push(JSON.stringify(batch));
    r.tenantryBatch(String(keys.length - 1), ...keys).then(
      (reply) => {
        const results = JSON.parse(reply) as unknown[];
        for (let i = 0; i < ops.length; i++) ops[i]!.resolve(results[i]);
      },
      (e: unknown) => {
        for (const p of ops) p.reject(e);
      },
    );
  }

  async putEnvelope(env: CheckedEnvelope): Promise<void> {
    const r = await this.#client();
    await r.hset(this.#keys(env.tenantId)[0]!, {
      tz: env.timeZone, d: env.dailyMicros, m: env.monthlyMicros, x: env.experimentCapMicros, p: env.maxParallelExperiments,
      pct: env.maxProdTrafficPct, s: env.simulationMicros, tenant: env.tenantId,
    });
  }

  async envelope(tenantId: string): Promise<CheckedEnvelope | null> {
    const r = await this.#client();
    return envelopeOf(tenantId, await r.hmget(this.#keys(tenantId)[0]!, ...ENVELOPE_FIELDS));
  }

  async reserve(op: ReserveOp): Promise<ReserveOutcome> {
    let fence: Fence | undefined;
    if (this.#fence !== null) {
      const f = this.#fenceFor(this.#fence, op.tenantId);
      if (f === null) return { ok: false, reason: 'NOT_OWNER' };
      fence = f;
    }
    const batchOp: Array<string | number> = [
      'R', 0, op.id, op.micros, op.now, op.expiresAt, op.timeZone, op.day, op.month, op.simulation ? 1 : 0, op.experimentId ?? '',
      op.prod ? 1 : 0, op.prodWindowMs, op.retainMs, op.dayEnd, op.monthEnd,
    ];
    for (const g of op.gcra) batchOp.push(g.key, g.limit.intervalMs, g.limit.toleranceMs, g.cost);
    if (fence !== undefined) {
      // ["F", g, k, token, id, …] (redis-lua.ts): k, the index of the fence keys, is set when sent.
      batchOp[0] = 'F';
      batchOp.splice(2, 0, 0, String(fence.token));
    }
    const res = (await this.#enqueue(op.tenantId, batchOp, fence)) as number | string;
    if (res === 1) return { ok: true };
    const [reason, retry] = String(res).split(':') as [DenyReason | 'STALE_ZONE', string?];
    return retry === undefined ? { ok: false, reason } : { ok: false, reason, retryAfterMs: Number(retry) };
  }

  async settle(op: SettleOp): Promise<SettleOutcome> {
    const batchOp = ['S', 0, op.id, op.micros, op.now, op.retainMs, op.fallback === undefined ? 0 : 1];
    const res = (await this.#enqueue(op.tenantId, batchOp)) as string;
    if (res === 'D') return { status: 'duplicate' };
    if (res === 'U') return { status: 'unknown' };
    const [, reserved, late, frozen] = res.split(':');
    const rec = recordOf(op.id);
    return {
      status: 'settled', reservedMicros: Number(reserved), chargedMicros: op.micros, overrun: op.micros > Number(reserved), late: late === '1',
      frozen: frozen === '1', simulation: rec.simulation, experimentId: rec.experimentId,
    };
  }

  async release(op: ReleaseOp): Promise<ReleaseOutcome> {
    const res = (await this.#enqueue(op.tenantId, ['L', 0, op.id, op.now, op.retainMs])) as string;
    if (res === 'D') return { status: 'duplicate' };
    if (res === 'U') return { status: 'unknown' };
    return { status: 'released', reservedMicros: Number(res.slice(2)) };
  }

  async restore(op: RestoreOp): Promise<RestoreOutcome> {
    const res = (await this.#enqueue(op.tenantId, [
      'T', 0, op.id, op.kind === 'charge' ? 'C' : 'O', op.micros, op.now, op.retainMs, op.simulation ? 1 : 0, op.day, op.month,
      op.experimentId ?? '', op.at, op.expiresAt,
    ])) as string;
    const outcome = RESTORED[res];
    if (outcome === undefined) throw new Error(`unexpected answer to a restore from the batch script: ${String(res)}`);
    return outcome;
  }

  async startExperiment(tenantId: string, experimentId: string): Promise<ExperimentOutcome> {
    // An admission too: fenced as reserve is.
    const fence = this.#fence === null ? null : this.#fenceFor(this.#fence, tenantId);
    if (this.#fence !== null && fence === null) return { ok: false, reason: 'NOT_OWNER' };
    const r = await this.#client();
    const res = fence === null
      ? await r.tenantryStart(...this.#keys(tenantId), experimentId)
      : await r.tenantryStartFenced(...this.#keys(tenantId), fence.fenceKey, fence.leaseKey, experimentId, String(fence.token));
    if (res === 'S') return { ok: true, started: true };
    if (res === 'R') return { ok: true, started: false };
    return { ok: false, reason: res as 'MAX_PARALLEL' | 'UNKNOWN_TENANT' | 'FROZEN' | 'NOT_OWNER' };
  }

  async endExperiment(tenantId: string, experimentId: string): Promise<boolean> {
    const r = await this.#client();
    return (await r.srem(this.#keys(tenantId)[1]!, experimentId)) === 1;
  }

  async runningExperiments(tenantId: string): Promise<string[]> {
    const r = await this.#client();
    return (await r.smembers(this.#keys(tenantId)[1]!)).sort();
  }

  async setFrozen(tenantId: string, reason: string | null): Promise<boolean> {
    const r = await this.#client();
    return (await r.tenantryFreeze(...this.#keys(tenantId), reason ?? '')) === 1;
  }

  async usage(op: UsageOp): Promise<RawUsage | null> {
    const r = await this.#client();
    const keys = this.#keys(op.tenantId);
    const [raw, env] = await Promise.all([
      r.tenantryUsage(...keys, String(op.now), op.day, op.month, String(op.prodWindowMs), String(op.retainMs)),
      r.hmget(keys[0]!, ...ENVELOPE_FIELDS),
    ]);
    const envelope = envelopeOf(op.tenantId, env);
    if (raw === null || envelope === null) return null;
    const [frozen, ds, dh, ms, mh, ss, sh, exps, total, exper, open] = raw as [
      string | null, number, number, number, number, number, number, Array<[string, number, number, number]>, string, string, number,
    ];
    return {
      envelope,
      frozen,
      day: { spent: ds, held: dh },
      month: { spent: ms, held: mh },
      simulation: { spent: ss, held: sh },
      experiments: exps.map(([id, running, spent, held]) => ({ id, running: running === 1, spent, held })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      prodRequests: Number(total),
      experimentProdRequests: Number(exper),
      openReservations: open,
    };
  }

  async epsilon(op: EpsilonOp): Promise<EpsilonOutcome> {
    const r = await this.#client();
    const res = await r.tenantryEpsilon(this.#keys(op.tenantId)[0]!, op.kind, op.key ?? '', String(op.micros));
    return res === null ? null : { ok: res[0] === 1, remainingMicros: Number(res[1]) };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) {
      this.#redis.disconnect();
    }
  }
}

/**
 * A store in Redis, shared by every node that points at it.
 * @param conn `{ url }` (one Redis server) or `{ cluster: [{ host, port }, …] }` (a Redis Cluster, discovered from
 *   these nodes): the store makes and owns its connection; or `{ client }`, an ioredis `Redis` or `Cluster` of
 *   yours, left open by close(). On a cluster each script call carries one slot's operations (see the header).
 * @throws QuotaError INVALID_ARGUMENT naming the field at fault.
 * @example const quota = createQuota({ store: redisStore({ url: 'redis://127.0.0.1:6379' }) });
 */
export function redisStore(conn: RedisConnection, options: RedisStoreOptions = {}): QuotaStore {
  if (typeof conn !== 'object' || conn === null) throw argument('connection', 'must be { url }, { cluster } or { client }');
  if ('client' in conn) {
    if (!(conn.client instanceof Redis) && !(conn.client instanceof Cluster)) throw argument('connection.client', 'must be an ioredis Redis or Cluster client');
  } else if ('cluster' in conn) {
    const nodes: unknown = conn.cluster;
    if (!Array.isArray(nodes) || nodes.length === 0) throw argument('connection.cluster', 'must be a non-empty array of { host, port }');
    nodes.forEach((n: unknown, i) => {
      const { host, port } = (typeof n === 'object' && n !== null ? n : {}) as Partial<RedisClusterNode>;
      if (typeof host !== 'string' || host === '') throw argument(`connection.cluster[${i}].host`, 'must be a non-empty string');
      if (!Number.isSafeInteger(port) || (port as number) < 1 || (port as number) > 65535) {
        throw argument(`connection.cluster[${i}].port`, `must be an integer from 1 to 65535, got ${String(port)}`);
      }
    });
  } else if (typeof (conn as { url?: unknown }).url !== 'string' || !/^rediss?:\/\//.test((conn as { url: string }).url)) {
    throw argument('connection.url', 'must be a redis:// or rediss:// URL');
  }
  if (typeof options !== 'object' || options === null) throw argument('options', 'must be an object');
  for (const k of Object.keys(options)) if (k !== 'prefix' && k !== 'commandTimeoutMs' && k !== 'maxBatch' && k !== 'fence') throw argument(`options.${k}`, 'is not an option of redisStore');
  const prefix = options.prefix ?? 'tenantry:quota:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) throw argument('options.prefix', 'must be a string without { or }');
  const commandTimeoutMs = options.commandTimeoutMs ?? 2000;
  if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs <= 0) throw argument('options.commandTimeoutMs', `must be a positive integer, got ${String(commandTimeoutMs)}`);
  const maxBatch = options.maxBatch ?? 256;
  if (!Number.isSafeInteger(maxBatch) || maxBatch <= 0 || maxBatch > 10_000) throw argument('options.maxBatch', `must be an integer from 1 to 10000, got ${String(maxBatch)}`);
  const fence = options.fence ?? null;
  if (fence !== null && typeof fence !== 'function') throw argument('options.fence', 'must be a function (tenantId) => Fence | null');
  return new RedisStore(conn, { prefix, commandTimeoutMs, maxBatch, fence });
}
