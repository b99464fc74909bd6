// RFC 6962 hashing (hashLeaf, hashChildren, hashLeaves, merkleRoot) against the published
// vectors, the recursive reference (every n up to 1100) and a fast iterative node:crypto reference
// (large n, chunk boundaries), in both input forms, on both builds.
import { describe, expect, it } from 'vitest';
import { hashChildren, hashLeaf, hashLeaves, merkleRoot, ROOT_CHUNK_LEAVES } from '@tenantry/kernels';
import { refHashChildren, refHashLeaf, refMerkleRoot } from '@tenantry/kernels/reference';
import {
  BUILDS, MiB, asHashArray, fastMerkleRoots, fromHex, hashAt, hex, loadRfc6962Vectors, nodeSha256Each,
  randomBytes, rng, useBuild,
} from '../helpers/kernels.js';

// Source: test/vectors/rfc6962.json — "RFC 6962 reference vectors as published in
// transparency-dev/merkle (testonly/constants.go, proof/verify_test.go)".
const VECTORS = loadRfc6962Vectors();
const VECTOR_LEAVES = VECTORS.leaf_inputs_hex.map(fromHex);

const SMALL_MAX = 1100;
const SMALL_LEAVES = randomBytes(SMALL_MAX * 32, 0x6962);
let smallRefRoots: string[] | undefined;
/** refMerkleRoot (the recursive definition) of the first n SMALL_LEAVES, for n = 0..1100. */
function smallRoots(): string[] {
  if (!smallRefRoots) {
    const all = asHashArray(SMALL_LEAVES);
    smallRefRoots = Array.from({ length: SMALL_MAX + 1 }, (_, n) => hex(refMerkleRoot(all.slice(0, n))));
  }
  return smallRefRoots;
}

const R = ROOT_CHUNK_LEAVES;
/** Sizes where merkleRoot reduces in several ROOT_CHUNK_LEAVES chunks, and the large sizes of the issue. */
const LARGE_SIZES = [
  R - 1, R, R + 1, 2 * R - 1, 2 * R, 2 * R + 1, 3 * R, 3 * R + 1, 5 * R + 7,
  (1 << 16) - 1, 1 << 16, (1 << 16) + 1, 1 << 20, (1 << 20) + 3,
];
const LARGE_MAX = Math.max(...LARGE_SIZES);
const LARGE_LEAVES = randomBytes(LARGE_MAX * 32, 0x1e5);
let largeRefRoots: Map<number, Uint8Array> | undefined;
const largeRoots = (): Map<number, Uint8Array> => (largeRefRoots ??= fastMerkleRoots(LARGE_LEAVES, LARGE_SIZES));
let largeArray: Uint8Array[] | undefined;
const largeLeafArray = (): Uint8Array[] => (largeArray ??= asHashArray(LARGE_LEAVES));

/**
 * Root from an inclusion proof (RFC 9162 §2.1.3.2), every interior node through hashChildren;
 * undefined when the proof has the wrong shape.
 */
