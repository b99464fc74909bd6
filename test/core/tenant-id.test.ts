// The one tenant id rule (@tenantry/core), and every package applying that same rule at its boundary.
import { describe, expect, it } from 'vitest';
import { checkTenantId as auditCheck, isAuditError } from '@tenantry/audit';
import { checkTenantId, compareTenantIds, isCoreError, isTenantId, MAX_TENANT_ID_BYTES, tenantIdProblem } from '@tenantry/core';
import { checkTenantsFile, isGatewayError } from '@tenantry/gateway';
import { checkTenantId as quotaCheck, isQuotaError } from '@tenantry/quota';
import { expectCodedError } from '../helpers/errors.js';

const VALID = ['a', 'acme', '../etc', '__proto__', 'é', 'e\u0301', '😀'.repeat(30), 'x'.repeat(120), 'é'.repeat(60)];
const INVALID: Array<[string, unknown]> = [
  ['empty', ''],
  ['121 ASCII bytes', 'x'.repeat(121)],
  ['130 characters (the old quota and tenants-file limit allowed 256)', 't'.repeat(130)],
  ['61 two-byte characters (122 bytes)', 'é'.repeat(61)],
  ['31 four-byte characters (124 bytes)', '😀'.repeat(31)],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007f'],
  ['C1 control', 'a\u0085'],
  ['lone high surrogate', 'a\ud800'],
  ['lone low surrogate', '\udc00b'],
  ['number', 42],
  ['null', null],
  ['array', ['acme']],
];

describe('the tenant id rule', () => {
  it.each(VALID)('accepts %j', (id) => {
    expect(tenantIdProblem(id)).toBeUndefined();
    expect(isTenantId(id)).toBe(true);
    expect(checkTenantId(id)).toBe(id);
  });

  it.each(INVALID)('refuses %s, with a typed error naming the field', (_name, id) => {
    expect(isTenantId(id)).toBe(false);
    expectCodedError(() => checkTenantId(id, 'tenants[3].tenant_id'), isCoreError, 'INVALID_TENANT_ID', 'tenants[3].tenant_id');
  });

  it('is 120 UTF-8 bytes', () => {
    expect(MAX_TENANT_ID_BYTES).toBe(120);
  });

  it('orders ids by their UTF-8 bytes, not by UTF-16 units', () => {
    // In UTF-16 units '😀' (0xD83D 0xDE00) sorts before U+FF61; in UTF-8 bytes (F0… against EF…) after it.
    const ids = ['\uff61', '😀', 'a', 'B'];
    expect([...ids].sort(compareTenantIds)).toEqual(['B', 'a', '\uff61', '😀']);
  });
});

describe('every package applies the same rule', () => {
  const envelope = (id: unknown) => ({
    tenant_id: id, monthly_budget_usd: 10, daily_budget_usd: 1, experiment_budget_cap_usd: 1, max_parallel_experiments: 1, max_prod_traffic_pct: 10,
  });
  const file = (id: unknown) => ({
    admin_key_sha256: 'a'.repeat(64),
    tenants: [{
      tenant_id: id, api_key_sha256: 'b'.repeat(64), principal: { id: 'p', roles: [], clearance: 'internal', tool_scopes: [] },
      status: 'active', regions: ['eu'], egress_allow: [], envelope: envelope(id),
    }],
  });

  it.each(VALID)('all accept %j', (id) => {
    expect(() => auditCheck(id)).not.toThrow();
    expect(quotaCheck(id)).toBe(id);
    expect(checkTenantsFile(file(id)).tenants[0]!.tenant_id).toBe(id);
  });

  it.each(INVALID)('all refuse %s, each with its own typed error', (_name, id) => {
    expectCodedError(() => auditCheck(id, 'tenantId'), isAuditError, 'INVALID_TENANT_ID', 'tenantId');
    expectCodedError(() => quotaCheck(id, 'tenant_id'), isQuotaError, 'INVALID_TENANT_ID', 'tenant_id');
    expectCodedError(() => checkTenantsFile(file(id)), isGatewayError, 'INVALID_TENANTS', 'tenants[0].tenant_id');
  });
});
