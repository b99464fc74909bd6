// Protocol 1.0 rendezvous hashing (rankNodes, rendezvousScores): score = first 8 bytes, big-endian,
// of SHA-256(UTF-8(key) ‖ 0x00 ‖ UTF-8(nodeId)); highest score first, ties by nodeId ascending.
// Checked against the formula computed with node:crypto and against refRankNodes /
// refRendezvousScore, on both builds.
import { describe, expect, it } from 'vitest';
import { rankNodes, rendezvousScores } from '@tenantry/kernels';
import { refRankNodes, refRendezvousScore } from '@tenantry/kernels/reference';
import { BUILDS, rng, sampleTenantIds, scoreFormula, shuffled, useBuild } from '../helpers/kernels.js';

const KEYS = [
  'tenant-42', '', 'shard/17', 'ключ', '租户', '🔑', 'k'.repeat(55), 'k'.repeat(56), 'k'.repeat(300), '租'.repeat(40),
  ...sampleTenantIds().filter((_, i) => i % 97 === 0),
];

const NODE_SETS: [string, string[]][] = [
  ['no nodes', []],
  ['one node', ['node-a']],
  ['three nodes', ['node-a', 'node-b', 'node-c']],
  ['five nodes (one SIMD group and a remainder)', ['n1', 'n2', 'n3', 'n4', 'n5']],
  ['non-ASCII and empty ids', ['', 'ß', 'Ω-east', '東京-1', '🦄-node', 'node\u0000x']],
  ['ids of mixed lengths (lanes finish at different times)', ['a', 'b'.repeat(60), 'c'.repeat(120), 'd', 'e'.repeat(300), 'f'.repeat(7), 'g'.repeat(64)]],
  ['64 nodes', Array.from({ length: 64 }, (_, i) => `10.0.${i >> 4}.${i & 15}:6379`)],
  ['1000 nodes', Array.from({ length: 1000 }, (_, i) => `node-${i.toString(36)}-${'x'.repeat(i % 90)}`)],
];

/**
 * The order docs/architecture.md defines ("@tenantry/kernels"), from the formula: score descending,
 * ties by nodeId ascending.
 */
function formulaRank(key: string, nodeIds: readonly string[]): string[] {
  return nodeIds
    .map((id) => ({ id, s: scoreFormula(key, id) }))
    .sort((a, b) => (a.s !== b.s ? (a.s > b.s ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.id);
}

describe.each(BUILDS)('rankNodes / rendezvousScores (%s build)', (build) => {
  useBuild(build);

  it.each(NODE_SETS)('rendezvousScores equals refRendezvousScore and the formula: %s', (_name, nodes) => {
    for (const key of KEYS) {
      const scores = rendezvousScores(key, nodes);
      expect(scores).toBeInstanceOf(BigUint64Array);
      expect(Array.from(scores), `key ${JSON.stringify(key)}`).toEqual(nodes.map((id) => refRendezvousScore(key, id)));
      expect(Array.from(scores)).toEqual(nodes.map((id) => scoreFormula(key, id)));
    }
  });

  it.each(NODE_SETS)('rankNodes equals refRankNodes and the defined order: %s', (_name, nodes) => {
    for (const key of KEYS) {
      const ranked = rankNodes(key, nodes);
      expect(ranked, `key ${JSON.stringify(key)}`).toEqual(refRankNodes(key, nodes));
      expect(ranked).toEqual(formulaRank(key, nodes));
    }
  });

  it('ranks by score, highest first: scores along the ranking never increase', () => {
    const nodes = NODE_SETS[7]![1];
    for (const key of KEYS.slice(0, 10)) {
      const ranked = rankNodes(key, nodes);
      const scores = rendezvousScores(key, ranked);
      for (let i = 1; i < scores.length; i++) {
        const [a, b] = [scores[i - 1]!, scores[i]!];
        const inOrder = a > b || (a === b && ranked[i - 1]! < ranked[i]!);
        expect(inOrder, `${key}: position ${i}`).toBe(true);
      }
      expect(new Set(ranked)).toEqual(new Set(nodes));
    }
  });

  it('is stable under shuffled input: any permutation of nodeIds gives the same ranking', () => {
    const next = rng(0x5a);
    for (const [name, nodes] of NODE_SETS) {
      for (const key of KEYS.slice(0, 6)) {
        const ranked = rankNodes(key, nodes);
        for (let p = 0; p < 5; p++) {
          expect(rankNodes(key, shuffled(nodes, next())), `${name}, key ${JSON.stringify(key)}`).toEqual(ranked);
        }
      }
    }
  });

  it('does not modify nodeIds', () => {
    const nodes = ['node-c', 'node-a', 'node-b', 'node-d'];
    const copy = [...nodes];
    rankNodes('tenant-42', nodes);
    rendezvousScores('tenant-42', nodes);
    expect(nodes).toEqual(copy);
  });

  it('moves only the keys of a removed node (the point of rendezvous hashing)', () => {
    const nodes = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    const without = nodes.filter((n) => n !== 'node-3');
    const keys = Array.from({ length: 500 }, (_, i) => `tenant-${i}`);
    let moved = 0;
    for (const key of keys) {
      const before = rankNodes(key, nodes)[0]!;
      const after = rankNodes(key, without)[0]!;
      if (before !== 'node-3') expect(after, key).toBe(before);
      else moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });
});
