// Shared helpers for the @tenantry/kernels suites: build selection, deterministic inputs, fast
// node:crypto references for sizes the recursive reference cannot handle, the published RFC 6962
// vectors, and a typed-error assertion.
import { createHash, hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import {
  isKernelError, kernelInfo, KernelRangeError, KernelTypeError, useKernelBuild,
  type KernelError, type KernelErrorCode,
} from '@tenantry/kernels';
export { rng } from './random.js';
import { thrownBy } from './errors.js';
import { rng } from './random.js';

// ---- builds ----------------------------------------------------------------------------------

/** Both builds of the module; every case that matters runs against each. */
export const BUILDS = ['simd', 'scalar'] as const;
export type Build = (typeof BUILDS)[number];

/**
 * Registers hooks for a `describe` block that must run on `build`: forces the build before the
 * block, checks before every test that it is the build in use (so a test cannot silently run on
 * the other one), and goes back to 'auto' afterwards.
 */
export function useBuild(build: Build): void {
  beforeAll(() => {
    useKernelBuild(build);
  });
  beforeEach(() => {
    expect(kernelInfo().build).toBe(build);
  });
  afterAll(() => {
    useKernelBuild('auto');
  });
}

/** Re-instantiates `build` (a fresh module with its initial memory) and checks it is in use. */
export function freshInstance(build: Build): void {
  useKernelBuild(build);
  expect(kernelInfo().build).toBe(build);
}

// ---- bytes -----------------------------------------------------------------------------------

export const MiB = 1 << 20;

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);


/** `length` pseudo-random bytes from `seed`. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** The i-th 32-byte hash of a contiguous n×32 buffer (a view, no copy). */
export const hashAt = (buf: Uint8Array, i: number): Uint8Array => buf.subarray(32 * i, 32 * i + 32);

/** A contiguous n×32 buffer as an array of 32-byte views (the other input form of merkleRoot). */
export function asHashArray(buf: Uint8Array, n = buf.length / 32): Uint8Array[] {
  const out = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) out[i] = hashAt(buf, i);
  return out;
}

/** Deterministic Fisher–Yates shuffle (returns a new array). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = rng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---- node:crypto references ----------------------------------------------------------------

export function nodeSha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** node:crypto SHA-256 of each `len`-byte message of `data`, back to back. */
export function nodeSha256Batch(data: Uint8Array, len: number): Uint8Array {
  const n = data.length / len;
  const out = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) out.set(hash('sha256', data.subarray(i * len, (i + 1) * len), 'buffer'), 32 * i);
  return out;
}

/** node:crypto SHA-256 of each message, back to back. */
export function nodeSha256Each(messages: readonly Uint8Array[], prefix?: number): Uint8Array {
  const out = new Uint8Array(32 * messages.length);
  messages.forEach((m, i) => {
    const h = createHash('sha256');
    if (prefix !== undefined) h.update(Uint8Array.of(prefix));
    out.set(h.update(m).digest(), 32 * i);
  });
  return out;
}

const PARENT = new Uint8Array(65);
PARENT[0] = 0x01;
/** RFC 6962 §2.1 interior node, SHA-256(0x01 ‖ l ‖ r), through one reused buffer. */
function parent(l: Uint8Array, r: Uint8Array): Uint8Array {
  PARENT.set(l, 1);
  PARENT.set(r, 33);
  return hash('sha256', PARENT, 'buffer');
}

/**
 * RFC 6962 roots of the first n leaves of `leafHashes` (contiguous n×32) for every n in `sizes`,
 * in one left-to-right pass. Iterative and independent of the kernel's level-by-level method: it
 * keeps the stack of complete subtrees (sizes are the binary digits of n, largest first), and the
 * root of n leaves is those subtrees folded right to left — MTH(D[n]) = parent(MTH(D[0:k]),
 * MTH(D[k:n])) with k the largest power of two < n is exactly that fold. The empty tree is SHA-256().
 */
export function fastMerkleRoots(leafHashes: Uint8Array, sizes: readonly number[]): Map<number, Uint8Array> {
  const want = new Set(sizes);
  const max = Math.max(0, ...sizes);
  if (max * 32 > leafHashes.length) throw new Error(`fastMerkleRoots: only ${leafHashes.length / 32} leaves`);
  const roots = new Map<number, Uint8Array>();
  if (want.has(0)) roots.set(0, nodeSha256(new Uint8Array(0)));
  const stack: { size: number; hash: Uint8Array }[] = [];
  for (let i = 0; i < max; i++) {
    let node: Uint8Array = hashAt(leafHashes, i);
    let size = 1;
    while (stack.length > 0 && stack[stack.length - 1]!.size === size) {
      node = parent(stack.pop()!.hash, node);
      size *= 2;
    }
    stack.push({ size, hash: node });
    if (want.has(i + 1)) {
      let acc = stack[stack.length - 1]!.hash;
      for (let j = stack.length - 2; j >= 0; j--) acc = parent(stack[j]!.hash, acc);
      roots.set(i + 1, new Uint8Array(acc));
    }
  }
  return roots;
}

