// SHA-256 (FIPS 180-4 §6.2, RFC 6234 §6.2), scalar compression.
//
// Memory convention for every kernel in this module: the caller (the JS wrapper in
// packages/kernels) places inputs at byte offsets inside linear memory, at or above
// workspaceBase(), and passes pointers and lengths; nothing here allocates.

/** Round constants K[0..63] (FIPS 180-4 §4.2.2). */
export const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Initial hash value H(0) (FIPS 180-4 §5.3.3). */
export const IV: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Message schedule scratch for the scalar compression: 64 words. */
const W: usize = memory.data(256, 16);

// @ts-ignore: decorator
@inline export function bigSigma0(x: u32): u32 { return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22); }
// @ts-ignore: decorator
@inline export function bigSigma1(x: u32): u32 { return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25); }
// @ts-ignore: decorator
@inline export function smallSigma0(x: u32): u32 { return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3); }
// @ts-ignore: decorator
@inline export function smallSigma1(x: u32): u32 { return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10); }

/**
 * Fills W[16..63] from W[0..15] (FIPS 180-4 §6.2.2 step 1).
 * Precondition: W[0..15] at `w` already hold the block's words in native order.
 */
export function expandScalar(w: usize): void {
  for (let t: usize = 16; t < 64; t++) {
    const p = w + (t << 2);
    store<u32>(p, smallSigma1(load<u32>(p - 8)) + load<u32>(p - 28) + smallSigma0(load<u32>(p - 60)) + load<u32>(p - 64));
  }
}

/**
 * The 64 rounds over a prepared schedule, then the feed-forward (FIPS 180-4 §6.2.2 steps 2–4).
 * `addK` true: `w` holds W[t]; false: `w` already holds K[t] + W[t].
 */
// @ts-ignore: decorator
@inline function roundsScalar(state: usize, w: usize, addK: bool): void {
  let a = load<u32>(state, 0), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12);
  let e = load<u32>(state, 16), f = load<u32>(state, 20), g = load<u32>(state, 24), h = load<u32>(state, 28);
  for (let t: usize = 0; t < 64; t += 8) {
    const p = w + (t << 2);
    const k = K + (t << 2);
    h += bigSigma1(e) + (g ^ (e & (f ^ g))) + load<u32>(p, 0) + (addK ? load<u32>(k, 0) : 0); d += h; h += bigSigma0(a) + ((a & b) | (c & (a | b)));
    g += bigSigma1(d) + (f ^ (d & (e ^ f))) + load<u32>(p, 4) + (addK ? load<u32>(k, 4) : 0); c += g; g += bigSigma0(h) + ((h & a) | (b & (h | a)));
    f += bigSigma1(c) + (e ^ (c & (d ^ e))) + load<u32>(p, 8) + (addK ? load<u32>(k, 8) : 0); b += f; f += bigSigma0(g) + ((g & h) | (a & (g | h)));
    e += bigSigma1(b) + (d ^ (b & (c ^ d))) + load<u32>(p, 12) + (addK ? load<u32>(k, 12) : 0); a += e; e += bigSigma0(f) + ((f & g) | (h & (f | g)));
    d += bigSigma1(a) + (c ^ (a & (b ^ c))) + load<u32>(p, 16) + (addK ? load<u32>(k, 16) : 0); h += d; d += bigSigma0(e) + ((e & f) | (g & (e | f)));
    c += bigSigma1(h) + (b ^ (h & (a ^ b))) + load<u32>(p, 20) + (addK ? load<u32>(k, 20) : 0); g += c; c += bigSigma0(d) + ((d & e) | (f & (d | e)));
    b += bigSigma1(g) + (a ^ (g & (h ^ a))) + load<u32>(p, 24) + (addK ? load<u32>(k, 24) : 0); f += b; b += bigSigma0(c) + ((c & d) | (e & (c | d)));
    a += bigSigma1(f) + (h ^ (f & (g ^ h))) + load<u32>(p, 28) + (addK ? load<u32>(k, 28) : 0); e += a; a += bigSigma0(b) + ((b & c) | (d & (b | c)));
  }
  store<u32>(state, load<u32>(state, 0) + a, 0);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
  store<u32>(state, load<u32>(state, 20) + f, 20);
  store<u32>(state, load<u32>(state, 24) + g, 24);
  store<u32>(state, load<u32>(state, 28) + h, 28);
}

