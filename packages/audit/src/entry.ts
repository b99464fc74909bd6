// Audit log entries (protocol 1.0; docs/architecture.md, "@tenantry/audit").
//
// An entry is the RFC 8785 (JSON Canonicalization Scheme) serialisation of
//   { protocol_version: "1.0", tenant_id, index, timestamp, kind, payload, prev }
// encoded as UTF-8; its leaf hash is RFC 6962 hashLeaf(bytes) = SHA-256(0x00 ‖ bytes), and `prev`
// is the lowercase hex leaf hash of the previous entry of the same tenant (64 zeros for index 0).
// RFC 8785 serialisation is canonical-json.ts (safe-stable-stringify in deterministic mode, checked
// against canonicalize): keys sorted by UTF-16 code units, numbers in the ECMAScript shortest
// round-trip form (1e21, 0.1, -0 → 0), strings escaped as JSON.stringify does (only ", \ and
// control characters; everything else as UTF-8). Its precondition is what the checks below ensure.
//
// Payloads are checked and deep-copied before they are serialised, so what is stored is exactly
// what was checked (a getter or Proxy cannot answer differently the second time) and a caller who
// mutates the object after append cannot change the entry. The rules, chosen so that the stored
// JSON always means what the caller passed and nothing is dropped silently:
//   - the payload is a plain object (prototype Object.prototype or null), not an array or a scalar;
//   - values are null, booleans, finite numbers, well-formed strings, dense arrays and plain objects;
//   - refused: undefined, functions, symbols, BigInt, NaN and ±Infinity, class instances (Date,
//     Map, typed arrays, …), array holes, symbol keys, lone surrogates (in keys and values), cycles
//     (shared acyclic references are fine: they are serialised once per use), nesting deeper than
//     MAX_PAYLOAD_DEPTH.
import { isObject, PROTOCOL_VERSION } from '@tenantry/core';
import { hashLeaf } from '@tenantry/kernels';
import { _canonicalJson } from './canonical-json.js';
import { AuditError } from './errors.js';
import { checkTenantId } from './tenant-id.js';

/** `prev` of the first entry of a chain: 64 zeros. */
export const GENESIS_PREV = '0'.repeat(64);
/** Deepest nesting of arrays and objects inside a payload (the payload object itself is depth 1). */
export const MAX_PAYLOAD_DEPTH = 64;
/** Longest `kind`, in characters. */
export const MAX_KIND_LENGTH = 128;

/** A JSON value as stored in a payload. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A stored entry (protocol 1.0). */
export interface AuditEntry {
  protocol_version: typeof PROTOCOL_VERSION;
  tenant_id: string;
  index: number;
  /** RFC 3339 UTC with milliseconds, e.g. "2025-01-31T12:00:00.000Z". */
  timestamp: string;
  kind: string;
  payload: JsonObject;
  /** Lowercase hex leaf hash of the previous entry; GENESIS_PREV for index 0. */
  prev: string;
}

/** What a caller appends: the log fills in the rest. */
export interface AuditEntryInput {
  kind: string;
  payload: JsonObject;
}

