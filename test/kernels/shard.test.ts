// Protocol 1.0 shard keys (shardOf, shardOfMany) against the formula of docs/architecture.md
// ("@tenantry/kernels") computed with node:crypto — first 8 hex digits of SHA-256(UTF-8(tenantId))
// as an unsigned integer, mod shardCount — and against refShardOf, on both builds.
import { describe, expect, it } from 'vitest';
import { shardOf, shardOfMany } from '@tenantry/kernels';
import { refShardOf } from '@tenantry/kernels/reference';
import { BUILDS, rng, sampleTenantIds, shardFormula, useBuild, utf8 } from '../helpers/kernels.js';

const SHARD_COUNTS = [1, 2, 3, 7, 1024, 1_000_003, 2 ** 31, 2 ** 32 - 1];
const IDS = sampleTenantIds();

// Each count's expected shards, computed once for both builds.
const expected = new Map<number, number[]>(SHARD_COUNTS.map((c) => [c, IDS.map((id) => shardFormula(id, c))]));

/** Ids of 300 characters, several MiB in all, so that shardOfMany hashes them in several chunks. */
function longIds(): string[] {
  const next = rng(0x10f6);
  const alphabet = ['a', 'Z', '9', '-', 'é', '租', '🦄', 'Ω'];
  return Array.from({ length: 5000 }, (_, i) => {
    let s = `${i}:`;
    while (s.length < 300) s += alphabet[next() % alphabet.length];
    return s.slice(0, 300);
  });
}

describe('the sample ids (guards the test data)', () => {
  it('cover the edges the issue names', () => {
    const byteLengths = new Set(IDS.map((id) => utf8(id).length));
    expect(IDS.length).toBeGreaterThan(3000);
    expect(IDS).toContain('');
    expect(IDS.some((id) => /[\u{1F300}-\u{1FAFF}]/u.test(id))).toBe(true);
    expect(IDS.some((id) => /[\u4e00-\u9fff]/u.test(id))).toBe(true);
    expect(IDS.some((id) => id.length === 300)).toBe(true);
    for (const n of [55, 56, 63, 64, 119, 120]) expect(byteLengths.has(n), `an id of ${n} UTF-8 bytes`).toBe(true);
    expect(IDS.filter((id) => utf8(id).length > 55).length).toBeGreaterThan(100);
  });

  it('the formula equals refShardOf', () => {
    for (const c of SHARD_COUNTS) {
      const wrong = IDS.filter((id, i) => refShardOf(id, c) !== expected.get(c)![i]);
      expect(wrong, `shardCount ${c}`).toEqual([]);
    }
  });
});

describe.each(BUILDS)('shardOf / shardOfMany (%s build)', (build) => {
  useBuild(build);

  // Known answers from published digests: SHA-256("") = e3b0c442… and SHA-256("abc") = ba7816bf…
  // (FIPS 180-2 Appendix B.1), so with shardCount 2^32 - 1 the shard is the first four bytes.
  it('known answers from the NIST digests of "" and "abc"', () => {
    expect(shardOf('', 2 ** 32 - 1)).toBe(0xe3b0c442);
    expect(shardOf('abc', 2 ** 32 - 1)).toBe(0xba7816bf);
    expect(shardOf('abc', 1024)).toBe(0xba7816bf % 1024);
    expect(shardOf('', 7)).toBe(0xe3b0c442 % 7);
    expect(shardOf('anything', 1)).toBe(0);
  });

  it.each(SHARD_COUNTS)('shardOf equals the formula for every sample id, shardCount %i', (count) => {
    const want = expected.get(count)!;
    const wrong = IDS.map((id, i) => [id, shardOf(id, count), want[i]] as const).filter(([, got, w]) => got !== w);
    expect(wrong).toEqual([]);
  });

  it.each(SHARD_COUNTS)('shardOfMany equals shardOf element-wise and the formula, shardCount %i', (count) => {
    const many = shardOfMany(IDS, count);
    expect(many).toBeInstanceOf(Uint32Array);
    expect(many.length).toBe(IDS.length);
    expect(Array.from(many)).toEqual(expected.get(count));
    const wrong = IDS.filter((id, i) => shardOf(id, count) !== many[i]);
    expect(wrong).toEqual([]);
  });

  it('shardOfMany over several MiB of 300-character ids (several internal chunks)', () => {
    const ids = longIds();
    for (const count of [7, 2 ** 32 - 1]) {
      expect(Array.from(shardOfMany(ids, count)), `shardCount ${count}`).toEqual(ids.map((id) => shardFormula(id, count)));
    }
  });

  it('shardOfMany of no ids, of one id, and of ids in any order', () => {
    expect(shardOfMany([], 7)).toEqual(new Uint32Array(0));
    expect(Array.from(shardOfMany(['🦄'], 1024))).toEqual([shardFormula('🦄', 1024)]);
    const some = IDS.slice(0, 97).reverse();
    expect(Array.from(shardOfMany(some, 1024))).toEqual(some.map((id) => shardFormula(id, 1024)));
  });

  it('a lone surrogate hashes as U+FFFD, like TextEncoder and node:crypto', () => {
    expect(shardOf('\uD800', 2 ** 32 - 1)).toBe(shardOf('\uFFFD', 2 ** 32 - 1));
    expect(shardOf('x\uDE00y', 2 ** 32 - 1)).toBe(shardFormula('x\uFFFDy', 2 ** 32 - 1));
  });

  it('spreads ids over all shards (every one of 7 shards gets a share)', () => {
    const counts = new Array<number>(7).fill(0);
    for (const s of shardOfMany(IDS, 7)) counts[s]!++;
    expect(counts.every((c) => c > IDS.length / 14)).toBe(true);
  });
});