/** Compresses one 64-byte block at `block` (big-endian words, any alignment) into `state`. */
export function compressBlock(state: usize, block: usize): void {
  for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), bswap<u32>(load<u32>(block + (t << 2))));
  expandScalar(W);
  roundsScalar(state, W, true);
}

/** Compresses with a precomputed K+W schedule (64 words at `kw`). */
export function compressKW(state: usize, kw: usize): void {
  roundsScalar(state, kw, false);
}

/** Writes the eight state words as a big-endian 32-byte digest at `out`. */
export function storeDigest(state: usize, out: usize): void {
  for (let i: usize = 0; i < 32; i += 4) store<u32>(out + i, bswap<u32>(load<u32>(state + i)));
}

/** Copies H(0) into `state`. */
// @ts-ignore: decorator
@inline export function resetState(state: usize): void {
  memory.copy(state, IV, 32);
}

/**
 * Builds block `b` of the padded message `prefix? ‖ data[0..len)` (FIPS 180-4 §5.1.1) into the 64
 * bytes at `dst`, or returns the address of the block inside `data` when it needs no padding and
 * no prefix byte. `prefix` is a byte value, or -1 for none.
 */
export function blockAt(data: usize, len: usize, prefix: i32, b: usize, dst: usize): usize {
  const p: usize = prefix >= 0 ? 1 : 0;
  const total = len + p;
  const start = b << 6;
  if (start + 64 <= total && (b > 0 || p == 0)) return data + start - p;
  memory.fill(dst, 0, 64);
  let k = start;
  let q = dst;
  if (k == 0 && p == 1) { store<u8>(q, <u8>prefix); k = 1; q++; }
  if (k < total) {
    const take = min<usize>(total - k, start + 64 - k);
    memory.copy(q, data + k - p, take);
    k += take; q += take;
  }
  if (k == total && k < start + 64) { store<u8>(q, 0x80); }
  const blocks = (total + 9 + 63) >> 6;
  if (b == blocks - 1) store<u64>(dst + 56, bswap<u64>(<u64>total << 3));
  return dst;
}

/** Number of 64-byte blocks of the padded message of `total` bytes. */
// @ts-ignore: decorator
@inline export function blockCount(total: usize): usize {
  return (total + 9 + 63) >> 6;
}

const BLOCK: usize = memory.data(64, 16);

/** One-shot SHA-256 of `prefix? ‖ data[0..len)` into `state` (caller stores the digest). */
export function hashScalar(state: usize, data: usize, len: usize, prefix: i32): void {
  resetState(state);
  const n = blockCount(len + (prefix >= 0 ? 1 : 0));
  for (let b: usize = 0; b < n; b++) compressBlock(state, blockAt(data, len, prefix, b, BLOCK));
}

// ---- Streaming context for messages larger than the workspace (one context per instance). ----
const CTX_STATE: usize = memory.data(32, 16);
const CTX_BUF: usize = memory.data(64, 16);
let ctxBuffered: usize = 0;
let ctxTotal: u64 = 0;

export function streamInit(): void {
  resetState(CTX_STATE);
  ctxBuffered = 0;
  ctxTotal = 0;
}

export function streamUpdate(data: usize, len: usize): void {
  ctxTotal += <u64>len;
  if (ctxBuffered > 0) {
    const take = min<usize>(64 - ctxBuffered, len);
    memory.copy(CTX_BUF + ctxBuffered, data, take);
    ctxBuffered += take; data += take; len -= take;
    if (ctxBuffered < 64) return;
    compressBlock(CTX_STATE, CTX_BUF);
    ctxBuffered = 0;
  }
  while (len >= 64) { compressBlock(CTX_STATE, data); data += 64; len -= 64; }
  if (len > 0) { memory.copy(CTX_BUF, data, len); ctxBuffered = len; }
}

export function streamFinal(out: usize): void {
  memory.fill(CTX_BUF + ctxBuffered, 0, 64 - ctxBuffered);
  store<u8>(CTX_BUF + ctxBuffered, 0x80);
  if (ctxBuffered >= 56) { compressBlock(CTX_STATE, CTX_BUF); memory.fill(CTX_BUF, 0, 64); }
  store<u64>(CTX_BUF + 56, bswap<u64>(ctxTotal << 3));
  compressBlock(CTX_STATE, CTX_BUF);
  storeDigest(CTX_STATE, out);
}
