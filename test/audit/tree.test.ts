// MerkleTree (RFC 9162 §2.1) against the published RFC 6962 vectors and against the plain
// recursive RFC 9162 reference in test/helpers/audit.ts: roots of every past size, every inclusion
// proof and every consistency proof up to 300 leaves; batch appends against one-by-one appends up
// to 10^5 leaves; copies; and every validation path with its code and field.
import { describe, expect, it } from 'vitest';
import {
  MAX_TREE_SIZE, MerkleTree, rootFromConsistencyProof, rootFromInclusionProof, verifyConsistency, verifyInclusion,
} from '@tenantry/audit';
import { fastMerkleRoots } from '../helpers/kernels.js';
import {
  EMPTY_ROOT_HEX, Rfc9162Reference, expectAuditError, fromHex, hex, leafData, loadRfc6962Vectors, loose, randomBytes,
  refHashLeaf, rng,
} from '../helpers/audit.js';

// Source: test/vectors/rfc6962.json — "RFC 6962 reference vectors as published in
// transparency-dev/merkle (testonly/constants.go, proof/verify_test.go)".
const VECTORS = loadRfc6962Vectors();
const VECTOR_LEAVES = VECTORS.leaf_inputs_hex.map(fromHex);

const hexes = (xs: readonly Uint8Array[]): string[] => xs.map(hex);

/** Leaf hashes of leaves 0..n−1 of leafData, contiguous, through the reference. */
function referenceLeafHashes(n: number, seed?: number): Uint8Array {
  const out = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) out.set(refHashLeaf(leafData(i, seed)), 32 * i);
  return out;
}

describe('RFC 6962 published vectors', () => {
  it('the vector file is the transparency-dev/merkle set, with a root for every size', () => {
    expect(VECTORS.source).toContain('transparency-dev/merkle');
    expect(VECTORS.roots_by_size_hex.length).toBe(VECTOR_LEAVES.length + 1);
    expect(VECTORS.inclusion.length).toBeGreaterThan(0);
    expect(VECTORS.consistency.length).toBeGreaterThan(0);
  });

  it('append gives the published root of every size, current and past', () => {
    const tree = new MerkleTree();
    expect(hex(tree.root())).toBe(VECTORS.roots_by_size_hex[0]);
    VECTOR_LEAVES.forEach((d, i) => {
      expect(tree.append(d)).toBe(i);
      expect(tree.size).toBe(i + 1);
      expect(hex(tree.root()), `size ${i + 1}`).toBe(VECTORS.roots_by_size_hex[i + 1]);
    });
    VECTORS.roots_by_size_hex.forEach((root, n) => expect(hex(tree.root(n)), `past size ${n}`).toBe(root));
    VECTOR_LEAVES.forEach((d, i) => expect(hex(tree.leafHash(i))).toBe(hex(refHashLeaf(d))));
  });

  it('appendLeafHash and the batch forms give the same roots', () => {
    const one = new MerkleTree();
    for (const d of VECTOR_LEAVES) one.appendLeafHash(refHashLeaf(d));
    const many = new MerkleTree();
    expect(many.appendMany(VECTOR_LEAVES)).toBe(0);
    const hashes = new MerkleTree();
    expect(hashes.appendLeafHashes(VECTOR_LEAVES.map(refHashLeaf))).toBe(0);
    for (const tree of [one, many, hashes]) {
      VECTORS.roots_by_size_hex.forEach((root, n) => expect(hex(tree.root(n)), `size ${n}`).toBe(root));
    }
  });

  it('inclusion proofs equal the published ones', () => {
    const tree = new MerkleTree();
    tree.appendMany(VECTOR_LEAVES);
    for (const { index, size, proof } of VECTORS.inclusion) {
      expect(hexes(tree.inclusionProof(index, size)), `leaf ${index} of ${size}`).toEqual(proof);
    }
  });

  it('consistency proofs equal the published ones', () => {
    const tree = new MerkleTree();
    tree.appendMany(VECTOR_LEAVES);
    for (const { size1, size2, proof } of VECTORS.consistency) {
      expect(hexes(tree.consistencyProof(size1, size2)), `${size1} → ${size2}`).toEqual(proof);
    }
  });

  it('the size-1 tree, the empty tree and the empty proofs', () => {
    const tree = new MerkleTree();
    expect(hex(tree.root())).toBe(EMPTY_ROOT_HEX);
    expect(tree.consistencyProof(0)).toEqual([]);
    tree.append(VECTOR_LEAVES[0]!);
    expect(hex(tree.root())).toBe(hex(refHashLeaf(VECTOR_LEAVES[0]!)));
    expect(tree.inclusionProof(0)).toEqual([]);
    expect(tree.consistencyProof(0, 1)).toEqual([]);
    expect(tree.consistencyProof(1, 1)).toEqual([]);
  });
});

