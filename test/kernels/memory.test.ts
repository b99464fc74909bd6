// The kernels' linear memory grows with the largest input, never per call or per message
// (loader.ts: "grows with the largest input, never per call"; batch.ts: "the workspace stays at a
// fixed size however many messages a caller passes"). CPU-heavy; no timing is asserted.
import { describe, expect, it } from 'vitest';
import {
  hashChildren, hashLeaves, kernelInfo, merkleRoot, sha256, sha256Batch, sha256Many, shardOf, shardOfMany,
} from '@tenantry/kernels';
import { refHashChildren } from '@tenantry/kernels/reference';
import {
  BUILDS, MiB, asHashArray, fastMerkleRoots, freshInstance, hex, nodeSha256, nodeSha256Batch, randomBytes,
  shardFormula, useBuild,
} from '../helpers/kernels.js';

const CALLS = 10_000_000;
const SHARD_CALLS = 100_000;
const SHA_CALLS = 100_000;
const CHILDREN_CALLS = CALLS - SHARD_CALLS - SHA_CALLS;

const LEAVES_2_20 = randomBytes(32 * (1 << 20), 0x3e3);
const SIZES = [(1 << 20) - 5, 1 << 20];
let roots: Map<number, Uint8Array> | undefined;
const expectedRoot = (n: number): string => hex((roots ??= fastMerkleRoots(LEAVES_2_20, SIZES)).get(n)!);

const memory = (): number => kernelInfo().memoryBytes;

describe.each(BUILDS)('memory (%s build)', (build) => {
  useBuild(build);

  it(`${CALLS.toLocaleString('en')} kernel calls after a warm-up leave memoryBytes unchanged`, () => {
    freshInstance(build);
    const right = randomBytes(32, 7);
    const msg = randomBytes(64, 8);
    // Warm-up: every path of the loop once.
    let node = hashChildren(randomBytes(32, 6), right);
    shardOf('tenant-warm-up', 1024);
    sha256(msg);
    const before = memory();

    // A chain of hashChildren; a sample of links is checked against the reference so that the
    // loop demonstrably computes, not just survives.
    for (let i = 0; i < CHILDREN_CALLS; i++) {
      const prev = node;
      node = hashChildren(prev, right);
      if (i % 1_000_003 === 0) expect(hex(node), `call ${i}`).toBe(hex(refHashChildren(prev, right)));
    }
    for (let i = 0; i < SHARD_CALLS; i++) {
      const id = `tenant-${i}-${'é'.repeat(i % 40)}`;
      const s = shardOf(id, 1024);
      if (i % 9973 === 0) expect(s, id).toBe(shardFormula(id, 1024));
    }
    for (let i = 0; i < SHA_CALLS; i++) {
      msg[i & 63] = i & 0xff;
      const d = sha256(msg);
      if (i % 9973 === 0) expect(hex(d)).toBe(hex(nodeSha256(msg)));
    }
    expect(memory()).toBe(before);
    expect(kernelInfo().build).toBe(build);
  }, 600_000);

  it('merkleRoot over 2^20 leaves (32 MiB of input) keeps memory under 8 MiB, in both input forms', () => {
    freshInstance(build);
    expect(hex(merkleRoot(LEAVES_2_20))).toBe(expectedRoot(1 << 20));
    const afterContiguous = memory();
    expect(afterContiguous).toBeLessThan(8 * MiB);
    expect(hex(merkleRoot(asHashArray(LEAVES_2_20)))).toBe(expectedRoot(1 << 20));
    expect(memory()).toBe(afterContiguous);
    // Another tree of about the same size reuses the same workspace.
    expect(hex(merkleRoot(LEAVES_2_20.subarray(0, 32 * ((1 << 20) - 5))))).toBe(expectedRoot((1 << 20) - 5));
    expect(memory()).toBe(afterContiguous);
  }, 300_000);

  it('sha256 of 6 MiB streams through a bounded workspace', () => {
    freshInstance(build);
    const data = randomBytes(6 * MiB, 0x57);
    expect(hex(sha256(data))).toBe(hex(nodeSha256(data)));
    expect(memory()).toBeLessThan(2 * MiB + 256 * 1024);
  });

  it('sha256Batch: memory does not grow with the number of messages (2^18 then 2^20 messages of 4 bytes)', () => {
    freshInstance(build);
    const data = randomBytes(4 << 20, 0xba7);
    const small = data.subarray(0, 4 << 18);
    expect(hex(sha256Batch(small, 4))).toBe(hex(nodeSha256Batch(small, 4)));
    const after2_18 = memory();
    const out = sha256Batch(data, 4);
    expect(out.length).toBe(32 << 20);
    expect(hex(out.subarray(32 * ((1 << 20) - 1)))).toBe(hex(nodeSha256(data.subarray(data.length - 4))));
    expect(memory()).toBe(after2_18);
  });

  // batch.ts chunks lists by message bytes only; these cases hold many messages of no bytes.
  it('sha256Many: memory does not grow with the number of messages (2^16 then 2^18 empty messages)', () => {
    freshInstance(build);
    const emptyDigest = hex(nodeSha256(new Uint8Array(0)));
    const first = sha256Many(Array.from({ length: 1 << 16 }, () => new Uint8Array(0)));
    expect(hex(first.subarray(32 * ((1 << 16) - 1)))).toBe(emptyDigest);
    const after2_16 = memory();
    const second = sha256Many(Array.from({ length: 1 << 18 }, () => new Uint8Array(0)));
    expect(hex(second.subarray(32 * ((1 << 18) - 1)))).toBe(emptyDigest);
    expect(memory()).toBe(after2_16);
  });

  it('hashLeaves: memory does not grow with the number of leaves (2^16 then 2^18 empty leaves)', () => {
    freshInstance(build);
    // RFC 6962 leaf hash of the empty leaf: SHA-256(0x00).
    const emptyLeaf = hex(nodeSha256(Uint8Array.of(0)));
    const first = hashLeaves(Array.from({ length: 1 << 16 }, () => new Uint8Array(0)));
    expect(hex(first.subarray(0, 32))).toBe(emptyLeaf);
    const after2_16 = memory();
    const second = hashLeaves(Array.from({ length: 1 << 18 }, () => new Uint8Array(0)));
    expect(hex(second.subarray(32 * ((1 << 18) - 1)))).toBe(emptyLeaf);
    expect(memory()).toBe(after2_16);
  });

  it('shardOfMany: memory does not grow with the number of ids (2^18 then 2^20 empty ids)', () => {
    freshInstance(build);
    const emptyShard = shardFormula('', 1024);
    const first = shardOfMany(new Array<string>(1 << 18).fill(''), 1024);
    expect(first.every((s) => s === emptyShard)).toBe(true);
    const after2_18 = memory();
    const second = shardOfMany(new Array<string>(1 << 20).fill(''), 1024);
    expect(second.every((s) => s === emptyShard)).toBe(true);
    expect(memory()).toBe(after2_18);
  });
});
