// Checking RFC 9162 proofs (§2.1.3.2 inclusion, §2.1.4.2 consistency), as transparency-dev/merkle
// splits it: `rootFrom…` computes the root a proof leads to and throws a typed error for a
// malformed proof; `verify…` compares and answers a boolean, never throwing for bad proof data;
// `check…` compares and throws RootMismatchError (code ROOT_MISMATCH) carrying both roots.
//
// Indices and sizes are plain numbers and may be anything up to 2^53 − 1 (a proof can come from
// a log far larger than any in-memory tree), so the walk uses arithmetic, not 32-bit bit
// operations: every value stays an exact integer in a double.
import { hashChildren, isKernelError } from '@tenantry/kernels';
import { AuditError } from './errors.js';
import { _checkHash, _checkInteger, _checkProof, _emptyRoot, _equalHashes, _isEmptyRoot } from './rfc6962.js';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * A proof that is well formed but leads to a different root than the trusted one. `expected` is
 * the root the caller supplied (argument `field`), `computed` the root the proof gives.
 */
export class RootMismatchError extends AuditError {
  readonly expected: Uint8Array;
  readonly computed: Uint8Array;

  constructor(field: string, expected: Uint8Array, computed: Uint8Array, what: string) {
    super('ROOT_MISMATCH', `${field} does not match: ${what} leads to ${_hex(computed)}, expected ${_hex(expected)}`, { field });
    this.name = 'RootMismatchError';
    this.expected = expected.slice();
    this.computed = computed.slice();
  }
}

function _hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

const _half = (x: number): number => Math.floor(x / 2);
const _odd = (x: number): boolean => x % 2 === 1;

