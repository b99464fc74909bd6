// What every signed object of this package shares: the exact bytes that are signed, Ed25519 over them,
// the key id rule and the base64 of keys and signatures (docs/architecture.md, "@tenantry/federation").
//
// Signed bytes = UTF-8(domain ‖ canonical JSON of the signed fields), where
//   domain          one of the DOMAIN_* constants below, each ending in "\n"; it separates the three kinds of
//                   signed objects, so that a certificate's signature can never pass as a message's or a
//                   revocation list's, whatever their fields hold;
//   canonical JSON  RFC 8785 (JSON Canonicalization Scheme) of checked JSON data: object keys sorted by UTF-16
//                   code units at every level, no white space, strings escaped as ECMAScript JSON.stringify
//                   does (§3.2.2.2), finite numbers in Number.prototype.toString form (§3.2.2.3). For values that
//                   passed _jsonDataProblem (well-formed strings, finite numbers, plain objects, dense arrays)
//                   JSON.stringify with sorted keys is exactly that serialisation.
// Signature = Ed25519 (RFC 8032 §5.1.6) of those bytes by a 32-byte seed; verified in the strict form (§5.1.7 with
// @noble/curves' zip215 off: canonical encodings, S < L, small-order keys refused), as @tenantry/audit's notes are.
//
// Cost: messages are signed and checked per forwarded request, so the per-message work runs in node:crypto
// (OpenSSL), 15–20 times faster than the pure-JS curve (bench/RESULTS.md, cluster). Signing is deterministic
// (RFC 8032), so node:crypto produces exactly the bytes @noble/curves would (test/federation/signing.test.ts).
// A verification accepts only what the strict form accepts: OpenSSL checks S < L and recomputes R, whose
// canonical encoding must equal the signature's bytes, and checks the equation without the cofactor (which
// implies the cofactored one @noble/curves checks); what OpenSSL does not check of the public key — a
// canonical encoding, not of small order — is checked by @noble/curves once per key (cached). A signature
// only the cofactored equation accepts (a mixed-order R, which no honest signer makes) is refused.
// Key id = lowercase hex of the first 4 bytes of SHA-256(32-byte Ed25519 public key).
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { isObject } from '@tenantry/core';
import { canonicalJson } from '@tenantry/audit';

/** Domain of a node certificate, signed by the operator key. */
export const DOMAIN_CERTIFICATE = 'tenantry-federation/node-certificate/v1\n';
/** Domain of a cluster message, signed by a node key. */
export const DOMAIN_MESSAGE = 'tenantry-federation/message/v1\n';
/** Domain of a revocation list, signed by the operator key. */
export const DOMAIN_REVOCATIONS = 'tenantry-federation/revocation-list/v1\n';

/** Deepest nesting a signed payload may have (a guard against stack exhaustion on hostile input). */
export const MAX_JSON_DEPTH = 32;

const encoder = new TextEncoder();
const LONE_SURROGATE = /\p{Cs}/u;
const KEY_ID = /^[0-9a-f]{8}$/;

/** Why `v` is not JSON data that canonical JSON can carry, or undefined when it is. */
export function _jsonDataProblem(v: unknown, depth = 0): string | undefined {
  if (v === null || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : 'a number must be finite';
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? 'a string must be well-formed UTF-16 (no lone surrogate)' : undefined;
  if (depth >= MAX_JSON_DEPTH) return `nesting deeper than ${MAX_JSON_DEPTH}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) return 'an array must be dense';
      const p = _jsonDataProblem(v[i], depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  if (isObject(v)) {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return 'an object must be a plain object';
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return 'an object must not have a toJSON method';
    for (const k of Object.keys(v)) {
      if (LONE_SURROGATE.test(k)) return 'an object key must be well-formed UTF-16';
      const p = _jsonDataProblem(v[k], depth + 1);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  return `${typeof v} is not JSON data`;
}

/**
 * RFC 8785 serialisation, @tenantry/audit's (one canonical JSON for the whole project). Precondition:
 * `_jsonDataProblem(v) === undefined`.
 */
export function _canonicalJson(v: unknown): string {
  return canonicalJson(v);
}

/** The bytes a signature covers (see the file comment). */
export function _signedBytes(domain: string, fields: Record<string, unknown>): Uint8Array {
  return encoder.encode(domain + _canonicalJson(fields));
}

/** DER prefixes of a raw Ed25519 seed (PKCS #8, RFC 8410 §7) and public key (SPKI, RFC 8410 §4). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_CACHE_SIZE = 4096;
const privateKeys = new Map<string, KeyObject>();
/** Public keys that passed the strict key checks, as node:crypto key objects; null for one that did not. */
const publicKeys = new Map<string, KeyObject | null>();

/** A bounded cache: the oldest entry goes first. */
function remember<V>(cache: Map<string, V>, k: string, v: V): V {
  if (cache.size >= KEY_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(k, v);
  return v;
}

function privateKeyOf(seed: Uint8Array): KeyObject {
  const k = Buffer.from(seed).toString('base64');
  return privateKeys.get(k) ?? remember(privateKeys, k, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
}

/** The key object of a public key the strict form accepts (canonical encoding, on the curve, not of small order); else null. */
function publicKeyOf(publicKey: Uint8Array): KeyObject | null {
  const k = Buffer.from(publicKey).toString('base64');
  const known = publicKeys.get(k);
  if (known !== undefined) return known;
  let key: KeyObject | null = null;
  try {
    if (!ed25519.Point.fromBytes(publicKey, false).isSmallOrder()) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    }
  } catch {
    key = null;
  }
  return remember(publicKeys, k, key);
}

export function _sign(domain: string, fields: Record<string, unknown>, seed: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, _signedBytes(domain, fields), privateKeyOf(seed)));
}

export function _verify(domain: string, fields: Record<string, unknown>, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  const key = publicKeyOf(publicKey);
  if (key === null) return false;
  try {
    return cryptoVerify(null, _signedBytes(domain, fields), key, signature);
  } catch {
    return false;
  }
}

/** The key id of a 32-byte Ed25519 public key (see the file comment). */
export function _keyId(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 4).toString('hex');
}

export function _isKeyId(v: unknown): v is string {
  return typeof v === 'string' && KEY_ID.test(v);
}

export function _publicKeyOf(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

export function _randomSeed(): Uint8Array {
  return ed25519.utils.randomSecretKey();
}

/** Standard padded base64 (RFC 4648 §4). */
export function _encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * The bytes of `s` when it is the canonical padded base64 of exactly `length` bytes, else undefined. (Node's
 * decoder skips characters it does not know; re-encoding and comparing refuses every other spelling.)
 */
export function _decodeBase64(s: unknown, length: number): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length !== 4 * Math.ceil(length / 3)) return undefined;
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== length || buf.toString('base64') !== s) return undefined;
  return new Uint8Array(buf);
}
