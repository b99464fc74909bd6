// The data document the policy reads: `data.tenants[id] = { status, regions, egress_allow }`
// (docs/architecture.md, "@tenantry/policy"). setData validates it once, completely, before anything
// reaches the policy: a half-applied or mistyped tenant table would turn into wrong decisions, not
// errors. Tenant ids and statuses follow core's rules (docs/architecture.md, "The tenant id" and
// "Vocabularies"), so an id the policy knows is an id every other package accepts.
import { describeValue, isObject, isTenantStatus, tenantIdProblem, TENANT_STATUSES, type TenantStatus } from '@tenantry/core';
import { PolicyError } from './errors.js';

export { TENANT_STATUSES, type TenantStatus };

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

/**
 * Longest region or host accepted in data, in UTF-16 units. Tenant ids (the keys of `tenants`) are not
 * held to it: they follow core's tenant id rule (MAX_TENANT_ID_BYTES UTF-8 bytes).
 */
export const MAX_DATA_STRING = 256;
const TENANT_FIELDS: ReadonlySet<string> = new Set(['status', 'regions', 'egress_allow']);

function invalid(field: string, message: string): PolicyError {
  return new PolicyError('INVALID_DATA', `${field} ${message}`, { field });
}

/**
 * Stricter than core's isObject: only a literal-like object (prototype Object.prototype or null). A
 * Map, a Date or a class instance passes isObject yet shows no own keys, and would load as an empty
 * table instead of being refused.
 */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkStrings(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw invalid(field, `must be an array of strings, got ${describeValue(v)}`);
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
 * @throws PolicyError INVALID_DATA naming the field, e.g. `tenants["acme"].regions[2]`, or
 *   `tenants["…"]` for an id that breaks the tenant id rule.
 */
export function _checkData(data: unknown): PolicyData {
  if (!isPlainObject(data)) throw invalid('data', `must be an object { tenants }, got ${describeValue(data)}`);
  for (const key of Object.keys(data)) {
    if (key !== 'tenants') throw invalid(`data.${key}`, 'is not a field of the policy data (only tenants is)');
  }
  const tenants = data.tenants;
  if (!isPlainObject(tenants)) throw invalid('tenants', `must be an object of tenant records by id, got ${describeValue(tenants)}`);
  const out: Record<string, TenantRecord> = {};
  for (const id of Object.keys(tenants)) {
    const field = `tenants[${JSON.stringify(id)}]`;
    const problem = tenantIdProblem(id);
    if (problem !== undefined) throw invalid(field, `has an invalid tenant id: it ${problem}`);
    const t = tenants[id];
    if (!isPlainObject(t)) throw invalid(field, `must be an object { status, regions, egress_allow }, got ${describeValue(t)}`);
    for (const key of Object.keys(t)) {
      if (!TENANT_FIELDS.has(key)) throw invalid(`${field}.${key}`, 'is not a field of a tenant record');
    }
    if (!isTenantStatus(t.status)) throw invalid(`${field}.status`, `must be one of ${TENANT_STATUSES.join(', ')}`);
    const record: TenantRecord = {
      status: t.status,
      regions: checkStrings(t.regions, `${field}.regions`),
      egress_allow: checkStrings(t.egress_allow, `${field}.egress_allow`),
    };
    // "__proto__" is an id like any other.
    Object.defineProperty(out, id, { value: record, enumerable: true, writable: true, configurable: true });
  }
  return { tenants: out };
}