const KIND = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LONE_SURROGATE = /\p{Cs}/u;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit year. */
const MAX_TIME_MS = 253402300799999;
const ENTRY_KEYS = ['index', 'kind', 'payload', 'prev', 'protocol_version', 'tenant_id', 'timestamp'];

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'an unknown class'}`;
  if (typeof v === 'bigint') return 'a BigInt';
  if (typeof v === 'string') return 'a string';
  return `${typeof v}${typeof v === 'number' ? ` ${v}` : ''}`;
}

/**
 * maxBytes for a payload copy with no size limit of its own (stored entries, encodeEntry): 1 GiB,
 * far above any entry (MAX_ENTRY_BYTES_LIMIT is 64 MiB), and a small integer, not Infinity: a
 * double there changes the field representation of every copy state and measurably slows the
 * append path, which copies with integer limits.
 */
const NO_SIZE_LIMIT = 2 ** 30 - 1;

function payloadError(field: string, message: string): AuditError {
  return new AuditError('INVALID_PAYLOAD', `${field} ${message}`, { field });
}

/** Running state of one payload copy. */
interface CopyState {
  /** Objects and arrays on the current path (for cycles); at most MAX_PAYLOAD_DEPTH long, so a scan is cheap. */
  ancestors: object[];
  /** Keys and indices from the payload down to the value being copied (field names are built only on error). */
  keys: (string | number)[];
  /** A lower bound of the serialised size so far (UTF-16 units ≤ UTF-8 bytes). */
  bytes: number;
  maxBytes: number;
}

/** The field name of the value being copied: `payload.items[2].price`, `payload["a b"]`. */
function fieldOf(state: CopyState): string {
  let field = 'payload';
  for (const k of state.keys) {
    field += typeof k === 'number' ? `[${k}]` : IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  }
  return field;
}

function tooLarge(state: CopyState): AuditError {
  return new AuditError('ENTRY_TOO_LARGE', `payload: the entry would exceed maxEntryBytes (${state.maxBytes} bytes)`, { field: 'payload' });
}

function copyValue(v: unknown, depth: number, state: CopyState): JsonValue {
  switch (typeof v) {
    case 'string':
      if (LONE_SURROGATE.test(v)) throw payloadError(fieldOf(state), 'contains a lone surrogate (RFC 8785 needs well-formed strings)');
      state.bytes += v.length + 2;
      if (state.bytes > state.maxBytes) throw tooLarge(state);
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw payloadError(fieldOf(state), `must be a finite number, got ${v}`);
      state.bytes += 1;
      return v;
    case 'boolean':
      state.bytes += 4;
      return v;
    case 'object':
      break;
    default:
      throw payloadError(fieldOf(state), `must be a JSON value (null, boolean, finite number, string, array or plain object), got ${describe(v)}`);
  }
  if (v === null) {
    state.bytes += 4;
    return null;
  }
  if (depth > MAX_PAYLOAD_DEPTH) throw payloadError(fieldOf(state), `nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  if (state.ancestors.includes(v)) throw payloadError(fieldOf(state), 'is a circular reference');
  state.ancestors.push(v);
  const keys = state.keys;
  let out: JsonValue;
  if (Array.isArray(v)) {
    const n = v.length;
    const arr = new Array<JsonValue>(n);
    state.bytes += 2 + n;
    for (let i = 0; i < n; i++) {
      keys.push(i);
      if (!(i in v)) throw payloadError(fieldOf(state), 'is a hole in a sparse array');
      arr[i] = copyValue(v[i], depth + 1, state);
      keys.pop();
    }
    out = arr;
  } else {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw payloadError(fieldOf(state), `must be a plain object, got ${describe(v)}`);
    }
    if (Object.getOwnPropertySymbols(v).length > 0) throw payloadError(fieldOf(state), 'has symbol keys (JSON has none)');
    // An ordinary object (V8 keeps null-prototype objects in slow dictionary mode, which every
    // later property access, the serialisation's included, would pay for).
    const obj: JsonObject = {};
    const source = v as Record<string, unknown>;
    state.bytes += 2;
    for (const key of Object.keys(source)) {
      keys.push(key);
      if (LONE_SURROGATE.test(key)) throw payloadError(fieldOf(state), 'has a key with a lone surrogate');
      state.bytes += key.length + 4;
      const value = copyValue(source[key], depth + 1, state);
      // "__proto__" is data in JSON: define it, so that it is not taken as the prototype.
      if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
      else obj[key] = value;
      keys.pop();
    }
    out = obj;
  }
  state.ancestors.pop();
  return out;
}

/**
 * Checks a payload against the rules above and returns a deep copy of it. Throws INVALID_PAYLOAD with the path of the first offending value as `field`
 * (`payload.items[2].price`), or ENTRY_TOO_LARGE (field `payload`) as soon as the payload alone is
 * known to exceed `maxBytes`.
 */
