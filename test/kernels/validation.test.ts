// Every validation path of the public API: the error's class (TypeError for a wrong type,
// RangeError for a wrong size or range), its stable `code`, its `field`, a message that names the
// field, isKernelError — and that the kernel still gives right answers after the rejection.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CoreError, errorPackage, isTenantryError, TenantryError } from '@tenantry/core';
import {
  hashChildren, hashLeaf, hashLeaves, isKernelError, kernelInfo, KernelTypeError, merkleRoot, rankNodes, rendezvousScores,
  sha256, sha256Batch, sha256Many, shardOf, shardOfMany, useKernelBuild, type KernelError,
} from '@tenantry/kernels';
import { refHashChildren, refMerkleRoot, refRankNodes } from '@tenantry/kernels/reference';
import {
  BUILDS, expectKernelError, hex, loadRfc6962Vectors, nodeSha256, randomBytes, shardFormula, useBuild, utf8,
  type ExpectedKernelError,
} from '../helpers/kernels.js';
import { thrownBy } from '../helpers/errors.js';

/** The same function, callable with values its types forbid (as an untyped caller would). */
const loose = (f: (...args: never[]) => unknown) => f as (...args: unknown[]) => unknown;

const H = randomBytes(32 * 8, 0xe44);
const h = (i: number): Uint8Array => H.subarray(32 * i, 32 * i + 32);
const VECTORS = loadRfc6962Vectors();

