// Many independent messages hashed in one call (FIPS 180-4), the workhorse behind batch hashing,
// RFC 6962 leaf hashing, shard keys and rendezvous scores.
//
// Messages are either `n` of fixed length `fixedLen` packed at `data` (offsets = 0), or variable:
// message i is data[off[i] .. off[i+1]) with `offsets` an array of n + 1 u32. An optional prefix
// byte (0x00 for RFC 6962 leaves) is hashed before each message; -1 means none.
//
// Output modes: DIGEST writes 32 bytes per message; SCORE writes the first 8 digest bytes (the
// rendezvous score, big-endian); SHARD writes u32 (first 4 digest bytes, big-endian) % shardCount.
import { IV, blockAt, blockCount, compressBlock, storeDigest, resetState } from './sha256';
import { W4, loadBlocks4, compress4, resetState4 } from './sha256x4';

export const OUT_DIGEST: i32 = 0;
export const OUT_SCORE: i32 = 1;
export const OUT_SHARD: i32 = 2;

const STATE1: usize = memory.data(32, 16);
const STATE4: usize = memory.data(128, 16);
const DIGEST: usize = memory.data(32, 16);
const LANE_BLOCKS: usize = memory.data(256, 16);
const SCALAR_BLOCK: usize = memory.data(64, 16);

// @ts-ignore: decorator
@inline function msgStart(data: usize, offsets: usize, fixedLen: usize, i: usize): usize {
  return offsets == 0 ? data + i * fixedLen : data + <usize>load<u32>(offsets + (i << 2));
}
// @ts-ignore: decorator
@inline function msgLen(offsets: usize, fixedLen: usize, i: usize): usize {
  return offsets == 0 ? fixedLen : <usize>(load<u32>(offsets + ((i + 1) << 2)) - load<u32>(offsets + (i << 2)));
}

/** Emits the digest at `digest` for message i in the chosen mode. */
// @ts-ignore: decorator
@inline function emit(digest: usize, out: usize, i: usize, mode: i32, shardCount: u32): void {
  if (mode == OUT_DIGEST) memory.copy(out + (i << 5), digest, 32);
  else if (mode == OUT_SCORE) store<u64>(out + (i << 3), load<u64>(digest));
  else store<u32>(out + (i << 2), bswap<u32>(load<u32>(digest)) % shardCount);
}

function hashOneScalar(data: usize, len: usize, prefix: i32, i: usize, out: usize, mode: i32, shardCount: u32): void {
  resetState(STATE1);
  const nb = blockCount(len + (prefix >= 0 ? 1 : 0));
  for (let b: usize = 0; b < nb; b++) compressBlock(STATE1, blockAt(data, len, prefix, b, SCALAR_BLOCK));
  storeDigest(STATE1, DIGEST);
  emit(DIGEST, out, i, mode, shardCount);
}

/**
 * Hashes messages 0..n-1. Preconditions: every message lies inside memory; `out` has room for n
 * results of the mode's size and does not overlap the messages; shardCount ≥ 1 in SHARD mode.
 */
