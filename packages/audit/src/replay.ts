// Replaying a tenant file (record.ts framing, entry.ts entries) into its verified prefix: the
// Merkle tree of its leaf hashes, the record offsets, and what ends the prefix — the end of the
// file, a torn tail, or the first corruption with its index.
//
// The file is read in CHUNK_BYTES pieces. Each piece is framed and CRC-checked record by record,
// its entries are checked by layout (below), all its leaves are hashed in one kernel call
// (hashLeaves), the prev links are compared, and the leaf hashes go into the tree in one batch.
//
// Layout check. RFC 8785 sorts keys, so a valid entry of tenant T at index i is exactly
//   {"index":i,"kind":"…","payload":{…},"prev":"<64 hex>","protocol_version":"1.0",
//    "tenant_id":<JCS(T)>,"timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ"}
// which is checked with byte comparisons from both ends: index, prev, protocol_version, tenant_id
// and timestamp are verified without parsing; the kind and payload between them are covered by
// the CRC and the leaf hash. A record that fails the layout check is parsed in full
// (entry.ts _parseEntry) to name the defect. The layout check accepts every entry the log writes;
// anything it accepts was written by it (or by someone who can also forge the CRC and the chain,
// which only signed checkpoints can expose).
import { promisify } from 'node:util';
import fs from 'node:fs';
import { PROTOCOL_VERSION } from '@tenantry/core';
import { hashLeaves } from '@tenantry/kernels';
import { _canonicalJson } from './canonical-json.js';
import { GENESIS_PREV, _parseEntry, type EntryDefect } from './entry.js';
import {
  FILE_HEADER_BYTES, FILE_MAGIC, FRAME_BAD_HEADER, FRAME_INCOMPLETE, RECORD_HEADER_BYTES, _bodyMatches, _headerAt,
} from './record.js';
import { MerkleTree } from './tree.js';

const CHUNK_BYTES = 8 << 20;
const read = promisify(fs.read);

/** What is wrong with the first bad record of a tenant file. */
export type CorruptionKind =
  /** The file does not start with the format's magic bytes. */
  | 'file-header'
  /** A complete record header fails its CRC or declares an impossible length (flipped bits, garbage). */
  | 'record-header'
  /** A complete record whose body does not match its CRC (flipped bits). */
  | 'checksum'
  /** A record with a valid CRC that is not a canonical protocol 1.0 entry. */
  | 'malformed-entry'
  | 'protocol-version'
  /** Another tenant's entry. */
  | 'tenant-mismatch'
  /** Not the next index: a record was dropped, duplicated or moved. */
  | 'index-mismatch'
  /** prev is not the leaf hash of the previous entry. */
  | 'prev-mismatch';

/** The first problem in a tenant file: the entries before `index` are verified, nothing after is used. */
export interface Corruption {
  tenantId: string;
  /** Index of the first entry that is not verified (= number of verified entries). */
  index: number;
  kind: CorruptionKind;
  /** Byte offset of the bad record (or of the file header) in the tenant file. */
  offset: number;
  message: string;
}

/** An incomplete last record (never acknowledged: it was not fully written when the writer stopped). */
export interface TornTail {
  tenantId: string;
  /** Where the file was cut: the end of the last complete record (0 when the file header itself was torn). */
  offset: number;
  /** Bytes cut. */
  bytes: number;
}

export interface ReplayResult {
  count: number;
  /** offsets[i]: file offset of record i (length ≥ count). */
  offsets: Float64Array;
  tree: MerkleTree;
  /** Leaf hash of the last verified entry. */
  lastLeaf: Uint8Array | undefined;
  /** End of the verified prefix: FILE_HEADER_BYTES + the verified records (0 for an empty file or a torn file header). */
  validBytes: number;
  torn: TornTail | undefined;
  corruption: Corruption | undefined;
}

