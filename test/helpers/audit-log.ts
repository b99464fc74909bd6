// Helpers for the durable-log suites (test/audit/{log,entry,corruption,crash}.test.ts): temporary
// directories, a deterministic clock, typed-error assertions, and an independent reader of the
// tenant file format written from packages/audit/README.md ("Durable log") with node:zlib and
// node:crypto — it shares no code with the package, so the suites check the format, not only
// round trips.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, expect } from 'vitest';
import { isAuditError, nodeLogIo, type AuditError, type AuditErrorCode, type LogIo } from '@tenantry/audit';
export { rng } from './random.js';
import { rng } from './random.js';

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
export const ZEROS = '0'.repeat(64);
/** "TAUDIT" 0x00 0x01 */
export const MAGIC = Buffer.from('5441554449540001', 'hex');
export const HEADER_BYTES = 12;


// ---- directories and clocks ------------------------------------------------------------------

/**
 * Registers cleanup for the calling suite and returns a maker of fresh directories under
 * os.tmpdir(); every directory made is removed after each test.
 */
export function useTempDirs(prefix = 'tenantry-audit-'): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** A clock that starts at 2025-01-01T00:00:00.000Z and advances `step` ms per call. */
export function steppingClock(step = 1, start = Date.UTC(2025, 0, 1)): () => number {
  let t = start - step;
  return () => (t += step);
}

/** Sizes of every file in `dir`, by name. */
export function fileSizes(dir: string): Record<string, number> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, fs.statSync(path.join(dir, n)).size]));
}

// ---- the file format, independently ----------------------------------------------------------

/** The tenant file of `tenantId`: lowercase hex of its UTF-8 bytes + ".log". */
export function tenantFile(dir: string, tenantId: string): string {
  return path.join(dir, `${Buffer.from(tenantId, 'utf8').toString('hex')}.log`);
}

/** RFC 6962 leaf hash SHA-256(0x00 ‖ bytes), hex. */
export function leafHashHex(bytes: Uint8Array): string {
  return createHash('sha256').update(Uint8Array.of(0)).update(bytes).digest('hex');
}

export interface FileRecord {
  /** Offset of the record header in the file. */
  offset: number;
  /** Header + body. */
  size: number;
  body: Buffer;
  entry: Record<string, unknown>;
  leafHash: string;
}

/** Fails the test with `message` unless `ok` (cheap enough to run per record, unlike expect()). */
function check(ok: boolean, message: string): void {
  if (!ok) expect.fail(message);
}

/**
 * Reads a tenant file that must be well formed: magic, then records of
 * [u32 BE length][u32 BE CRC-32(body)][u32 BE CRC-32(first 8 bytes)][body], nothing else.
 */
export function readTenantFile(file: string): FileRecord[] {
  const buf = fs.readFileSync(file);
  check(buf.subarray(0, 8).equals(MAGIC), `${file} starts with the magic`);
  const records: FileRecord[] = [];
  let at = 8;
  while (at < buf.length) {
    check(buf.length - at >= HEADER_BYTES, `${file}: a whole header at ${at}`);
    const length = buf.readUInt32BE(at);
    check(zlib.crc32(buf.subarray(at, at + 8)) === buf.readUInt32BE(at + 8), `${file}: header CRC at ${at}`);
    const body = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
    check(body.length === length, `${file}: a whole body at ${at}`);
    check(zlib.crc32(body) === buf.readUInt32BE(at + 4), `${file}: body CRC at ${at}`);
    records.push({ offset: at, size: HEADER_BYTES + length, body, entry: JSON.parse(body.toString('utf8')) as Record<string, unknown>, leafHash: leafHashHex(body) });
    at += HEADER_BYTES + length;
  }
  return records;
}