export function _copyPayload(payload: unknown, maxBytes: number): JsonObject {
  if (!isObject(payload)) {
    throw payloadError('payload', `must be a plain object, got ${describe(payload)}`);
  }
  return copyValue(payload, 1, { ancestors: [], keys: [], bytes: 0, maxBytes }) as JsonObject;
}

/** Throws INVALID_ARGUMENT (field `kind`) unless `kind` is 1..MAX_KIND_LENGTH of [A-Za-z0-9._:/-] starting alphanumeric. */
export function _checkKind(kind: unknown, field = 'kind'): asserts kind is string {
  if (typeof kind !== 'string') throw new AuditError('INVALID_ARGUMENT', `${field} must be a string, got ${describe(kind)}`, { field });
  if (kind.length === 0 || kind.length > MAX_KIND_LENGTH || !KIND.test(kind)) {
    throw new AuditError(
      'INVALID_ARGUMENT',
      `${field} must be 1..${MAX_KIND_LENGTH} characters of A-Z a-z 0-9 . _ : / - starting with a letter or digit`,
      { field },
    );
  }
}

/**
 * Checks what a caller appends: `{ kind, payload }` and nothing else. Returns the kind and a deep
 * copy of the payload.
 * @throws AuditError INVALID_ARGUMENT (field `entry`, `entry.<unknown key>` or `kind`),
 *   INVALID_PAYLOAD (field `payload…`), ENTRY_TOO_LARGE (field `payload`).
 */
export function _checkEntryInput(input: unknown, maxBytes: number): AuditEntryInput {
  if (!isObject(input)) {
    throw new AuditError('INVALID_ARGUMENT', `entry must be an object { kind, payload }, got ${describe(input)}`, { field: 'entry' });
  }
  for (const key of Object.keys(input)) {
    if (key !== 'kind' && key !== 'payload') {
      throw new AuditError('INVALID_ARGUMENT', `entry.${key} is not a field of an entry (only kind and payload are)`, { field: `entry.${key}` });
    }
  }
  const { kind, payload } = input as Record<string, unknown>;
  _checkKind(kind);
  return { kind, payload: _copyPayload(payload, maxBytes) };
}

/**
 * RFC 3339 UTC timestamp with milliseconds of `ms` (milliseconds since the Unix epoch, as
 * Date.now() returns; fractions are dropped). Years are limited to 0000–9999, the four-digit years
 * RFC 3339 can write.
 * @throws AuditError INVALID_ARGUMENT (field `field`) for anything else.
 * @example formatTimestamp(0) // '1970-01-01T00:00:00.000Z'
 */
export function formatTimestamp(ms: number, field = 'clock'): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new AuditError('INVALID_ARGUMENT', `${field} must give milliseconds since the epoch as a finite number, got ${describe(ms)}`, { field });
  }
  const t = Math.floor(ms);
  if (t < -62167219200000 || t > MAX_TIME_MS) {
    throw new AuditError('INVALID_ARGUMENT', `${field} gave ${ms}, outside years 0000–9999`, { field });
  }
  // Busy logs stamp many entries in the same millisecond.
  if (t !== lastTime) {
    lastStamp = new Date(t).toISOString();
    lastTime = t;
  }
  return lastStamp;
}
let lastTime = NaN;
let lastStamp = '';

/** RFC 8785 serialisation of an already checked entry. */
export function _serialiseEntry(entry: AuditEntry): string {
  // The key order of the literal does not matter: the serialisation sorts.
  return _canonicalJson(entry);
}

/** RFC 8785 serialisation of a payload that _copyPayload returned (so the precondition holds). */
export function _canonicalPayload(payload: JsonObject): string {
  return _canonicalJson(payload);
}

/** RFC 8785 serialisation of a well-formed string (a checked tenant id). */
export function _canonicalString(s: string): string {
  return _canonicalJson(s);
}

