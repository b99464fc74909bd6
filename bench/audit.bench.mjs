// @tenantry/audit benchmarks (issue: in-memory RFC 6962 tree, proofs and verification). Each group
// names what it compares against: merkletreejs configured for RFC 6962 (leaves given as
// 0x00-prefixed hashes, a 0x01 concatenator, node:crypto SHA-256) and hand-written JS over
// node:crypto. Every variant's output is checked against the others before anything is timed.
import crypto from 'node:crypto';
import { MerkleTree as MerkleTreeJs } from 'merkletreejs';
import {
  MerkleTree, verifyInclusion, verifyConsistency, rootFromInclusionProof,
} from '@tenantry/audit';
import { kernelInfo, merkleRoot } from '@tenantry/kernels';
import { sameBytes } from './harness.mjs';

const ZERO = Buffer.from([0]);
const ONE = Buffer.from([1]);
const sha256 = (d) => crypto.hash('sha256', d, 'buffer');
const jsHashLeaf = (d) => sha256(Buffer.concat([ZERO, d]));

const PARENT = Buffer.alloc(65);
PARENT[0] = 1;
/** RFC 6962 interior node with node:crypto over one reused buffer (the fastest per-node JS). */
function jsHashChildren(l, r) {
  PARENT.set(l, 1);
  PARENT.set(r, 33);
  return sha256(PARENT);
}

/**
 * The hand-written alternative: a compact range (the stack of complete-subtree roots) over
 * node:crypto, O(log n) per append, the current root only (no past roots, no proofs).
 */
class JsCompactRange {
  hashes = [];
  sizes = [];
  size = 0;
  appendLeafHash(h) {
    let node = h;
    let width = 1;
    while (this.sizes.length > 0 && this.sizes[this.sizes.length - 1] === width) {
      this.sizes.pop();
      node = jsHashChildren(this.hashes.pop(), node);
      width *= 2;
    }
    this.hashes.push(node);
    this.sizes.push(width);
    this.size++;
  }
  append(data) {
    this.appendLeafHash(jsHashLeaf(data));
  }
  root() {
    if (this.hashes.length === 0) return sha256(Buffer.alloc(0));
    let acc = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) acc = jsHashChildren(this.hashes[i], acc);
    return acc;
  }
}

/** RFC 9162 §2.1.3.2 in plain JS over node:crypto (the hand-written verifier). */
function jsVerifyInclusion(leafHash, index, size, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = jsHashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = jsHashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.compare(r, root) === 0;
}

/** RFC 9162 §2.1.4.2 in plain JS over node:crypto. */
function jsVerifyConsistency(size1, size2, root1, root2, proof) {
  if (size1 === size2) return proof.length === 0 && Buffer.compare(root1, root2) === 0;
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0 || size1 > size2) return false;
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0];
  let sr = path[0];
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = jsHashChildren(c, fr);
      sr = jsHashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = jsHashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.compare(fr, root1) === 0 && Buffer.compare(sr, root2) === 0;
}

/** merkletreejs configured for RFC 6962: leaves given as 0x00-prefixed hashes, 0x01 concatenator. */
function merkletreejs(leafHashBuffers) {
  return new MerkleTreeJs(leafHashBuffers, sha256, { concatenator: (bufs) => Buffer.concat([ONE, ...bufs]) });
}

/** n leaves of `bytes` bytes each (views into one buffer), deterministic. */
function leafData(n, bytes) {
  const all = crypto.createHash('sha512').update(`leaves ${n} ${bytes}`).digest();
  const buf = Buffer.allocUnsafe(n * bytes);
  for (let off = 0; off < buf.length; off += 64) {
    all[0] = off & 0xff; all[1] = (off >>> 8) & 0xff; all[2] = (off >>> 16) & 0xff; all[3] = off >>> 24;
    crypto.createHash('sha512').update(all).digest().copy(buf, off);
  }
  return Array.from({ length: n }, (_, i) => buf.subarray(i * bytes, (i + 1) * bytes));
}

/** Deterministic indices in [0, n). */
function indices(count, n, seed) {
  let a = seed >>> 0;
  return Array.from({ length: count }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a % n;
  });
}

