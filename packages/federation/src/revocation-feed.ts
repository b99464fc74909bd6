// The revocation feed: the operator's signed revocation list (revocation.ts) through Redis to every node
// (docs/architecture.md, "@tenantry/federation").
//
// The operator publishes a list under one key, `<prefix>revocations` (its JSON), with a compare-and-set in one
// Lua step: it is stored only when its version is higher than the stored one's. Nodes poll the key every
// `pollMs` (one GET; nothing is pushed) and apply a list only after checking it themselves — the operator's
// signature, a version above the one in force — so anyone able to write the key can at most withhold news, never
// un-revoke a key: a forged or older list is refused and the list in force stays. A revocation is therefore in
// force on every node within one poll interval of its publication (plus one command's time).
//
// Redis unreachable: the list in force stays in force (revocations never lapse) and the feed says so
// (`unavailable`); the next poll that reaches Redis catches up. Redis losing the key changes nothing either.
//
// The key carries no hash tag: it is one key, alone in whatever Redis Cluster slot it lands in.
import { isObject } from '@tenantry/core';
import { FederationError, isFederationError } from './errors.js';
import { _argument, _checkMs, _commonOptions, _connect, _unavailable, type _Connection, type RedisConnection } from './lease.js';
import { _operatorPublicKey } from './node-keys.js';
import { checkRevocationList, type RevocationList, type Revocations } from './revocation.js';

/** The key of the published list under `prefix`. */
export function revocationsKey(prefix = 'tenantry:fed:'): string {
  return `${prefix}revocations`;
}

/**
 * KEYS list key; ARGV new version, new list JSON, the stored text the publisher found not to verify ('' when
 * none). Stores the new list unless the stored one has a version at least as high; a stored text that the
 * publisher checked and found forged or malformed (and that is still the same text) is replaced whatever it
 * claims, so a forged "version 10^15" cannot block the operator. Answers 1 (stored) or 0 (same or newer there).
 */
const PUBLISH_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' and type(v.version) == 'number' and v.version >= tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

type WithPublish = { tenantryPublishRevocations(...a: string[]): Promise<number> };

export interface PublishRevocationsOptions {
  /** The operator's public key: base64 of 32 bytes, or the 32 bytes. */
  operatorPublicKey: string | Uint8Array;
  /** Prefix of the key (default "tenantry:fed:"); no `{` or `}`. */
  prefix?: string;
  /** A command without an answer after this long fails REDIS_UNAVAILABLE (default 2000). */
  commandTimeoutMs?: number;
}

export interface RevocationFeedOptions {
  /** The operator's public key: base64 of 32 bytes, or the 32 bytes (the one `revocations` was made with). */
  operatorPublicKey: string | Uint8Array;
  /** The list this node holds and openMessage consults; the feed replaces it with every newer valid list. */
  revocations: Revocations;
  /** Prefix of the key (default "tenantry:fed:"); no `{` or `}`. */
  prefix?: string;
  /** Time between polls once started (default 1000). */
  pollMs?: number;
  /** A command without an answer after this long fails REDIS_UNAVAILABLE (default 2000). */
  commandTimeoutMs?: number;
}

/** What a feed tells its listeners. */
export type RevocationFeedEvent =
  /** A newer list verified and is in force from now on. */
  | { readonly type: 'updated'; readonly version: number }
  /**
   * The stored list was not applied: it is not JSON, not the operator's (MALFORMED, FORGED) or not newer than the
   * one in force (REVOCATION_ROLLBACK). Said once per stored text; the list in force stays.
   */
  | { readonly type: 'refused'; readonly reason: string; readonly error: FederationError }
  /** A poll could not reach Redis; the list in force stays. */
  | { readonly type: 'unavailable'; readonly error: FederationError };

export interface RevocationFeed {
  /** Polls now and then every pollMs until stop(); a no-op when started already. */
  start(): void;
  /** Stops polling; the list in force stays. */
  stop(): void;
  /**
   * Reads the published list once and applies it when it is valid and newer; resolves with the version in force.
   * Never rejects for Redis or for a bad list: those are events (`unavailable`, `refused`). One poll at a time.
   */
  poll(): Promise<number>;
  /** The version of the list in force (0 before any). */
  version(): number;
  on(listener: (event: RevocationFeedEvent) => void): () => void;
  /** Stops polling and closes an owned connection (`{ url }`). Added to the brief's shape. */
  close(): Promise<void>;
}

/** The 32 bytes of an operator public key given as base64 or bytes. */
export function _operatorKeyBytes(v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== 32) throw new FederationError('INVALID_KEY', `${field} must be a 32-byte Ed25519 public key, got ${v.length} bytes`, { field });
    return new Uint8Array(v);
  }
  if (typeof v !== 'string') throw new FederationError('INVALID_KEY', `${field} must be base64 of a 32-byte Ed25519 public key`, { field });
  return _operatorPublicKey(v, field);
}

function connectionFor(conn: RedisConnection, options: { prefix?: string; commandTimeoutMs?: number }): _Connection {
  const c = _connect(conn, options.prefix ?? 'tenantry:fed:', options.commandTimeoutMs ?? 2000);
  c.redis.defineCommand('tenantryPublishRevocations', { numberOfKeys: 1, lua: PUBLISH_LUA });
  return c;
}

