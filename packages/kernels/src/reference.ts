// Plain reference implementations over node:crypto, written straight from the specifications for
// differential tests of the wasm kernels. Slow on purpose (recursive, one hash per call).
import { createHash } from 'node:crypto';

export function refSha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** RFC 6962 §2.1: SHA-256(0x00 ‖ data). */
export function refHashLeaf(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(0)).update(data).digest());
}

/** RFC 6962 §2.1: SHA-256(0x01 ‖ left ‖ right). */
export function refHashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest());
}

/** Largest power of two strictly less than n (n ≥ 2). */
export function refSplit(n: number): number {
  let k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

/** RFC 6962 §2.1 MTH over leaf hashes, by the recursive definition. */
export function refMerkleRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  const n = leafHashes.length;
  if (n === 0) return refSha256(new Uint8Array(0));
  if (n === 1) return leafHashes[0]!;
  const k = refSplit(n);
  return refHashChildren(refMerkleRoot(leafHashes.slice(0, k)), refMerkleRoot(leafHashes.slice(k)));
}

/** Protocol 1.0 shard key, from its definition: parseInt(first 8 hex digits) % shardCount. */
export function refShardOf(tenantId: string, shardCount: number): number {
  const hex = createHash('sha256').update(tenantId, 'utf8').digest('hex');
  return parseInt(hex.slice(0, 8), 16) % shardCount;
}

/** Protocol 1.0 rendezvous score: first 8 bytes (big-endian) of SHA-256(key ‖ 0x00 ‖ node). */
export function refRendezvousScore(key: string, nodeId: string): bigint {
  const d = createHash('sha256').update(key, 'utf8').update(Uint8Array.of(0)).update(nodeId, 'utf8').digest();
  return d.readBigUInt64BE(0);
}

/** Protocol 1.0 rendezvous order: score descending, ties by node id ascending. */
export function refRankNodes(key: string, nodeIds: readonly string[]): string[] {
  return [...nodeIds]
    .map((id) => ({ id, s: refRendezvousScore(key, id) }))
    .sort((a, b) => (a.s !== b.s ? (a.s > b.s ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.id);
}
export { refSpendRate, refEwmaAlpha, refEwma, refBurnRate, refRateDerivative, refTimeToExhaustion, refCostStep, type RefCostStepInput, type RefCostStepResult } from './cost-reference.js';
