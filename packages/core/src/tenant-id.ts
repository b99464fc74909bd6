// The tenant id rule: the one rule every package and every edge applies (docs/architecture.md,
// "The tenant id").
//
// A tenant id is a string of 1 to MAX_TENANT_ID_BYTES UTF-8 bytes, well-formed UTF-16 (no lone
// surrogate) and without control characters (U+0000–U+001F, U+007F–U+009F). The byte limit is the
// strictest any package needs: the audit log names a tenant's file by the hex of its id's UTF-8 bytes
// (2 × 120 + 4 = 244 bytes, under the 255-byte name limit of ext4, XFS, APFS and NTFS). A lone
// surrogate is refused because UTF-8 encoders map it to U+FFFD, so two ids would share one file and one
// chain. Ids are opaque and compared by code points: "é" (U+00E9) and "e\u0301" are two tenants.
import { CoreError } from './errors.js';

/** Longest tenant id, in UTF-8 bytes. */
export const MAX_TENANT_ID_BYTES = 120;

// C0 and C1 control characters and DEL: invisible in logs and terminals, and meaningless in an id.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What is wrong with `v` as a tenant id, as the end of a sentence that starts with the field's name
 * ("must not be empty"), or undefined when it is a valid id. Packages whose errors must carry their own
 * class build them from this; everyone else calls checkTenantId.
 */
export function tenantIdProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`;
  if (v.length === 0) return 'must not be empty';
  // Each UTF-16 unit is at most 3 UTF-8 bytes: count exactly only when that bound is too high.
  if (v.length * 3 > MAX_TENANT_ID_BYTES) {
    const bytes = Buffer.byteLength(v, 'utf8');
    if (bytes > MAX_TENANT_ID_BYTES) return `must be at most ${MAX_TENANT_ID_BYTES} UTF-8 bytes, got ${bytes}`;
  }
  if (CONTROL.test(v)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(v)) return 'must be well-formed UTF-16 (it contains a lone surrogate)';
  return undefined;
}

/** True when `v` is a valid tenant id. */
export function isTenantId(v: unknown): v is string {
  return tenantIdProblem(v) === undefined;
}

/**
 * Checks a tenant id (see the file comment) and returns it.
 * @throws CoreError INVALID_TENANT_ID naming `field`.
 * @example checkTenantId('acme-corp') // 'acme-corp'; '../etc' is a valid id too: it never becomes a path
 */
export function checkTenantId(v: unknown, field = 'tenant_id'): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw new CoreError('INVALID_TENANT_ID', `${field} ${problem}`, { field });
  return v as string;
}

/** Orders tenant ids by their UTF-8 bytes (as node roots and federated roots order ids). */
export function compareTenantIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
