// Proof checking (RFC 9162 §2.1.3.2 inclusion, §2.1.4.2 consistency): the published vectors,
// corrupted proofs named after the corruption as transparency-dev/merkle names them (each must be
// rejected with false, never a throw), the sizes an inclusion proof cannot tell apart, indices and
// sizes up to 2^53 − 1 against a BigInt reference, and the typed errors of rootFrom… / check….
import { describe, expect, it } from 'vitest';
import {
  MerkleTree, RootMismatchError, checkConsistency, checkInclusion, isAuditError, rootFromConsistencyProof,
  rootFromInclusionProof, verifyConsistency, verifyInclusion, type AuditError,
} from '@tenantry/audit';
import {
  EMPTY_ROOT_HEX, Rfc9162Reference, expectAuditError, fromHex, hex, leafData, loadRfc6962Vectors, loose, randomBytes,
  refHashLeaf, refRootFromInclusionProof, refRootsFromConsistencyProof, rng,
} from '../helpers/audit.js';

// Source: test/vectors/rfc6962.json — "RFC 6962 reference vectors as published in
// transparency-dev/merkle (testonly/constants.go, proof/verify_test.go)".
const VECTORS = loadRfc6962Vectors();
const VECTOR_LEAF_HASHES = VECTORS.leaf_inputs_hex.map((h) => refHashLeaf(fromHex(h)));
const VECTOR_ROOTS = VECTORS.roots_by_size_hex.map(fromHex);

const EMPTY_ROOT = fromHex(EMPTY_ROOT_HEX);
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000000000000000000');

const looseVerifyInclusion = loose(verifyInclusion);
const looseVerifyConsistency = loose(verifyConsistency);

/** Copies of the proof's elements, so a probe can change them without touching the original. */
const copyProof = (proof: readonly Uint8Array[]): Uint8Array[] => proof.map((p) => p.slice());