export async function groups() {
  const result = [];

  // 1. Appends. 2^16 leaves of 64 bytes (an RFC 8785 audit entry is longer; the leaf hash of
  // 64 bytes + the 0x00 prefix is two SHA-256 blocks) into a fresh tree per run.
  const APPEND = 1 << 16;
  const data = leafData(APPEND, 64);
  const leafHashBufs = data.map(jsHashLeaf);
  const leafHashes = Buffer.concat(leafHashBufs);
  const expectedRoot = merkleRoot(leafHashes);
  const treeOf = (fill) => { const t = new MerkleTree(); fill(t); return t; };
  const appendOne = (t) => { for (let i = 0; i < APPEND; i++) t.append(data[i]); };
  const appendHashOne = (t) => { for (let i = 0; i < APPEND; i++) t.appendLeafHash(leafHashBufs[i]); };
  result.push({
    title: `Appends to an in-memory tree (2^16 leaves of 64 bytes, fresh tree)`, unit: 'leaves', items: APPEND,
    baseline: 'plain JS compact range + node:crypto per node',
    note: [
      'Every tenantry row ends with `root()`, so all pending leaves and parents are hashed inside the',
      'timing. The compact-range row keeps only the O(log n) frontier (current root, no past roots, no',
      'proofs); merkletreejs builds its tree from all leaves at once (its addLeaf rebuilds the tree per',
      'call), with the leaf hashes computed by node:crypto in the same timing where its row says so.',
    ].join('\n'),
    check() {
      sameBytes('append', treeOf(appendOne).root(), expectedRoot);
      sameBytes('appendLeafHash', treeOf(appendHashOne).root(), expectedRoot);
      sameBytes('appendMany', treeOf((t) => t.appendMany(data)).root(), expectedRoot);
      sameBytes('appendLeafHashes', treeOf((t) => t.appendLeafHashes(leafHashes)).root(), expectedRoot);
      const js = new JsCompactRange();
      for (const d of data) js.append(d);
      sameBytes('JS compact range', js.root(), expectedRoot);
      sameBytes('merkletreejs', merkletreejs(data.map(jsHashLeaf)).getRoot(), expectedRoot);
    },
    cases: [
      { name: 'tenantry append (one call per leaf)', fn: () => treeOf(appendOne).root() },
      { name: 'tenantry appendLeafHash (one call per leaf)', fn: () => treeOf(appendHashOne).root() },
      { name: 'tenantry appendMany (one call)', fn: () => treeOf((t) => t.appendMany(data)).root() },
      { name: 'tenantry appendLeafHashes (one call)', fn: () => treeOf((t) => t.appendLeafHashes(leafHashes)).root() },
      { name: 'plain JS compact range + node:crypto per node', fn: () => { const js = new JsCompactRange(); for (const d of data) js.append(d); return js.root(); } },
      { name: 'merkletreejs (RFC 6962 config), leaf hashes included', fn: () => merkletreejs(data.map(jsHashLeaf)).getRoot(), heavy: true },
      { name: 'merkletreejs (RFC 6962 config), leaves pre-hashed', fn: () => merkletreejs(leafHashBufs).getRoot(), heavy: true },
    ],
  });

  // 2–4. Proofs on a 2^20 tree, built once by each library from the same leaf hashes.
  const BIG = 1 << 20;
  const bigHashBufs = leafData(BIG, 32).map((d) => jsHashLeaf(d));
  const tree = new MerkleTree();
  tree.appendLeafHashes(bigHashBufs);
  const root = tree.root();
  const mt = merkletreejs(bigHashBufs);
  sameBytes('2^20 root', mt.getRoot(), root);
  const PROOFS = 1024;
  const at = indices(PROOFS, BIG, 0x1f);
  const ours = at.map((i) => tree.inclusionProof(i));
  const theirs = at.map((i) => mt.getProof(bigHashBufs[i], i));

  result.push({
    title: 'Inclusion proof generation on a 2^20 tree', unit: 'proofs', items: PROOFS, baseline: 'merkletreejs getProof (RFC 6962 config)',
    note: [
      'The tree is balanced, so merkletreejs\'s proof elements are byte for byte the RFC 9162 path (checked before timing).',
      'tenantry copies every element (the caller owns its proof); merkletreejs returns its own node Buffers.',
    ].join('\n'),
    check() {
      at.forEach((i, k) => {
        const p = tree.inclusionProof(i);
        const q = mt.getProof(bigHashBufs[i], i);
        if (p.length !== q.length) throw new Error(`proof lengths differ for leaf ${i}`);
        p.forEach((e, j) => sameBytes(`proof element ${j} of leaf ${i}`, e, q[j].data));
        sameBytes('cached proof', p[0], ours[k][0]);
      });
    },
    cases: [
      { name: 'tenantry inclusionProof', fn: () => { for (const i of at) tree.inclusionProof(i); } },
      { name: 'merkletreejs getProof (RFC 6962 config)', fn: () => { for (let k = 0; k < PROOFS; k++) mt.getProof(bigHashBufs[at[k]], at[k]); } },
    ],
  });

  result.push({
    title: 'Inclusion proof verification on a 2^20 tree', unit: 'proofs', items: PROOFS, baseline: 'merkletreejs verify (RFC 6962 config)',
    note: 'Twenty hashes per proof. tenantry hashes through @tenantry/kernels (one wasm call per node); the plain JS row is RFC 9162 §2.1.3.2 with node:crypto per node.',
    check() {
      at.forEach((i, k) => {
        if (!verifyInclusion(bigHashBufs[i], i, BIG, ours[k], root)) throw new Error(`tenantry rejects leaf ${i}`);
        if (!mt.verify(theirs[k], bigHashBufs[i], root)) throw new Error(`merkletreejs rejects leaf ${i}`);
        if (!jsVerifyInclusion(bigHashBufs[i], i, BIG, ours[k], root)) throw new Error(`plain JS rejects leaf ${i}`);
        sameBytes('rootFromInclusionProof', rootFromInclusionProof(bigHashBufs[i], i, BIG, ours[k]), root);
      });
    },
    cases: [
      { name: 'tenantry verifyInclusion', fn: () => { for (let k = 0; k < PROOFS; k++) verifyInclusion(bigHashBufs[at[k]], at[k], BIG, ours[k], root); } },
      { name: 'plain JS + node:crypto per node (RFC 9162 §2.1.3.2)', fn: () => { for (let k = 0; k < PROOFS; k++) jsVerifyInclusion(bigHashBufs[at[k]], at[k], BIG, ours[k], root); } },
      { name: 'merkletreejs verify (RFC 6962 config)', fn: () => { for (let k = 0; k < PROOFS; k++) mt.verify(theirs[k], bigHashBufs[at[k]], root); } },
    ],
  });

  // Consistency proofs: merkletreejs has none, so the baseline is the plain JS verifier.
  const sizes1 = indices(PROOFS, BIG - 1, 0x2f).map((s) => s + 1);
  const roots1 = sizes1.map((s) => tree.root(s));
  const cons = sizes1.map((s) => tree.consistencyProof(s));
  result.push({
    title: 'Consistency proofs from a random size to 2^20', unit: 'proofs', items: PROOFS, baseline: 'plain JS + node:crypto per node (RFC 9162 §2.1.4.2)',
    note: 'merkletreejs has no consistency proofs; the baseline verifies the same proofs in plain JS over node:crypto.',
    check() {
      sizes1.forEach((s, k) => {
        if (!verifyConsistency(s, BIG, roots1[k], root, cons[k])) throw new Error(`tenantry rejects ${s}`);
        if (!jsVerifyConsistency(s, BIG, roots1[k], root, cons[k])) throw new Error(`plain JS rejects ${s}`);
        tree.consistencyProof(s).forEach((e, j) => sameBytes('consistency proof', e, cons[k][j]));
      });
    },
    cases: [
      { name: 'tenantry consistencyProof', fn: () => { for (const s of sizes1) tree.consistencyProof(s); } },
      { name: 'tenantry verifyConsistency', fn: () => { for (let k = 0; k < PROOFS; k++) verifyConsistency(sizes1[k], BIG, roots1[k], root, cons[k]); } },
      { name: 'plain JS + node:crypto per node (RFC 9162 §2.1.4.2)', fn: () => { for (let k = 0; k < PROOFS; k++) jsVerifyConsistency(sizes1[k], BIG, roots1[k], root, cons[k]); } },
    ],
  });

  // Roots of past sizes: O(log n) from the stored subtrees against recomputing from the leaves.
  const PAST = 8;
  const pastSizes = indices(PAST, BIG, 0x3f).map((s) => s + 1);
  const bigHashes = Buffer.concat(bigHashBufs);
  result.push({
    title: 'Root of a random past size of a 2^20 tree', unit: 'roots', items: PAST, baseline: 'kernels merkleRoot over the first size leaves',
    note: 'tenantry folds the stored complete subtrees (popcount(size) − 1 hashes); the baseline rehashes every leaf up to size.',
    check() {
      for (const s of pastSizes) sameBytes(`root(${s})`, tree.root(s), merkleRoot(bigHashes.subarray(0, 32 * s)));
    },
    cases: [
      { name: 'tenantry root(size)', fn: () => { for (const s of pastSizes) tree.root(s); } },
      { name: 'kernels merkleRoot over the first size leaves', fn: () => { for (const s of pastSizes) merkleRoot(bigHashes.subarray(0, 32 * s)); }, heavy: true },
    ],
  });

  return { groups: result, info: () => kernelInfo() };
}