/**
 * The RFC 8785 serialisation of an entry from the canonical serialisations of its parts — what
 * _serialiseEntry(entry) gives (test/audit/entry.test.ts checks that on random entries), without
 * walking the payload a second time. RFC 8785 orders the seven keys as written here (UTF-16 code
 * unit order), an integer index is its decimal digits, and the other values need no escaping:
 * `kind` is checked against [A-Za-z0-9._:/-], `prev` is hex and `timestamp` ASCII digits and
 * punctuation. Preconditions: payloadJson = _canonicalPayload(payload), tenantJson = _canonicalString(tenant
 * id), and the fields checked as append checks them.
 */
export function _entryJson(index: number, kind: string, payloadJson: string, prev: string, tenantJson: string, timestamp: string): string {
  return `{"index":${index},"kind":"${kind}","payload":${payloadJson},"prev":"${prev}","protocol_version":"${PROTOCOL_VERSION}","tenant_id":${tenantJson},"timestamp":"${timestamp}"}`;
}

/** UTF-8 bytes of _entryJson's fixed parts, prev (64) and timestamp (24) included. */
const ENTRY_FIXED_BYTES = _entryJson(0, '', '', '', '', '').length - 1 + 64 + 24;

/** UTF-8 length of _entryJson's result, from the lengths of its parts (kind is ASCII). */
export function _entryLength(index: number, kind: string, payloadBytes: number, tenantJsonBytes: number): number {
  return ENTRY_FIXED_BYTES + String(index).length + kind.length + payloadBytes + tenantJsonBytes;
}

/**
 * The canonical bytes of an entry: UTF-8 of its RFC 8785 serialisation. Every field is checked
 * first (the same rules as append), so the bytes are exactly those a log would store.
 * @throws AuditError INVALID_ARGUMENT / INVALID_TENANT_ID / INVALID_PAYLOAD naming the field.
 * @example entryLeafHash(encodeEntry(stored.entry)) // equals the log's leaf hash of that entry
 */
export function encodeEntry(entry: AuditEntry): Uint8Array {
  if (typeof entry !== 'object' || entry === null) {
    throw new AuditError('INVALID_ARGUMENT', `entry must be an object, got ${describe(entry)}`, { field: 'entry' });
  }
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.includes(key)) throw new AuditError('INVALID_ARGUMENT', `entry.${key} is not a field of an entry`, { field: `entry.${key}` });
  }
  if (entry.protocol_version !== PROTOCOL_VERSION) {
    throw new AuditError('INVALID_ARGUMENT', `entry.protocol_version must be "${PROTOCOL_VERSION}"`, { field: 'entry.protocol_version' });
  }
  checkTenantId(entry.tenant_id, 'entry.tenant_id');
  if (typeof entry.index !== 'number' || !Number.isSafeInteger(entry.index) || entry.index < 0) {
    throw new AuditError('INVALID_ARGUMENT', `entry.index must be a non-negative integer, got ${describe(entry.index)}`, { field: 'entry.index' });
  }
  if (typeof entry.timestamp !== 'string' || !isTimestamp(entry.timestamp)) {
    throw new AuditError('INVALID_ARGUMENT', 'entry.timestamp must be RFC 3339 UTC with milliseconds (YYYY-MM-DDTHH:MM:SS.mmmZ)', { field: 'entry.timestamp' });
  }
  _checkKind(entry.kind, 'entry.kind');
  if (typeof entry.prev !== 'string' || !HEX64.test(entry.prev)) {
    throw new AuditError('INVALID_ARGUMENT', 'entry.prev must be 64 lowercase hex digits', { field: 'entry.prev' });
  }
  const payload = _copyPayload(entry.payload, NO_SIZE_LIMIT);
  return encoder.encode(_serialiseEntry({ ...entry, payload }));
}

/** RFC 6962 leaf hash of an entry's canonical bytes: SHA-256(0x00 ‖ bytes). */
export function entryLeafHash(bytes: Uint8Array): Uint8Array {
  return hashLeaf(bytes);
}