function flipBit(proof: readonly Uint8Array[], element: number, bit: number): Uint8Array[] {
  const out = copyProof(proof);
  out[element]![bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** Runs a verify call that must answer false without throwing; returns a description otherwise. */
function mustReject(name: string, call: () => boolean): string | undefined {
  try {
    const ok = call();
    return ok === false ? undefined : `${name}: returned ${String(ok)}`;
  } catch (e) {
    return `${name}: threw ${String(e)}`;
  }
}

const N = 64;
const LEAVES = Array.from({ length: N }, (_, i) => leafData(i, 0xabc));
const REF = new Rfc9162Reference(LEAVES);
const TREE = new MerkleTree();
TREE.appendMany(LEAVES);

/** Numbers that are not valid indices or sizes anywhere. */
const NOT_COUNTS: [string, unknown][] = [
  ['negative', -1], ['fractional', 0.5], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity],
  ['2^53', 2 ** 53], ['2^64', 2 ** 64], ['a numeric string', '1'], ['a bigint', 1n], ['null', null], ['undefined', undefined],
  ['a Number object', new Number(1)], ['a symbol', Symbol('x')],
];

/** Proof containers that are not arrays, and elements that are not 32-byte Uint8Arrays. */
const NOT_ARRAYS = (proof: readonly Uint8Array[]): [string, unknown][] => [
  ['null', null], ['undefined', undefined], ['a string', proof.map(hex).join('')], ['the elements concatenated', Buffer.concat(proof)],
  ['an array-like object', { ...proof, length: proof.length }], ['a Set', new Set(proof)], ['a number', 3],
];
const NOT_ELEMENTS: [string, unknown][] = [
  ['element-31-bytes', new Uint8Array(31)], ['element-33-bytes', new Uint8Array(33)], ['empty element', new Uint8Array(0)],
  ['a hex string', 'ab'.repeat(32)], ['a number array', Array.from({ length: 32 }, () => 1)], ['a Uint16Array', new Uint16Array(16)],
  ['a DataView', new DataView(new ArrayBuffer(32))], ['an ArrayBuffer', new ArrayBuffer(32)], ['null', null], ['undefined', undefined],
];

/** An array proof whose every access throws. */
const hostileProof = (): unknown => new Proxy([], { get() { throw new Error('hostile proof'); } });

describe('published vectors', () => {
  it('every published inclusion proof verifies, and rootFromInclusionProof gives the published root', () => {
    for (const { index, size, proof } of VECTORS.inclusion) {
      const p = proof.map(fromHex);
      expect(verifyInclusion(VECTOR_LEAF_HASHES[index]!, index, size, p, VECTOR_ROOTS[size]!), `leaf ${index} of ${size}`).toBe(true);
      expect(hex(rootFromInclusionProof(VECTOR_LEAF_HASHES[index]!, index, size, p))).toBe(VECTORS.roots_by_size_hex[size]);
      expect(() => checkInclusion(VECTOR_LEAF_HASHES[index]!, index, size, p, VECTOR_ROOTS[size]!)).not.toThrow();
    }
  });

  it('every published consistency proof verifies, and rootFromConsistencyProof gives the published second root', () => {
    for (const { size1, size2, proof } of VECTORS.consistency) {
      const p = proof.map(fromHex);
      expect(verifyConsistency(size1, size2, VECTOR_ROOTS[size1]!, VECTOR_ROOTS[size2]!, p), `${size1} → ${size2}`).toBe(true);
      expect(hex(rootFromConsistencyProof(size1, size2, VECTOR_ROOTS[size1]!, p))).toBe(VECTORS.roots_by_size_hex[size2]);
      expect(() => checkConsistency(size1, size2, VECTOR_ROOTS[size1]!, VECTOR_ROOTS[size2]!, p)).not.toThrow();
    }
  });

  it('the empty-proof cases of transparency-dev/merkle', () => {
    // A tree of one leaf: the root is the leaf hash, the proof empty.
    expect(verifyInclusion(VECTOR_LEAF_HASHES[0]!, 0, 1, [], VECTOR_ROOTS[1]!)).toBe(true);
    // size1 = size2: empty proof, equal roots.
    for (let n = 0; n < VECTOR_ROOTS.length; n++) expect(verifyConsistency(n, n, VECTOR_ROOTS[n]!, VECTOR_ROOTS[n]!, [])).toBe(true);
    // size1 = 0: empty proof, from the empty tree to any tree.
    for (let n = 0; n < VECTOR_ROOTS.length; n++) expect(verifyConsistency(0, n, EMPTY_ROOT, VECTOR_ROOTS[n]!, [])).toBe(true);
    expect(hex(VECTOR_ROOTS[0]!)).toBe(EMPTY_ROOT_HEX);
  });
});

describe('inclusion: each corruption is rejected with false, never a throw', () => {
  /** The probes of one genuine (index, size) proof, named after the corruption. */
  function inclusionProbes(index: number, size: number, allBits: boolean): [string, () => boolean][] {
    const leaf = REF.leafHashes[index]!;
    const root = REF.root(size);
    const proof = TREE.inclusionProof(index, size);
    const v = (l: unknown, i: unknown, s: unknown, p: unknown, r: unknown) => () => looseVerifyInclusion(l, i, s, p, r);
    const probes: [string, () => boolean][] = [];
    const add = (name: string, f: () => boolean) => probes.push([name, f]);
    for (let other = 0; other < size; other++) if (other !== index) add(`wrong-index ${other}`, v(leaf, other, size, proof, root));
    add('wrong-index size (index ≥ size)', v(leaf, size, size, proof, root));
    add('wrong-index size + 7', v(leaf, size + 7, size, proof, root));
    add('wrong-size-larger (size × 2)', v(leaf, index, size * 2, proof, root));
    if (size > 1) add('wrong-size-smaller (size ÷ 2)', v(leaf, index, Math.floor(size / 2), proof, root));
    add('size-0', v(leaf, index, 0, proof, root));
    add('wrong-leaf', v(refHashLeaf(leafData(index + 1000, 0xabc)), index, size, proof, root));
    add('wrong-leaf (leaf data, not its hash)', v(LEAVES[index], index, size, proof, root));
    add('wrong-root (empty tree)', v(leaf, index, size, proof, EMPTY_ROOT));
    add('wrong-root (another hash)', v(leaf, index, size, proof, SOME_HASH));
    add('wrong-root (size − 1)', v(leaf, index, size, proof, REF.root(size - 1)));
    add('extended-proof (trailing root)', v(leaf, index, size, [...proof, root], root));
    add('extended-proof (trailing hash)', v(leaf, index, size, [...proof, SOME_HASH], root));
    add('trailing-garbage (empty element)', v(leaf, index, size, [...proof, new Uint8Array(0)], root));
    add('preceding-garbage (empty element)', v(leaf, index, size, [new Uint8Array(0), ...proof], root));
    add('preceding-root', v(leaf, index, size, [root, ...proof], root));
    for (let i = 0; i < proof.length; i++) {
      add(`modified-proof-bit proof[${i}] bit 3`, v(leaf, index, size, flipBit(proof, i, 3), root));
      add(`element-31-bytes proof[${i}]`, v(leaf, index, size, proof.map((p, j) => (j === i ? p.subarray(1) : p)), root));
      add(`element-33-bytes proof[${i}]`, v(leaf, index, size, proof.map((p, j) => (j === i ? Uint8Array.of(...p, 0) : p)), root));
    }
    if (allBits && proof.length > 0) {
      const e = (index + size) % proof.length;
      for (let bit = 0; bit < 256; bit++) add(`modified-proof-bit proof[${e}] bit ${bit}`, v(leaf, index, size, flipBit(proof, e, bit), root));
    }
    if (proof.length > 0) {
      add('truncated-proof (last removed)', v(leaf, index, size, proof.slice(0, -1), root));
      add('truncated-proof (first removed)', v(leaf, index, size, proof.slice(1), root));
      add('empty proof', v(leaf, index, size, [], root));
      add('reversed proof', proof.length > 1 ? v(leaf, index, size, [...proof].reverse(), root) : v(leaf, index, size, [SOME_HASH], root));
    }
    if (proof.length > 1) add('inserted-component', v(leaf, index, size, [proof[0], SOME_HASH, ...proof.slice(1)], root));
    for (const [what, p] of NOT_ARRAYS(proof)) add(`non-array-proof (${what})`, v(leaf, index, size, p, root));
    add('non-array-proof (hostile proxy)', v(leaf, index, size, hostileProof(), root));
    const at = proof.length > 0 ? (index * 7) % proof.length : 0;
    for (const [what, el] of NOT_ELEMENTS) {
      const bad = [...proof] as unknown[];
      if (proof.length > 0) bad[at] = el;
      else bad.push(el);
      add(`non-Uint8Array-element proof[${at}] (${what})`, v(leaf, index, size, bad, root));
    }
    add('sparse proof (a hole)', v(leaf, index, size, proof.length > 0 ? (() => { const s = [...proof]; delete s[at]; return s; })() : new Array(1), root));
    for (const [what, n] of NOT_COUNTS) {
      add(`index ${what}`, v(leaf, n, size, proof, root));
      add(`size ${what}`, v(leaf, index, n, proof, root));
    }
    add('leaf 31 bytes', v(leaf.subarray(1), index, size, proof, root));
    add('leaf 33 bytes', v(Uint8Array.of(...leaf, 0), index, size, proof, root));
    add('leaf a hex string', v(hex(leaf), index, size, proof, root));
    add('root 31 bytes', v(leaf, index, size, proof, root.subarray(1)));
    add('root 33 bytes', v(leaf, index, size, proof, Uint8Array.of(...root, 0)));
    add('root a hex string', v(leaf, index, size, proof, hex(root)));
    add('root undefined', v(leaf, index, size, proof, undefined));
    return probes;
  }

  it(`every (index, size) up to ${N} leaves: the genuine proof verifies, every probe is rejected`, () => {
    const failures: string[] = [];
    let probes = 0;
    for (let size = 1; size <= N; size++) {
      for (let index = 0; index < size; index++) {
        const proof = TREE.inclusionProof(index, size);
        if (!verifyInclusion(REF.leafHashes[index]!, index, size, proof, REF.root(size))) failures.push(`genuine (${index}, ${size})`);
        for (const [name, call] of inclusionProbes(index, size, size <= 16)) {
          probes++;
          const f = mustReject(`(${index}, ${size}) ${name}`, call);
          if (f) failures.push(f);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(100_000);
  });

  it('a genuine proof still verifies after all of that (the probes did not change it)', () => {
    const proof = TREE.inclusionProof(37, 61);
    const before = proof.map(hex);
    for (const [, call] of inclusionProbes(37, 61, true)) call();
    expect(proof.map(hex)).toEqual(before);
    expect(verifyInclusion(REF.leafHashes[37]!, 37, 61, proof, REF.root(61))).toBe(true);
  });
});

describe('inclusion: a proof checks for another (index, size) exactly when the path has the same shape', () => {
  // RFC 9162 §2.1.3.2 folds the proof by the shape of the path alone, so the size is bound by the
  // trusted root, not by the proof: leaf 0's proof in a tree of 5 leaves also checks as a proof in
  // a tree of 6 against the root of 5. Different indices in one tree always have different shapes,
  // and doubling or halving the size changed the shape in every case checked (the transparency-dev
  // probes above use those).
  it('for every (index, size) up to 40 leaves, against every index of the size and every size up to 2·size + 2', () => {
    const unexpected: string[] = [];
    let accepted = 0;
    for (let size = 1; size <= 40; size++) {
      for (let index = 0; index < size; index++) {
        const proof = TREE.inclusionProof(index, size);
        const root = REF.root(size);
        const shape = Rfc9162Reference.pathShape(index, size).join();
        const probe = (i: number, s: number) => {
          const same = i < s && Rfc9162Reference.pathShape(i, s).join() === shape;
          const ok = verifyInclusion(REF.leafHashes[index]!, i, s, proof, root);
          if (ok !== same) unexpected.push(`(${index}, ${size}) as (${i}, ${s}): ${ok}`);
          if (ok && (i !== index || s !== size)) accepted++;
        };
        for (let i = 0; i < size; i++) probe(i, size);
        for (let s = 1; s <= 2 * size + 2; s++) probe(index, s);
      }
    }
    expect(unexpected).toEqual([]);
    expect(accepted).toBeGreaterThan(0); // the property is real, not vacuous
  });
});

describe('consistency: each corruption is rejected with false, never a throw', () => {
  function consistencyProbes(size1: number, size2: number, allBits: boolean): [string, () => boolean][] {
    const root1 = REF.root(size1);
    const root2 = REF.root(size2);
    const proof = TREE.consistencyProof(size1, size2);
    const v = (s1: unknown, s2: unknown, r1: unknown, r2: unknown, p: unknown) => () => looseVerifyConsistency(s1, s2, r1, r2, p);
    const probes: [string, () => boolean][] = [];
    const add = (name: string, f: () => boolean) => probes.push([name, f]);
    for (const s1 of new Set([size1 - 1, size1 + 1, size1 ^ 2])) add(`wrong-size1 ${s1}`, v(s1, size2, root1, root2, proof));
    if (size1 !== size2) add('swapped-sizes', v(size2, size1, root1, root2, proof));
    if (hex(root1) !== hex(root2)) add('swapped-roots', v(size1, size2, root2, root1, proof));
    add('wrong-root1 (another hash)', v(size1, size2, SOME_HASH, root2, proof));
    if (size1 > 0) add('wrong-root1 (empty tree)', v(size1, size2, EMPTY_ROOT, root2, proof));
    // The empty tree is a prefix of every tree: from size1 = 0 nothing constrains size2 or root2
    // (see 'the empty-proof cases' below), so these probes apply from size1 = 1 on.
    if (size1 > 0 || size2 === 0) {
      if (size2 * 2 !== size2) add('wrong-size2 (size2 × 2)', v(size1, size2 * 2, root1, root2, proof));
      if (Math.floor(size2 / 2) !== size2) add('wrong-size2 (size2 ÷ 2)', v(size1, Math.floor(size2 / 2), root1, root2, proof));
      add('wrong-root2 (another hash)', v(size1, size2, root1, SOME_HASH, proof));
      if (size2 > 0) add('wrong-root2 (empty tree)', v(size1, size2, root1, EMPTY_ROOT, proof));
      add('wrong-root2 (size2 + 1)', v(size1, size2, root1, REF.root(size2 + 1), proof));
    }
    add('extended-proof (trailing root1)', v(size1, size2, root1, root2, [...proof, root1]));
    add('extended-proof (trailing root2)', v(size1, size2, root1, root2, [...proof, root2]));
    add('trailing-garbage (empty element)', v(size1, size2, root1, root2, [...proof, new Uint8Array(0)]));
    add('preceding-garbage (empty element)', v(size1, size2, root1, root2, [new Uint8Array(0), ...proof]));
    add('preceding-root1', v(size1, size2, root1, root2, [root1, ...proof]));
    add('preceding-root2', v(size1, size2, root1, root2, [root2, ...proof]));
    if (proof.length > 0) {
      add('preceding proof[0]', v(size1, size2, root1, root2, [proof[0], ...proof]));
      add('empty proof', v(size1, size2, root1, root2, []));
      add('truncated-proof (last removed)', v(size1, size2, root1, root2, proof.slice(0, -1)));
      add('truncated-proof (first removed)', v(size1, size2, root1, root2, proof.slice(1)));
      for (let i = 0; i < proof.length; i++) {
        add(`modified-proof-bit proof[${i}] bit 4`, v(size1, size2, root1, root2, flipBit(proof, i, 4)));
        add(`element-31-bytes proof[${i}]`, v(size1, size2, root1, root2, proof.map((p, j) => (j === i ? p.subarray(1) : p))));
        add(`element-33-bytes proof[${i}]`, v(size1, size2, root1, root2, proof.map((p, j) => (j === i ? Uint8Array.of(...p, 0) : p))));
      }
      if (allBits) {
        const e = (size1 + size2) % proof.length;
        for (let bit = 0; bit < 256; bit++) add(`modified-proof-bit proof[${e}] bit ${bit}`, v(size1, size2, root1, root2, flipBit(proof, e, bit)));
      }
    }
    if (proof.length > 1) add('reversed proof', v(size1, size2, root1, root2, [...proof].reverse()));
    if (proof.length > 1) add('inserted-component', v(size1, size2, root1, root2, [proof[0], SOME_HASH, ...proof.slice(1)]));
    for (const [what, p] of NOT_ARRAYS(proof)) add(`non-array-proof (${what})`, v(size1, size2, root1, root2, p));
    add('non-array-proof (hostile proxy)', v(size1, size2, root1, root2, hostileProof()));
    for (const [what, el] of NOT_ELEMENTS) {
      const bad = [...proof] as unknown[];
      const at = proof.length > 0 ? size2 % proof.length : 0;
      bad[at] = el;
      add(`non-Uint8Array-element proof[${at}] (${what})`, v(size1, size2, root1, root2, bad));
    }
    for (const [what, n] of NOT_COUNTS) {
      add(`size1 ${what}`, v(n, size2, root1, root2, proof));
      add(`size2 ${what}`, v(size1, n, root1, root2, proof));
    }
    const badRoots = (r: Uint8Array): [string, unknown][] => [
      ['31 bytes', r.subarray(1)], ['33 bytes', Uint8Array.of(...r, 0)], ['a hex string', hex(r)], ['undefined', undefined],
    ];
    for (const [what, r] of badRoots(root1)) add(`root1 ${what}`, v(size1, size2, r, root2, proof));
    for (const [what, r] of badRoots(root2)) add(`root2 ${what}`, v(size1, size2, root1, r, proof));
    return probes;
  }

  it(`every (size1, size2) up to ${N} leaves: the genuine proof verifies, every probe is rejected`, () => {
    const failures: string[] = [];
    let probes = 0;
    for (let size2 = 0; size2 <= N - 1; size2++) {
      for (let size1 = 0; size1 <= size2; size1++) {
        const proof = TREE.consistencyProof(size1, size2);
        if (!verifyConsistency(size1, size2, REF.root(size1), REF.root(size2), proof)) failures.push(`genuine (${size1}, ${size2})`);
        for (const [name, call] of consistencyProbes(size1, size2, size2 <= 16)) {
          probes++;
          const f = mustReject(`(${size1}, ${size2}) ${name}`, call);
          if (f) failures.push(f);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThan(100_000);
  });

  it('the empty-proof cases reject any other proof and, for size1 = 0, any root1 but SHA-256("")', () => {
    const root5 = REF.root(5);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root5, [])).toBe(true);
    // Inherent, as in transparency-dev/merkle: the empty tree is consistent with every tree, so
    // the empty proof from size 0 says nothing about size2 or root2.
    expect(verifyConsistency(0, 5, EMPTY_ROOT, SOME_HASH, [])).toBe(true);
    expect(verifyConsistency(0, 10, EMPTY_ROOT, root5, [])).toBe(true);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, root5, [root5])).toBe(false);
    expect(verifyConsistency(0, 5, SOME_HASH, root5, [])).toBe(false);
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(0, 0, SOME_HASH, SOME_HASH, [])).toBe(false);
    expect(verifyConsistency(5, 5, root5, root5, [])).toBe(true);
    expect(verifyConsistency(5, 5, root5, root5, [root5])).toBe(false);
    expect(verifyConsistency(5, 5, root5, REF.root(4), [])).toBe(false);
  });
});

describe('indices and sizes up to 2^53 − 1, against a BigInt reference', () => {
  const next = rng(0xb16b16);
  const hash = () => randomBytes(32, next());
  const hugeCount = (): number => {
    // mostly near 2^53 and powers of two, where rounding would show first
    const kind = next() % 4;
    const hi = next() % 2 ** 21;
    const lo = next();
    const x = hi * 2 ** 32 + lo;
    if (kind === 0) return Number.MAX_SAFE_INTEGER - (next() % 1000);
    if (kind === 1) return 2 ** (1 + (next() % 52)) + (next() % 3) - 1;
    return Math.max(1, x);
  };

  it('rootFromInclusionProof equals the reference for random proofs of the right length; the result verifies', () => {
    const wrong: string[] = [];
    for (let t = 0; t < 300; t++) {
      const size = hugeCount();
      const index = t % 3 === 0 ? size - 1 : Math.floor((next() / 2 ** 32) * size);
      const leaf = hash();
      let proof: Uint8Array[] | undefined;
      let want: Uint8Array | undefined;
      for (let len = 0; len <= 64 && want === undefined; len++) {
        proof = Array.from({ length: len }, hash);
        want = refRootFromInclusionProof(leaf, BigInt(index), BigInt(size), proof);
      }
      expect(want, `a proof length for (${index}, ${size})`).toBeDefined();
      const got = rootFromInclusionProof(leaf, index, size, proof!);
      if (hex(got) !== hex(want!)) wrong.push(`(${index}, ${size})`);
      if (!verifyInclusion(leaf, index, size, proof!, want!)) wrong.push(`verify (${index}, ${size})`);
      if (verifyInclusion(leaf, index, size, [...proof!, SOME_HASH], want!)) wrong.push(`extended (${index}, ${size})`);
      if (index + 1 < size && verifyInclusion(leaf, index + 1, size, proof!, want!)) wrong.push(`index + 1 (${index}, ${size})`);
    }
    expect(wrong).toEqual([]);
  });

  it('rootFromConsistencyProof equals the reference for random proofs of the right length; the result verifies', () => {
    const wrong: string[] = [];
    for (let t = 0; t < 300; t++) {
      const size2 = Math.max(2, hugeCount());
      let power = 1;
      while (power * 2 < size2) power *= 2;
      const size1 = t % 4 === 0 ? power : 1 + Math.floor((next() / 2 ** 32) * (size2 - 1));
      const seed = hash();
      let proof: Uint8Array[] | undefined;
      let want: [Uint8Array, Uint8Array] | undefined;
      for (let len = 1; len <= 130 && want === undefined; len++) {
        proof = Array.from({ length: len }, hash);
        want = refRootsFromConsistencyProof(BigInt(size1), BigInt(size2), seed, proof);
      }
      expect(want, `a proof length for (${size1}, ${size2})`).toBeDefined();
      const [root1, root2] = want!;
      if (hex(rootFromConsistencyProof(size1, size2, root1, proof!)) !== hex(root2)) wrong.push(`(${size1}, ${size2})`);
      if (!verifyConsistency(size1, size2, root1, root2, proof!)) wrong.push(`verify (${size1}, ${size2})`);
      if (verifyConsistency(size1, size2, root2, root1, proof!)) wrong.push(`swapped (${size1}, ${size2})`);
    }
    expect(wrong).toEqual([]);
  });

  it('2^53 and beyond are rejected: false from verify…, INVALID_INDEX / INVALID_SIZE from rootFrom…', () => {
    const leaf = hash();
    expect(verifyInclusion(leaf, 2 ** 53, 2 ** 53 + 2, [], leaf)).toBe(false);
    expect(verifyInclusion(leaf, 0, 2 ** 53, Array.from({ length: 53 }, hash), leaf)).toBe(false);
    expectAuditError(() => rootFromInclusionProof(leaf, 0, 2 ** 53, []), 'INVALID_SIZE', 'size');
    expectAuditError(() => rootFromInclusionProof(leaf, 2 ** 53, Number.MAX_SAFE_INTEGER, []), 'INVALID_INDEX', 'index');
    expectAuditError(() => rootFromConsistencyProof(1, 2 ** 53, leaf, []), 'INVALID_SIZE', 'size2');
    expect(verifyConsistency(1, 2 ** 60, leaf, leaf, [leaf])).toBe(false);
  });
});

describe('rootFrom… and check…: typed errors', () => {
  const leaf = REF.leafHashes[5]!;
  const proof = TREE.inclusionProof(5, 13);
  const root = REF.root(13);
  const rootFromInclusion = loose(rootFromInclusionProof);
  const rootFromConsistency = loose(rootFromConsistencyProof);
  const cproof = TREE.consistencyProof(6, 13);
  const root6 = REF.root(6);

  it.each([
    ['leafHash 31 bytes', () => rootFromInclusion(leaf.subarray(1), 5, 13, proof), 'INVALID_LENGTH', 'leafHash'],
    ['leafHash a string', () => rootFromInclusion(hex(leaf), 5, 13, proof), 'INVALID_BYTES', 'leafHash'],
    ['size negative', () => rootFromInclusion(leaf, 5, -13, proof), 'INVALID_SIZE', 'size'],
    ['size NaN', () => rootFromInclusion(leaf, 5, NaN, proof), 'INVALID_SIZE', 'size'],
    ['size 0', () => rootFromInclusion(leaf, 0, 0, []), 'INVALID_INDEX', 'index'],
    ['index = size', () => rootFromInclusion(leaf, 13, 13, proof), 'INVALID_INDEX', 'index'],
    ['index fractional', () => rootFromInclusion(leaf, 5.5, 13, proof), 'INVALID_INDEX', 'index'],
    ['index negative', () => rootFromInclusion(leaf, -1, 13, proof), 'INVALID_INDEX', 'index'],
    ['proof not an array', () => rootFromInclusion(leaf, 5, 13, Buffer.concat(proof)), 'INVALID_PROOF', 'proof'],
    ['proof[2] 33 bytes', () => rootFromInclusion(leaf, 5, 13, proof.map((p, i) => (i === 2 ? Uint8Array.of(...p, 1) : p))), 'INVALID_LENGTH', 'proof[2]'],
    ['proof[1] a string', () => rootFromInclusion(leaf, 5, 13, proof.map((p, i) => (i === 1 ? hex(p) : p))), 'INVALID_BYTES', 'proof[1]'],
    ['truncated proof', () => rootFromInclusion(leaf, 5, 13, proof.slice(1)), 'INVALID_PROOF', 'proof'],
    ['extended proof', () => rootFromInclusion(leaf, 5, 13, [...proof, root]), 'INVALID_PROOF', 'proof'],
    ['consistency: size2 fractional', () => rootFromConsistency(6, 13.5, root6, cproof), 'INVALID_SIZE', 'size2'],
    ['consistency: size1 > size2', () => rootFromConsistency(14, 13, root6, cproof), 'INVALID_SIZE', 'size1'],
    ['consistency: size1 = 0', () => rootFromConsistency(0, 13, root6, []), 'INVALID_SIZE', 'size1'],
    ['consistency: root1 31 bytes', () => rootFromConsistency(6, 13, root6.subarray(1), cproof), 'INVALID_LENGTH', 'root1'],
    ['consistency: proof a string', () => rootFromConsistency(6, 13, root6, 'proof'), 'INVALID_PROOF', 'proof'],
    ['consistency: proof[0] null', () => rootFromConsistency(6, 13, root6, [null, ...cproof.slice(1)]), 'INVALID_BYTES', 'proof[0]'],
    ['consistency: truncated proof', () => rootFromConsistency(6, 13, root6, cproof.slice(0, -1)), 'INVALID_PROOF', 'proof'],
    ['consistency: size1 = size2 with a proof', () => rootFromConsistency(13, 13, root, [root]), 'INVALID_PROOF', 'proof'],
    ['consistency: the proof does not reproduce root1', () => rootFromConsistency(6, 13, REF.root(5), cproof), 'ROOT_MISMATCH', 'root1'],
  ] as const)('%s', (_name, call, code, field) => {
    expectAuditError(call, code, field);
  });

  it('rootFromConsistencyProof for size1 = size2 returns a copy of root1', () => {
    const r = rootFromConsistencyProof(13, 13, root, []);
    expect(hex(r)).toBe(hex(root));
    r.fill(0);
    expect(hex(root)).toBe(hex(REF.root(13)));
  });

  function expectMismatch(call: () => unknown, field: string, expected: Uint8Array, computed: Uint8Array): void {
    const e = expectAuditError(call, 'ROOT_MISMATCH', field) as AuditError & RootMismatchError;
    expect(e).toBeInstanceOf(RootMismatchError);
    expect(isAuditError(e)).toBe(true);
    expect(hex(e.expected)).toBe(hex(expected));
    expect(hex(e.computed)).toBe(hex(computed));
    expect(e.message).toContain(hex(expected));
    expect(e.message).toContain(hex(computed));
  }

  it('checkInclusion: returns for the right root, RootMismatchError with both roots for another', () => {
    expect(checkInclusion(leaf, 5, 13, proof, root)).toBeUndefined();
    expectMismatch(() => checkInclusion(leaf, 5, 13, proof, REF.root(12)), 'root', REF.root(12), root);
    expectMismatch(() => checkInclusion(REF.leafHashes[4]!, 5, 13, proof, root), 'root', root, rootFromInclusionProof(REF.leafHashes[4]!, 5, 13, proof));
    expectAuditError(() => checkInclusion(leaf, 5, 13, proof.slice(1), root), 'INVALID_PROOF', 'proof');
    expectAuditError(() => loose(checkInclusion)(leaf, 5, 13, proof, 'root'), 'INVALID_BYTES', 'root');
  });

  it('checkConsistency: returns for the right roots, RootMismatchError naming the root that does not match', () => {
    const root13 = REF.root(13);
    expect(checkConsistency(6, 13, root6, root13, cproof)).toBeUndefined();
    expect(checkConsistency(0, 13, EMPTY_ROOT, root13, [])).toBeUndefined();
    expectMismatch(() => checkConsistency(6, 13, root6, REF.root(12), cproof), 'root2', REF.root(12), root13);
    // size1 = 6 is not a power of two, so the proof carries what root1 must be.
    expectMismatch(() => checkConsistency(6, 13, REF.root(7), root13, cproof), 'root1', REF.root(7), root6);
    expectMismatch(() => checkConsistency(0, 13, root6, root13, []), 'root1', root6, EMPTY_ROOT);
    expectMismatch(() => checkConsistency(13, 13, root13, root6, []), 'root2', root6, root13);
    expectAuditError(() => checkConsistency(0, 13, EMPTY_ROOT, root13, [root13]), 'INVALID_PROOF', 'proof');
    expectAuditError(() => checkConsistency(7, 6, root6, root13, []), 'INVALID_SIZE', 'size1');
  });
});

describe('verify… never throws for garbage', () => {
  it('any mix of wrong types and values in every argument gives false', () => {
    const h = REF.leafHashes[0]!;
    const values: unknown[] = [
      undefined, null, 0, 1, -1, 0.5, NaN, Infinity, 2 ** 53, 1n, '', '0', 'ab'.repeat(32), {}, [], [h], [[h]], h, h.subarray(1),
      new Uint8Array(33), Symbol('s'), () => h, new Proxy({}, { get() { throw new Error('x'); } }), hostileProof(), new Map(),
      Object.create(null), new Date(0), Buffer.from(h), [null], [undefined], [h, 7],
    ];
    const next = rng(0xfa11);
    const pick = () => values[next() % values.length];
    const failures: string[] = [];
    for (let t = 0; t < 20_000; t++) {
      const args = [pick(), pick(), pick(), pick(), pick()];
      for (const [name, f] of [['verifyInclusion', looseVerifyInclusion], ['verifyConsistency', looseVerifyConsistency]] as const) {
        try {
          const r = f(...args);
          if (typeof r !== 'boolean') failures.push(`${name} returned ${String(r)}`);
        } catch (e) {
          failures.push(`${name} threw ${String(e)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    // A huge array is refused by its length, before any element is looked at.
    expect(verifyInclusion(h, 0, 2, new Array(10_000_000), h)).toBe(false);
    expect(verifyConsistency(1, 2, h, h, new Array(10_000_000))).toBe(false);
    // Some of those combinations are genuine: a one-leaf tree, an empty consistency proof.
    expect(looseVerifyInclusion(h, 0, 1, [], h)).toBe(true);
    expect(looseVerifyConsistency(1, 1, h, Buffer.from(h), [])).toBe(true);
  });
});