/** A few valid calls whose answers are known independently; run after every rejected call. */
function expectKernelStillWorks(): void {
  expect(hex(sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  const leaves = VECTORS.leaf_inputs_hex.map((x) => hashLeaf(new Uint8Array(Buffer.from(x, 'hex'))));
  expect(hex(merkleRoot(leaves))).toBe(VECTORS.roots_by_size_hex[leaves.length]);
  expect(hex(merkleRoot(H))).toBe(hex(refMerkleRoot([0, 1, 2, 3, 4, 5, 6, 7].map(h))));
  expect(hex(hashChildren(h(0), h(1)))).toBe(hex(refHashChildren(h(0), h(1))));
  expect(shardOf('abc', 2 ** 32 - 1)).toBe(0xba7816bf);
  expect(Array.from(shardOfMany(['a', 'b', '🦄'], 7))).toEqual(['a', 'b', '🦄'].map((id) => shardFormula(id, 7)));
  expect(rankNodes('k', ['n1', 'n2', 'n3'])).toEqual(refRankNodes('k', ['n1', 'n2', 'n3']));
  expect(hex(sha256Batch(H, 64))).toBe([0, 1, 2, 3].map((i) => hex(nodeSha256(H.subarray(64 * i, 64 * i + 64)))).join(''));
}

interface Case extends ExpectedKernelError {
  name: string;
  call: () => unknown;
}

const T = TypeError;
const R = RangeError;

const BAD_SHARD_COUNTS: [string, unknown, typeof TypeError | typeof RangeError][] = [
  ['0', 0, R], ['negative', -3, R], ['fractional', 1.5, R], ['NaN', NaN, R], ['Infinity', Infinity, R],
  ['-Infinity', -Infinity, R], ['2^32', 2 ** 32, R], ['a string', '7', T], ['a bigint', 7n, T], ['undefined', undefined, T],
];

const CASES: Case[] = [
  // shardCount, in both shard entry points.
  ...BAD_SHARD_COUNTS.flatMap(([what, count, type]): Case[] => [
    { name: `shardOf: shardCount ${what}`, call: () => loose(shardOf)('tenant', count), code: 'INVALID_SHARD_COUNT', type, field: 'shardCount' },
    { name: `shardOfMany: shardCount ${what}`, call: () => loose(shardOfMany)(['a', 'b'], count), code: 'INVALID_SHARD_COUNT', type, field: 'shardCount' },
  ]),

  // Ids that are not strings.
  { name: 'shardOf: numeric tenantId', call: () => loose(shardOf)(42, 7), code: 'INVALID_ID', type: T, field: 'tenantId' },
  { name: 'shardOf: null tenantId', call: () => loose(shardOf)(null, 7), code: 'INVALID_ID', type: T, field: 'tenantId' },
  { name: 'shardOf: String object tenantId', call: () => loose(shardOf)(new String('t'), 7), code: 'INVALID_ID', type: T, field: 'tenantId' },
  { name: 'shardOfMany: tenantIds[1] a number', call: () => loose(shardOfMany)(['a', 5, 'c'], 7), code: 'INVALID_ID', type: T, field: 'tenantIds[1]' },
  { name: 'shardOfMany: tenantIds[3] undefined', call: () => loose(shardOfMany)(['a', 'b', 'c', undefined], 7), code: 'INVALID_ID', type: T, field: 'tenantIds[3]' },
  { name: 'shardOfMany: tenantIds not an array', call: () => loose(shardOfMany)('abc', 7), code: 'INVALID_ARGUMENT', type: T, field: 'tenantIds' },
  { name: 'rankNodes: numeric key', call: () => loose(rankNodes)(5, ['a']), code: 'INVALID_ID', type: T, field: 'key' },
  { name: 'rankNodes: nodeIds[1] a number', call: () => loose(rankNodes)('k', ['a', 7]), code: 'INVALID_ID', type: T, field: 'nodeIds[1]' },
  { name: 'rankNodes: nodeIds[2] null', call: () => loose(rankNodes)('k', ['a', 'b', null]), code: 'INVALID_ID', type: T, field: 'nodeIds[2]' },
  { name: 'rankNodes: nodeIds a string', call: () => loose(rankNodes)('k', 'ab'), code: 'INVALID_ARGUMENT', type: T, field: 'nodeIds' },
  { name: 'rendezvousScores: numeric key', call: () => loose(rendezvousScores)(1, ['a']), code: 'INVALID_ID', type: T, field: 'key' },
  { name: 'rendezvousScores: nodeIds[0] an object', call: () => loose(rendezvousScores)('k', [{}]), code: 'INVALID_ID', type: T, field: 'nodeIds[0]' },

  // Duplicate node ids.
  { name: 'rankNodes: duplicate node id', call: () => rankNodes('k', ['a', 'b', 'a']), code: 'DUPLICATE_NODE_ID', type: R, field: 'nodeIds[2]' },
  { name: 'rankNodes: duplicate non-ASCII node id', call: () => rankNodes('k', ['東京', 'b', 'c', '東京']), code: 'DUPLICATE_NODE_ID', type: R, field: 'nodeIds[3]' },
  { name: 'rendezvousScores: duplicate node id', call: () => rendezvousScores('k', ['x', 'x']), code: 'DUPLICATE_NODE_ID', type: R, field: 'nodeIds[1]' },

  // Bytes that are not a Uint8Array.
  { name: 'sha256: a string', call: () => loose(sha256)('abc'), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'sha256: a number array', call: () => loose(sha256)([1, 2, 3]), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'sha256: an ArrayBuffer', call: () => loose(sha256)(new ArrayBuffer(4)), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'sha256: a Uint16Array', call: () => loose(sha256)(new Uint16Array(4)), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'sha256: undefined', call: () => loose(sha256)(undefined), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'hashLeaf: a string', call: () => loose(hashLeaf)('leaf'), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'hashChildren: left a string', call: () => loose(hashChildren)('x'.repeat(32), h(1)), code: 'INVALID_BYTES', type: T, field: 'left' },
  { name: 'hashChildren: right a number array', call: () => loose(hashChildren)(h(0), Array.from(h(1))), code: 'INVALID_BYTES', type: T, field: 'right' },
  { name: 'sha256Batch: data a string', call: () => loose(sha256Batch)('abcd', 2), code: 'INVALID_BYTES', type: T, field: 'data' },
  { name: 'sha256Many: messages[2] a string', call: () => loose(sha256Many)([h(0), h(1), 'x']), code: 'INVALID_BYTES', type: T, field: 'messages[2]' },
  { name: 'sha256Many: messages not an array', call: () => loose(sha256Many)(h(0)), code: 'INVALID_ARGUMENT', type: T, field: 'messages' },
  { name: 'hashLeaves: leaves[3] a number array', call: () => loose(hashLeaves)([h(0), h(1), h(2), [1, 2]]), code: 'INVALID_BYTES', type: T, field: 'leaves[3]' },
  { name: 'hashLeaves: leaves a string', call: () => loose(hashLeaves)('leaf'), code: 'INVALID_ARGUMENT', type: T, field: 'leaves' },
  { name: 'merkleRoot: a string', call: () => loose(merkleRoot)('abc'), code: 'INVALID_ARGUMENT', type: T, field: 'leafHashes' },
  { name: 'merkleRoot: a Uint16Array', call: () => loose(merkleRoot)(new Uint16Array(16)), code: 'INVALID_ARGUMENT', type: T, field: 'leafHashes' },
  { name: 'merkleRoot: leafHashes[0] a number', call: () => loose(merkleRoot)([1, 2]), code: 'INVALID_BYTES', type: T, field: 'leafHashes[0]' },
  { name: 'merkleRoot: leafHashes[1] a hex string', call: () => loose(merkleRoot)([h(0), hex(h(1))]), code: 'INVALID_BYTES', type: T, field: 'leafHashes[1]' },

  // Wrong lengths.
  { name: 'merkleRoot: contiguous buffer of 33 bytes', call: () => merkleRoot(new Uint8Array(33)), code: 'INVALID_LENGTH', type: R, field: 'leafHashes' },
  { name: 'merkleRoot: contiguous buffer of 31 bytes', call: () => merkleRoot(new Uint8Array(31)), code: 'INVALID_LENGTH', type: R, field: 'leafHashes' },
  { name: 'merkleRoot: contiguous buffer of 8×32 + 1 bytes', call: () => merkleRoot(new Uint8Array(257)), code: 'INVALID_LENGTH', type: R, field: 'leafHashes' },
  { name: 'merkleRoot: leafHashes[3] of 31 bytes', call: () => merkleRoot([h(0), h(1), h(2), new Uint8Array(31), h(4)]), code: 'INVALID_LENGTH', type: R, field: 'leafHashes[3]' },
  { name: 'merkleRoot: leafHashes[1] of 33 bytes', call: () => merkleRoot([h(0), new Uint8Array(33)]), code: 'INVALID_LENGTH', type: R, field: 'leafHashes[1]' },
  { name: 'merkleRoot: leafHashes[0] empty', call: () => merkleRoot([new Uint8Array(0)]), code: 'INVALID_LENGTH', type: R, field: 'leafHashes[0]' },
  { name: 'hashChildren: left of 31 bytes', call: () => hashChildren(new Uint8Array(31), h(1)), code: 'INVALID_LENGTH', type: R, field: 'left' },
  { name: 'hashChildren: right of 64 bytes', call: () => hashChildren(h(0), H.subarray(0, 64)), code: 'INVALID_LENGTH', type: R, field: 'right' },

  // sha256Batch's message length.
  { name: 'sha256Batch: messageLength 0', call: () => sha256Batch(H, 0), code: 'INVALID_ARGUMENT', type: R, field: 'messageLength' },
  { name: 'sha256Batch: messageLength fractional', call: () => sha256Batch(H, 1.5), code: 'INVALID_ARGUMENT', type: R, field: 'messageLength' },
  { name: 'sha256Batch: messageLength negative', call: () => sha256Batch(H, -32), code: 'INVALID_ARGUMENT', type: R, field: 'messageLength' },
  { name: 'sha256Batch: messageLength NaN', call: () => sha256Batch(H, NaN), code: 'INVALID_ARGUMENT', type: R, field: 'messageLength' },
  { name: 'sha256Batch: messageLength Infinity', call: () => sha256Batch(H, Infinity), code: 'INVALID_ARGUMENT', type: R, field: 'messageLength' },
  { name: 'sha256Batch: messageLength not dividing the data length', call: () => sha256Batch(H.subarray(0, 100), 3), code: 'INVALID_LENGTH', type: R, field: 'data' },
  { name: 'sha256Batch: messageLength longer than the data', call: () => sha256Batch(H.subarray(0, 10), 64), code: 'INVALID_LENGTH', type: R, field: 'data' },
];

describe.each(BUILDS)('validation (%s build)', (build) => {
  useBuild(build);

  it.each(CASES)('$name → $code', ({ call, code, type, field }) => {
    expectKernelError(call, { code, type, field });
    expectKernelStillWorks();
  });

  // errors.ts: "A wrong type is a TypeError, a wrong size or range a RangeError" — as shardCount does.
  it('sha256Batch: a messageLength of the wrong type is a TypeError', () => {
    expectKernelError(() => loose(sha256Batch)(H, '32'), { code: 'INVALID_ARGUMENT', type: T, field: 'messageLength' });
    expectKernelStillWorks();
  });

  it('a rejected list leaves nothing behind: the same call with the bad element fixed is right', () => {
    const good = [h(0), h(1), h(2), h(3), h(4)];
    expectKernelError(() => merkleRoot([...good.slice(0, 3), new Uint8Array(31), h(4)]), { code: 'INVALID_LENGTH', type: R, field: 'leafHashes[3]' });
    expect(hex(merkleRoot(good))).toBe(hex(refMerkleRoot(good)));
    expectKernelError(() => rankNodes('k', ['a', 'b', 'c', 'b']), { code: 'DUPLICATE_NODE_ID', type: R, field: 'nodeIds[3]' });
    expect(rankNodes('k', ['a', 'b', 'c'])).toEqual(refRankNodes('k', ['a', 'b', 'c']));
  });

  it('accepts Buffers wherever bytes are expected', () => {
    const b = Buffer.from(H.subarray(0, 64));
    expect(hex(sha256(b))).toBe(hex(nodeSha256(b)));
    expect(hex(hashChildren(b.subarray(0, 32), b.subarray(32)))).toBe(hex(refHashChildren(h(0), h(1))));
    expect(hex(merkleRoot(b))).toBe(hex(refHashChildren(h(0), h(1))));
    expect(hex(sha256Batch(b, 32))).toBe([h(0), h(1)].map((x) => hex(nodeSha256(x))).join(''));
    expect(hex(sha256Many([b]))).toBe(hex(nodeSha256(b)));
  });
});

describe('useKernelBuild and isKernelError', () => {
  it("useKernelBuild('bogus') is a RangeError INVALID_ARGUMENT naming `build`, and changes nothing", () => {
    useKernelBuild('scalar');
    expect(kernelInfo().build).toBe('scalar');
    expectKernelError(() => loose(useKernelBuild)('bogus'), { code: 'INVALID_ARGUMENT', type: R, field: 'build' });
    expectKernelError(() => loose(useKernelBuild)('SIMD'), { code: 'INVALID_ARGUMENT', type: R, field: 'build' });
    expect(kernelInfo().build).toBe('scalar');
    expectKernelStillWorks();
    useKernelBuild('auto');
  });

  it('auto picks SIMD when the engine validates it; forcing a build switches, auto switches back', () => {
    useKernelBuild('auto');
    const auto = kernelInfo();
    expect(auto.build).toBe(auto.simdSupported ? 'simd' : 'scalar');
    // Node 20 validates wasm SIMD128; both builds must be exercised by this suite.
    expect(auto.simdSupported).toBe(true);
    useKernelBuild('scalar');
    expect(kernelInfo().build).toBe('scalar');
    useKernelBuild('simd');
    expect(kernelInfo().build).toBe('simd');
    useKernelBuild('auto');
    expect(kernelInfo().build).toBe('simd');
    expect(kernelInfo().memoryBytes % 65536).toBe(0);
    expect(kernelInfo().memoryBytes).toBeGreaterThan(0);
  });

  it('isKernelError is true for the errors above and false for anything else', () => {
    const thrown: unknown[] = [];
    for (const c of CASES) {
      try {
        c.call();
      } catch (e) {
        thrown.push(e);
      }
    }
    expect(thrown.length).toBe(CASES.length);
    expect(thrown.every(isKernelError)).toBe(true);
    expect(thrown.every((e) => isTenantryError(e) && errorPackage(e) === 'kernels')).toBe(true);
    for (const other of [new Error('x'), new TypeError('x'), new RangeError('x'), Object.assign(new Error('x'), { code: 'INVALID_BYTES' }),
      { code: 'INVALID_BYTES', message: 'x' }, null, undefined, 'INVALID_BYTES', 42,
      // Other packages' errors carry the same brand symbol, with their own package name.
      new CoreError('INVALID_ARGUMENT', 'x'), new TenantryError('audit', 'INVALID_BYTES', 'x'), new TenantryError('policy', 'INVALID_ARGUMENT', 'x')]) {
      expect(isKernelError(other), String(other)).toBe(false);
    }
  });

  it('isKernelError recognises the errors of another copy of the package (the CJS build), and that copy recognises ours', () => {
    const cjs = createRequire(import.meta.url)('@tenantry/kernels') as typeof import('@tenantry/kernels');
    expect(cjs.KernelTypeError).not.toBe(KernelTypeError);
    const theirs = thrownBy(() => loose(cjs.shardOf)(42, 7)).caught;
    expect(theirs).not.toBeInstanceOf(KernelTypeError);
    expect(isKernelError(theirs)).toBe(true);
    expect((theirs as KernelError).code).toBe('INVALID_ID');
    const ours = thrownBy(() => loose(shardOf)('t', 0)).caught;
    expect(cjs.isKernelError(ours)).toBe(true);
    expect(cjs.isKernelError(new TenantryError('quota', 'INVALID_ARGUMENT', 'x'))).toBe(false);
  });
});
