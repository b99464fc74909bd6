// Leases with fencing tokens over one Redis (docs/architecture.md, "@tenantry/federation").
//
// A lease is a Redis key with a PX expiry holding "<token>|<node id>"; it ends by itself when its holder stops
// renewing. Every acquire draws a new token from a per-resource counter that only grows (INCR in the same Lua
// step, lease-lua.ts), so a later holder always carries a higher token than every earlier one. A lease alone
// protects nothing against a holder paused past its expiry (GC, SIGSTOP): it wakes up believing it still
// holds. What protects the data is the fence at the resource (fencing.ts): Redis refuses a write whose token
// is lower than the highest it has seen, or is no longer the lease's.
//
// The holder's own view is kept on its own monotonic clock: a grant or renewal is valid until the time the
// request was SENT plus the lease length minus a safety margin (`validUntil`), which is never later than
// Redis's expiry as long as the two clocks' rates differ by less than the margin. A holder that is past
// `validUntil`, or whose renewal was refused, must stop acting (shards.ts steps down by itself).
//
// Fail closed: commands are not queued while Redis is unreachable (enableOfflineQueue: false) and time out
// after `commandTimeoutMs`; every operation then rejects REDIS_UNAVAILABLE and nothing is written.
import { untilReady, type Fence } from '@tenantry/core';
import { Redis } from 'ioredis';
import { FederationError } from './errors.js';
import { ACQUIRE_LUA, FENCED_WRITE_LUA, HOLDER_LUA, RELEASE_LUA, RENEW_LUA } from './lease-lua.js';
import { _fencedWrite, _readFenced } from './fencing.js';

/** `{ url }` (a connection made and closed by this package) or `{ client }` (an ioredis client of yours, left open). */
export type RedisConnection = { url: string } | { client: Redis };

export interface LeasesOptions {
  /** Prefix of every key (default "tenantry:fed:"); no `{` or `}`. */
  prefix?: string;
  /** A command without an answer after this long fails REDIS_UNAVAILABLE (default 2000). */
  commandTimeoutMs?: number;
  /** Subtracted from every lease's length for the holder's own view (`validUntil`; default 10% of the lease, at least 50 ms). */
  safetyMarginMs?: number;
  /** The holder's monotonic clock in ms (default performance.now). */
  now?: () => number;
}

export interface LeaseGrant {
  readonly ok: true;
  readonly resource: string;
  readonly nodeId: string;
  readonly token: number;
  readonly leaseMs: number;
  /** On the `now` clock: the time the acquire was sent + leaseMs − safety margin. */
  readonly validUntil: number;
}

export interface LeaseRefusal {
  readonly ok: false;
  /** The node holding the lease and its token. */
  readonly holder: string;
  readonly token: number;
  /** The lease's remaining time as Redis counts it. */
  readonly retryAfterMs: number;
}

export type AcquireResult = LeaseGrant | LeaseRefusal;

/** A renewal: `validUntil` as for a grant, or refused (the lease expired, or another token holds it). */
export type RenewResult = { readonly ok: true; readonly validUntil: number } | { readonly ok: false };

export interface LeaseHolder {
  readonly nodeId: string;
  readonly token: number;
  readonly remainingMs: number;
}

export interface Leases {
  /** Takes `resource` for `leaseMs` unless another node holds it; always with a new, higher token. */
  acquire(resource: string, nodeId: string, leaseMs: number): Promise<AcquireResult>;
  /** Extends the lease held by exactly (nodeId, token) by `leaseMs` from now. */
  renew(resource: string, nodeId: string, token: number, leaseMs: number): Promise<RenewResult>;
  /** Ends the lease held by exactly (nodeId, token); false when it was not held by them (any more). */
  release(resource: string, nodeId: string, token: number): Promise<boolean>;
  /** Who holds `resource` now, as Redis sees it. */
  holder(resource: string): Promise<LeaseHolder | null>;
  /**
   * holder() of each resource, in the order given, in one round trip (a pipeline of the holder script, not one
   * script over all the keys: each resource's keys carry their own hash tag). @throws REDIS_UNAVAILABLE
   */
  holders(resources: readonly string[]): Promise<Array<LeaseHolder | null>>;
  /**
   * Writes `entries` into the resource's state if and only if `token` holds its lease and is not lower than
   * the highest token the resource has seen (fencing.ts). @throws STALE_TOKEN, LEASE_NOT_HELD, REDIS_UNAVAILABLE.
   */
  fencedWrite(resource: string, token: number, entries: Readonly<Record<string, string>>): Promise<void>;
  /** The resource's state as fenced writes left it (`_token`: the last writer's token). */
  read(resource: string): Promise<Record<string, string>>;
  /**
   * The keys and token another script passes to `tenantry_fence` (FENCE_GUARD_LUA) to write on behalf of the
   * holder of `token`, such as the quota's admissions (`redisStore({ fence })`). Names keys only: nothing is
   * checked until the script runs.
   */
  fenceOf(resource: string, token: number): Fence;
  /** The holder's clock (the `now` option). */
  now(): number;
  close(): Promise<void>;
}

