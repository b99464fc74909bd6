// Tenant ids of the durable log, and the file each tenant's chain lives in.
//
// A tenant id never reaches a path as text. Its file name is the lowercase hex of its UTF-8 bytes
// plus ".log" ("acme" → "61636d65.log"), which is
//   - injective: UTF-8 is injective on well-formed strings (lone surrogates, which TextEncoder
//     would map to U+FFFD and so collide with a real U+FFFD, are refused) and hex is injective;
//   - safe: only [0-9a-f.] appear, so no "/", "..", NUL, drive letter or reserved name can;
//   - case-proof: the names use lowercase letters only, so two ids never differ only in letter
//     case on a case-insensitive filesystem (APFS, NTFS), and Unicode normalisation by the
//     filesystem (HFS+ NFD) cannot merge two ids either.
// Ids are opaque and compared by code points: "é" (U+00E9) and "e\u0301" are two tenants.
import { AuditError } from './errors.js';

/**
 * Longest tenant id, in UTF-8 bytes. Its file name is 2 × 120 + 4 = 244 bytes, under the 255-byte
 * name limit of ext4, XFS, APFS and NTFS.
 */
export const MAX_TENANT_ID_BYTES = 120;

/** The suffix of tenant files; anything else in the directory is not a tenant chain. */
export const TENANT_FILE_SUFFIX = '.log';
const TENANT_FILE = /^((?:[0-9a-f]{2}){1,120})\.log$/;

// C0 and C1 control characters and DEL: invisible in logs and terminals, and meaningless in an id.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /\p{Cs}/u;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(field: string, message: string): AuditError {
  return new AuditError('INVALID_TENANT_ID', `${field} ${message}`, { field });
}

/**
 * Checks a tenant id: a string of 1..MAX_TENANT_ID_BYTES UTF-8 bytes, well-formed UTF-16 (no lone
 * surrogate) and without control characters (U+0000–U+001F, U+007F–U+009F).
 * @throws AuditError INVALID_TENANT_ID naming `field`.
 * @example checkTenantId('acme-corp') // ok; checkTenantId('../etc') is a valid id too: it never becomes a path
 */
export function checkTenantId(v: unknown, field = 'tenantId'): asserts v is string {
  if (typeof v !== 'string') throw invalid(field, `must be a string, got ${v === null ? 'null' : typeof v}`);
  if (v.length === 0) throw invalid(field, 'must not be empty');
  // Each UTF-16 unit is at most 3 UTF-8 bytes: count exactly only when that bound is too high.
  if (v.length * 3 > MAX_TENANT_ID_BYTES && Buffer.byteLength(v, 'utf8') > MAX_TENANT_ID_BYTES) {
    throw invalid(field, `must be at most ${MAX_TENANT_ID_BYTES} UTF-8 bytes, got ${Buffer.byteLength(v, 'utf8')}`);
  }
  if (CONTROL.test(v)) throw invalid(field, 'must not contain control characters');
  if (LONE_SURROGATE.test(v)) throw invalid(field, 'must be well-formed UTF-16 (it contains a lone surrogate)');
}

/** The file name of a valid tenant id's chain: hex(UTF-8(id)) + ".log". */
export function tenantFileName(tenantId: string): string {
  return Buffer.from(tenantId, 'utf8').toString('hex') + TENANT_FILE_SUFFIX;
}

/**
 * The tenant id a directory entry belongs to, or undefined when the name is not one that
 * tenantFileName produces for a valid id (other files, upper-case hex, invalid UTF-8, …).
 */
export function tenantIdOfFileName(name: string): string | undefined {
  const m = TENANT_FILE.exec(name);
  if (m === null) return undefined;
  let id: string;
  try {
    id = decoder.decode(Buffer.from(m[1]!, 'hex'));
  } catch {
    return undefined;
  }
  try {
    checkTenantId(id);
  } catch {
    return undefined;
  }
  return id;
}

/** Orders tenant ids by their UTF-8 bytes (as node roots and federatedRoot order ids). */
export function compareTenantIdBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
