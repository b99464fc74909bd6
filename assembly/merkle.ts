// RFC 6962 Merkle hashing (RFC 6962 §2.1, RFC 9162 §2.1.1).
//
//   leaf   = SHA-256(0x00 ‖ data)
//   parent = SHA-256(0x01 ‖ left ‖ right)          (65 bytes: two blocks)
//   MTH(D[n]) = parent(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n.
//
// Built bottom-up, that split is the same as pairing nodes level by level and carrying an odd
// last node up unchanged, which lets a level be hashed in place, four pairs at a time.
import {
  K, IV, expandScalar, compressBlock, compressKW, storeDigest, resetState,
} from './sha256';
import {
  W4, transposeLoad, compress4, compress4KW, resetState4, storeDigests4,
} from './sha256x4';

/** RFC 6962 §2.1 domain-separation prefixes. */
export const LEAF_PREFIX: i32 = 0x00;
export const NODE_PREFIX: i32 = 0x01;

// A parent's second block is  right[31] ‖ 0x80 ‖ 0…0 ‖ be64(520): its whole schedule depends on one
// byte. PAD_KW[b] holds K[t] + W[t] for t = 0..63 when right[31] = b (256 rows of 256 bytes).
const PAD_KW: usize = memory.data(256 * 256, 16);
const SCRATCH_W: usize = memory.data(256, 16);
let padReady = false;

/** Fills PAD_KW. Called once by the loader right after instantiation. */
export function initTables(): void {
  if (padReady) return;
  for (let b: u32 = 0; b < 256; b++) {
    memory.fill(SCRATCH_W, 0, 64);
    store<u32>(SCRATCH_W, (b << 24) | 0x00800000);
    store<u32>(SCRATCH_W + 60, 520);
    expandScalar(SCRATCH_W);
    const row = PAD_KW + (<usize>b << 8);
    for (let t: usize = 0; t < 256; t += 4) store<u32>(row + t, load<u32>(SCRATCH_W + t) + load<u32>(K + t));
  }
  padReady = true;
}

const STATE1: usize = memory.data(32, 16);
const STATE4: usize = memory.data(128, 16);
const KW4: usize = memory.data(1024, 16);



/**
 * parent(left, right) where the 64 bytes left ‖ right start at `pair`; digest to `out`.
 * Precondition: `pair - 1` is readable (its byte is replaced by the 0x01 prefix).
 * `out` may overlap the pair: everything is read before the digest is stored.
 */
export function hashPairScalar(pair: usize, out: usize): void {
  for (let t: usize = 0; t < 64; t += 4) store<u32>(SCRATCH_W + t, bswap<u32>(load<u32>(pair - 1 + t)));
  store<u32>(SCRATCH_W, (load<u32>(SCRATCH_W) & 0x00ffffff) | 0x01000000);
  expandScalar(SCRATCH_W);
  resetState(STATE1);
  compressKWScalarFromW();
  compressKW(STATE1, PAD_KW + (<usize>load<u8>(pair + 63) << 8));
  storeDigest(STATE1, out);
}

// Adds K into SCRATCH_W and runs the rounds (kept apart so compressKW serves both blocks).
function compressKWScalarFromW(): void {
  for (let t: usize = 0; t < 256; t += 4) store<u32>(SCRATCH_W + t, load<u32>(SCRATCH_W + t) + load<u32>(K + t));
  compressKW(STATE1, SCRATCH_W);
}

// @ts-ignore: decorator
@inline function loadPairBlock1(p: usize, w: usize): void {
  // Message bytes 0..63 = 0x01 ‖ left ‖ right[0..30], read one byte early; lane j = pair at p + 64j.
  for (let g: usize = 0; g < 64; g += 16) transposeLoad(p - 1 + g, p + 63 + g, p + 127 + g, p + 191 + g, w + (g << 2), true);
  v128.store(w, v128.or(v128.and(v128.load(w), i32x4.splat(0x00ffffff)), i32x4.splat(0x01000000)));
}

// @ts-ignore: decorator
@inline function loadPairBlock2(p: usize, kw: usize): void {
  const r0 = PAD_KW + (<usize>load<u8>(p + 63) << 8);
  const r1 = PAD_KW + (<usize>load<u8>(p + 127) << 8);
  const r2 = PAD_KW + (<usize>load<u8>(p + 191) << 8);
  const r3 = PAD_KW + (<usize>load<u8>(p + 255) << 8);
  for (let t: usize = 0; t < 256; t += 16) transposeLoad(r0 + t, r1 + t, r2 + t, r3 + t, kw + (t << 2), false);
}

/** Four parents at once: pairs at p + 64j (j = 0..3), digests to out + 32j. */
function hashPairs4(p: usize, out: usize): void {
  loadPairBlock1(p, W4);
  loadPairBlock2(p, KW4);
  resetState4(STATE4, IV);
  compress4(STATE4);
  compress4KW(STATE4, KW4);
  storeDigests4(STATE4, out, out + 32, out + 64, out + 96);
}

/**
 * Hashes one tree level in place: `count` 32-byte nodes at `ptr` become ceil(count / 2) nodes at
 * `ptr` (an odd last node is carried up unchanged). Returns the new count.
 * Precondition: ptr - 1 is readable; ptr .. ptr + 32·count is inside memory.
 */
export function merkleLevel(ptr: usize, count: usize): usize {
  const pairs = count >> 1;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= pairs; i += 4) hashPairs4(ptr + (i << 6), ptr + (i << 5));
  }
  for (; i < pairs; i++) hashPairScalar(ptr + (i << 6), ptr + (i << 5));
  if (count & 1) memory.copy(ptr + (pairs << 5), ptr + (pairs << 6), 32);
  return pairs + (count & 1);
}

/**
 * MTH over `count` leaf hashes at `ptr` (RFC 6962 §2.1), digest to `out`. Destroys the input.
 * The empty tree's root is SHA-256 of the empty string.
 */
export function merkleRoot(ptr: usize, count: usize, out: usize): void {
  if (count == 0) {
    memory.fill(SCRATCH_W, 0, 64);
    store<u8>(SCRATCH_W, 0x80);
    resetState(STATE1);
    compressBlock(STATE1, SCRATCH_W);
    storeDigest(STATE1, out);
    return;
  }
  while (count > 1) count = merkleLevel(ptr, count);
  memory.copy(out, ptr, 32);
}
