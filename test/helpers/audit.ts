// Shared helpers for the @tenantry/audit suites: a plain recursive RFC 9162 reference (node:crypto,
// written straight from the RFC text, nothing shared with the package), the published RFC 6962
// vectors, deterministic inputs, and typed-error assertions.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isAuditError, type AuditError, type AuditErrorCode } from '@tenantry/audit';
export { rng } from './random.js';
import { thrownBy } from './errors.js';
import { rng } from './random.js';

// ---- bytes -----------------------------------------------------------------------------------

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);


/** `length` pseudo-random bytes from `seed`. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    const w = next();
    for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (w >>> (8 * j)) & 0xff;
  }
  return out;
}

/** Leaf data for leaf i of the suites: varied lengths (0..80 bytes), distinct contents. */
export function leafData(i: number, seed = 0x1eaf): Uint8Array {
  const next = rng(seed ^ Math.imul(i + 1, 0x9e3779b1));
  return randomBytes(next() % 81, next());
}

// ---- RFC 9162 reference (node:crypto) ------------------------------------------------------

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** RFC 9162 §2.1.1: the leaf hash, SHA-256(0x00 ‖ d). */
export const refHashLeaf = (d: Uint8Array): Uint8Array => sha256(Uint8Array.of(0x00), d);
/** RFC 9162 §2.1.1: an interior node, SHA-256(0x01 ‖ left ‖ right). */
export const refHashChildren = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(Uint8Array.of(0x01), l, r);
/** SHA-256 of the empty string, the root of the empty tree. */
export const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The RFC 9162 definitions over one list of leaf data D[0:N]. Every function is the recursive
 * definition from the RFC text; MTH is memoised by range only so that the exhaustive suites stay
 * fast (the recursion itself is unchanged).
 */
export class Rfc9162Reference {
  readonly leafHashes: Uint8Array[];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(leaves: readonly Uint8Array[]) {
    this.leafHashes = leaves.map(refHashLeaf);
  }

  /**
   * §2.1.1: MTH({}) = SHA-256(); MTH({d(0)}) = SHA-256(0x00 ‖ d(0));
   * MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest power of two < n.
   * Over D[start:end] of the leaves.
   */
  mth(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 0) return sha256();
    if (n === 1) return this.leafHashes[start]!;
    const key = `${start}:${end}`;
    let h = this.#memo.get(key);
    if (!h) {
      const k = split(n);
      h = refHashChildren(this.mth(start, start + k), this.mth(start + k, end));
      this.#memo.set(key, h);
    }
    return h;
  }

  /** MTH(D[0:n]). */
  root(n: number): Uint8Array {
    return this.mth(0, n);
  }

  /**
   * §2.1.3.1: PATH(m, {d(0)}) = {};
   *   m < k:  PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
   *   m ≥ k:  PATH(m, D[n]) = PATH(m − k, D[k:n]) : MTH(D[0:k])
   * for leaf m of D[0:n].
   */
  path(m: number, n: number): Uint8Array[] {
    const rec = (m: number, start: number, end: number): Uint8Array[] => {
      const len = end - start;
      if (len === 1) return [];
      const k = split(len);
      return m < k
        ? [...rec(m, start, start + k), this.mth(start + k, end)]
        : [...rec(m - k, start + k, end), this.mth(start, start + k)];
    };
    return rec(m, 0, n);
  }

  /**
   * §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m < n;
   *   SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
   *   m ≤ k:  SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
   *   m > k:  SUBPROOF(m, D[n], b) = SUBPROOF(m − k, D[k:n], false) : MTH(D[0:k])
   * For m = 0 and m = n the proof is empty (the convention of transparency-dev/merkle).
   */
  consistency(m: number, n: number): Uint8Array[] {
    if (m === 0 || m === n) return [];
    const sub = (m: number, start: number, end: number, b: boolean): Uint8Array[] => {
      const len = end - start;
      if (m === len) return b ? [] : [this.mth(start, end)];
      const k = split(len);
      return m <= k
        ? [...sub(m, start, start + k, b), this.mth(start + k, end)]
        : [...sub(m - k, start + k, end, false), this.mth(start, start + k)];
    };
    return sub(m, 0, n, true);
  }

  /**
   * The shape of PATH(m, D[n]): for each element, whether it is a left sibling (true) or a right
   * one. An RFC 9162 §2.1.3.2 verifier folds a proof by shape alone, so a proof checks for another
   * (index, size) exactly when that pair's path has the same shape.
   */
  static pathShape(m: number, n: number): boolean[] {
    const rec = (m: number, len: number): boolean[] => {
      if (len === 1) return [];
      const k = split(len);
      return m < k ? [...rec(m, k), false] : [...rec(m - k, len - k), true];
    };
    return rec(m, n);
  }
}

/**
 * RFC 9162 §2.1.3.2 steps 2–4 with BigInt arithmetic: the root an inclusion proof leads to, or
 * undefined when the proof has the wrong length. For indices and sizes up to 2^53 − 1 and beyond.
 */
export function refRootFromInclusionProof(leafHash: Uint8Array, index: bigint, size: bigint, proof: readonly Uint8Array[]): Uint8Array | undefined {
  if (index >= size) return undefined;
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = refHashChildren(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = refHashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : undefined;
}

/**
 * RFC 9162 §2.1.4.2 steps 1–6 with BigInt arithmetic, for 0 < size1 < size2: both roots a
 * consistency proof leads to, or undefined when the proof has the wrong shape.
 */
export function refRootsFromConsistencyProof(
  size1: bigint, size2: bigint, root1: Uint8Array, proof: readonly Uint8Array[],
): [Uint8Array, Uint8Array] | undefined {
  if (proof.length === 0 || size1 === 0n || size1 >= size2) return undefined;
  const path = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : [...proof];
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = refHashChildren(c, fr);
      sr = refHashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = refHashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? [fr, sr] : undefined;
}

// ---- vectors ---------------------------------------------------------------------------------

export interface Rfc6962Vectors {
  source: string;
  leaf_inputs_hex: string[];
  roots_by_size_hex: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}

/**
 * test/vectors/rfc6962.json. Source (its `source` field): "RFC 6962 reference vectors as
 * published in transparency-dev/merkle (testonly/constants.go, proof/verify_test.go)".
 */
export function loadRfc6962Vectors(): Rfc6962Vectors {
  const file = fileURLToPath(new URL('../vectors/rfc6962.json', import.meta.url));
  return JSON.parse(readFileSync(file, 'utf8')) as Rfc6962Vectors;
}

// ---- errors ----------------------------------------------------------------------------------

/**
 * Runs `fn`, which must throw an AuditError with `code` and, when given, `field` (named in the
 * message too).
 */
export function expectAuditError(fn: () => unknown, code: AuditErrorCode, field?: string): AuditError {
  const { threw, caught } = thrownBy(fn);
  expect(threw, `expected ${code} (${field ?? 'any field'})`).toBe(true);
  expect(isAuditError(caught), `expected a typed AuditError, got ${String(caught)}`).toBe(true);
  const e = caught as AuditError;
  expect(e.code, e.message).toBe(code);
  if (field !== undefined) {
    expect(e.field, e.message).toBe(field);
    expect(e.message).toContain(field);
  }
  return e;
}

/** The same function, callable with values its types forbid (as an untyped caller would). */
export const loose = <F extends (...args: never[]) => unknown>(f: F) => f as unknown as (...args: unknown[]) => ReturnType<F>;
