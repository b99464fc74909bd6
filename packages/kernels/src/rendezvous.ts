// Rendezvous (highest random weight) hashing, protocol 1.0:
//   score(key, node) = first 8 bytes, big-endian, of SHA-256(UTF-8(key) ‖ 0x00 ‖ UTF-8(node))
// Nodes are ranked by score, highest first, ties by node id ascending; index 0 is the primary.
import { NO_PREFIX, OUT_SCORE } from './abi.js';
import { runList, scoreSink, writeUtf8 } from './batch.js';
import { KernelRangeError } from './errors.js';
import { checkArray, checkString } from './validate.js';

function checkNodes(key: unknown, nodeIds: unknown): asserts nodeIds is readonly string[] {
  checkString(key, 'key');
  checkArray(nodeIds, 'nodeIds');
  const seen = new Set<string>();
  for (let i = 0; i < nodeIds.length; i++) {
    const id = nodeIds[i];
    checkString(id, `nodeIds[${i}]`);
    if (seen.has(id)) throw new KernelRangeError('DUPLICATE_NODE_ID', `nodeIds[${i}] repeats node id ${JSON.stringify(id)}`, `nodeIds[${i}]`);
    seen.add(id);
  }
}

/** The rendezvous score of `key` on every node, in the order given. */
export function rendezvousScores(key: string, nodeIds: readonly string[]): BigUint64Array {
  checkNodes(key, nodeIds);
  const out = new BigUint64Array(nodeIds.length);
  runList(
    nodeIds.length,
    (i) => 3 * key.length + 1 + 3 * nodeIds[i]!.length,
    (i, k, at) => {
      const n = writeUtf8(k, key, at);
      k.u8[at + n] = 0x00;
      return n + 1 + writeUtf8(k, nodeIds[i]!, at + n + 1);
    },
    NO_PREFIX, OUT_SCORE, 0, scoreSink(out),
  );
  return out;
}

/** Node ids ordered by rendezvous score for `key`: index 0 the primary, 1 the secondary. */
export function rankNodes(key: string, nodeIds: readonly string[]): string[] {
  const scores = rendezvousScores(key, nodeIds);
  const order = nodeIds.map((_, i) => i);
  order.sort((a, b) => {
    const sa = scores[a]!, sb = scores[b]!;
    if (sa !== sb) return sa > sb ? -1 : 1;
    const ia = nodeIds[a]!, ib = nodeIds[b]!;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return order.map((i) => nodeIds[i]!);
}
