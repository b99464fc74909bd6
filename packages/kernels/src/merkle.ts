// RFC 6962 Merkle hashing (RFC 6962 §2.1, RFC 9162 §2.1.1) through the kernels module.
//
//   hashLeaf(d)        = SHA-256(0x00 ‖ d)
//   hashChildren(l, r) = SHA-256(0x01 ‖ l ‖ r)
//   MTH({})            = SHA-256()
//   MTH(D[n])          = hashChildren(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
import { LEAF_PREFIX } from './abi.js';
import { digestWithPrefix, hashList } from './sha256.js';
import { kernel } from './loader.js';
import { KernelRangeError } from './errors.js';
import { HASH_BYTES, checkArray, checkBytes, checkHash } from './validate.js';

/**
 * Leaves reduced per kernel call when computing a root. A power of two, so that every chunk but
 * the last is a complete subtree and the chunk roots form one level of the same tree.
 */
export const ROOT_CHUNK_LEAVES = 1 << 14;

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  checkBytes(data, 'data');
  return digestWithPrefix(data, LEAF_PREFIX);
}

/** RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right); both 32 bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  checkHash(left, 'left');
  checkHash(right, 'right');
  const k = kernel();
  k.ensure(64);
  k.u8.set(left, k.data);
  k.u8.set(right, k.data + 32);
  k.x.merkleLevel(k.data, 2);
  return k.u8.slice(k.data, k.data + 32);
}

/** RFC 6962 leaf hashes of many leaves in one pass; 32 bytes each, back to back. */
export function hashLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  return hashList(leaves, LEAF_PREFIX, 'leaves');
}

/** Number of 32-byte hashes in a contiguous buffer or an array, validated. */
export function leafCount(leafHashes: Uint8Array | readonly Uint8Array[], field: string): number {
  if (leafHashes instanceof Uint8Array) {
    if (leafHashes.length % HASH_BYTES !== 0) {
      throw new KernelRangeError('INVALID_LENGTH', `${field} length ${leafHashes.length} is not a multiple of ${HASH_BYTES}`, field);
    }
    return leafHashes.length / HASH_BYTES;
  }
  checkArray(leafHashes, field);
  for (let i = 0; i < leafHashes.length; i++) checkHash(leafHashes[i], `${field}[${i}]`);
  return leafHashes.length;
}

/** Copies hashes [from, from + count) of either input form to `at` in the kernel workspace. */
function copyHashes(leafHashes: Uint8Array | readonly Uint8Array[], from: number, count: number, u8: Uint8Array, at: number): void {
  if (leafHashes instanceof Uint8Array) {
    u8.set(leafHashes.subarray(from * HASH_BYTES, (from + count) * HASH_BYTES), at);
  } else {
    for (let i = 0; i < count; i++) u8.set(leafHashes[from + i]!, at + i * HASH_BYTES);
  }
}

/**
 * RFC 6962 Merkle Tree Hash over already-hashed leaves (a contiguous n×32 buffer or an array of
 * 32-byte hashes). The empty tree's root is SHA-256 of the empty string.
 * Works in ROOT_CHUNK_LEAVES pieces, so memory stays bounded for any n.
 */
export function merkleRoot(leafHashes: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const n = leafCount(leafHashes, 'leafHashes');
  const k = kernel();
  const chunks = Math.max(1, Math.ceil(n / ROOT_CHUNK_LEAVES));
  const chunkBytes = Math.min(n, ROOT_CHUNK_LEAVES) * HASH_BYTES;
  const rootsPtr = k.data + chunkBytes + 64;
  k.ensure(chunkBytes + 64 + chunks * HASH_BYTES);
  if (n <= ROOT_CHUNK_LEAVES) {
    copyHashes(leafHashes, 0, n, k.u8, k.data);
    k.x.merkleRoot(k.data, n, rootsPtr);
    return k.u8.slice(rootsPtr, rootsPtr + HASH_BYTES);
  }
  for (let c = 0; c < chunks; c++) {
    const from = c * ROOT_CHUNK_LEAVES;
    const count = Math.min(ROOT_CHUNK_LEAVES, n - from);
    copyHashes(leafHashes, from, count, k.u8, k.data);
    k.x.merkleRoot(k.data, count, rootsPtr + c * HASH_BYTES);
  }
  // The chunk roots are one level of the tree (all complete subtrees but the last): reduce it.
  k.x.merkleRoot(rootsPtr, chunks, k.data);
  return k.u8.slice(k.data, k.data + HASH_BYTES);
}

/**
 * One tree level: nodes 2i and 2i+1 become parent i = hashChildren(node[2i], node[2i+1]); an odd
 * last node is carried up unchanged (RFC 6962 built bottom-up). Returns ceil(n/2) hashes, back to
 * back. Works in ROOT_CHUNK_LEAVES pieces (an even count, so pairs never straddle two pieces).
 */
export function merkleLevel(nodes: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const n = leafCount(nodes, 'nodes');
  const out = new Uint8Array(Math.ceil(n / 2) * HASH_BYTES);
  const k = kernel();
  k.ensure(Math.min(n, ROOT_CHUNK_LEAVES) * HASH_BYTES);
  for (let from = 0; from < n; from += ROOT_CHUNK_LEAVES) {
    const count = Math.min(ROOT_CHUNK_LEAVES, n - from);
    copyHashes(nodes, from, count, k.u8, k.data);
    const parents = k.x.merkleLevel(k.data, count);
    out.set(k.u8.subarray(k.data, k.data + parents * HASH_BYTES), (from / 2) * HASH_BYTES);
  }
  return out;
}