describe('every root and proof up to 300 leaves, against the recursive RFC 9162 reference', () => {
  const N = 300;
  const leaves = Array.from({ length: N }, (_, i) => leafData(i));
  const ref = new Rfc9162Reference(leaves);
  const tree = new MerkleTree();

  it('root() after each append and root(m) of every past size m', () => {
    const wrong: string[] = [];
    for (let i = 0; i < N; i++) {
      tree.append(leaves[i]!);
      if (hex(tree.root()) !== hex(ref.root(i + 1))) wrong.push(`root() at size ${i + 1}`);
    }
    for (let m = 0; m <= N; m++) if (hex(tree.root(m)) !== hex(ref.root(m))) wrong.push(`root(${m})`);
    for (let i = 0; i < N; i++) if (hex(tree.leafHash(i)) !== hex(ref.leafHashes[i]!)) wrong.push(`leafHash(${i})`);
    expect(wrong).toEqual([]);
    expect(hex(tree.root(0))).toBe(EMPTY_ROOT_HEX);
  });

  it('every inclusion proof PATH(m, D[n]) for 0 ≤ m < n ≤ 300 (45 150), each verifying', () => {
    const wrong: string[] = [];
    let count = 0;
    for (let n = 1; n <= N; n++) {
      const root = ref.root(n);
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusionProof(m, n);
        count++;
        if (hexes(proof).join() !== hexes(ref.path(m, n)).join()) wrong.push(`PATH(${m}, ${n})`);
        if (!verifyInclusion(ref.leafHashes[m]!, m, n, proof, root)) wrong.push(`verify PATH(${m}, ${n})`);
        if (hex(rootFromInclusionProof(ref.leafHashes[m]!, m, n, proof)) !== hex(root)) wrong.push(`rootFrom PATH(${m}, ${n})`);
      }
    }
    expect(count).toBe((N * (N + 1)) / 2);
    expect(wrong).toEqual([]);
  });

  it('every consistency proof PROOF(m, D[n]) for 0 ≤ m ≤ n ≤ 300 (45 451), each verifying', () => {
    const wrong: string[] = [];
    let count = 0;
    for (let n = 0; n <= N; n++) {
      const root2 = ref.root(n);
      for (let m = 0; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        count++;
        if (hexes(proof).join() !== hexes(ref.consistency(m, n)).join()) wrong.push(`PROOF(${m}, ${n})`);
        if (!verifyConsistency(m, n, ref.root(m), root2, proof)) wrong.push(`verify PROOF(${m}, ${n})`);
        if (m > 0 && hex(rootFromConsistencyProof(m, n, ref.root(m), proof)) !== hex(root2)) wrong.push(`rootFrom PROOF(${m}, ${n})`);
      }
    }
    expect(count).toBe(((N + 1) * (N + 2)) / 2);
    expect(wrong).toEqual([]);
  });

  it('default sizes are the current size', () => {
    expect(hexes(tree.inclusionProof(17))).toEqual(hexes(ref.path(17, N)));
    expect(hexes(tree.consistencyProof(17))).toEqual(hexes(ref.consistency(17, N)));
    expect(hex(tree.root())).toBe(hex(tree.root(N)));
  });

  it('proofs of past sizes do not change as the tree grows', () => {
    const grown = new MerkleTree();
    grown.appendMany(leaves.slice(0, 100));
    const before = { root: hex(grown.root(77)), incl: hexes(grown.inclusionProof(40, 77)), cons: hexes(grown.consistencyProof(21, 77)) };
    grown.appendMany(leaves.slice(100));
    expect(hex(grown.root(77))).toBe(before.root);
    expect(hexes(grown.inclusionProof(40, 77))).toEqual(before.incl);
    expect(hexes(grown.consistencyProof(21, 77))).toEqual(before.cons);
  });
});

