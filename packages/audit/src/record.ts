// Record framing of a tenant file (one file per tenant, see tenant-id.ts).
//
//   file   = FILE_MAGIC record*
//   FILE_MAGIC (8 bytes) = "TAUDIT" 0x00 0x01           (format version 1)
//   record = header body
//   header (12 bytes, big-endian):
//     u32 length     body length in bytes, 2..MAX_ENTRY_BYTES_LIMIT
//     u32 body_crc   CRC-32 of the body (ISO-HDLC / zlib / PNG: poly 0x04C11DB7 reflected, init and
//                    final XOR 0xFFFFFFFF)
//     u32 head_crc   CRC-32 of the 8 bytes above
//   body   = the entry's canonical JSON (entry.ts), `length` bytes
//
// Why a header checksum: it tells a torn tail from a damaged record. An append writes whole
// records and is acknowledged only after fdatasync, so a crash can leave at most an unacknowledged
// *prefix* of a record at the end of the file. A record is therefore a torn tail only when it is
// incomplete: fewer than 12 header bytes remain, or a header that checks declares more body bytes
// than remain. A complete header that does not check (a flipped bit in a length could otherwise
// make the last acknowledged record look incomplete) and a complete body whose CRC does not match
// are corruption, wherever they are. Fewer than 12 trailing bytes can never be an acknowledged
// record (the smallest record is longer), so cutting them loses nothing that was acknowledged.
import zlib from 'node:zlib';

export const FILE_MAGIC: Uint8Array = Uint8Array.of(0x54, 0x41, 0x55, 0x44, 0x49, 0x54, 0x00, 0x01);
export const FILE_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 12;
/** The largest body the format admits (64 MiB); also the upper bound of maxEntryBytes. */
export const MAX_ENTRY_BYTES_LIMIT = 64 * 1024 * 1024;
/** Below this a body cannot be an entry (`{}` is two bytes); such a length is a damaged header. */
const MIN_BODY_BYTES = 2;

// CRC-32 (the zlib polynomial) of the 8 header bytes, table-driven: for 8 bytes a JS loop is
// cheaper than a call into zlib. The body CRC uses zlib.crc32; both are the same function.
const CRC_TABLE = /* @__PURE__ */ (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC-32 of buf[at..at+8). */
export function _headerCrc(buf: Uint8Array, at: number): number {
  let c = -1;
  for (let i = at; i < at + 8; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** _frameAt: fewer bytes than the record needs (a torn tail when nothing follows). */
export const FRAME_INCOMPLETE = -1;
/** _frameAt: a complete header that fails its check or declares an impossible length. */
export const FRAME_BAD_HEADER = -2;
/** _frameAt: a complete record whose body does not match its CRC. */
export const FRAME_BAD_CHECKSUM = -3;

/**
 * Writes the header of the record at `start` of `buf`, whose body (`length` bytes) is already in
 * place at start + RECORD_HEADER_BYTES.
 */
export function _writeRecordHeader(buf: Buffer, start: number, length: number): void {
  const bodyAt = start + RECORD_HEADER_BYTES;
  buf.writeUInt32BE(length, start);
  buf.writeUInt32BE(zlib.crc32(buf.subarray(bodyAt, bodyAt + length)), start + 4);
  buf.writeUInt32BE(_headerCrc(buf, start), start + 8);
}

/** A framed record: header and body back to back. */
export function _frameRecord(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + body.length);
  out.set(body, RECORD_HEADER_BYTES);
  _writeRecordHeader(out, 0, body.length);
  return out;
}

/**
 * The header of the record starting at `at` in buf[0..end): the body length it declares (≥ 2;
 * the body is at at + RECORD_HEADER_BYTES and may extend past `end`), or FRAME_INCOMPLETE (fewer
 * than 12 bytes) or FRAME_BAD_HEADER. Check the body with _bodyMatches once it is all there.
 */
export function _headerAt(buf: Buffer, at: number, end: number): number {
  if (end - at < RECORD_HEADER_BYTES) return FRAME_INCOMPLETE;
  if (_headerCrc(buf, at) !== buf.readUInt32BE(at + 8)) return FRAME_BAD_HEADER;
  const length = buf.readUInt32BE(at);
  if (length < MIN_BODY_BYTES || length > MAX_ENTRY_BYTES_LIMIT) return FRAME_BAD_HEADER;
  return length;
}

/** True when `body` matches the body CRC of the header at `at`. */
export function _bodyMatches(buf: Buffer, at: number, body: Uint8Array): boolean {
  return zlib.crc32(body) === buf.readUInt32BE(at + 4);
}

/**
 * The whole record starting at `at` in buf[0..end): its body length, or FRAME_INCOMPLETE,
 * FRAME_BAD_HEADER or FRAME_BAD_CHECKSUM.
 */
export function _frameAt(buf: Buffer, at: number, end: number): number {
  const length = _headerAt(buf, at, end);
  if (length < 0) return length;
  const bodyStart = at + RECORD_HEADER_BYTES;
  if (end - bodyStart < length) return FRAME_INCOMPLETE;
  return _bodyMatches(buf, at, buf.subarray(bodyStart, bodyStart + length)) ? length : FRAME_BAD_CHECKSUM;
}

