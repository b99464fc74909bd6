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
// Key id = lowercase hex of the first 4 bytes of SHA-256(32-byte Ed25519 public key).
import { createHash } from 'node:crypto';
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

export function _sign(domain: string, fields: Record<string, unknown>, seed: Uint8Array): Uint8Array {
  return ed25519.sign(_signedBytes(domain, fields), seed);
}

export function _verify(domain: string, fields: Record<string, unknown>, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, _signedBytes(domain, fields), publicKey, { zip215: false });
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