describe('batch append equals one-by-one append', () => {
  /** Root and proof comparisons between two trees of the same leaves, at the given sizes. */
  function compareTrees(a: MerkleTree, b: MerkleTree, sizes: readonly number[], seed: number): string[] {
    const wrong: string[] = [];
    const next = rng(seed);
    if (a.size !== b.size) wrong.push(`size ${a.size} vs ${b.size}`);
    for (const n of sizes) {
      if (hex(a.root(n)) !== hex(b.root(n))) wrong.push(`root(${n})`);
      if (n === 0) continue;
      const m = next() % n;
      if (hexes(a.inclusionProof(m, n)).join() !== hexes(b.inclusionProof(m, n)).join()) wrong.push(`PATH(${m}, ${n})`);
      const m1 = next() % (n + 1);
      if (hexes(a.consistencyProof(m1, n)).join() !== hexes(b.consistencyProof(m1, n)).join()) wrong.push(`PROOF(${m1}, ${n})`);
      if (hex(a.leafHash(m)) !== hex(b.leafHash(m))) wrong.push(`leafHash(${m})`);
    }
    return wrong;
  }

  const SMALL_SIZES = [
    ...Array.from({ length: 70 }, (_, i) => i), 127, 128, 129, 255, 256, 257, 511, 1023, 1024, 1025, 1500,
    2047, 2048, 2049, 3000, 4095, 4096, 4097,
  ];

  it.each(SMALL_SIZES)('n = %i: appendMany, appendLeafHashes (both forms) and appendLeafHash equal append', (n) => {
    const data = Array.from({ length: n }, (_, i) => leafData(i, n));
    const hashes = referenceLeafHashes(n, n);
    const one = new MerkleTree();
    data.forEach((d, i) => expect(one.append(d)).toBe(i));
    const many = new MerkleTree();
    expect(many.appendMany(data)).toBe(0);
    const contiguous = new MerkleTree();
    expect(contiguous.appendLeafHashes(hashes)).toBe(0);
    const array = new MerkleTree();
    expect(array.appendLeafHashes(Array.from({ length: n }, (_, i) => hashes.subarray(32 * i, 32 * i + 32)))).toBe(0);
    const single = new MerkleTree();
    for (let i = 0; i < n; i++) expect(single.appendLeafHash(hashes.subarray(32 * i, 32 * i + 32))).toBe(i);
    const everySize = Array.from({ length: n + 1 }, (_, i) => i);
    const refRoots = fastMerkleRoots(hashes, everySize);
    const wrong = everySize.filter((m) => hex(one.root(m)) !== hex(refRoots.get(m)!)).map((m) => `one-by-one root(${m})`);
    for (const [name, tree] of [['appendMany', many], ['contiguous', contiguous], ['array', array], ['appendLeafHash', single]] as const) {
      wrong.push(...compareTrees(one, tree, everySize, n).map((w) => `${name}: ${w}`));
    }
    expect(wrong).toEqual([]);
  });

  it('10^5 leaves: append one by one, appendMany in random chunks, appendLeafHashes at once, mixed', () => {
    const n = 100_000;
    const data = Array.from({ length: n }, (_, i) => leafData(i, 0x10));
    const hashes = referenceLeafHashes(n, 0x10);
    const next = rng(0x5e5);

    const one = new MerkleTree();
    for (let i = 0; i < n; i++) one.append(data[i]!);

    const chunked = new MerkleTree();
    for (let at = 0; at < n;) {
      const len = Math.min(n - at, next() % 3000);
      expect(chunked.appendMany(data.slice(at, at + len))).toBe(at);
      at += len;
    }

    const atOnce = new MerkleTree();
    expect(atOnce.appendLeafHashes(hashes)).toBe(0);

    // Mixed: single appends of either kind and batches of either kind, with reads in between.
    const mixed = new MerkleTree();
    for (let at = 0; at < n;) {
      const op = next() % 5;
      const len = Math.min(n - at, 1 + (next() % 700));
      if (op === 0) {
        expect(mixed.append(data[at]!)).toBe(at);
        at += 1;
      } else if (op === 1) {
        expect(mixed.appendLeafHash(hashes.subarray(32 * at, 32 * at + 32))).toBe(at);
        at += 1;
      } else if (op === 2) {
        expect(mixed.appendMany(data.slice(at, at + len))).toBe(at);
        at += len;
      } else if (op === 3) {
        expect(mixed.appendLeafHashes(hashes.subarray(32 * at, 32 * (at + len)))).toBe(at);
        at += len;
      } else if (at > 0) {
        mixed.root(next() % at);
      }
    }

    // Roots of every past size of the batch tree against the independent iterative reference.
    const everySize = Array.from({ length: n + 1 }, (_, i) => i);
    const refRoots = fastMerkleRoots(hashes, everySize);
    const wrongRoots = everySize.filter((m) => hex(atOnce.root(m)) !== hex(refRoots.get(m)!));
    expect(wrongRoots).toEqual([]);

    // Sampled sizes (all powers of two and their neighbours, plus random ones) across the trees.
    const sizes = new Set<number>([n, n - 1, 1, 2, 3]);
    for (let p = 1; p < n; p *= 2) [p - 1, p, p + 1].forEach((s) => sizes.add(s));
    for (let i = 0; i < 400; i++) sizes.add(next() % (n + 1));
    const sampled = [...sizes].filter((s) => s >= 0 && s <= n);
    const wrong = [
      ...compareTrees(atOnce, one, sampled, 1).map((w) => `one-by-one: ${w}`),
      ...compareTrees(atOnce, chunked, sampled, 2).map((w) => `appendMany: ${w}`),
      ...compareTrees(atOnce, mixed, sampled, 3).map((w) => `mixed: ${w}`),
    ];
    expect(wrong).toEqual([]);

    // And proofs at sampled pairs against the recursive reference.
    const ref = new Rfc9162Reference(data);
    for (let i = 0; i < 200; i++) {
      const size = 1 + (next() % n);
      const index = next() % size;
      const size1 = next() % (size + 1);
      expect(hexes(atOnce.inclusionProof(index, size)), `PATH(${index}, ${size})`).toEqual(hexes(ref.path(index, size)));
      expect(hexes(mixed.consistencyProof(size1, size)), `PROOF(${size1}, ${size})`).toEqual(hexes(ref.consistency(size1, size)));
    }
  });

  it('leaves longer than the pending limit, empty leaves and many pending bytes mix with the rest', () => {
    const next = rng(0xb16);
    const data: Uint8Array[] = [];
    const tree = new MerkleTree();
    for (let i = 0; i < 600; i++) {
      const kind = next() % 6;
      const d = kind === 0 ? new Uint8Array(0)
        : kind === 1 ? randomBytes(4000 + (next() % 200), next()) // around the 4096-byte limit
          : kind === 2 ? randomBytes(20_000 + (next() % 20_000), next())
            : randomBytes(next() % 100, next());
      data.push(d);
      if (kind === 3) tree.appendLeafHash(refHashLeaf(d));
      else tree.append(d);
      if (next() % 50 === 0) expect(hex(tree.root()), `root at ${i + 1}`).toBe(hex(new Rfc9162Reference(data).root(i + 1)));
    }
    const ref = new Rfc9162Reference(data);
    const wrong: string[] = [];
    for (let m = 0; m <= data.length; m++) if (hex(tree.root(m)) !== hex(ref.root(m))) wrong.push(`root(${m})`);
    for (let i = 0; i < data.length; i++) if (hex(tree.leafHash(i)) !== hex(ref.leafHashes[i]!)) wrong.push(`leafHash(${i})`);
    expect(wrong).toEqual([]);
  });

  it('an empty batch appends nothing and returns the current size', () => {
    const tree = new MerkleTree();
    tree.append(leafData(0));
    const root = hex(tree.root());
    expect(tree.appendMany([])).toBe(1);
    expect(tree.appendLeafHashes([])).toBe(1);
    expect(tree.appendLeafHashes(new Uint8Array(0))).toBe(1);
    expect(tree.size).toBe(1);
    expect(hex(tree.root())).toBe(root);
  });
});

