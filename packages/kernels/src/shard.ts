// Protocol 1.0 shard key: the first 8 hex digits of SHA-256(UTF-8(tenantId)) read as an unsigned
// integer (i.e. the first 4 digest bytes, big-endian), modulo shardCount.
//
// Strings are encoded as the WHATWG TextEncoder does (a lone surrogate becomes U+FFFD), the same
// bytes that node:crypto and Buffer produce for a JS string.
//
// Any string is a key (docs/architecture.md, "@tenantry/kernels"): whether it is a valid tenant id is
// core's rule (docs/architecture.md, "The tenant id"), applied where ids enter; here it only has to hash
// the same on every node.
import { NO_PREFIX, OUT_SHARD } from './abi.js';
import { runList, shardSink, writeUtf8 } from './batch.js';
import { checkArray, checkShardCount, checkString } from './validate.js';

/** The shard of one tenant id, in 0..shardCount-1. */
export function shardOf(tenantId: string, shardCount: number): number {
  checkString(tenantId, 'tenantId');
  checkShardCount(shardCount);
  const out = new Uint32Array(1);
  runList(1, () => 3 * tenantId.length, (_i, k, at) => writeUtf8(k, tenantId, at), NO_PREFIX, OUT_SHARD, shardCount, shardSink(out));
  return out[0]!;
}

/** shardOf for many ids in one pass (four ids at a time in SIMD lanes). */
export function shardOfMany(tenantIds: readonly string[], shardCount: number): Uint32Array {
  checkArray(tenantIds, 'tenantIds');
  for (let i = 0; i < tenantIds.length; i++) checkString(tenantIds[i], `tenantIds[${i}]`);
  checkShardCount(shardCount);
  const out = new Uint32Array(tenantIds.length);
  runList(
    tenantIds.length,
    (i) => 3 * tenantIds[i]!.length,
    (i, k, at) => writeUtf8(k, tenantIds[i]!, at),
    NO_PREFIX, OUT_SHARD, shardCount, shardSink(out),
  );
  return out;
}
