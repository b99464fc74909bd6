// The data document the policy reads: `data.tenants[id] = { status, regions, egress_allow }`
// (DESIGN.md). setData validates it once, completely, before anything reaches the policy: a
// half-applied or mistyped tenant table would turn into wrong decisions, not errors.
import { PolicyError } from './errors.js';

/** Tenant statuses (DESIGN.md). */
export const TENANT_STATUSES = ['active', 'suspended', 'locked', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** One tenant's record. */
export interface TenantRecord {
  status: TenantStatus;
  /** Regions the tenant's resources may live in. */
  regions: string[];
  /** Hosts the tenant may reach (exact names, or "*.example.com" for subdomains). */
  egress_allow: string[];
}

/** What setData takes. */
export interface PolicyData {
  tenants: Record<string, TenantRecord>;
}

/** Longest tenant id, region or host accepted in data, in UTF-16 units. */
export const MAX_DATA_STRING = 256;
const STATUS: ReadonlySet<string> = new Set(TENANT_STATUSES);
const TENANT_FIELDS: ReadonlySet<string> = new Set(['status', 'regions', 'egress_allow']);

function invalid(field: string, message: string): PolicyError {
  return new PolicyError('INVALID_DATA', `${field} ${message}`, { field });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkStrings(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw invalid(field, `must be an array of strings, got ${describe(v)}`);
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_DATA_STRING) {
      throw invalid(`${field}[${i}]`, `must be a string of 1..${MAX_DATA_STRING} characters`);
    }
    out.push(s);
  }
  return out;
}

/**
 * Validates `{ tenants }` and returns a copy holding exactly the checked fields (so a caller
 * mutating its object later cannot change what the engine believes it loaded).
 * @throws PolicyError INVALID_DATA naming the field, e.g. `tenants["acme"].regions[2]`.
 */
export function _checkData(data: unknown): PolicyData {
  if (!isPlainObject(data)) throw invalid('data', `must be an object { tenants }, got ${describe(data)}`);
  for (const key of Object.keys(data)) {
    if (key !== 'tenants') throw invalid(`data.${key}`, 'is not a field of the policy data (only tenants is)');
  }
  const tenants = data.tenants;
  if (!isPlainObject(tenants)) throw invalid('tenants', `must be an object of tenant records by id, got ${describe(tenants)}`);
  const out: Record<string, TenantRecord> = {};
  for (const id of Object.keys(tenants)) {
    const field = `tenants[${JSON.stringify(id)}]`;
    if (id.length === 0 || id.length > MAX_DATA_STRING) throw invalid(field, `must have an id of 1..${MAX_DATA_STRING} characters`);
    const t = tenants[id];
    if (!isPlainObject(t)) throw invalid(field, `must be an object { status, regions, egress_allow }, got ${describe(t)}`);
    for (const key of Object.keys(t)) {
      if (!TENANT_FIELDS.has(key)) throw invalid(`${field}.${key}`, 'is not a field of a tenant record');
    }
    if (typeof t.status !== 'string' || !STATUS.has(t.status)) {
      throw invalid(`${field}.status`, `must be one of ${TENANT_STATUSES.join(', ')}`);
    }
    const record: TenantRecord = {
      status: t.status as TenantStatus,
      regions: checkStrings(t.regions, `${field}.regions`),
      egress_allow: checkStrings(t.egress_allow, `${field}.egress_allow`),
    };
    // "__proto__" is an id like any other.
    Object.defineProperty(out, id, { value: record, enumerable: true, writable: true, configurable: true });
  }
  return { tenants: out };
}
