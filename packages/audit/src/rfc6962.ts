// Shared pieces of the RFC 6962 / RFC 9162 Merkle tree code (tree.ts builds, verify.ts checks):
// sizes, the empty-tree root, and the argument checks both use at the public boundary.
//
// Hashing itself lives in @tenantry/kernels (RFC 6962 §2.1, RFC 9162 §2.1.1):
//   leaf hash     SHA-256(0x00 ‖ data)          hashLeaf / hashLeaves
//   interior node SHA-256(0x01 ‖ left ‖ right)  hashChildren / merkleLevel  (left, right: 32 bytes each)
//   empty tree    SHA-256()                     EMPTY_ROOT below
// The 0x00 / 0x01 prefixes separate the two domains, so no leaf can be passed off as a node.
import { AuditError } from './errors.js';

/** Bytes in every hash of the tree (SHA-256). */
export const HASH_BYTES = 32;

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1, MTH({})). */
const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const EMPTY_ROOT = Uint8Array.from(EMPTY_ROOT_HEX.match(/../g)!, (h) => parseInt(h, 16));

/** A fresh copy of the empty tree's root, SHA-256(""). */
export function _emptyRoot(): Uint8Array {
  return EMPTY_ROOT.slice();
}

/** Constant-shape byte comparison of two hashes of known equal length. */
export function _equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when `b` is the empty tree's root. */
export function _isEmptyRoot(b: Uint8Array): boolean {
  return _equalHashes(b, EMPTY_ROOT);
}

export function _describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return `bigint ${v}n`;
  return `${typeof v} ${String(v)}`;
}

/** Throws INVALID_BYTES unless `v` is a Uint8Array (a Buffer is one). */
export function _checkBytes(v: unknown, field: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new AuditError('INVALID_BYTES', `${field} must be a Uint8Array, got ${_describe(v)}`, { field });
  }
}

/** Throws INVALID_BYTES / INVALID_LENGTH unless `v` is a 32-byte Uint8Array. */
export function _checkHash(v: unknown, field: string): asserts v is Uint8Array {
  _checkBytes(v, field);
  if (v.length !== HASH_BYTES) {
    throw new AuditError('INVALID_LENGTH', `${field} must be ${HASH_BYTES} bytes, got ${v.length}`, { field });
  }
}

/**
 * Throws `code` unless `v` is an integer in [0, max] (max ≤ 2^53 − 1, so every accepted value is
 * exact in a double). `bound` names max in the message, e.g. " (the tree size)".
 */
export function _checkInteger(
  v: unknown,
  field: string,
  code: 'INVALID_INDEX' | 'INVALID_SIZE',
  max: number,
  bound: string,
): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new AuditError(code, `${field} must be an integer, got ${_describe(v)}`, { field });
  }
  if (v < 0 || v > max) {
    throw new AuditError(code, `${field} must be in 0..${max}${bound}, got ${v}`, { field });
  }
}

/**
 * Throws INVALID_PROOF unless `proof` is an array of `want` elements (`why` says why that many),
 * then INVALID_BYTES / INVALID_LENGTH for the first element that is not a 32-byte Uint8Array.
 * The length comes first, so a huge array of garbage costs nothing to refuse.
 */
export function _checkProof(proof: unknown, want: number, why: string): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) {
    throw new AuditError('INVALID_PROOF', `proof must be an array of ${HASH_BYTES}-byte Uint8Arrays, got ${_describe(proof)}`, { field: 'proof' });
  }
  if (proof.length !== want) {
    throw new AuditError('INVALID_PROOF', `proof has ${proof.length} elements; ${why} needs ${want}`, { field: 'proof' });
  }
  for (let i = 0; i < want; i++) _checkHash(proof[i], `proof[${i}]`);
}