export function hashMessages(
  data: usize, offsets: usize, n: usize, fixedLen: usize, prefix: i32, out: usize, mode: i32, shardCount: u32,
): void {
  if (!ASC_FEATURE_SIMD) {
    for (let i: usize = 0; i < n; i++) {
      hashOneScalar(msgStart(data, offsets, fixedLen, i), msgLen(offsets, fixedLen, i), prefix, i, out, mode, shardCount);
    }
    return;
  }
  // Four lanes, each streaming its own message; a lane that finishes emits its digest and takes
  // the next message, so messages of different lengths keep all lanes busy.
  const p: usize = prefix >= 0 ? 1 : 0;
  let next: usize = 0;
  let idx0: isize = -1, idx1: isize = -1, idx2: isize = -1, idx3: isize = -1;
  let blk0: usize = 0, blk1: usize = 0, blk2: usize = 0, blk3: usize = 0;
  let nb0: usize = 0, nb1: usize = 0, nb2: usize = 0, nb3: usize = 0;
  resetState4(STATE4, IV);
  while (true) {
    // Refill idle lanes.
    if (idx0 < 0 && next < n) { idx0 = <isize>(next++); blk0 = 0; nb0 = blockCount(msgLen(offsets, fixedLen, <usize>idx0) + p); setLane(0); }
    if (idx1 < 0 && next < n) { idx1 = <isize>(next++); blk1 = 0; nb1 = blockCount(msgLen(offsets, fixedLen, <usize>idx1) + p); setLane(1); }
    if (idx2 < 0 && next < n) { idx2 = <isize>(next++); blk2 = 0; nb2 = blockCount(msgLen(offsets, fixedLen, <usize>idx2) + p); setLane(2); }
    if (idx3 < 0 && next < n) { idx3 = <isize>(next++); blk3 = 0; nb3 = blockCount(msgLen(offsets, fixedLen, <usize>idx3) + p); setLane(3); }
    const active = <i32>(idx0 >= 0) + <i32>(idx1 >= 0) + <i32>(idx2 >= 0) + <i32>(idx3 >= 0);
    if (active == 0) break;
    if (active == 1) {
      // One message left and nothing to refill with: finish it on the scalar path.
      const idx = idx0 >= 0 ? idx0 : idx1 >= 0 ? idx1 : idx2 >= 0 ? idx2 : idx3;
      const i = <usize>idx;
      hashOneScalar(msgStart(data, offsets, fixedLen, i), msgLen(offsets, fixedLen, i), prefix, i, out, mode, shardCount);
      break;
    }
    const q0 = idx0 >= 0 ? blockAt(msgStart(data, offsets, fixedLen, <usize>idx0), msgLen(offsets, fixedLen, <usize>idx0), prefix, blk0, LANE_BLOCKS) : LANE_BLOCKS;
    const q1 = idx1 >= 0 ? blockAt(msgStart(data, offsets, fixedLen, <usize>idx1), msgLen(offsets, fixedLen, <usize>idx1), prefix, blk1, LANE_BLOCKS + 64) : LANE_BLOCKS + 64;
    const q2 = idx2 >= 0 ? blockAt(msgStart(data, offsets, fixedLen, <usize>idx2), msgLen(offsets, fixedLen, <usize>idx2), prefix, blk2, LANE_BLOCKS + 128) : LANE_BLOCKS + 128;
    const q3 = idx3 >= 0 ? blockAt(msgStart(data, offsets, fixedLen, <usize>idx3), msgLen(offsets, fixedLen, <usize>idx3), prefix, blk3, LANE_BLOCKS + 192) : LANE_BLOCKS + 192;
    loadBlocks4(q0, q1, q2, q3);
    compress4(STATE4);
    if (idx0 >= 0 && ++blk0 == nb0) { laneDigest(0); emit(DIGEST, out, <usize>idx0, mode, shardCount); idx0 = -1; }
    if (idx1 >= 0 && ++blk1 == nb1) { laneDigest(1); emit(DIGEST, out, <usize>idx1, mode, shardCount); idx1 = -1; }
    if (idx2 >= 0 && ++blk2 == nb2) { laneDigest(2); emit(DIGEST, out, <usize>idx2, mode, shardCount); idx2 = -1; }
    if (idx3 >= 0 && ++blk3 == nb3) { laneDigest(3); emit(DIGEST, out, <usize>idx3, mode, shardCount); idx3 = -1; }
  }
}

/** Resets lane j of STATE4 to H(0). */
function setLane(j: usize): void {
  for (let i: usize = 0; i < 8; i++) store<u32>(STATE4 + (i << 4) + (j << 2), load<u32>(IV + (i << 2)));
}

/** Extracts lane j of STATE4 as a big-endian digest into DIGEST. */
function laneDigest(j: usize): void {
  for (let i: usize = 0; i < 8; i++) store<u32>(DIGEST + (i << 2), bswap<u32>(load<u32>(STATE4 + (i << 4) + (j << 2))));
}
