// The tenants file (docs/architecture.md, "@tenantry/gateway"; TENANTRY_CONFIG):
//   { "tenants": [ { "tenant_id", "api_key_sha256", "principal": { "id", "roles", "clearance", "tool_scopes" },
//     "status", "regions", "egress_allow", "envelope": { …budget envelope… } } ], "admin_key_sha256" }
// checked once, completely, with errors naming the field (`tenants[1].api_key_sha256`). API keys are stored
// as SHA-256 only: a bearer key is hashed and looked up, so the file holds nothing that lets anyone call.
// This is the edge where a tenant id first arrives: it is checked here with the one tenant id rule of
// @tenantry/core, so an id that any later part would refuse (the audit log's file name, the quota) never
// gets in, and no request is charged for a tenant whose entries could not be written.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CLEARANCES, isClearance, isObject, tenantIdProblem, type Clearance, type TenantStatus } from '@tenantry/core';
import type { PolicyData } from '@tenantry/policy';
import { checkEnvelope, isQuotaError, type BudgetEnvelope } from '@tenantry/quota';
import { GatewayError } from './errors.js';

export interface TenantPrincipal {
  id: string;
  roles: string[];
  clearance: Clearance;
  tool_scopes: string[];
}

export interface TenantRecord {
  tenant_id: string;
  api_key_sha256: string;
  principal: TenantPrincipal;
  status: FileStatus;
  regions: string[];
  egress_allow: string[];
  envelope: BudgetEnvelope;
}

export interface TenantsFile {
  tenants: TenantRecord[];
  admin_key_sha256: string;
}

/** The statuses a tenants file may give (`locked` is set by a lockdown, never by the file). */
export type FileStatus = Exclude<TenantStatus, 'locked'>;
const FILE_STATUSES: readonly FileStatus[] = ['active', 'suspended', 'deleted'];
const HEX64 = /^[0-9a-f]{64}$/;

function invalid(field: string, message: string): GatewayError {
  return new GatewayError('INVALID_TENANTS', `${field} ${message}`, field);
}

function strings(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid(field, 'must be an array of non-empty strings');
  return [...(v as string[])];
}

function text(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw invalid(field, 'must be a non-empty string of at most 256 characters');
  return v;
}

function tenantId(v: unknown, field: string): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw new GatewayError('INVALID_TENANTS', `${field} ${problem}`, field);
  return v as string;
}

function keyHash(v: unknown, field: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) throw invalid(field, 'must be the SHA-256 of the key as 64 lowercase hex digits');
  return v;
}

/**
 * Checks a tenants file (the parsed JSON). Tenant ids and key hashes must be unique; each envelope's
 * tenant_id must be its tenant's.
 * @throws GatewayError INVALID_TENANTS naming the field.
 */
export function checkTenantsFile(v: unknown): TenantsFile {
  if (!isObject(v)) throw invalid('tenants file', 'must be a JSON object { tenants, admin_key_sha256 }');
  if (!Array.isArray(v.tenants)) throw invalid('tenants', 'must be an array');
  const admin = keyHash(v.admin_key_sha256, 'admin_key_sha256');
  const ids = new Set<string>();
  const keys = new Set<string>([admin]);
  const tenants = v.tenants.map((t: unknown, i: number): TenantRecord => {
    const at = `tenants[${i}]`;
    if (!isObject(t)) throw invalid(at, 'must be an object');
    const id = tenantId(t.tenant_id, `${at}.tenant_id`);
    if (ids.has(id)) throw invalid(`${at}.tenant_id`, `repeats ${JSON.stringify(id)}`);
    ids.add(id);
    const apiKey = keyHash(t.api_key_sha256, `${at}.api_key_sha256`);
    if (keys.has(apiKey)) throw invalid(`${at}.api_key_sha256`, 'is the hash of a key already given to another tenant or the admin');
    keys.add(apiKey);
    const p = t.principal;
    if (!isObject(p)) throw invalid(`${at}.principal`, 'must be an object { id, roles, clearance, tool_scopes }');
    if (!isClearance(p.clearance)) throw invalid(`${at}.principal.clearance`, `must be one of ${CLEARANCES.join(', ')}`);
    const principal: TenantPrincipal = {
      id: text(p.id, `${at}.principal.id`), roles: strings(p.roles, `${at}.principal.roles`),
      clearance: p.clearance, tool_scopes: strings(p.tool_scopes, `${at}.principal.tool_scopes`),
    };
    if (typeof t.status !== 'string' || !(FILE_STATUSES as readonly string[]).includes(t.status)) throw invalid(`${at}.status`, `must be one of ${FILE_STATUSES.join(', ')}`);
    if (!isObject(t.envelope)) throw invalid(`${at}.envelope`, 'must be a budget envelope');
    try {
      checkEnvelope(t.envelope);
    } catch (e) {
      const field = isQuotaError(e) ? e.field : undefined;
      throw new GatewayError('INVALID_TENANTS', `${at}.envelope: ${(e as Error).message}`, field === undefined ? `${at}.envelope` : `${at}.envelope.${field}`, e);
    }
    if (t.envelope.tenant_id !== id) throw invalid(`${at}.envelope.tenant_id`, `must be the tenant's id ${JSON.stringify(id)}`);
    return {
      tenant_id: id, api_key_sha256: apiKey, principal, status: t.status as FileStatus,
      regions: strings(t.regions, `${at}.regions`), egress_allow: strings(t.egress_allow, `${at}.egress_allow`),
      envelope: { ...(t.envelope as unknown as BudgetEnvelope) },
    };
  });
  return { tenants, admin_key_sha256: admin };
}

/** SHA-256 of an API key, as stored in the tenants file. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Who a bearer key belongs to. */
export type Caller = { kind: 'tenant'; tenant: TenantRecord } | { kind: 'admin' } | null;

/** The tenants by id and by key hash. */
export class TenantDirectory {
  readonly file: TenantsFile;
  readonly #byKey = new Map<string, TenantRecord>();
  readonly #byId = new Map<string, TenantRecord>();
  readonly #admin: Buffer;

  constructor(file: TenantsFile) {
    this.file = file;
    for (const t of file.tenants) {
      this.#byKey.set(t.api_key_sha256, t);
      this.#byId.set(t.tenant_id, t);
    }
    this.#admin = Buffer.from(file.admin_key_sha256, 'hex');
  }

  /** The caller of an `Authorization` header value (`Bearer <key>`), or null for none or an unknown key. */
  caller(authorization: unknown): Caller {
    if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return null;
    const key = authorization.slice(7).trim();
    if (key.length === 0 || key.length > 512) return null;
    const hash = hashApiKey(key);
    const tenant = this.#byKey.get(hash);
    if (tenant !== undefined) return { kind: 'tenant', tenant };
    return timingSafeEqual(Buffer.from(hash, 'hex'), this.#admin) ? { kind: 'admin' } : null;
  }

  tenant(id: string): TenantRecord | undefined {
    return this.#byId.get(id);
  }

  /** The policy engine's data document: { tenants: { id: { status, regions, egress_allow } } }. */
  policyData(): PolicyData {
    const tenants: PolicyData['tenants'] = {};
    for (const t of this.file.tenants) tenants[t.tenant_id] = { status: t.status, regions: t.regions, egress_allow: t.egress_allow };
    return { tenants };
  }
}