/** Internal: the connection, the keys and the scripts that lease.ts, fencing.ts and membership.ts share. */
export type _Scripted = Redis & {
  tenantryAcquire(...a: string[]): Promise<[number, string, string?, number?]>;
  tenantryRenew(...a: string[]): Promise<number>;
  tenantryRelease(...a: string[]): Promise<number>;
  tenantryHolder(...a: string[]): Promise<[string, string, number] | null>;
  tenantryFencedWrite(...a: string[]): Promise<string>;
};

export interface _Connection {
  readonly redis: _Scripted;
  readonly prefix: string;
  /** The connected client: the first use connects (within the command timeout); later outages fail at once. */
  client(): Promise<_Scripted>;
  /** `f` on the connected client; any failure of Redis rejects REDIS_UNAVAILABLE. */
  call<T>(f: (r: _Scripted) => Promise<T>): Promise<T>;
  /** The keys of one resource, under one hash tag (lease-lua.ts). */
  keys(resource: string): ResourceKeys;
  close(): void;
}

export interface ResourceKeys {
  readonly lease: string;
  readonly token: string;
  readonly fence: string;
  readonly state: string;
}

const RESOURCE = /^[A-Za-z0-9._:/-]{1,200}$/;
const NODE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_LEASE_MS = 24 * 3600_000;

export function _argument(field: string, message: string): FederationError {
  return new FederationError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

export function _unavailable(cause: unknown): FederationError {
  if (cause instanceof FederationError) return cause;
  const m = cause instanceof Error ? cause.message : String(cause);
  return new FederationError('REDIS_UNAVAILABLE', `redis could not be reached: ${m}`, { field: 'redis', cause });
}

export function _checkResource(v: unknown, field = 'resource'): asserts v is string {
  if (typeof v !== 'string' || !RESOURCE.test(v)) throw _argument(field, 'must be 1 to 200 characters of A-Z a-z 0-9 . _ : / -');
}

export function _checkNodeId(v: unknown, field = 'nodeId'): asserts v is string {
  if (typeof v !== 'string' || !NODE_ID.test(v)) throw _argument(field, 'must be 1 to 128 characters of A-Z a-z 0-9 . _ : -');
}

export function _checkMs(v: unknown, field: string): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0 || (v as number) > MAX_LEASE_MS) throw _argument(field, `must be an integer from 1 to ${MAX_LEASE_MS}, got ${String(v)}`);
}

/** Field names of a fenced write: `_token` is the package's own, and at most 256 pairs travel in one script call. */
function _checkEntries(v: unknown): asserts v is Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw _argument('entries', 'must be an object of strings');
  const keys = Object.keys(v);
  if (keys.length === 0 || keys.length > 256) throw _argument('entries', `must have 1 to 256 fields, got ${keys.length}`);
  for (const k of keys) {
    if (k === '' || k === '_token') throw _argument(`entries.${k}`, 'is not a field name a write may use');
    if (typeof (v as Record<string, unknown>)[k] !== 'string') throw _argument(`entries.${k}`, 'must be a string');
  }
}

export function _checkToken(v: unknown, field = 'token'): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0) throw _argument(field, `must be a positive integer, got ${String(v)}`);
}

/**
 * Internal: an ioredis client that fails closed — no offline queue, no retried request, every command timed out
 * after `commandTimeoutMs` — and connects on first use. Precondition: `url` is a redis:// or rediss:// URL.
 */
export function _failClosedRedis(url: string, commandTimeoutMs: number): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 0, lazyConnect: true });
  // Errors surface on the commands (as REDIS_UNAVAILABLE); the connection keeps retrying.
  redis.on('error', () => {});
  return redis;
}