function _isPowerOfTwo(x: number): boolean {
  if (x < 1) return false;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

/** Whether `e` means the kernels cannot hash at all (the one throw verify… lets through). */
function _isEnvironmentFailure(e: unknown): boolean {
  return isKernelError(e) && e.code === 'KERNEL_UNAVAILABLE';
}

// ---- inclusion -------------------------------------------------------------------------------

/**
 * Elements of an inclusion proof for leaf `index` of a tree of `size` leaves: the iterations of
 * RFC 9162 §2.1.3.2 step 4 until sn reaches 0 (the same walk, without the hashing).
 */
function _inclusionProofLength(index: number, size: number): number {
  let fn = index;
  let sn = size - 1;
  let count = 0;
  while (sn !== 0) {
    if (_odd(fn) || fn === sn) {
      while (!_odd(fn) && fn !== 0) {
        fn = _half(fn);
        sn = _half(sn);
      }
    }
    fn = _half(fn);
    sn = _half(sn);
    count++;
  }
  return count;
}

/**
 * The root an inclusion proof leads to: RFC 9162 §2.1.3.2 steps 1–4 (step 5 compares it).
 *
 * Preconditions (checked, in this order): leafHash is 32 bytes; size is an integer in
 * 0..2^53 − 1; index an integer with 0 ≤ index < size; proof an array of 32-byte Uint8Arrays with
 * exactly as many elements as leaf `index` of a tree of `size` leaves has on its path.
 * @throws AuditError INVALID_BYTES / INVALID_LENGTH (field 'leafHash' or 'proof[i]'),
 *   INVALID_SIZE (field 'size'), INVALID_INDEX (field 'index'), INVALID_PROOF (field 'proof': not
 *   an array, or the wrong number of elements).
 * @example
 * const root = rootFromInclusionProof(tree.leafHash(5), 5, 8, tree.inclusionProof(5, 8));
 * // equals tree.root(8)
 */
export function rootFromInclusionProof(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array {
  _checkHash(leafHash, 'leafHash');
  _checkInteger(size, 'size', 'INVALID_SIZE', MAX, '');
  if (size === 0) {
    _checkInteger(index, 'index', 'INVALID_INDEX', MAX, '');
    throw new AuditError('INVALID_INDEX', `index ${index} is out of range: a tree of size 0 has no leaves`, { field: 'index' });
  }
  _checkInteger(index, 'index', 'INVALID_INDEX', size - 1, ' (size − 1)');
  _checkProof(proof, _inclusionProofLength(index, size), `leaf ${index} of a tree of size ${size}`);
  // RFC 9162 §2.1.3.2: fn walks the leaf's index up, sn the last index of its level.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new AuditError('INVALID_PROOF', 'proof is longer than the path', { field: 'proof' });
    if (_odd(fn) || fn === sn) {
      r = hashChildren(p, r);
      while (!_odd(fn) && fn !== 0) {
        fn = _half(fn);
        sn = _half(sn);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = _half(fn);
    sn = _half(sn);
  }
  if (sn !== 0) throw new AuditError('INVALID_PROOF', 'proof is shorter than the path', { field: 'proof' });
  return r === leafHash ? leafHash.slice() : r;
}

/**
 * Whether `proof` shows that `leafHash` is leaf `index` of the tree of `size` leaves whose root is
 * `root` (RFC 9162 §2.1.3.2). False for any mismatch or malformed input: wrong types, lengths
 * other than 32 bytes, non-array proofs, indices or sizes that are negative, fractional, NaN,
 * above 2^53 − 1 or out of range, proofs of the wrong length. Never throws for bad data (only if
 * the hashing kernels cannot be instantiated at all).
 *
 * As in RFC 9162, an inclusion proof authenticates the leaf against the root; the size is bound by
 * the root you trust (a signed checkpoint names both). The same proof and root may check for a
 * different size whose path has the same shape (e.g. leaf 0 of sizes 5 and 6).
 * @example verifyInclusion(tree.leafHash(3), 3, tree.size, tree.inclusionProof(3), tree.root()) // true
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  try {
    _checkHash(root, 'root');
    return _equalHashes(rootFromInclusionProof(leafHash, index, size, proof), root);
  } catch (e) {
    if (_isEnvironmentFailure(e)) throw e;
    return false;
  }
}

/**
 * verifyInclusion that throws: the errors of rootFromInclusionProof for malformed input, and
 * RootMismatchError (code ROOT_MISMATCH, field 'root', with `expected` and `computed`) when the
 * proof leads to another root.
 * @throws AuditError as rootFromInclusionProof; INVALID_BYTES / INVALID_LENGTH for root (field 'root').
 * @example checkInclusion(leafHash, 3, size, proof, checkpointRoot) // returns, or throws ROOT_MISMATCH
 */
export function checkInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): void {
  _checkHash(root, 'root');
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  if (!_equalHashes(computed, root)) {
    throw new RootMismatchError('root', root, computed, `the inclusion proof of leaf ${index} in a tree of size ${size}`);
  }
}

// ---- consistency -----------------------------------------------------------------------------

/**
 * Elements of a consistency proof between sizes 0 < size1 < size2: the iterations of RFC 9162
 * §2.1.4.2 step 6 until sn reaches 0, plus the first element (step 5) unless size1 is a power of
 * two, whose root the verifier supplies itself (step 2).
 */
function _consistencyProofLength(size1: number, size2: number): number {
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (_odd(fn)) {
    fn = _half(fn);
    sn = _half(sn);
  }
  let count = 0;
  while (sn !== 0) {
    if (_odd(fn) || fn === sn) {
      while (!_odd(fn) && fn !== 0) {
        fn = _half(fn);
        sn = _half(sn);
      }
    }
    fn = _half(fn);
    sn = _half(sn);
    count++;
  }
  return _isPowerOfTwo(size1) ? count : count + 1;
}

/**
 * Both roots a consistency proof leads to, RFC 9162 §2.1.4.2 steps 2–6 (step 7 compares them).
 * Preconditions: 0 < size1 < size2 ≤ 2^53 − 1, root1 and every element 32 bytes, and the proof
 * of the length _consistencyProofLength gives.
 */
function _consistencyRoots(size1: number, size2: number, root1: Uint8Array, proof: readonly Uint8Array[]): [Uint8Array, Uint8Array] {
  const path = _isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (_odd(fn)) {
    fn = _half(fn);
    sn = _half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw new AuditError('INVALID_PROOF', 'proof is longer than the path', { field: 'proof' });
    if (_odd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (!_odd(fn) && fn !== 0) {
        fn = _half(fn);
        sn = _half(sn);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = _half(fn);
    sn = _half(sn);
  }
  if (sn !== 0) throw new AuditError('INVALID_PROOF', 'proof is shorter than the path', { field: 'proof' });
  return [fr, sr];
}

function _checkSizes(size1: unknown, size2: unknown): asserts size1 is number {
  _checkInteger(size2, 'size2', 'INVALID_SIZE', MAX, '');
  _checkInteger(size1, 'size1', 'INVALID_SIZE', size2 as number, ' (size2)');
}

/** The number of elements a consistency proof from size1 to size2 has (0 ≤ size1 ≤ size2). */
function _consistencyProofLengthOf(size1: number, size2: number): number {
  return size1 === 0 || size1 === size2 ? 0 : _consistencyProofLength(size1, size2);
}

function _checkConsistencyProof(proof: unknown, size1: number, size2: number): asserts proof is readonly Uint8Array[] {
  _checkProof(proof, _consistencyProofLengthOf(size1, size2), `a consistency proof from size ${size1} to ${size2}`);
}

/**
 * The root of the larger tree that a consistency proof leads to, given the trusted root of the
 * smaller one (RFC 9162 §2.1.4.2 steps 1–6): a client that trusts `root1` learns the only `root2`
 * consistent with it. For size1 = size2 the proof must be empty and the result is root1.
 *
 * Preconditions (checked, in this order): size2 an integer in 0..2^53 − 1; size1 an integer with
 * 1 ≤ size1 ≤ size2 (from the empty tree every tree is consistent and the empty proof determines
 * nothing); root1 32 bytes; proof an array of 32-byte Uint8Arrays of the length the sizes need.
 * @throws AuditError INVALID_SIZE (field 'size1' or 'size2'), INVALID_BYTES / INVALID_LENGTH
 *   (field 'root1' or 'proof[i]'), INVALID_PROOF (field 'proof'), and RootMismatchError (code
 *   ROOT_MISMATCH, field 'root1') when the proof does not reproduce root1.
 * @example rootFromConsistencyProof(3, 7, tree.root(3), tree.consistencyProof(3, 7)) // tree.root(7)
 */
export function rootFromConsistencyProof(size1: number, size2: number, root1: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  _checkSizes(size1, size2);
  if (size1 === 0) {
    throw new AuditError('INVALID_SIZE', 'size1 must be at least 1: the empty tree is consistent with every tree, and its empty proof determines no root', { field: 'size1' });
  }
  _checkHash(root1, 'root1');
  _checkConsistencyProof(proof, size1, size2);
  if (size1 === size2) return root1.slice();
  const [fr, sr] = _consistencyRoots(size1, size2, root1, proof);
  if (!_equalHashes(fr, root1)) {
    throw new RootMismatchError('root1', root1, fr, `the consistency proof from size ${size1} to ${size2}`);
  }
  return sr;
}

/**
 * checkConsistency without the throwing: the whole RFC 9162 §2.1.4.2 check, the size1 = 0 and
 * size1 = size2 cases as transparency-dev/merkle defines them (the proof must be empty; for
 * size1 = size2 the roots must be equal) and, stricter, root1 for size1 = 0 must be SHA-256("").
 */
function _checkConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  _checkSizes(size1, size2);
  _checkHash(root1, 'root1');
  _checkHash(root2, 'root2');
  if (size1 === 0) {
    _checkConsistencyProof(proof, size1, size2);
    if (!_isEmptyRoot(root1)) throw new RootMismatchError('root1', root1, _emptyRoot(), 'a tree of size 0');
    if (size2 === 0 && !_isEmptyRoot(root2)) throw new RootMismatchError('root2', root2, _emptyRoot(), 'a tree of size 0');
    return;
  }
  const computed = rootFromConsistencyProof(size1, size2, root1, proof);
  if (!_equalHashes(computed, root2)) {
    throw new RootMismatchError('root2', root2, computed, `the consistency proof from size ${size1} to ${size2}`);
  }
}

/**
 * Whether `proof` shows that the tree of `size2` leaves with root `root2` extends the tree of
 * `size1` leaves with root `root1` (RFC 9162 §2.1.4.2). As in transparency-dev/merkle, for
 * size1 = 0 or size1 = size2 the only valid proof is empty (and for size1 = size2 the roots must be
 * equal); root1 for size1 = 0 must be SHA-256(""). False for any mismatch or malformed input
 * (wrong types, 31- or 33-byte hashes, non-array proofs, size1 > size2, negative, fractional, NaN
 * or unsafe sizes, proofs of the wrong length). Never throws for bad data (only if the hashing
 * kernels cannot be instantiated at all).
 * @example verifyConsistency(3, 7, tree.root(3), tree.root(7), tree.consistencyProof(3, 7)) // true
 */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  try {
    _checkConsistency(size1, size2, root1, root2, proof);
    return true;
  } catch (e) {
    if (_isEnvironmentFailure(e)) throw e;
    return false;
  }
}

/**
 * verifyConsistency that throws: the validation errors of rootFromConsistencyProof (also for
 * size1 = 0, which is allowed here), INVALID_PROOF for a non-empty proof where an empty one is
 * due, and RootMismatchError (code ROOT_MISMATCH, with `expected` and `computed`) naming 'root1'
 * when the proof (or size 0) does not reproduce root1, 'root2' when it leads to another root2.
 * @example checkConsistency(size1, size2, oldCheckpointRoot, newCheckpointRoot, proof)
 */
export function checkConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  _checkConsistency(size1, size2, root1, root2, proof);
}
