// What @tenantry/policy takes from @tenantry/core and what it keeps off its main entry: PolicyError is a
// core TenantryError whose guard matches this package's errors only (from any copy of the package, never
// another package's); the tenant statuses are core's, and the Rego vocabulary holds core's lists; the SDK
// hook lives on the ./testing subpath only.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS, CLEARANCES, CoreError, DOMAINS, errorPackage, isTenantryError, LAYERS, MODES, MUTATING_ACTIONS, PROTOCOL_VERSION,
  TENANT_STATUSES as CORE_TENANT_STATUSES, TenantryError,
} from '@tenantry/core';
import * as policy from '@tenantry/policy';
import { createPolicyEngine, isPolicyError, PolicyError, TENANT_STATUSES } from '@tenantry/policy';
import { _sdkEvaluate } from '@tenantry/policy/testing';
import { thrownBy } from '../helpers/errors.js';
import { runOpa } from '../helpers/opa.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

const ACME = { status: 'active' as const, regions: ['eu-west-1'], egress_allow: [] };

function request(principalTenant: string, resourceTenant: string): Record<string, unknown> {
  return {
    protocol_version: '1.0',
    principal: { tenant_id: principalTenant, id: 'alice', roles: ['developer'], clearance: 'confidential', tool_scopes: [] },
    action: 'read',
    resource: { tenant_id: resourceTenant, layer: 'memory_graph', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
    context: { mode: 'NORMAL' },
  };
}

describe('PolicyError and isPolicyError', () => {
  it('are a core TenantryError of package policy, with its code and field', async () => {
    const e = await createPolicyEngine();
    const { caught } = thrownBy(() => e.setData({ tenants: { '': ACME } }));
    expect(caught).toBeInstanceOf(PolicyError);
    expect(caught).toBeInstanceOf(TenantryError);
    expect(isPolicyError(caught)).toBe(true);
    expect(isTenantryError(caught)).toBe(true);
    expect(errorPackage(caught)).toBe('policy');
    expect(caught).toMatchObject({ name: 'PolicyError', code: 'INVALID_DATA', field: 'tenants[""]', package: 'policy' });
  });

  it("isPolicyError is false for another package's errors and for look-alikes", () => {
    for (const other of [
      new CoreError('INVALID_TENANT_ID', 'x'), new TenantryError('audit', 'INVALID_DATA', 'x'), new TenantryError('quota', 'INVALID_ARGUMENT', 'x'),
      Object.assign(new Error('x'), { name: 'PolicyError', code: 'INVALID_DATA' }), { code: 'INVALID_DATA', message: 'x' }, null, undefined, 'INVALID_DATA',
    ]) {
      expect(isPolicyError(other), String(other)).toBe(false);
    }
    expect(isPolicyError(new TenantryError('policy', 'INVALID_DATA', 'x'))).toBe(true);
  });

  it('recognises the errors of another copy of the package (the CJS build), and that copy recognises ours', () => {
    const cjs = createRequire(import.meta.url)('@tenantry/policy') as typeof import('@tenantry/policy');
    expect(cjs.PolicyError).not.toBe(PolicyError);
    const theirs = new cjs.PolicyError('NOT_LOCKED', 'tenantId x is not locked', { field: 'tenantId' });
    expect(theirs).not.toBeInstanceOf(PolicyError);
    expect(isPolicyError(theirs)).toBe(true);
    expect(cjs.isPolicyError(new PolicyError('ENGINE_CLOSED', 'closed'))).toBe(true);
    expect(cjs.isPolicyError(new TenantryError('gateway', 'ENGINE_CLOSED', 'x'))).toBe(false);
  });
});

describe('vocabularies from core', () => {
  it("TENANT_STATUSES is core's list", () => {
    expect(TENANT_STATUSES).toBe(CORE_TENANT_STATUSES);
  });

  it("the Rego vocabulary (policies/tenantry/vocab.rego) holds exactly core's lists", async () => {
    const { stdout } = await runOpa(['eval', '--format', 'json', '--ignore', '*_test.rego', '-d', 'policies', 'data.tenantry.vocab'], REPO);
    const vocab = (JSON.parse(stdout) as { result: [{ expressions: [{ value: Record<string, unknown> }] }] }).result[0].expressions[0].value;
    const sorted = (list: readonly string[]): string[] => [...list].sort();
    expect(vocab.protocol_version).toBe(PROTOCOL_VERSION);
    expect(vocab.actions).toEqual(sorted(ACTIONS));
    expect(vocab.mutating_actions).toEqual(sorted(MUTATING_ACTIONS));
    expect(vocab.layers).toEqual(sorted(LAYERS));
    expect(vocab.domains).toEqual(sorted(DOMAINS));
    expect(vocab.modes).toEqual(sorted(MODES));
    expect(vocab.tenant_statuses).toEqual(sorted(CORE_TENANT_STATUSES));
    // Clearances are ordered: the rank of each is its position in core's list.
    expect(vocab.sensitivity_rank).toEqual(Object.fromEntries(CLEARANCES.map((c, i) => [c, i])));
  });
});

describe('the ./testing subpath', () => {
  it('is the only way to _sdkEvaluate: the main entry does not export it', () => {
    expect(Object.keys(policy)).not.toContain('_sdkEvaluate');
    expect(typeof _sdkEvaluate).toBe('function');
  });

  it("_sdkEvaluate runs the SDK's evaluate() on the engine's instance and data, agreeing with decide()", async () => {
    // No lockdown: TENANT_LOCKED is the engine's own addition, which the SDK's result cannot hold.
    const e = await createPolicyEngine({ data: { tenants: { acme: ACME, globex: { ...ACME, regions: ['us-east-1'] } } }, lockdownAfter: 1000 });
    const seen = new Set<string>();
    for (const input of [request('acme', 'acme'), request('acme', 'globex'), request('initech', 'initech'), { protocol_version: '0.9' }]) {
      const decided = e.decide(input);
      const rs = _sdkEvaluate(e, input) as { result: unknown }[];
      expect(rs).toHaveLength(1);
      expect(rs[0]!.result, JSON.stringify(input)).toEqual({ allow: decided.allow, reasons: decided.reasons, violation: decided.violation });
      seen.add(JSON.stringify(decided.reasons));
    }
    // Four different answers: the comparison is not between two constant results.
    expect(seen.size).toBe(4);
  });

  it('reaches an engine of the CJS copy too', async () => {
    const cjs = createRequire(import.meta.url)('@tenantry/policy') as typeof import('@tenantry/policy');
    const e = await cjs.createPolicyEngine({ data: { tenants: { acme: ACME } } });
    expect(_sdkEvaluate(e as unknown as policy.PolicyEngine, request('acme', 'acme'))).toEqual([{ result: { allow: true, reasons: [], violation: false } }]);
  });
});