/** Internal: opens (lazily) the connection of `conn` with fail-closed settings and the scripts defined. */
export function _connect(conn: RedisConnection, prefix: string, commandTimeoutMs: number): _Connection {
  if (typeof conn !== 'object' || conn === null) throw _argument('connection', 'must be { url } or { client }');
  let redis: _Scripted;
  let owned: boolean;
  if ('client' in conn) {
    if (!(conn.client instanceof Redis)) throw _argument('connection.client', 'must be an ioredis client');
    redis = conn.client as _Scripted;
    owned = false;
  } else {
    const url = (conn as { url?: unknown }).url;
    if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw _argument('connection.url', 'must be a redis:// or rediss:// URL');
    redis = _failClosedRedis(url, commandTimeoutMs) as _Scripted;
    owned = true;
  }
  redis.defineCommand('tenantryAcquire', { numberOfKeys: 3, lua: ACQUIRE_LUA });
  redis.defineCommand('tenantryRenew', { numberOfKeys: 1, lua: RENEW_LUA });
  redis.defineCommand('tenantryRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
  redis.defineCommand('tenantryHolder', { numberOfKeys: 1, lua: HOLDER_LUA });
  redis.defineCommand('tenantryFencedWrite', { numberOfKeys: 3, lua: FENCED_WRITE_LUA });
  let closed = false;
  return {
    redis,
    prefix,
    keys(resource: string): ResourceKeys {
      const tag = `${prefix}{${resource}}:`;
      return { lease: `${tag}lease`, token: `${tag}token`, fence: `${tag}fence`, state: `${tag}state` };
    },
    async call<T>(f: (r: _Scripted) => Promise<T>): Promise<T> {
      const r = await this.client();
      try {
        return await f(r);
      } catch (e) {
        throw _unavailable(e);
      }
    },
    async client(): Promise<_Scripted> {
      if (closed) throw new FederationError('CLOSED', 'the Redis connection is closed', { field: 'connection' });
      try {
        if (redis.status === 'wait') await redis.connect();
        else if (redis.status === 'connecting' || redis.status === 'connect') {
          await untilReady(redis, commandTimeoutMs);
        }
      } catch (e) {
        throw _unavailable(e);
      }
      return redis;
    },
    close(): void {
      if (closed) return;
      closed = true;
      if (owned) redis.disconnect();
    },
  };
}

/** Internal: checks the options shared by createLeases and createMembership. */
export function _commonOptions(options: object, allowed: readonly string[], fn: string): void {
  if (typeof options !== 'object' || options === null) throw _argument('options', 'must be an object');
  for (const k of Object.keys(options)) if (!allowed.includes(k)) throw _argument(`options.${k}`, `is not an option of ${fn}`);
  const prefix = (options as { prefix?: unknown }).prefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || /[{}]/.test(prefix))) throw _argument('options.prefix', 'must be a string without { or }');
  const t = (options as { commandTimeoutMs?: unknown }).commandTimeoutMs;
  if (t !== undefined) _checkMs(t, 'options.commandTimeoutMs');
}

class RedisLeases implements Leases {
  readonly #conn: _Connection;
  readonly #margin: number | undefined;
  readonly #now: () => number;

  constructor(conn: _Connection, margin: number | undefined, now: () => number) {
    this.#conn = conn;
    this.#margin = margin;
    this.#now = now;
  }

  now(): number {
    return this.#now();
  }

