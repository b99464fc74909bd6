// Four-lane multi-buffer SHA-256 (FIPS 180-4 §6.2) over wasm SIMD128.
//
// Lane j of every v128 holds the word of message j, so one pass of the 64 rounds compresses four
// independent blocks. Wasm has no vector rotate: each rotation is two shifts and an or, which is
// why the Σ functions dominate the cost; the schedule of a Merkle parent's second block is taken
// from a precomputed table instead (see merkle.ts).
import { K } from './sha256';

/** Four-lane schedule scratch: 64 v128 (W[t] lane-wise). */
export const W4: usize = memory.data(1024, 16);

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}
// @ts-ignore: decorator
@inline function bigSigma0x4(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 2), rotr4(x, 13)), rotr4(x, 22)); }
// @ts-ignore: decorator
@inline function bigSigma1x4(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 6), rotr4(x, 11)), rotr4(x, 25)); }
// @ts-ignore: decorator
@inline function smallSigma0x4(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3)); }
// @ts-ignore: decorator
@inline function smallSigma1x4(x: v128): v128 { return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10)); }

/** Byte-swaps every 32-bit lane (big-endian message words to native order). */
// @ts-ignore: decorator
@inline export function bswap4(x: v128): v128 {
  return i8x16.swizzle(x, v128(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
}

/**
 * Loads 16 bytes from each of four rows and stores them transposed at `dst`: v128 i (i = 0..3) of
 * the output holds word i of every row, lane j from row j. `swap` byte-swaps each word.
 */
// @ts-ignore: decorator
@inline export function transposeLoad(r0: usize, r1: usize, r2: usize, r3: usize, dst: usize, swap: bool): void {
  let a = v128.load(r0), b = v128.load(r1), c = v128.load(r2), d = v128.load(r3);
  if (swap) { a = bswap4(a); b = bswap4(b); c = bswap4(c); d = bswap4(d); }
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(t0, t1, 0, 2), 0);
  v128.store(dst, i64x2.shuffle(t0, t1, 1, 3), 16);
  v128.store(dst, i64x2.shuffle(t2, t3, 0, 2), 32);
  v128.store(dst, i64x2.shuffle(t2, t3, 1, 3), 48);
}

/** Loads block words W[0..15] of four lanes (64 bytes at each pointer, big-endian) into W4. */
export function loadBlocks4(p0: usize, p1: usize, p2: usize, p3: usize): void {
  for (let g: usize = 0; g < 64; g += 16) transposeLoad(p0 + g, p1 + g, p2 + g, p3 + g, W4 + (g << 2), true);
}

/** Fills w[16..63] from w[0..15] (FIPS 180-4 §6.2.2 step 1, four lanes); w is 64 v128. */
export function expand4(w: usize): void {
  for (let t: usize = 16; t < 64; t++) {
    const p = w + (t << 4);
    v128.store(p, i32x4.add(
      i32x4.add(smallSigma1x4(v128.load(p - 32)), v128.load(p - 112)),
      i32x4.add(smallSigma0x4(v128.load(p - 240)), v128.load(p - 256)),
    ));
  }
}

/**
 * 64 rounds and feed-forward for four lanes. `state` holds 8 v128 (word i of lane j at
 * state + 16i + 4j). `addK` true: `w` holds W[t]; false: `w` holds K[t] + W[t] already.
 * Kept as a real function (not inlined) so that V8 tiers it up while a long call is running.
 */
function rounds4(state: usize, w: usize, addK: bool): void {
  let a = v128.load(state, 0), b = v128.load(state, 16), c = v128.load(state, 32), d = v128.load(state, 48);
  let e = v128.load(state, 64), f = v128.load(state, 80), g = v128.load(state, 96), h = v128.load(state, 112);
  // Maj(x,y,z) = y ^ ((x ^ y) & (y ^ z)); x ^ y of one round is y ^ z of the next.
  let bc = v128.xor(b, c);
  let ab: v128;
  for (let t: usize = 0; t < 64; t += 8) {
    const p = w + (t << 4);
    const k = K + (t << 2);
    h = i32x4.add(h, i32x4.add(i32x4.add(bigSigma1x4(e), v128.bitselect(f, g, e)), addK ? i32x4.add(v128.load(p, 0), v128.load32_splat(k, 0)) : v128.load(p, 0)));
    d = i32x4.add(d, h); ab = v128.xor(a, b); h = i32x4.add(h, i32x4.add(bigSigma0x4(a), v128.xor(b, v128.and(ab, bc))));
    g = i32x4.add(g, i32x4.add(i32x4.add(bigSigma1x4(d), v128.bitselect(e, f, d)), addK ? i32x4.add(v128.load(p, 16), v128.load32_splat(k, 4)) : v128.load(p, 16)));
    c = i32x4.add(c, g); bc = v128.xor(h, a); g = i32x4.add(g, i32x4.add(bigSigma0x4(h), v128.xor(a, v128.and(bc, ab))));
    f = i32x4.add(f, i32x4.add(i32x4.add(bigSigma1x4(c), v128.bitselect(d, e, c)), addK ? i32x4.add(v128.load(p, 32), v128.load32_splat(k, 8)) : v128.load(p, 32)));
    b = i32x4.add(b, f); ab = v128.xor(g, h); f = i32x4.add(f, i32x4.add(bigSigma0x4(g), v128.xor(h, v128.and(ab, bc))));
    e = i32x4.add(e, i32x4.add(i32x4.add(bigSigma1x4(b), v128.bitselect(c, d, b)), addK ? i32x4.add(v128.load(p, 48), v128.load32_splat(k, 12)) : v128.load(p, 48)));
    a = i32x4.add(a, e); bc = v128.xor(f, g); e = i32x4.add(e, i32x4.add(bigSigma0x4(f), v128.xor(g, v128.and(bc, ab))));
    d = i32x4.add(d, i32x4.add(i32x4.add(bigSigma1x4(a), v128.bitselect(b, c, a)), addK ? i32x4.add(v128.load(p, 64), v128.load32_splat(k, 16)) : v128.load(p, 64)));
    h = i32x4.add(h, d); ab = v128.xor(e, f); d = i32x4.add(d, i32x4.add(bigSigma0x4(e), v128.xor(f, v128.and(ab, bc))));
    c = i32x4.add(c, i32x4.add(i32x4.add(bigSigma1x4(h), v128.bitselect(a, b, h)), addK ? i32x4.add(v128.load(p, 80), v128.load32_splat(k, 20)) : v128.load(p, 80)));
    g = i32x4.add(g, c); bc = v128.xor(d, e); c = i32x4.add(c, i32x4.add(bigSigma0x4(d), v128.xor(e, v128.and(bc, ab))));
    b = i32x4.add(b, i32x4.add(i32x4.add(bigSigma1x4(g), v128.bitselect(h, a, g)), addK ? i32x4.add(v128.load(p, 96), v128.load32_splat(k, 24)) : v128.load(p, 96)));
    f = i32x4.add(f, b); ab = v128.xor(c, d); b = i32x4.add(b, i32x4.add(bigSigma0x4(c), v128.xor(d, v128.and(ab, bc))));
    a = i32x4.add(a, i32x4.add(i32x4.add(bigSigma1x4(f), v128.bitselect(g, h, f)), addK ? i32x4.add(v128.load(p, 112), v128.load32_splat(k, 28)) : v128.load(p, 112)));
    e = i32x4.add(e, a); bc = v128.xor(b, c); a = i32x4.add(a, i32x4.add(bigSigma0x4(b), v128.xor(c, v128.and(bc, ab))));
  }
  v128.store(state, i32x4.add(v128.load(state, 0), a), 0);
  v128.store(state, i32x4.add(v128.load(state, 16), b), 16);
  v128.store(state, i32x4.add(v128.load(state, 32), c), 32);
  v128.store(state, i32x4.add(v128.load(state, 48), d), 48);
  v128.store(state, i32x4.add(v128.load(state, 64), e), 64);
  v128.store(state, i32x4.add(v128.load(state, 80), f), 80);
  v128.store(state, i32x4.add(v128.load(state, 96), g), 96);
  v128.store(state, i32x4.add(v128.load(state, 112), h), 112);
}

/** Compresses the four blocks already in W4[0..15] into `state`. */
export function compress4(state: usize): void {
  expand4(W4);
  rounds4(state, W4, true);
}

/** Compresses four lanes with a precomputed lane-wise K+W schedule at `kw` (64 v128). */
export function compress4KW(state: usize, kw: usize): void {
  rounds4(state, kw, false);
}

/** Sets all four lanes of `state` to H(0). */
export function resetState4(state: usize, iv: usize): void {
  for (let i: usize = 0; i < 32; i += 4) v128.store(state + (i << 2), v128.load32_splat(iv + i));
}

/** Writes the four lanes' digests (big-endian) to out0..out3. */
export function storeDigests4(state: usize, o0: usize, o1: usize, o2: usize, o3: usize): void {
  // state words 0..3 then 4..7: each half is a 4×4 transpose back to per-lane rows.
  for (let half: usize = 0; half < 32; half += 16) {
    const s = state + (half << 2);
    const a = v128.load(s, 0), b = v128.load(s, 16), c = v128.load(s, 32), d = v128.load(s, 48);
    const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7);
    const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
    v128.store(o0 + half, bswap4(i64x2.shuffle(t0, t1, 0, 2)));
    v128.store(o1 + half, bswap4(i64x2.shuffle(t0, t1, 1, 3)));
    v128.store(o2 + half, bswap4(i64x2.shuffle(t2, t3, 0, 2)));
    v128.store(o3 + half, bswap4(i64x2.shuffle(t2, t3, 1, 3)));
  }
}