describe('copies: the tree owns what it stores, the caller what it gets', () => {
  it('changing the caller\'s bytes after an append does not change the tree', () => {
    const small = leafData(1);
    const big = randomBytes(10_000, 7); // hashed at once rather than kept pending
    const hash = refHashLeaf(leafData(2));
    const batch = [leafData(3), leafData(4)];
    const hashes = new Uint8Array(64);
    hashes.set(refHashLeaf(leafData(5)));
    hashes.set(refHashLeaf(leafData(6)), 32);
    const expected = [small, big, leafData(2), leafData(3), leafData(4), leafData(5), leafData(6)].map((d) => hex(refHashLeaf(d)));

    const tree = new MerkleTree();
    tree.append(small);
    tree.append(big);
    tree.appendLeafHash(hash);
    tree.appendMany(batch);
    tree.appendLeafHashes(hashes);
    for (const b of [small, big, hash, hashes, ...batch]) b.fill(0xee);
    expect(Array.from({ length: 7 }, (_, i) => hex(tree.leafHash(i)))).toEqual(expected);
  });

  it('changing a returned root, proof or leaf hash does not change the tree', () => {
    const tree = new MerkleTree();
    tree.appendMany(Array.from({ length: 13 }, (_, i) => leafData(i)));
    const root = tree.root();
    const before = hex(root);
    root.fill(0);
    tree.root(8).fill(0);
    tree.leafHash(3).fill(0);
    for (const p of tree.inclusionProof(3)) p.fill(0);
    for (const p of tree.consistencyProof(5)) p.fill(0);
    expect(hex(tree.root())).toBe(before);
    expect(hex(tree.root(8))).toBe(hex(new Rfc9162Reference(Array.from({ length: 8 }, (_, i) => leafData(i))).root(8)));
    expect(hex(tree.leafHash(3))).toBe(hex(refHashLeaf(leafData(3))));
    expect(verifyInclusion(tree.leafHash(3), 3, 13, tree.inclusionProof(3), tree.root())).toBe(true);
    expect(verifyConsistency(5, 13, tree.root(5), tree.root(), tree.consistencyProof(5))).toBe(true);
  });

  it('accepts Buffers and unaligned views', () => {
    const backing = new Uint8Array(32 * 4 + 3);
    const hashes = referenceLeafHashes(4);
    backing.set(hashes, 3);
    const a = new MerkleTree();
    a.appendLeafHashes(backing.subarray(3));
    const b = new MerkleTree();
    b.appendLeafHashes(Buffer.from(hashes));
    const c = new MerkleTree();
    for (let i = 0; i < 4; i++) c.append(Buffer.from(leafData(i)));
    expect(hex(a.root())).toBe(hex(b.root()));
    expect(hex(c.root())).toBe(hex(b.root()));
  });
});

