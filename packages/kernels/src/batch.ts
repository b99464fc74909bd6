// Feeding many messages through hashMessages in bounded chunks, so the workspace stays at a fixed
// size however many messages a caller passes (memory is flat across calls and batch sizes).
import { OUT_DIGEST, OUT_SCORE, OUT_SHARD } from './abi.js';
import { kernel, type Kernel } from './loader.js';

/** Input bytes placed in the workspace per hashMessages call (a message larger than this gets a call of its own). */
export const CHUNK_BYTES = 1 << 20;

export type OutMode = typeof OUT_DIGEST | typeof OUT_SCORE | typeof OUT_SHARD;
const RESULT_BYTES: Record<OutMode, number> = { [OUT_DIGEST]: 32, [OUT_SCORE]: 8, [OUT_SHARD]: 4 };

const align = (n: number): number => (n + 63) & ~63;

/** Where one chunk's results land, consumed by the caller after each call. */
type Sink = (k: Kernel, outPtr: number, first: number, count: number) => void;

/** n messages of `len` bytes packed in `data`. */
export function runFixed(data: Uint8Array, len: number, prefix: number, mode: OutMode, shardCount: number, sink: Sink): void {
  const k = kernel();
  const n = data.length / len;
  // Each message costs its bytes plus its result slot in the workspace.
  const per = Math.max(1, Math.floor(CHUNK_BYTES / (len + RESULT_BYTES[mode])));
  for (let first = 0; first < n; first += per) {
    const m = Math.min(per, n - first);
    const bytes = m * len;
    const outPtr = k.data + align(bytes);
    k.ensure(align(bytes) + m * RESULT_BYTES[mode]);
    k.u8.set(data.subarray(first * len, first * len + bytes), k.data);
    k.x.hashMessages(k.data, 0, m, len, prefix, outPtr, mode, shardCount);
    sink(k, outPtr, first, m);
  }
}

/**
 * Messages produced by `write(i, k, at)`, which copies message i to `k.u8` at `at` and returns
 * its byte length; `maxBytes(i)` bounds that length before the copy.
 */
export function runList(
  n: number, maxBytes: (i: number) => number, write: (i: number, k: Kernel, at: number) => number,
  prefix: number, mode: OutMode, shardCount: number, sink: Sink,
): void {
  const k = kernel();
  let first = 0;
  while (first < n) {
    // Take messages while they fit in a chunk (always at least one). Each costs its bytes plus
    // its offset entry and its result slot, so many tiny messages cannot grow the workspace.
    const overhead = 4 + RESULT_BYTES[mode];
    let m = 0;
    let bound = 0;
    let cost = 0;
    while (first + m < n) {
      const b = maxBytes(first + m);
      if (m > 0 && cost + b + overhead > CHUNK_BYTES) break;
      bound += b;
      cost += b + overhead;
      m++;
    }
    const offsetsPtr = k.data + align(bound);
    const outPtr = offsetsPtr + align(4 * (m + 1));
    k.ensure(outPtr - k.data + m * RESULT_BYTES[mode]);
    let at = 0;
    for (let j = 0; j < m; j++) {
      k.dv.setUint32(offsetsPtr + 4 * j, at, true);
      at += write(first + j, k, k.data + at);
    }
    k.dv.setUint32(offsetsPtr + 4 * m, at, true);
    // Offsets are relative to the data pointer.
    k.x.hashMessages(k.data, offsetsPtr, m, 0, prefix, outPtr, mode, shardCount);
    sink(k, outPtr, first, m);
    first += m;
  }
}

/** A sink that collects 32-byte digests into one contiguous array. */
export function digestSink(out: Uint8Array): Sink {
  return (k, outPtr, first, count) => out.set(k.u8.subarray(outPtr, outPtr + 32 * count), 32 * first);
}

/** A sink that collects u32 shard indices (little-endian in wasm memory). */
export function shardSink(out: Uint32Array): Sink {
  return (k, outPtr, first, count) => {
    for (let j = 0; j < count; j++) out[first + j] = k.dv.getUint32(outPtr + 4 * j, true);
  };
}

/** A sink that collects rendezvous scores: the first 8 digest bytes, big-endian. */
export function scoreSink(out: BigUint64Array): Sink {
  return (k, outPtr, first, count) => {
    for (let j = 0; j < count; j++) out[first + j] = k.dv.getBigUint64(outPtr + 8 * j, false);
  };
}

const encoder = new TextEncoder();

/** Writes UTF-8 of `s` at `at` (capacity 3 bytes per UTF-16 unit reserved) and returns its length. */
export function writeUtf8(k: Kernel, s: string, at: number): number {
  return encoder.encodeInto(s, k.u8.subarray(at, at + 3 * s.length)).written;
}
