// The tenants file: the contract shape accepted, every mistake refused with a typed error naming the field,
// bearer keys resolved by their SHA-256 only.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkTenantsFile, hashApiKey, isGatewayError, TenantDirectory } from '@tenantry/gateway';

const file = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));

function refused(mutate: (f: any) => void): { code: string; field: string | undefined } {
  const copy = structuredClone(file);
  mutate(copy);
  try {
    checkTenantsFile(copy);
  } catch (e) {
    expect(isGatewayError(e), String(e)).toBe(true);
    return { code: (e as { code: string }).code, field: (e as { field?: string }).field };
  }
  throw new Error('accepted');
}

describe('tenants file', () => {
  it('accepts the reference server\'s file and resolves keys by hash', () => {
    const dir = new TenantDirectory(checkTenantsFile(file));
    expect(dir.caller('Bearer acme-demo-key')).toMatchObject({ kind: 'tenant', tenant: { tenant_id: 'acme' } });
    expect(dir.caller('Bearer admin-demo-key')).toEqual({ kind: 'admin' });
    expect(dir.caller('Bearer wrong')).toBeNull();
    expect(dir.caller('acme-demo-key')).toBeNull();
    expect(dir.caller(undefined)).toBeNull();
    expect(hashApiKey('acme-demo-key')).toBe(file.tenants[0].api_key_sha256);
    expect(dir.policyData().tenants.globex).toEqual({ status: 'active', regions: ['us-east-1'], egress_allow: [] });
  });

  it.each([
    ['tenants', (f: any) => (f.tenants = {})],
    ['admin_key_sha256', (f: any) => (f.admin_key_sha256 = 'ABC')],
    ['tenants[0].tenant_id', (f: any) => (f.tenants[0].tenant_id = '')],
    ['tenants[1].tenant_id', (f: any) => (f.tenants[1].tenant_id = 'acme')],
    ['tenants[1].api_key_sha256', (f: any) => (f.tenants[1].api_key_sha256 = f.tenants[0].api_key_sha256)],
    ['tenants[0].api_key_sha256', (f: any) => (f.tenants[0].api_key_sha256 = f.admin_key_sha256)],
    ['tenants[0].principal', (f: any) => (f.tenants[0].principal = null)],
    ['tenants[0].principal.clearance', (f: any) => (f.tenants[0].principal.clearance = 'secret')],
    ['tenants[0].principal.roles', (f: any) => (f.tenants[0].principal.roles = 'admin')],
    ['tenants[0].status', (f: any) => (f.tenants[0].status = 'paused')],
    ['tenants[0].regions', (f: any) => (f.tenants[0].regions = [1])],
    ['tenants[0].envelope.daily_budget_usd', (f: any) => (f.tenants[0].envelope.daily_budget_usd = -1)],
    ['tenants[0].envelope.tenant_id', (f: any) => (f.tenants[0].envelope.tenant_id = 'globex')],
    ['tenants[0].envelope.timezone', (f: any) => (f.tenants[0].envelope.timezone = 'Mars/Base')],
  ])('refuses a bad %s', (field, mutate) => {
    expect(refused(mutate)).toEqual({ code: 'INVALID_TENANTS', field });
  });
});