const ascii = (s: string): Buffer => Buffer.from(s, 'utf8');
const INDEX_KEY = ascii('{"index":');
const KIND_KEY = ascii(',"kind":"');
const PREV_KEY = ascii(',"prev":"');
const TIMESTAMP_BYTES = 24;
const HEX_DIGITS = ascii('0123456789abcdef');
// "YYYY-MM-DDTHH:MM:SS.mmmZ": 0 marks a digit, anything else the byte that must be there.
const TIMESTAMP_SHAPE = Array.from('0000-00-00T00:00:00.000Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));
const ZERO = 0x30;
const NINE = 0x39;

/** Reads exactly `length` bytes at `position` unless the file ends first; returns the bytes read. */
export async function _readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await read(fd, buf, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** True when buf[at..at+pattern.length) equals `pattern` (a loop: these are short, and a native call costs more). */
function matches(buf: Buffer, at: number, pattern: Buffer): boolean {
  for (let i = 0; i < pattern.length; i++) if (buf[at + i] !== pattern[i]) return false;
  return true;
}

/** The layout check (see the file comment): the offset of prev's hex digits, or -1. */
function checkLayout(buf: Buffer, start: number, end: number, index: number, mid: Buffer): number {
  const hexAt = end - 2 - TIMESTAMP_BYTES - mid.length - 64;
  // Shortest possible: {"index":0,"kind":"x","payload":{} then the tail.
  if (hexAt - PREV_KEY.length - 1 < start + INDEX_KEY.length + 1 + KIND_KEY.length + 2 + 12) return -1;
  if (!matches(buf, start, INDEX_KEY)) return -1;
  let p = start + INDEX_KEY.length;
  let value = 0;
  const first = p;
  while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE && p - first < 16) value = value * 10 + (buf[p++]! - ZERO);
  if (p === first || (buf[first] === ZERO && p - first > 1) || value !== index) return -1;
  if (!matches(buf, p, KIND_KEY)) return -1;
  if (buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return -1; // '"}'
  const ts = end - 2 - TIMESTAMP_BYTES;
  for (let i = 0; i < TIMESTAMP_BYTES; i++) {
    const b = buf[ts + i]!;
    const want = TIMESTAMP_SHAPE[i]!;
    if (want === 0 ? b < ZERO || b > NINE : b !== want) return -1;
  }
  if (!matches(buf, ts - mid.length, mid)) return -1;
  if (!matches(buf, hexAt - PREV_KEY.length, PREV_KEY)) return -1;
  if (buf[hexAt - PREV_KEY.length - 1] !== 0x7d) return -1; // the payload object's '}'
  return hexAt;
}

/** True when buf[at..at+64) is the lowercase hex of hash[from..from+32). */
function hexMatches(buf: Buffer, at: number, hash: Uint8Array, from: number): boolean {
  for (let j = 0; j < 32; j++) {
    const b = hash[from + j]!;
    if (buf[at + 2 * j] !== HEX_DIGITS[b >>> 4] || buf[at + 2 * j + 1] !== HEX_DIGITS[b & 15]) return false;
  }
  return true;
}

function isGenesis(buf: Buffer, at: number): boolean {
  for (let j = 0; j < 64; j++) if (buf[at + j] !== ZERO) return false;
  return true;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Replays the tenant file open as `fd` (of `fileBytes` bytes) for `tenantId`. Reads only; the
 * caller decides what to do with a torn tail or a corruption.
 */
export async function _replayTenantFile(fd: number, tenantId: string, fileBytes: number): Promise<ReplayResult> {
  const result: ReplayResult = {
    count: 0, offsets: new Float64Array(1024), tree: new MerkleTree(), lastLeaf: undefined,
    validBytes: 0, torn: undefined, corruption: undefined,
  };
  const corrupt = (kind: CorruptionKind, offset: number, message: string): ReplayResult => {
    result.corruption = { tenantId, index: result.count, kind, offset, message };
    return result;
  };
  if (fileBytes === 0) return result;

  const head = Buffer.alloc(FILE_HEADER_BYTES);
  const got = await _readFully(fd, head, 0, Math.min(FILE_HEADER_BYTES, fileBytes), 0);
  const magicPrefix = Buffer.compare(head.subarray(0, got), Buffer.from(FILE_MAGIC).subarray(0, got)) === 0;
  if (fileBytes < FILE_HEADER_BYTES && magicPrefix) {
    result.torn = { tenantId, offset: 0, bytes: fileBytes };
    return result;
  }
  if (got < FILE_HEADER_BYTES || !magicPrefix) return corrupt('file-header', 0, 'the file does not start with the tenantry audit magic');
  result.validBytes = FILE_HEADER_BYTES;

  const mid = ascii(`","protocol_version":"${PROTOCOL_VERSION}","tenant_id":${_canonicalJson(tenantId)},"timestamp":"`);
  let buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(fileBytes - FILE_HEADER_BYTES, RECORD_HEADER_BYTES)));
  let bufPos = FILE_HEADER_BYTES; // file offset of buf[0]
  let bufLen = 0;
  const views: Buffer[] = [];
  const hexAts: number[] = [];
  const starts: number[] = [];

  for (;;) {
    const want = Math.min(buf.length - bufLen, fileBytes - (bufPos + bufLen));
    const got = want > 0 ? await _readFully(fd, buf, bufLen, want, bufPos + bufLen) : 0;
    bufLen += got;
    // A short read means the file shrank under us: what was read is all there is.
    const atEof = bufPos + bufLen >= fileBytes || got < want;

    // Frame and layout-check the records of this piece.
    let at = 0;
    let stop: 'torn' | 'header' | 'checksum' | 'entry' | undefined;
    views.length = 0;
    hexAts.length = 0;
    starts.length = 0;
    for (;;) {
      const length = _headerAt(buf, at, bufLen);
      const bodyAt = at + RECORD_HEADER_BYTES;
      if (length === FRAME_INCOMPLETE || (length >= 0 && bufLen - bodyAt < length)) {
        if (atEof && at < bufLen) stop = 'torn';
        break;
      }
      if (length === FRAME_BAD_HEADER) { stop = 'header'; break; }
      const body = buf.subarray(bodyAt, bodyAt + length);
      if (!_bodyMatches(buf, at, body)) { stop = 'checksum'; break; }
      const hexAt = checkLayout(buf, bodyAt, bodyAt + length, result.count + views.length, mid);
      if (hexAt < 0) { stop = 'entry'; break; }
      views.push(body);
      hexAts.push(hexAt);
      starts.push(bufPos + at);
      at = bodyAt + length;
    }

    // Hash the piece's leaves at once, check the prev links, and take the verified ones.
    if (views.length > 0) {
      const leaves = hashLeaves(views);
      let good = 0;
      for (; good < views.length; good++) {
        const ok = good === 0
          ? (result.lastLeaf === undefined ? isGenesis(buf, hexAts[0]!) : hexMatches(buf, hexAts[0]!, result.lastLeaf, 0))
          : hexMatches(buf, hexAts[good]!, leaves, 32 * (good - 1));
        if (!ok) break;
      }
      if (good > 0) {
        result.tree.appendLeafHashes(leaves.subarray(0, 32 * good));
        if (result.count + good > result.offsets.length) {
          const grown = new Float64Array(Math.max(2 * result.offsets.length, result.count + good));
          grown.set(result.offsets.subarray(0, result.count));
          result.offsets = grown;
        }
        for (let i = 0; i < good; i++) result.offsets[result.count + i] = starts[i]!;
        result.count += good;
        result.lastLeaf = leaves.slice(32 * (good - 1), 32 * good);
        result.validBytes = good < views.length ? starts[good]! : bufPos + at;
      }
      if (good < views.length) {
        const expected = result.lastLeaf === undefined ? GENESIS_PREV : hex(result.lastLeaf);
        const found = buf.toString('latin1', hexAts[good]!, hexAts[good]! + 64);
        return corrupt('prev-mismatch', starts[good]!, `prev is "${found}", expected the previous leaf hash ${expected}`);
      }
    }

    const offset = bufPos + at;
    if (stop === 'torn') {
      result.torn = { tenantId, offset, bytes: fileBytes - offset };
      return result;
    }
    if (stop === 'header') return corrupt('record-header', offset, 'the record header fails its CRC-32 or declares an impossible length');
    if (stop === 'checksum') return corrupt('checksum', offset, 'the record body does not match its CRC-32');
    if (stop === 'entry') {
      const length = buf.readUInt32BE(at);
      const body = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
      const prevHex = result.lastLeaf === undefined ? GENESIS_PREV : hex(result.lastLeaf);
      const parsed = _parseEntry(body, tenantId, result.count, prevHex);
      const defect: EntryDefect = parsed.ok ? { ok: false, kind: 'malformed-entry', message: 'the entry is not in the layout the log writes' } : parsed;
      return corrupt(defect.kind, offset, defect.message);
    }
    if (atEof) return result;

    // Keep the unfinished record and read on; grow the buffer when one record needs more room.
    const rest = bufLen - at;
    buf.copyWithin(0, at, bufLen);
    bufPos += at;
    bufLen = rest;
    if (rest >= RECORD_HEADER_BYTES) {
      const need = RECORD_HEADER_BYTES + buf.readUInt32BE(0);
      if (need > buf.length) {
        const grown = Buffer.allocUnsafe(need);
        buf.copy(grown, 0, 0, rest);
        buf = grown;
      }
    }
  }
}