function rootFromInclusionProof(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[]): Uint8Array | undefined {
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

describe('test references (guards the helpers)', () => {
  it('the vector file has a root for every size 0..leaves', () => {
    expect(VECTORS.source).toContain('transparency-dev/merkle');
    expect(VECTORS.roots_by_size_hex.length).toBe(VECTOR_LEAVES.length + 1);
  });

  it('refMerkleRoot reproduces the published roots', () => {
    const leafHashes = VECTOR_LEAVES.map(refHashLeaf);
    VECTORS.roots_by_size_hex.forEach((root, n) => expect(hex(refMerkleRoot(leafHashes.slice(0, n))), `size ${n}`).toBe(root));
  });

  it('the fast iterative reference equals refMerkleRoot for every n in 0..1100', () => {
    const fast = fastMerkleRoots(SMALL_LEAVES, Array.from({ length: SMALL_MAX + 1 }, (_, n) => n));
    const ref = smallRoots();
    const wrong = ref.filter((root, n) => hex(fast.get(n)!) !== root).length;
    expect(wrong).toBe(0);
    expect(fast.size).toBe(SMALL_MAX + 1);
  });
});

describe.each(BUILDS)('RFC 6962 vectors (%s build)', (build) => {
  useBuild(build);

  it('hashLeaf and hashLeaves give the leaf hashes that reproduce every published root', () => {
    const one = VECTOR_LEAVES.map((d) => hashLeaf(d));
    const many = hashLeaves(VECTOR_LEAVES);
    expect(one.map(hex)).toEqual(VECTOR_LEAVES.map((d) => hex(refHashLeaf(d))));
    expect(hex(many)).toBe(one.map(hex).join(''));
    VECTORS.roots_by_size_hex.forEach((root, n) => {
      expect(hex(merkleRoot(one.slice(0, n))), `array form, size ${n}`).toBe(root);
      expect(hex(merkleRoot(many.subarray(0, 32 * n))), `contiguous form, size ${n}`).toBe(root);
    });
  });

  it('the published inclusion proofs, folded with hashChildren, give the published roots', () => {
    const leafHashes = VECTOR_LEAVES.map((d) => hashLeaf(d));
    expect(VECTORS.inclusion.length).toBeGreaterThan(0);
    for (const { index, size, proof } of VECTORS.inclusion) {
      const root = rootFromInclusionProof(leafHashes[index]!, index, size, proof.map(fromHex));
      expect(root && hex(root), `leaf ${index} of ${size}`).toBe(VECTORS.roots_by_size_hex[size]);
    }
  });
});

describe.each(BUILDS)('hashLeaf / hashChildren / hashLeaves (%s build)', (build) => {
  useBuild(build);

  it('hashLeaf equals the reference for every length 0..300 and around 1 MiB (streaming with the 0x00 prefix)', () => {
    const big = randomBytes(2 * MiB + 200, 0x1eaf);
    const lengths = [
      ...Array.from({ length: 301 }, (_, i) => i),
      MiB - 1, MiB, MiB + 1, MiB + 54, MiB + 55, MiB + 56, MiB + 62, MiB + 63, MiB + 64, MiB + 119, 2 * MiB + 100,
    ];
    const wrong = lengths.filter((len) => hex(hashLeaf(big.subarray(0, len))) !== hex(refHashLeaf(big.subarray(0, len))));
    expect(wrong).toEqual([]);
  });

  it('hashChildren equals the reference for every value of left[0] and right[31] and for random pairs', () => {
    const next = rng(0xc41d);
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (let b = 0; b < 256; b++) {
      const l = randomBytes(32, next());
      const r = randomBytes(32, next());
      l[0] = b;
      r[31] = b;
      pairs.push([l, r], [r, l]);
    }
    for (let i = 0; i < 500; i++) pairs.push([randomBytes(32, next()), randomBytes(32, next())]);
    pairs.push([new Uint8Array(32), new Uint8Array(32)], [new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0xff)]);
    const wrong = pairs.filter(([l, r]) => hex(hashChildren(l, r)) !== hex(refHashChildren(l, r)));
    expect(wrong.map(([l, r]) => `${hex(l)} ${hex(r)}`)).toEqual([]);
  });

  it('hashChildren leaves its arguments intact and is merkleRoot of two leaves', () => {
    const l = randomBytes(32, 1);
    const r = randomBytes(32, 2);
    const before = hex(l) + hex(r);
    const h = hashChildren(l, r);
    expect(hex(l) + hex(r)).toBe(before);
    expect(hex(merkleRoot([l, r]))).toBe(hex(h));
    expect(hex(hashChildren(r, l))).not.toBe(hex(h));
  });

  it('hashLeaves equals the reference for mixed lengths, more than 1 MiB in total, and an empty list', () => {
    const big = randomBytes(3 * MiB, 0x1eaf5);
    const next = rng(0x77);
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const len = i % 50 === 49 ? 20_000 + (next() % 50_000) : next() % 300;
      const at = next() % (big.length - len);
      leaves.push(big.subarray(at, at + len));
    }
    leaves.splice(7, 0, big.subarray(0, MiB + 5), new Uint8Array(0), big.subarray(1, 56), big.subarray(2, 57));
    expect(hex(hashLeaves(leaves))).toBe(hex(nodeSha256Each(leaves, 0x00)));
    expect(hashLeaves([])).toEqual(new Uint8Array(0));
  });
});