const ENTRY_KEYS = 'index,kind,payload,prev,protocol_version,tenant_id,timestamp';
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Checks the hash chain of a tenant's records (protocol 1.0; docs/architecture.md, "@tenantry/audit"); returns the leaf hashes. */
export function checkChain(records: readonly FileRecord[], tenantId: string): string[] {
  let prev = ZEROS;
  return records.map((r, i) => {
    const e = r.entry;
    const where = `${tenantId} #${i}`;
    check(Object.keys(e).sort().join(',') === ENTRY_KEYS, `${where}: fields ${Object.keys(e).join(',')}`);
    check(e.protocol_version === '1.0', `${where}: protocol_version`);
    check(e.tenant_id === tenantId, `${where}: tenant_id ${String(e.tenant_id)}`);
    check(e.index === i, `${where}: index ${String(e.index)}`);
    check(e.prev === prev, `${where}: prev ${String(e.prev)}, expected ${prev}`);
    check(typeof e.timestamp === 'string' && TIMESTAMP.test(e.timestamp), `${where}: timestamp`);
    prev = r.leafHash;
    return r.leafHash;
  });
}

/** A record framed as the format says (for building corrupted files). */
export function frame(body: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(zlib.crc32(body), 4);
  out.writeUInt32BE(zlib.crc32(out.subarray(0, 8)), 8);
  body.copy(out, HEADER_BYTES);
  return out;
}

// ---- RFC 6962, independently -----------------------------------------------------------------

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** RFC 6962 §2.1 MTH over leaf hashes (hex), recursively; hex. */
export function rfc6962Root(leafHashes: readonly string[]): string {
  const rec = (lo: number, hi: number): Buffer => {
    const n = hi - lo;
    if (n === 0) return sha();
    if (n === 1) return Buffer.from(leafHashes[lo]!, 'hex');
    let k = 1;
    while (k * 2 < n) k *= 2;
    return sha(Uint8Array.of(1), rec(lo, lo + k), rec(lo + k, hi));
  };
  return rec(0, leafHashes.length).toString('hex');
}

// ---- errors ----------------------------------------------------------------------------------

export interface ExpectedError {
  code: AuditErrorCode;
  field?: string;
  tenantId?: string;
  index?: number;
}

/** Awaits (or calls) `run`, which must fail with the typed AuditError described; returns it. */
export async function expectAuditError(run: Promise<unknown> | (() => unknown), expected: ExpectedError): Promise<AuditError> {
  let caught: unknown;
  let threw = false;
  try {
    await (typeof run === 'function' ? run() : run);
  } catch (e) {
    threw = true;
    caught = e;
  }
  expect(threw, `expected ${expected.code}`).toBe(true);
  expect(isAuditError(caught), `expected a typed AuditError, got ${String(caught)}`).toBe(true);
  const e = caught as AuditError;
  expect(e.code, e.message).toBe(expected.code);
  if ('field' in expected) {
    expect(e.field, e.message).toBe(expected.field);
    if (expected.field !== undefined) expect(e.message).toContain(expected.field);
  }
  if ('tenantId' in expected) expect(e.tenantId, e.message).toBe(expected.tenantId);
  if ('index' in expected) expect(e.index, e.message).toBe(expected.index);
  return e;
}

/**
 * An io whose first fdatasync blocks until release() and then fails with a simulated EIO; `inSync`
 * resolves once that fdatasync has started. Every other call goes to nodeLogIo.
 */
export function gatedFailingSync(): { io: LogIo; inSync: Promise<void>; release: () => void } {
  let entered!: () => void;
  let release!: () => void;
  const inSync = new Promise<void>((r) => (entered = r));
  const gate = new Promise<void>((r) => (release = r));
  let first = true;
  const io: LogIo = {
    ...nodeLogIo,
    async datasync(fd) {
      if (first) {
        first = false;
        entered();
        await gate;
        throw Object.assign(new Error('fdatasync: simulated I/O error'), { code: 'EIO' });
      }
      return nodeLogIo.datasync(fd);
    },
  };
  return { io, inSync, release };
}
