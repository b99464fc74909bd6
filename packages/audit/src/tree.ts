// The in-memory RFC 6962 Merkle tree (RFC 9162 §2.1): append, roots of any past size, inclusion
// and consistency proofs. Checking proofs is verify.ts; hashing is @tenantry/kernels.
//
// Storage: every complete subtree, per level, in one growable contiguous buffer per level. Node i
// of level ℓ is MTH(D[i·2^ℓ : (i+1)·2^ℓ]); level ℓ holds ⌊n / 2^ℓ⌋ nodes (level 0 = the leaf
// hashes), 2n hashes in all. In RFC 6962's tree every node covers an aligned range
// [a, b) with b − a ≤ 2^ℓ and a a multiple of 2^ℓ; its hash is the right-to-left fold of the
// complete subtrees of the binary decomposition of b − a, all of which are stored. So the root of
// any past size m costs popcount(m) − 1 hashes, and a proof copies O(log n) stored nodes plus at
// most one such fold (the right-edge subtree): O(log n) hashes in all.
//
// Appends are batched: a leaf's data is copied to a small pending area, and leaf hashes
// (hashLeaves) and parents (merkleLevel, one kernel call per level) are computed together every
// SYNC_EVERY leaves or before any read, so an append costs O(1) amortised and O(SYNC_EVERY + log n)
// at worst. Appending the batch at once (appendMany / appendLeafHashes) does the same in one go.
import { hashChildren, hashLeaf, hashLeaves, merkleLevel } from '@tenantry/kernels';
import { AuditError } from './errors.js';
import { HASH_BYTES, _checkBytes, _checkHash, _checkInteger, _describe, _emptyRoot } from './rfc6962.js';

/** Leaves appended between two propagations of parents (and leaf-hash batches). */
const SYNC_EVERY = 1024;
/** Bytes of leaf data kept pending before the leaves are hashed. */
const PENDING_BYTES = 1 << 18;
/** Pending-area capacity kept between batches (more is released, so idle trees stay small). */
const PENDING_KEEP = 1 << 16;
/** Leaf data longer than this is hashed at once (hashing dominates; batching would only copy). */
const PENDING_LEAF_MAX = 4096;
/** Smallest capacity of a level buffer, in hashes. */
const MIN_CAPACITY = 16;

/**
 * Most leaves one tree holds: a level buffer is one Uint8Array, and Node 20 caps those at 2^32
 * bytes, i.e. 2^27 hashes. Also keeps every size below 2^31, where the bit operations below are exact.
 */
export const MAX_TREE_SIZE = 2 ** 27;

/**
 * The [start, end) ranges a proof walk visits, root side first: at most 2 × 27 + 1 for a
 * consistency proof below MAX_TREE_SIZE. Proof walks never nest, so one scratch array serves all.
 */
const _ranges = new Int32Array(2 * 64);

function _recordRange(i: number, start: number, end: number): void {
  _ranges[2 * i] = start;
  _ranges[2 * i + 1] = end;
}

/** The largest power of two strictly below `w` (w ≥ 2): RFC 9162's split point k. */
function _splitPoint(w: number): number {
  return 1 << (31 - Math.clz32(w - 1));
}

/**
 * An append-only RFC 6962 Merkle tree held in memory (RFC 9162 §2.1).
 *
 * Preconditions are checked at every method and violations throw {@link AuditError} with a
 * stable code (INVALID_BYTES, INVALID_LENGTH, INVALID_ARGUMENT, INVALID_INDEX, INVALID_SIZE) and a
 * `field` naming the argument; a rejected call leaves the tree unchanged. Every returned hash is a
 * fresh copy the caller owns, and the tree copies what it is given.
 *
 * @example
 * const tree = new MerkleTree();
 * tree.append(new TextEncoder().encode('entry 0'));  // 0
 * tree.append(new TextEncoder().encode('entry 1'));  // 1
 * const root = tree.root();                          // MTH(D[2])
 * const proof = tree.inclusionProof(1);              // [leaf hash 0]
 * verifyInclusion(tree.leafHash(1), 1, tree.size, proof, root); // true
 */