describe('validation: typed errors naming the argument, tree unchanged', () => {
  const H = refHashLeaf(leafData(0));
  interface Case { name: string; call: (t: MerkleTree) => unknown; code: Parameters<typeof expectAuditError>[1]; field: string }
  const bad = (t: MerkleTree) => ({
    append: loose(t.append.bind(t)),
    appendLeafHash: loose(t.appendLeafHash.bind(t)),
    appendMany: loose(t.appendMany.bind(t)),
    appendLeafHashes: loose(t.appendLeafHashes.bind(t)),
    leafHash: loose(t.leafHash.bind(t)),
    root: loose(t.root.bind(t)),
    inclusionProof: loose(t.inclusionProof.bind(t)),
    consistencyProof: loose(t.consistencyProof.bind(t)),
  });
  const BAD_NUMBERS: [string, unknown][] = [
    ['negative', -1], ['fractional', 1.5], ['NaN', NaN], ['Infinity', Infinity], ['a string', '1'], ['a bigint', 1n],
    ['null', null], ['2^53', 2 ** 53],
  ];
  // The tree under test has 10 leaves.
  const CASES: Case[] = [
    { name: 'append: a string', call: (t) => bad(t).append('leaf'), code: 'INVALID_BYTES', field: 'data' },
    { name: 'append: a number array', call: (t) => bad(t).append([1, 2]), code: 'INVALID_BYTES', field: 'data' },
    { name: 'append: an ArrayBuffer', call: (t) => bad(t).append(new ArrayBuffer(4)), code: 'INVALID_BYTES', field: 'data' },
    { name: 'append: undefined', call: (t) => bad(t).append(undefined), code: 'INVALID_BYTES', field: 'data' },
    { name: 'appendLeafHash: 31 bytes', call: (t) => t.appendLeafHash(H.subarray(1)), code: 'INVALID_LENGTH', field: 'hash' },
    { name: 'appendLeafHash: 33 bytes', call: (t) => t.appendLeafHash(new Uint8Array(33)), code: 'INVALID_LENGTH', field: 'hash' },
    { name: 'appendLeafHash: a hex string', call: (t) => bad(t).appendLeafHash(hex(H)), code: 'INVALID_BYTES', field: 'hash' },
    { name: 'appendLeafHash: a Uint16Array', call: (t) => bad(t).appendLeafHash(new Uint16Array(16)), code: 'INVALID_BYTES', field: 'hash' },
    { name: 'appendMany: not an array', call: (t) => bad(t).appendMany(leafData(1)), code: 'INVALID_ARGUMENT', field: 'data' },
    { name: 'appendMany: data[2] a string', call: (t) => bad(t).appendMany([leafData(1), leafData(2), 'x']), code: 'INVALID_BYTES', field: 'data[2]' },
    { name: 'appendMany: a hole at data[1]', call: (t) => bad(t).appendMany([leafData(1), , leafData(2)]), code: 'INVALID_BYTES', field: 'data[1]' },
    { name: 'appendMany: more than MAX_TREE_SIZE', call: (t) => bad(t).appendMany(new Array(MAX_TREE_SIZE)), code: 'INVALID_SIZE', field: 'data' },
    { name: 'appendLeafHashes: 33 bytes', call: (t) => t.appendLeafHashes(new Uint8Array(33)), code: 'INVALID_LENGTH', field: 'hashes' },
    { name: 'appendLeafHashes: hashes[1] 31 bytes', call: (t) => t.appendLeafHashes([H, H.subarray(1)]), code: 'INVALID_LENGTH', field: 'hashes[1]' },
    { name: 'appendLeafHashes: hashes[0] a number', call: (t) => bad(t).appendLeafHashes([7, H]), code: 'INVALID_BYTES', field: 'hashes[0]' },
    { name: 'appendLeafHashes: a string', call: (t) => bad(t).appendLeafHashes('00'.repeat(32)), code: 'INVALID_BYTES', field: 'hashes' },
    { name: 'appendLeafHashes: more than MAX_TREE_SIZE', call: (t) => bad(t).appendLeafHashes(new Array(MAX_TREE_SIZE)), code: 'INVALID_SIZE', field: 'hashes' },
    { name: 'leafHash: index = size', call: (t) => t.leafHash(10), code: 'INVALID_INDEX', field: 'index' },
    { name: 'root: size > tree size', call: (t) => t.root(11), code: 'INVALID_SIZE', field: 'size' },
    { name: 'inclusionProof: index = size', call: (t) => t.inclusionProof(10), code: 'INVALID_INDEX', field: 'index' },
    { name: 'inclusionProof: index = given size', call: (t) => t.inclusionProof(4, 4), code: 'INVALID_INDEX', field: 'index' },
    { name: 'inclusionProof: size 0', call: (t) => t.inclusionProof(0, 0), code: 'INVALID_INDEX', field: 'index' },
    { name: 'inclusionProof: size > tree size', call: (t) => t.inclusionProof(0, 11), code: 'INVALID_SIZE', field: 'size' },
    { name: 'consistencyProof: size1 > size2', call: (t) => t.consistencyProof(5, 4), code: 'INVALID_SIZE', field: 'size1' },
    { name: 'consistencyProof: size1 > tree size', call: (t) => t.consistencyProof(11), code: 'INVALID_SIZE', field: 'size1' },
    { name: 'consistencyProof: size2 > tree size', call: (t) => t.consistencyProof(1, 11), code: 'INVALID_SIZE', field: 'size2' },
    ...BAD_NUMBERS.flatMap(([what, v]): Case[] => [
      { name: `leafHash: index ${what}`, call: (t) => bad(t).leafHash(v), code: 'INVALID_INDEX', field: 'index' },
      { name: `root: size ${what}`, call: (t) => bad(t).root(v), code: 'INVALID_SIZE', field: 'size' },
      { name: `inclusionProof: index ${what}`, call: (t) => bad(t).inclusionProof(v), code: 'INVALID_INDEX', field: 'index' },
      { name: `inclusionProof: size ${what}`, call: (t) => bad(t).inclusionProof(0, v), code: 'INVALID_SIZE', field: 'size' },
      { name: `consistencyProof: size1 ${what}`, call: (t) => bad(t).consistencyProof(v), code: 'INVALID_SIZE', field: 'size1' },
      { name: `consistencyProof: size2 ${what}`, call: (t) => bad(t).consistencyProof(0, v), code: 'INVALID_SIZE', field: 'size2' },
    ]),
  ];

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const tree = new MerkleTree();
    const data = Array.from({ length: 10 }, (_, i) => leafData(i));
    tree.appendMany(data.slice(0, 7));
    tree.append(data[7]!); // pending leaves too
    tree.append(data[8]!);
    tree.append(data[9]!);
    expectAuditError(() => c.call(tree), c.code, c.field);
    expect(tree.size).toBe(10);
    const ref = new Rfc9162Reference(data);
    expect(hex(tree.root())).toBe(hex(ref.root(10)));
    expect(hexes(tree.inclusionProof(9))).toEqual(hexes(ref.path(9, 10)));
    expect(tree.append(leafData(10))).toBe(10);
  });

  it('an empty tree has no leaf 0', () => {
    const tree = new MerkleTree();
    expectAuditError(() => tree.leafHash(0), 'INVALID_INDEX', 'index');
    expectAuditError(() => tree.inclusionProof(0), 'INVALID_INDEX', 'index');
    expectAuditError(() => tree.root(1), 'INVALID_SIZE', 'size');
    expect(hex(tree.root(0))).toBe(EMPTY_ROOT_HEX);
    expect(tree.consistencyProof(0, 0)).toEqual([]);
  });
});
