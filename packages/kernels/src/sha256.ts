// SHA-256 (FIPS 180-4, RFC 6234) through the kernels module.
import { NO_PREFIX, OUT_DIGEST } from './abi.js';
import { CHUNK_BYTES, digestSink, runFixed, runList } from './batch.js';
import { kernel } from './loader.js';
import { checkArray, checkBytes, checkPositiveInteger } from './validate.js';
import { KernelRangeError } from './errors.js';

/**
 * SHA-256 of `prefix ‖ data` (prefix a byte value or NO_PREFIX). Inputs up to CHUNK_BYTES take one
 * kernel call; larger ones stream through the module's context in CHUNK_BYTES pieces.
 */
export function digestWithPrefix(data: Uint8Array, prefix: number): Uint8Array {
  const k = kernel();
  if (data.length <= CHUNK_BYTES) {
    const outPtr = k.data + ((data.length + 63) & ~63);
    k.ensure(outPtr - k.data + 32);
    k.u8.set(data, k.data);
    k.x.hashMessages(k.data, 0, 1, data.length, prefix, outPtr, OUT_DIGEST, 0);
    return k.u8.slice(outPtr, outPtr + 32);
  }
  k.ensure(CHUNK_BYTES + 64);
  k.x.streamInit();
  if (prefix !== NO_PREFIX) {
    k.u8[k.data] = prefix;
    k.x.streamUpdate(k.data, 1);
  }
  for (let off = 0; off < data.length; off += CHUNK_BYTES) {
    const part = data.subarray(off, Math.min(data.length, off + CHUNK_BYTES));
    k.u8.set(part, k.data);
    k.x.streamUpdate(k.data, part.length);
  }
  const outPtr = k.data + CHUNK_BYTES;
  k.x.streamFinal(outPtr);
  return k.u8.slice(outPtr, outPtr + 32);
}

/**
 * SHA-256 of `data` (FIPS 180-4 §6.2).
 * @example sha256(new TextEncoder().encode('abc')) // ba7816bf…f20015ad
 */
export function sha256(data: Uint8Array): Uint8Array {
  checkBytes(data, 'data');
  return digestWithPrefix(data, NO_PREFIX);
}

/**
 * SHA-256 of every `messageLength`-byte message packed in `data`, four at a time in SIMD lanes.
 * Returns the digests back to back (32 bytes each).
 * Precondition: data.length is a multiple of messageLength.
 */
export function sha256Batch(data: Uint8Array, messageLength: number): Uint8Array {
  checkBytes(data, 'data');
  checkPositiveInteger(messageLength, 'messageLength');
  if (data.length % messageLength !== 0) {
    throw new KernelRangeError('INVALID_LENGTH', `data length ${data.length} is not a multiple of messageLength ${messageLength}`, 'data');
  }
  const out = new Uint8Array((data.length / messageLength) * 32);
  runFixed(data, messageLength, NO_PREFIX, OUT_DIGEST, 0, digestSink(out));
  return out;
}

/** SHA-256 of each message (any lengths); digests back to back, 32 bytes each. */
export function sha256Many(messages: readonly Uint8Array[]): Uint8Array {
  return hashList(messages, NO_PREFIX, 'messages');
}

/** Shared by sha256Many and hashLeaves. */
export function hashList(messages: readonly Uint8Array[], prefix: number, field: string): Uint8Array {
  checkArray(messages, field);
  for (let i = 0; i < messages.length; i++) checkBytes(messages[i], `${field}[${i}]`);
  const out = new Uint8Array(messages.length * 32);
  runList(
    messages.length,
    (i) => messages[i]!.length,
    (i, k, at) => { const m = messages[i]!; k.u8.set(m, at); return m.length; },
    prefix, OUT_DIGEST, 0, digestSink(out),
  );
  return out;
}