describe.each(BUILDS)('merkleRoot (%s build)', (build) => {
  useBuild(build);

  it('contiguous form equals refMerkleRoot for every n in 0..1100', () => {
    const ref = smallRoots();
    const wrong: number[] = [];
    for (let n = 0; n <= SMALL_MAX; n++) {
      if (hex(merkleRoot(SMALL_LEAVES.subarray(0, 32 * n))) !== ref[n]) wrong.push(n);
    }
    expect(wrong).toEqual([]);
  });

  it('array form equals refMerkleRoot for every n in 0..1100', () => {
    const ref = smallRoots();
    const all = asHashArray(SMALL_LEAVES);
    const wrong: number[] = [];
    for (let n = 0; n <= SMALL_MAX; n++) {
      if (hex(merkleRoot(all.slice(0, n))) !== ref[n]) wrong.push(n);
    }
    expect(wrong).toEqual([]);
  });

  it('the empty tree is SHA-256 of the empty string in both forms', () => {
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(hex(merkleRoot(new Uint8Array(0)))).toBe(empty);
    expect(hex(merkleRoot([]))).toBe(empty);
  });

  it.each(LARGE_SIZES)('contiguous form, n = %i', (n) => {
    expect(hex(merkleRoot(LARGE_LEAVES.subarray(0, 32 * n)))).toBe(hex(largeRoots().get(n)!));
  });

  it.each(LARGE_SIZES)('array form, n = %i', (n) => {
    expect(hex(merkleRoot(largeLeafArray().slice(0, n)))).toBe(hex(largeRoots().get(n)!));
  });

  it('accepts Buffers and unaligned views; does not modify the caller\'s leaves', () => {
    const n = R + 3;
    const backing = new Uint8Array(32 * n + 5);
    backing.set(LARGE_LEAVES.subarray(0, 32 * n), 5);
    const view = backing.subarray(5);
    const copy = new Uint8Array(view);
    const expected = hex(fastMerkleRoots(LARGE_LEAVES, [n]).get(n)!);
    expect(hex(merkleRoot(view))).toBe(expected);
    expect(hex(merkleRoot(Buffer.from(view)))).toBe(expected);
    const arrayForm = asHashArray(view).map((h, i) => (i % 2 ? Buffer.from(h) : h));
    expect(hex(merkleRoot(arrayForm))).toBe(expected);
    expect(Buffer.compare(view, copy), 'leaves modified').toBe(0);
  });

  it('a root depends on leaf order and on every leaf', () => {
    const n = 2 * R + 1;
    const leaves = new Uint8Array(LARGE_LEAVES.subarray(0, 32 * n));
    const root = hex(merkleRoot(leaves));
    for (const i of [0, R - 1, R, 2 * R]) {
      const changed = new Uint8Array(leaves);
      changed[32 * i + 31]! ^= 1;
      expect(hex(merkleRoot(changed)), `leaf ${i}`).not.toBe(root);
      expect(hex(merkleRoot(changed))).toBe(hex(fastMerkleRoots(changed, [n]).get(n)!));
    }
    const swapped = asHashArray(leaves);
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(hex(merkleRoot(swapped))).not.toBe(root);
    expect(hex(merkleRoot(leaves))).toBe(root);
    expect(hashAt(leaves, 0)).toEqual(hashAt(LARGE_LEAVES, 0));
  });
});