/** True for a timestamp exactly as formatTimestamp writes it. */
function isTimestamp(s: string): boolean {
  if (!TIMESTAMP.test(s)) return false;
  const t = Date.parse(s);
  return Number.isFinite(t) && new Date(t).toISOString() === s;
}

/** Why stored bytes are not an entry: a corruption kind and a message. */
export interface EntryDefect {
  ok: false;
  kind: 'malformed-entry' | 'protocol-version' | 'tenant-mismatch' | 'index-mismatch' | 'prev-mismatch';
  message: string;
}

/**
 * Parses stored entry bytes and checks them against what the chain expects at this position.
 * Returns the entry, or the first defect in this order: not an RFC 8785 entry of protocol 1.0
 * (malformed-entry, protocol-version), another tenant's entry, the wrong index (a record dropped,
 * duplicated or moved), a prev that is not the previous leaf hash.
 */
export function _parseEntry(bytes: Uint8Array, tenantId: string, index: number, prevHex: string): { ok: true; entry: AuditEntry } | EntryDefect {
  let value: unknown;
  try {
    value = JSON.parse(strictDecoder.decode(bytes));
  } catch {
    return { ok: false, kind: 'malformed-entry', message: 'not UTF-8 JSON' };
  }
  if (!isObject(value)) return { ok: false, kind: 'malformed-entry', message: 'not a JSON object' };
  const e = value as Record<string, unknown>;
  if (e.protocol_version !== PROTOCOL_VERSION) {
    return { ok: false, kind: 'protocol-version', message: `protocol_version is ${JSON.stringify(e.protocol_version)}, expected "${PROTOCOL_VERSION}"` };
  }
  const keys = Object.keys(e).sort();
  if (keys.length !== ENTRY_KEYS.length || keys.some((k, i) => k !== ENTRY_KEYS[i])) {
    return { ok: false, kind: 'malformed-entry', message: `fields are ${keys.join(', ')}; expected ${ENTRY_KEYS.join(', ')}` };
  }
  if (e.tenant_id !== tenantId) return { ok: false, kind: 'tenant-mismatch', message: `tenant_id is ${JSON.stringify(e.tenant_id)}` };
  if (e.index !== index) return { ok: false, kind: 'index-mismatch', message: `index is ${JSON.stringify(e.index)}, expected ${index} (a record dropped, duplicated or moved)` };
  if (e.prev !== prevHex) return { ok: false, kind: 'prev-mismatch', message: `prev is ${JSON.stringify(e.prev)}, expected the previous leaf hash ${prevHex}` };
  if (typeof e.timestamp !== 'string' || !isTimestamp(e.timestamp)) return { ok: false, kind: 'malformed-entry', message: 'timestamp is not RFC 3339 UTC with milliseconds' };
  if (typeof e.kind !== 'string' || e.kind.length === 0 || e.kind.length > MAX_KIND_LENGTH || !KIND.test(e.kind)) {
    return { ok: false, kind: 'malformed-entry', message: 'kind is not a valid kind' };
  }
  if (!isObject(e.payload)) return { ok: false, kind: 'malformed-entry', message: 'payload is not an object' };
  // What append accepts, so that the canonical form below is RFC 8785 (JSON.parse can give lone
  // surrogates from \ud800 escapes and ±Infinity from 1e400, which no entry holds).
  try {
    _copyPayload(e.payload, NO_SIZE_LIMIT);
  } catch (err) {
    return { ok: false, kind: 'malformed-entry', message: `payload: ${err instanceof AuditError ? err.message : String(err)}` };
  }
  const canonical = _canonicalJson(e);
  if (Buffer.compare(Buffer.from(canonical, 'utf8'), bytes) !== 0) {
    return { ok: false, kind: 'malformed-entry', message: 'the bytes are not the RFC 8785 serialisation of the entry' };
  }
  return { ok: true, entry: e as unknown as AuditEntry };
}
