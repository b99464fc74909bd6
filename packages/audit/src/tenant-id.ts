// Tenant ids of the durable log, and the file each tenant's chain lives in.
//
// The rule a tenant id obeys is core's (docs/architecture.md, "The tenant id"): its byte limit is
// the one this file naming needs. Here it only gets audit's error class.
//
// A tenant id never reaches a path as text. Its file name is the lowercase hex of its UTF-8 bytes
// plus ".log" ("acme" → "61636d65.log"), which is
//   - injective: UTF-8 is injective on well-formed strings (lone surrogates, which TextEncoder
//     would map to U+FFFD and so collide with a real U+FFFD, are refused by the rule) and hex is
//     injective;
//   - safe: only [0-9a-f.] appear, so no "/", "..", NUL, drive letter or reserved name can;
//   - short enough: 2 × MAX_TENANT_ID_BYTES + 4 = 244 bytes, under the 255-byte name limit of
//     ext4, XFS, APFS and NTFS;
//   - case-proof: the names use lowercase letters only, so two ids never differ only in letter
//     case on a case-insensitive filesystem (APFS, NTFS), and Unicode normalisation by the
//     filesystem (HFS+ NFD) cannot merge two ids either.
import { isTenantId, MAX_TENANT_ID_BYTES, tenantIdProblem } from '@tenantry/core';
import { AuditError } from './errors.js';

export { MAX_TENANT_ID_BYTES } from '@tenantry/core';

/** The suffix of tenant files; anything else in the directory is not a tenant chain. */
export const TENANT_FILE_SUFFIX = '.log';
const TENANT_FILE = new RegExp(`^((?:[0-9a-f]{2}){1,${MAX_TENANT_ID_BYTES}})\\.log$`);

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks a tenant id against core's rule: a string of 1..MAX_TENANT_ID_BYTES UTF-8 bytes,
 * well-formed UTF-16 (no lone surrogate) and without control characters (U+0000–U+001F,
 * U+007F–U+009F).
 * @throws AuditError INVALID_TENANT_ID naming `field`.
 * @example checkTenantId('acme-corp') // ok; checkTenantId('../etc') is a valid id too: it never becomes a path
 */
export function checkTenantId(v: unknown, field = 'tenantId'): asserts v is string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw new AuditError('INVALID_TENANT_ID', `${field} ${problem}`, { field });
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
  return isTenantId(id) ? id : undefined;
}