/**
 * Protocol 1.0 shard key straight from docs/architecture.md ("@tenantry/kernels"): first 8 hex digits
 * of SHA-256(UTF-8(id)) mod count.
 */
export function shardFormula(tenantId: string, shardCount: number): number {
  const digestHex = createHash('sha256').update(tenantId, 'utf8').digest('hex');
  return Number(BigInt(`0x${digestHex.slice(0, 8)}`) % BigInt(shardCount));
}

/**
 * Protocol 1.0 rendezvous score straight from docs/architecture.md ("@tenantry/kernels"): first 8
 * bytes BE of SHA-256(key ‖ 0x00 ‖ node).
 */
export function scoreFormula(key: string, nodeId: string): bigint {
  return Buffer.from(nodeSha256(Buffer.concat([Buffer.from(key, 'utf8'), Buffer.of(0), Buffer.from(nodeId, 'utf8')]))).readBigUInt64BE(0);
}

// ---- test data -------------------------------------------------------------------------------

export interface Rfc6962Vectors {
  source: string;
  leaf_inputs_hex: string[];
  roots_by_size_hex: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
}

/** test/vectors/rfc6962.json (copied from the published vectors; see test/vectors/README.md). */
export function loadRfc6962Vectors(): Rfc6962Vectors {
  const file = fileURLToPath(new URL('../vectors/rfc6962.json', import.meta.url));
  return JSON.parse(readFileSync(file, 'utf8')) as Rfc6962Vectors;
}

/**
 * Tenant ids that exercise the UTF-8 and SHA-256 block edges: empty, ASCII, Latin, CJK, astral
 * emoji, lone surrogates (encoded as U+FFFD by TextEncoder and node:crypto alike), ids whose UTF-8
 * form is 55/56/63/64/119/120 bytes, 300-character ids, and seeded random strings. Several thousand.
 */
export function sampleTenantIds(): string[] {
  const ids: string[] = ['', 'a', 'A', ' ', '0', 'tenant', 'Tenant', 'tenant ', 'acme-corp', 'ACME_CORP'];
  for (let i = 0; i < 2000; i++) ids.push(`tenant-${i}`);
  ids.push(
    'café', 'Zürich', 'naïve-Ω', 'Ελληνικά', 'русский-тенант', 'עברית', 'العربية', 'हिन्दी',
    '租户', '租户-一二三', '東京都', '한국어', 'テナント', '🦄', '🦄🦄', 'team-👩‍💻', '🏳️‍🌈', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𠜎𠜱𠝹',
    'a\u0000b', '\u0000', '\uFEFF', 'x\u200Dy', '\uD800', 'x\uDE00y', '\uDFFF\uD800', '\uD83D', '🦄\uD83D',
  );
  // UTF-8 lengths at the one-block / two-block / three-block edges (55 fits one block, 56 needs two).
  for (const bytes of [54, 55, 56, 57, 62, 63, 64, 65, 118, 119, 120, 121]) {
    ids.push('x'.repeat(bytes));
    if (bytes % 2 === 0) ids.push('é'.repeat(bytes / 2));
    if (bytes % 3 === 0) ids.push('租'.repeat(bytes / 3));
    if (bytes % 4 === 0) ids.push('🦄'.repeat(bytes / 4));
  }
  ids.push('t'.repeat(300), '租'.repeat(300), '🦄'.repeat(150), 'ab🦄租é'.repeat(50), 'é'.repeat(300));
  // Seeded random strings over ASCII, Latin-1, BMP CJK and astral code points, length 0..80.
  const next = rng(0x5eed);
  const ranges: [number, number][] = [[0x20, 0x7e], [0xa0, 0xff], [0x4e00, 0x9fff], [0x1f300, 0x1faff], [0x0400, 0x04ff]];
  for (let i = 0; i < 1500; i++) {
    const len = next() % 81;
    let s = '';
    for (let j = 0; j < len; j++) {
      const [lo, hi] = ranges[next() % ranges.length]!;
      s += String.fromCodePoint(lo + (next() % (hi - lo + 1)));
    }
    ids.push(s);
  }
  return [...new Set(ids)];
}

// ---- errors ----------------------------------------------------------------------------------

export interface ExpectedKernelError {
  code: KernelErrorCode;
  type: typeof TypeError | typeof RangeError;
  /** The argument the message must name (also the error's `field`). */
  field: string;
}

/** Runs `fn`, which must throw the typed kernel error described; returns the error. */
export function expectKernelError(fn: () => unknown, expected: ExpectedKernelError): KernelError {
  const { threw, caught } = thrownBy(fn);
  expect(threw, 'expected the call to throw').toBe(true);
  expect(caught).toBeInstanceOf(expected.type);
  expect(caught).toBeInstanceOf(expected.type === TypeError ? KernelTypeError : KernelRangeError);
  expect(isKernelError(caught)).toBe(true);
  const e = caught as KernelError;
  expect(e.package).toBe('kernels');
  expect(e.code).toBe(expected.code);
  expect(e.field).toBe(expected.field);
  expect(e.message).toContain(expected.field);
  return e;
}