/**
 * Stores `list` as the published revocation list when it is signed by the operator and newer than the stored
 * one (one Lua compare-and-set); 'older' when a list of the same or a higher version is stored already. Nodes
 * pick it up at their next poll.
 * @throws FederationError MALFORMED or FORGED (`list…`) for a list the operator key does not verify (nothing is
 *   written); INVALID_ARGUMENT / INVALID_KEY naming the option; REDIS_UNAVAILABLE.
 * @example
 *   await publishRevocations({ url: 'redis://127.0.0.1:6379' }, nextRevocationList(operator, current, keyId, Date.now()),
 *     { operatorPublicKey: operator.public_key });
 */
export async function publishRevocations(conn: RedisConnection, list: RevocationList, options: PublishRevocationsOptions): Promise<'published' | 'older'> {
  if (!isObject(options)) throw _argument('options', 'must be an object');
  _commonOptions(options, ['operatorPublicKey', 'prefix', 'commandTimeoutMs'], 'publishRevocations');
  const operator = _operatorKeyBytes(options.operatorPublicKey, 'options.operatorPublicKey');
  const checked = checkRevocationList(list, operator, 'list');
  const c = connectionFor(conn, options);
  try {
    const key = revocationsKey(c.prefix);
    const stored = await c.call((r) => r.get(key));
    let replaceable = '';
    if (stored !== null) {
      const known = parseStored(stored, operator);
      if (known instanceof FederationError) replaceable = stored;
      else if (known.version >= checked.version) return 'older';
    }
    const res = await c.call((r) => (r as unknown as WithPublish).tenantryPublishRevocations(key, String(checked.version), JSON.stringify(checked), replaceable));
    return res === 1 ? 'published' : 'older';
  } finally {
    c.close();
  }
}

/** The stored text as a list the operator signed, or the refusal. */
function parseStored(text: string, operator: Uint8Array): RevocationList | FederationError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new FederationError('MALFORMED', 'list is not JSON', { field: 'list' });
  }
  try {
    return checkRevocationList(parsed, operator, 'list');
  } catch (e) {
    if (isFederationError(e)) return e;
    throw e;
  }
}

class Feed implements RevocationFeed {
  readonly #conn: _Connection;
  readonly #operator: Uint8Array;
  readonly #revocations: Revocations;
  readonly #pollMs: number;
  readonly #listeners = new Set<(e: RevocationFeedEvent) => void>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<number> | undefined;
  /** The stored text judged last: the same text is not judged (nor reported) twice. */
  #lastText: string | undefined;
  #closed = false;

  constructor(conn: _Connection, operator: Uint8Array, revocations: Revocations, pollMs: number) {
    this.#conn = conn;
    this.#operator = operator;
    this.#revocations = revocations;
    this.#pollMs = pollMs;
  }

  #emit(e: RevocationFeedEvent): void {
    for (const l of this.#listeners) l(e);
  }

  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const run = (): void => {
      void this.poll();
    };
    this.#timer = setInterval(run, this.#pollMs);
    this.#timer.unref();
    run();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  poll(): Promise<number> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #poll(): Promise<number> {
    const key = revocationsKey(this.#conn.prefix);
    let text: string | null;
    try {
      text = await this.#conn.call((r) => r.get(key));
    } catch (e) {
      this.#emit({ type: 'unavailable', error: _unavailable(e) });
      return this.#revocations.version;
    }
    // Nothing published (or the key was lost): the list in force stays.
    if (text === null || text === this.#lastText) return this.#revocations.version;
    this.#lastText = text;
    const list = parseStored(text, this.#operator);
    if (list instanceof FederationError) return this.#refuse(list);
    const held = this.#revocations.list;
    // The list in force, read again: nothing to do.
    if (held !== undefined && list.version === held.version && list.signature === held.signature) return held.version;
    try {
      this.#revocations.accept(list);
    } catch (e) {
      if (isFederationError(e)) return this.#refuse(e);
      throw e;
    }
    this.#emit({ type: 'updated', version: list.version });
    return this.#revocations.version;
  }

  #refuse(error: FederationError): number {
    this.#emit({ type: 'refused', reason: `${error.code}: ${error.message}`, error });
    return this.#revocations.version;
  }

  version(): number {
    return this.#revocations.version;
  }

  on(listener: (event: RevocationFeedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.stop();
    await this.#polling?.catch(() => undefined);
    this.#conn.close();
  }
}

/**
 * A node's feed of the published revocation list (see the file comment).
 * @param conn `{ url }` (made and closed by close()) or `{ client }` (yours; left open).
 * @throws FederationError INVALID_ARGUMENT / INVALID_KEY naming the option.
 * @example
 *   const revocations = new Revocations(operatorPublicKey);
 *   const feed = createRevocationFeed({ url: 'redis://127.0.0.1:6379' }, { operatorPublicKey, revocations });
 *   feed.on((e) => { if (e.type === 'refused') log(e.reason); });
 *   feed.start();   // every open of a message from now on uses `revocations`
 */
export function createRevocationFeed(conn: RedisConnection, options: RevocationFeedOptions): RevocationFeed {
  if (!isObject(options)) throw _argument('options', 'must be an object');
  _commonOptions(options, ['operatorPublicKey', 'revocations', 'prefix', 'pollMs', 'commandTimeoutMs'], 'createRevocationFeed');
  const operator = _operatorKeyBytes(options.operatorPublicKey, 'options.operatorPublicKey');
  const revocations = options.revocations as unknown;
  if (!isObject(revocations) || typeof revocations.accept !== 'function' || typeof revocations.isRevoked !== 'function') {
    throw _argument('options.revocations', 'must be a Revocations');
  }
  const pollMs = options.pollMs ?? 1000;
  _checkMs(pollMs, 'options.pollMs');
  return new Feed(connectionFor(conn, options), operator, options.revocations, pollMs);
}

