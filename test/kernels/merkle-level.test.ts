// merkleLevel (one RFC 6962 level: pairs to parents, an odd last node carried up) against
// refHashChildren, across the ROOT_CHUNK_LEAVES pieces it works in, on both builds.
import { describe, expect, it } from 'vitest';
import { merkleLevel, merkleRoot, ROOT_CHUNK_LEAVES } from '@tenantry/kernels';
import { refHashChildren } from '@tenantry/kernels/reference';
import { BUILDS, asHashArray, expectKernelError, hashAt, hex, randomBytes, useBuild } from '../helpers/kernels.js';

/** The level by its definition, one refHashChildren per pair. */
function refLevel(nodes: Uint8Array): Uint8Array {
  const n = nodes.length / 32;
  const out = new Uint8Array(Math.ceil(n / 2) * 32);
  for (let i = 0; i + 1 < n; i += 2) out.set(refHashChildren(hashAt(nodes, i), hashAt(nodes, i + 1)), 16 * i);
  if (n % 2 === 1) out.set(hashAt(nodes, n - 1), 16 * (n - 1));
  return out;
}

const R = ROOT_CHUNK_LEAVES;
const SIZES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 1001, R - 1, R, R + 1, 2 * R + 3, 3 * R + 17];
const NODES = randomBytes(Math.max(...SIZES) * 32, 0x1e7e1);

describe.each(BUILDS)('merkleLevel (%s build)', (build) => {
  useBuild(build);

  it.each(SIZES)('n = %i matches the definition in both input forms', (n) => {
    const nodes = NODES.subarray(0, 32 * n);
    const want = hex(refLevel(nodes));
    expect(hex(merkleLevel(nodes))).toBe(want);
    expect(hex(merkleLevel(asHashArray(nodes)))).toBe(want);
  });

  it('levels applied until one node remains give merkleRoot', () => {
    for (const n of [1, 2, 3, 6, 13, 100, R + 5]) {
      let level = NODES.subarray(0, 32 * n);
      while (level.length > 32) level = merkleLevel(level);
      expect(hex(level)).toBe(hex(merkleRoot(NODES.subarray(0, 32 * n))));
    }
  });

  it('leaves the input untouched', () => {
    const nodes = NODES.slice(0, 32 * 37);
    const copy = nodes.slice();
    merkleLevel(nodes);
    expect(hex(nodes)).toBe(hex(copy));
  });

  it('rejects a buffer that is not whole hashes and elements that are not 32 bytes', () => {
    expectKernelError(() => merkleLevel(new Uint8Array(33)), { code: 'INVALID_LENGTH', type: RangeError, field: 'nodes' });
    expectKernelError(() => merkleLevel([new Uint8Array(32), new Uint8Array(31)]), { code: 'INVALID_LENGTH', type: RangeError, field: 'nodes[1]' });
    expectKernelError(() => merkleLevel('ab' as unknown as Uint8Array), { code: 'INVALID_ARGUMENT', type: TypeError, field: 'nodes' });
  });
});