export class MerkleTree {
  /** levels[ℓ]: the complete subtrees of level ℓ, 32 bytes each, counts[ℓ] of them in use. */
  #levels: Uint8Array[] = [new Uint8Array(0)];
  #counts: number[] = [0];
  /** Leaves appended; level 0 has a slot for each, pending ones filled at the next sync. */
  #size = 0;
  /** Leaves whose hashes and ancestors are all stored. */
  #synced = 0;
  /** Pending leaf data: bytes back to back, the end offset and the leaf index of each. */
  #pendBuf = new Uint8Array(0);
  #pendBytes = 0;
  #pendEnds: number[] = [];
  #pendSlots: number[] = [];
  /** The last root computed (roots of past sizes never change, so it never goes stale). */
  #lastRoot: { size: number; root: Uint8Array } | undefined;

  /** Number of leaves in the tree. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends a leaf: its hash is the RFC 6962 §2.1 leaf hash SHA-256(0x00 ‖ data). The data is
   * copied; hashing may be deferred to the next read or batch (the result is the same).
   * @returns the index of the new leaf.
   * @throws AuditError INVALID_BYTES when data is not a Uint8Array.
   * @example tree.append(new TextEncoder().encode('hello')) // index
   */
  append(data: Uint8Array): number {
    _checkBytes(data, 'data');
    this.#checkRoom(1, 'data');
    const index = this.#size;
    this.#reserve(0, index + 1);
    if (data.length > PENDING_LEAF_MAX) {
      this.#levels[0]!.set(hashLeaf(data), index * HASH_BYTES);
    } else {
      const end = this.#pendBytes + data.length;
      if (end > this.#pendBuf.length) {
        const grown = new Uint8Array(Math.max(end, 2 * this.#pendBuf.length, 1024));
        grown.set(this.#pendBuf.subarray(0, this.#pendBytes));
        this.#pendBuf = grown;
      }
      this.#pendBuf.set(data, this.#pendBytes);
      this.#pendBytes = end;
      this.#pendEnds.push(end);
      this.#pendSlots.push(index);
    }
    this.#grew(1);
    return index;
  }

  /**
   * Appends a leaf by its hash (already SHA-256(0x00 ‖ data), e.g. a stored leaf hash being
   * replayed). The hash is copied.
   * @returns the index of the new leaf.
   * @throws AuditError INVALID_BYTES (not a Uint8Array) or INVALID_LENGTH (not 32 bytes), field 'hash'.
   * @example tree.appendLeafHash(hashLeaf(data)) // same tree as tree.append(data)
   */
  appendLeafHash(hash: Uint8Array): number {
    _checkHash(hash, 'hash');
    this.#checkRoom(1, 'hash');
    const index = this.#size;
    this.#reserve(0, index + 1);
    this.#levels[0]!.set(hash, index * HASH_BYTES);
    this.#grew(1);
    return index;
  }

  /**
   * Appends many leaves, hashing them all in one kernel call (hashLeaves) and building the new
   * parents a level at a time (merkleLevel). Same tree as appending them one by one.
   * @returns the index of the first new leaf (the former size; also for an empty batch).
   * @throws AuditError INVALID_ARGUMENT (data not an array) or INVALID_BYTES (field 'data[i]');
   *   nothing is appended then.
   * @example tree.appendMany(records.map((r) => new TextEncoder().encode(r)))
   */
  appendMany(data: readonly Uint8Array[]): number {
    if (!Array.isArray(data)) {
      throw new AuditError('INVALID_ARGUMENT', `data must be an array of Uint8Arrays, got ${_describe(data)}`, { field: 'data' });
    }
    this.#checkRoom(data.length, 'data');
    for (let i = 0; i < data.length; i++) _checkBytes(data[i], `data[${i}]`);
    const first = this.#size;
    if (data.length === 0) return first;
    const hashes = hashLeaves(data);
    this.#reserve(0, first + data.length);
    this.#levels[0]!.set(hashes, first * HASH_BYTES);
    this.#grew(data.length);
    return first;
  }

  /**
   * Appends many leaves by their hashes: a contiguous buffer of n×32 bytes or an array of 32-byte
   * hashes (the form a stored log replays fastest). Parents are built a level at a time.
   * @returns the index of the first new leaf (the former size; also for an empty batch).
   * @throws AuditError INVALID_BYTES (neither form, or an element not a Uint8Array) or
   *   INVALID_LENGTH (a buffer whose length is not a multiple of 32, field 'hashes'; an element not
   *   32 bytes, field 'hashes[i]'); nothing is appended then.
   * @example tree.appendLeafHashes(hashLeaves(records)) // same tree as appendMany(records)
   */
  appendLeafHashes(hashes: Uint8Array | readonly Uint8Array[]): number {
    let n: number;
    if (hashes instanceof Uint8Array) {
      if (hashes.length % HASH_BYTES !== 0) {
        throw new AuditError('INVALID_LENGTH', `hashes length ${hashes.length} is not a multiple of ${HASH_BYTES}`, { field: 'hashes' });
      }
      n = hashes.length / HASH_BYTES;
    } else if (Array.isArray(hashes)) {
      this.#checkRoom(hashes.length, 'hashes');
      for (let i = 0; i < hashes.length; i++) _checkHash(hashes[i], `hashes[${i}]`);
      n = hashes.length;
    } else {
      throw new AuditError(
        'INVALID_BYTES',
        `hashes must be a Uint8Array of n×${HASH_BYTES} bytes or an array of ${HASH_BYTES}-byte Uint8Arrays, got ${_describe(hashes)}`,
        { field: 'hashes' },
      );
    }
    this.#checkRoom(n, 'hashes');
    const first = this.#size;
    if (n === 0) return first;
    this.#reserve(0, first + n);
    const level0 = this.#levels[0]!;
    if (hashes instanceof Uint8Array) {
      level0.set(hashes, first * HASH_BYTES);
    } else {
      for (let i = 0; i < n; i++) level0.set((hashes as readonly Uint8Array[])[i]!, (first + i) * HASH_BYTES);
    }
    this.#grew(n);
    return first;
  }

  /**
   * The leaf hash at `index` (RFC 6962 §2.1: SHA-256(0x00 ‖ data) for a leaf appended as data).
   * Precondition: 0 ≤ index < size.
   * @throws AuditError INVALID_INDEX, field 'index'.
   * @example tree.leafHash(0) // Uint8Array(32)
   */
  leafHash(index: number): Uint8Array {
    const i = this.#checkIndex(index, this.#size);
    this.#flushLeaves();
    return this.#levels[0]!.slice(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  }

  /**
   * The Merkle Tree Hash of the first `size` leaves (RFC 9162 §2.1.1; RFC 6962 §2.1), for the
   * current size or any past one. The root of size 0 is SHA-256(""). Costs popcount(size) − 1 hashes.
   * Precondition: 0 ≤ size ≤ this.size (default: this.size).
   * @throws AuditError INVALID_SIZE, field 'size'.
   * @example tree.root(); tree.root(0) // SHA-256("")
   */
  root(size?: number): Uint8Array {
    const m = size === undefined ? this.#size : this.#checkSize(size, 'size', this.#size);
    if (m === 0) return _emptyRoot();
    const last = this.#lastRoot;
    if (last !== undefined && last.size === m) return last.root.slice();
    if (m > this.#synced) this.#sync();
    const root = this.#rangeHash(0, m);
    this.#lastRoot = { size: m, root: root.slice() };
    return root;
  }

  /**
   * The inclusion proof (audit path) of leaf `index` in the tree of the first `size` leaves,
   * PATH(index, D[size]) of RFC 9162 §2.1.3.1, ordered from the leaf's sibling up to the child of
   * the root. Check it with verifyInclusion or rootFromInclusionProof. Costs O(log size).
   * Preconditions: 0 ≤ size ≤ this.size (default: this.size) and 0 ≤ index < size.
   * @throws AuditError INVALID_SIZE (field 'size') or INVALID_INDEX (field 'index').
   * @example verifyInclusion(tree.leafHash(3), 3, 8, tree.inclusionProof(3, 8), tree.root(8)) // true
   */
  inclusionProof(index: number, size?: number): Uint8Array[] {
    const n = size === undefined ? this.#size : this.#checkSize(size, 'size', this.#size);
    const m = this.#checkIndex(index, n);
    if (n > this.#synced) this.#sync();
    // PATH(m, D[n]) for n > 1, k the largest power of two < n:
    //   m < k:  PATH(m, D[0:k]) : MTH(D[k:n])      m ≥ k:  PATH(m − k, D[k:n]) : MTH(D[0:k])
    // walked from the root down (the elements are put in leaf-first order at the end).
    let count = 0;
    let start = 0;
    let end = n;
    while (end - start > 1) {
      const k = _splitPoint(end - start);
      if (m < start + k) {
        _recordRange(count++, start + k, end);
        end = start + k;
      } else {
        _recordRange(count++, start, start + k);
        start += k;
      }
    }
    return this.#proofFromRanges(count);
  }

  /**
   * The consistency proof between the trees of the first `size1` and `size2` leaves,
   * PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1. As in transparency-dev/merkle, the proof is
   * empty when size1 = 0 or size1 = size2. Check it with verifyConsistency. Costs O(log size2).
   * Preconditions: 0 ≤ size2 ≤ this.size (default: this.size) and 0 ≤ size1 ≤ size2.
   * @throws AuditError INVALID_SIZE, field 'size1' or 'size2'.
   * @example verifyConsistency(3, 7, tree.root(3), tree.root(7), tree.consistencyProof(3, 7)) // true
   */
  consistencyProof(size1: number, size2?: number): Uint8Array[] {
    const n = size2 === undefined ? this.#size : this.#checkSize(size2, 'size2', this.#size);
    let m = this.#checkSize(size1, 'size1', n, size2 === undefined ? ' (the tree size)' : ' (size2)');
    if (m === 0 || m === n) return [];
    if (n > this.#synced) this.#sync();
    // SUBPROOF(m, D[n], b), k the largest power of two < n:
    //   m = n:  {} if b, else {MTH(D[n])}
    //   m ≤ k:  SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
    //   m > k:  SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k])
    // walked from the root down (the elements are put in leaf-first order at the end).
    let count = 0;
    let start = 0;
    let end = n;
    let whole = true;
    for (;;) {
      const width = end - start;
      if (m === width) {
        if (!whole) _recordRange(count++, start, end);
        break;
      }
      const k = _splitPoint(width);
      if (m <= k) {
        _recordRange(count++, start + k, end);
        end = start + k;
      } else {
        _recordRange(count++, start, start + k);
        start += k;
        m -= k;
        whole = false;
      }
    }
    return this.#proofFromRanges(count);
  }

  // ---- internals ------------------------------------------------------------------------------

  /**
   * The proof whose elements are MTH of the ranges recorded (root side first), leaf side first.
   * The array is made at its final length rather than grown from a literal: V8 pretenures an
   * array literal's allocation site once callers keep many of its arrays, and every later proof
   * then goes to the old generation (measured 7× slower proof generation after keeping 20 000).
   */
  #proofFromRanges(count: number): Uint8Array[] {
    const proof = new Array<Uint8Array>(count);
    for (let j = 0; j < count; j++) proof[count - 1 - j] = this.#rangeHash(_ranges[2 * j]!, _ranges[2 * j + 1]!);
    return proof;
  }

  /**
   * MTH(D[start:end]) for a node of the tree: start is a multiple of a power of two ≥ end − start,
   * and end ≤ the synced size. Folds the stored complete subtrees of the binary decomposition of
   * end − start right to left (one piece: a copy of the stored node). Returns a fresh array.
   */
  #rangeHash(start: number, end: number): Uint8Array {
    let width = end - start;
    let piece = width & -width;
    let pos = end - piece;
    let level = 31 - Math.clz32(piece);
    let at = (pos >>> level) * HASH_BYTES;
    if (piece === width) return this.#levels[level]!.slice(at, at + HASH_BYTES);
    let acc = this.#levels[level]!.subarray(at, at + HASH_BYTES);
    for (width -= piece; width > 0; width -= piece) {
      piece = width & -width;
      pos -= piece;
      level = 31 - Math.clz32(piece);
      at = (pos >>> level) * HASH_BYTES;
      acc = hashChildren(this.#levels[level]!.subarray(at, at + HASH_BYTES), acc);
    }
    return acc;
  }

  // The checks return the value as an int32 (`| 0`, exact below MAX_TREE_SIZE): an integer that
  // arrives as a double (e.g. from `%` on large operands) would otherwise push the tree's
  // arithmetic onto boxed doubles.
  #checkIndex(index: unknown, n: number): number {
    if (n === 0) {
      _checkInteger(index, 'index', 'INVALID_INDEX', Number.MAX_SAFE_INTEGER, '');
      throw new AuditError('INVALID_INDEX', `index ${index} is out of range: a tree of size 0 has no leaves`, { field: 'index' });
    }
    _checkInteger(index, 'index', 'INVALID_INDEX', n - 1, ` (the tree size ${n} − 1)`);
    return index | 0;
  }

  #checkSize(size: unknown, field: string, max: number, bound = ' (the tree size)'): number {
    _checkInteger(size, field, 'INVALID_SIZE', max, bound);
    return size | 0;
  }

  #checkRoom(n: number, field: string): void {
    if (this.#size + n > MAX_TREE_SIZE) {
      throw new AuditError(
        'INVALID_SIZE',
        `${field}: appending ${n} leaves to a tree of size ${this.#size} would exceed MAX_TREE_SIZE (${MAX_TREE_SIZE})`,
        { field },
      );
    }
  }

  /** Makes room for `count` nodes at `level` (doubling, so appends cost O(1) amortised). */
  #reserve(level: number, count: number): void {
    const buf = this.#levels[level]!;
    if (count * HASH_BYTES <= buf.length) return;
    const grown = new Uint8Array(Math.max(count, 2 * (buf.length / HASH_BYTES), MIN_CAPACITY) * HASH_BYTES);
    grown.set(buf.subarray(0, this.#counts[level]! * HASH_BYTES));
    this.#levels[level] = grown;
  }

  /** Records `n` new leaves (slots already filled or pending) and syncs every SYNC_EVERY leaves. */
  #grew(n: number): void {
    this.#size += n;
    this.#counts[0] = this.#size;
    if (this.#size - this.#synced >= SYNC_EVERY || this.#pendBytes >= PENDING_BYTES) this.#sync();
  }

  /** Hashes the pending leaf data (one hashLeaves call) into its level-0 slots. */
  #flushLeaves(): void {
    const count = this.#pendSlots.length;
    if (count === 0) return;
    const views = new Array<Uint8Array>(count);
    let from = 0;
    for (let i = 0; i < count; i++) {
      const to = this.#pendEnds[i]!;
      views[i] = this.#pendBuf.subarray(from, to);
      from = to;
    }
    const hashes = hashLeaves(views);
    const level0 = this.#levels[0]!;
    for (let i = 0; i < count; i++) {
      level0.set(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), this.#pendSlots[i]! * HASH_BYTES);
    }
    this.#pendBytes = 0;
    this.#pendEnds.length = 0;
    this.#pendSlots.length = 0;
    if (this.#pendBuf.length > PENDING_KEEP) this.#pendBuf = new Uint8Array(0);
  }

  /** Hashes pending leaves, then every missing parent, a level at a time. */
  #sync(): void {
    if (this.#synced === this.#size) return;
    this.#flushLeaves();
    for (let level = 0; ; level++) {
      const want = this.#counts[level]! >>> 1;
      if (level + 1 === this.#levels.length) {
        if (want === 0) break;
        this.#levels.push(new Uint8Array(0));
        this.#counts.push(0);
      }
      const have = this.#counts[level + 1]!;
      // Level ℓ+1 unchanged means every level above it is complete already.
      if (want === have) break;
      const children = this.#levels[level]!.subarray(2 * have * HASH_BYTES, 2 * want * HASH_BYTES);
      const parents = want - have === 1
        ? hashChildren(children.subarray(0, HASH_BYTES), children.subarray(HASH_BYTES))
        : merkleLevel(children);
      this.#reserve(level + 1, want);
      this.#levels[level + 1]!.set(parents, have * HASH_BYTES);
      this.#counts[level + 1] = want;
    }
    this.#synced = this.#size;
  }
}