  #validUntil(sentAt: number, leaseMs: number): number {
    const margin = this.#margin ?? Math.max(50, Math.ceil(leaseMs / 10));
    return sentAt + leaseMs - margin;
  }

  #call<T>(f: (r: _Scripted) => Promise<T>): Promise<T> {
    return this.#conn.call(f);
  }

  async acquire(resource: string, nodeId: string, leaseMs: number): Promise<AcquireResult> {
    _checkResource(resource);
    _checkNodeId(nodeId);
    _checkMs(leaseMs, 'leaseMs');
    const k = this.#conn.keys(resource);
    const sentAt = this.#now();
    const res = await this.#call((r) => r.tenantryAcquire(k.lease, k.token, k.fence, nodeId, String(leaseMs)));
    if (res[0] === 1) return { ok: true, resource, nodeId, token: Number(res[1]), leaseMs, validUntil: this.#validUntil(sentAt, leaseMs) };
    return { ok: false, token: Number(res[1]), holder: String(res[2]), retryAfterMs: Math.max(0, Number(res[3])) };
  }

  async renew(resource: string, nodeId: string, token: number, leaseMs: number): Promise<RenewResult> {
    _checkResource(resource);
    _checkNodeId(nodeId);
    _checkToken(token);
    _checkMs(leaseMs, 'leaseMs');
    const sentAt = this.#now();
    const res = await this.#call((r) => r.tenantryRenew(this.#conn.keys(resource).lease, nodeId, String(token), String(leaseMs)));
    return res === 1 ? { ok: true, validUntil: this.#validUntil(sentAt, leaseMs) } : { ok: false };
  }

  async release(resource: string, nodeId: string, token: number): Promise<boolean> {
    _checkResource(resource);
    _checkNodeId(nodeId);
    _checkToken(token);
    return (await this.#call((r) => r.tenantryRelease(this.#conn.keys(resource).lease, nodeId, String(token)))) === 1;
  }

  async holder(resource: string): Promise<LeaseHolder | null> {
    _checkResource(resource);
    const res = await this.#call((r) => r.tenantryHolder(this.#conn.keys(resource).lease));
    return res === null ? null : { token: Number(res[0]), nodeId: res[1], remainingMs: Math.max(0, Number(res[2])) };
  }

  async holders(resources: readonly string[]): Promise<Array<LeaseHolder | null>> {
    if (!Array.isArray(resources)) throw _argument('resources', 'must be an array of resource names');
    resources.forEach((r, i) => _checkResource(r, `resources[${i}]`));
    if (resources.length === 0) return [];
    const keys = resources.map((r) => this.#conn.keys(r).lease);
    const res = await this.#call(async (r) => {
      const p = r.pipeline() as unknown as { tenantryHolder(key: string): unknown; exec(): Promise<Array<[Error | null, unknown]> | null> };
      for (const k of keys) p.tenantryHolder(k);
      const out = await p.exec();
      if (out === null) throw new Error('the pipeline was discarded');
      return out.map(([e, v]) => {
        if (e !== null) throw e;
        return v as [string, string, number] | null;
      });
    });
    return res.map((v) => (v === null ? null : { token: Number(v[0]), nodeId: v[1], remainingMs: Math.max(0, Number(v[2])) }));
  }

  async fencedWrite(resource: string, token: number, entries: Readonly<Record<string, string>>): Promise<void> {
    _checkResource(resource);
    _checkToken(token);
    _checkEntries(entries);
    await _fencedWrite(this.#conn, resource, token, entries);
  }

  async read(resource: string): Promise<Record<string, string>> {
    _checkResource(resource);
    return _readFenced(this.#conn, resource);
  }

  fenceOf(resource: string, token: number): Fence {
    _checkResource(resource);
    _checkToken(token);
    const k = this.#conn.keys(resource);
    return { fenceKey: k.fence, leaseKey: k.lease, token };
  }

  async close(): Promise<void> {
    this.#conn.close();
  }
}

/**
 * Leases over one Redis.
 * @param conn `{ url }` (made and closed by the leases) or `{ client }` (yours; left open by close()).
 * @throws FederationError INVALID_ARGUMENT naming the field at fault.
 * @example
 *   const leases = createLeases({ url: 'redis://127.0.0.1:6379' });
 *   const g = await leases.acquire('coordinator', 'node-a', 10_000);
 *   if (g.ok) await leases.fencedWrite('coordinator', g.token, { epoch: '7' });
 */
export function createLeases(conn: RedisConnection, options: LeasesOptions = {}): Leases {
  _commonOptions(options, ['prefix', 'commandTimeoutMs', 'safetyMarginMs', 'now'], 'createLeases');
  const margin = options.safetyMarginMs;
  if (margin !== undefined && (!Number.isSafeInteger(margin) || margin < 0)) throw _argument('options.safetyMarginMs', `must be a non-negative integer, got ${String(margin)}`);
  const now = options.now ?? (() => performance.now());
  if (typeof now !== 'function') throw _argument('options.now', 'must be a function');
  return new RedisLeases(_connect(conn, options.prefix ?? 'tenantry:fed:', options.commandTimeoutMs ?? 2000), margin, now);
}
