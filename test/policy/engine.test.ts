// The policy engine on the bundled policy (the committed packages/policy/bundle/policy.tar.gz, real
// OPA-compiled wasm): every reason code, cross-tenant denial as a property over thousands of random
// inputs on every layer × action, lockdown and unlock, data updates, malformed input that must deny
// without throwing, memory that stays flat, the decision cache and option checks.
import { describe, expect, it } from 'vitest';
import {
  createPolicyEngine, isPolicyError, MAX_DATA_STRING, PolicyDecision, REASON_CODES, type LockEvent, type PolicyData, type PolicyEngine, type PolicyErrorCode,
  type UnlockEvent, type ViolationEvent,
} from '@tenantry/policy';
import { isTenantId, MAX_TENANT_ID_BYTES } from '@tenantry/core';
import { expectCodedError } from '../helpers/errors.js';
import { rng } from '../helpers/random.js';

const LAYERS = ['agent_runtime', 'control_plane', 'memory_graph', 'risk_engine', 'approval', 'model_access', 'network'] as const;
const ACTIONS = ['read', 'write', 'delete', 'invoke', 'execute', 'deploy', 'approve', 'switch_mode', 'migrate_domain', 'egress', 'use_credentials'] as const;

const TENANTS: PolicyData = {
  tenants: {
    acme: { status: 'active', regions: ['eu-west-1', 'eu-central-1'], egress_allow: ['api.openai.com', '*.acme.example'] },
    globex: { status: 'active', regions: ['us-east-1'], egress_allow: ['api.globex.example'] },
    initech: { status: 'suspended', regions: ['eu-west-1'], egress_allow: [] },
    umbrella: { status: 'locked', regions: ['eu-west-1'], egress_allow: [] },
    hooli: { status: 'deleted', regions: ['eu-west-1'], egress_allow: [] },
  },
};

type Input = {
  protocol_version: string;
  principal: { tenant_id: string; id: string; roles: string[]; clearance: string; tool_scopes: string[] };
  action: string;
  resource: { tenant_id: string; layer: string; id: string; classification: string; region: string; domain: string; tool?: string; host?: string };
  context: { mode: string; canary_suspended?: boolean; approvals?: { principal_id: string; role: string }[]; target_mode?: string };
};

/** An allowed request: alice of acme reads an internal document in LAB, mode NORMAL. */
function base(): Input {
  return {
    protocol_version: '1.0',
    principal: { tenant_id: 'acme', id: 'alice', roles: ['developer'], clearance: 'confidential', tool_scopes: ['search', 'code_exec'] },
    action: 'read',
    resource: { tenant_id: 'acme', layer: 'memory_graph', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
    context: { mode: 'NORMAL' },
  };
}

/** Ids that break core's tenant id rule (one byte over the limit, a control character, a lone surrogate, empty). */
const BAD_TENANT_IDS = ['a'.repeat(MAX_TENANT_ID_BYTES + 1), 'é'.repeat(MAX_TENANT_ID_BYTES / 2) + 'a', 'ac\u0007me', 'acme\ud800', ''];

const APPROVALS = [{ principal_id: 'bob', role: 'approver' }, { principal_id: 'carol', role: 'approver' }];

/** base() made valid and allowed for `action` on `layer` (what each needs, per the policy's rules). */
function allowedFor(layer: string, action: string): Input {
  const i = base();
  i.action = action;
  i.resource.layer = layer;
  if (action === 'switch_mode') Object.assign(i.context, { target_mode: 'CONSERVATIVE', approvals: APPROVALS });
  if (action === 'migrate_domain') i.principal.roles.push('domain_migrator');
  if (action === 'egress' || layer === 'network') i.resource.host = 'api.openai.com';
  if (action === 'invoke' || action === 'use_credentials' || layer === 'agent_runtime') i.resource.tool = 'search';
  if (action === 'execute') i.resource.tool = 'code_exec';
  return i;
}

async function engine(options: Parameters<typeof createPolicyEngine>[0] = {}): Promise<PolicyEngine> {
  return createPolicyEngine({ data: TENANTS, ...options });
}

function expectPolicyError(fn: () => unknown, code: PolicyErrorCode, field?: string): void {
  expectCodedError(fn, isPolicyError, code, field);
}

describe('decisions on the bundled policy', () => {
  it('allows the baseline request with exactly the contract shape, and reports the bundle revision', async () => {
    const e = await engine();
    const d = e.decide(base());
    expect(d).toEqual({ allow: true, reasons: [], violation: false });
    expect(Object.keys(d)).toEqual(['allow', 'reasons', 'violation']);
    expect(JSON.parse(JSON.stringify(d))).toEqual({ allow: true, reasons: [], violation: false });
    expect(d).toBeInstanceOf(PolicyDecision);
    expect(typeof d.revision).toBe('string');
    expect(d.revision).toBe(e.revision);
  });

  it('allows every action on every layer for a request that satisfies the rules', async () => {
    const e = await engine();
    for (const layer of LAYERS) {
      for (const action of ACTIONS) {
        expect(e.decide(allowedFor(layer, action)), `${action} on ${layer}`).toEqual({ allow: true, reasons: [], violation: false });
      }
    }
  });

  // One row per reason code: the change to an allowed request, and the exact reasons expected.
  const ROWS: { code: string; input: () => unknown; reasons: string[] }[] = [
    { code: 'CROSS_TENANT', input: () => { const i = base(); i.resource.tenant_id = 'globex'; return i; }, reasons: ['CROSS_TENANT'] },
    { code: 'TENANT_UNKNOWN', input: () => { const i = base(); i.principal.tenant_id = i.resource.tenant_id = 'nobody'; return i; }, reasons: ['TENANT_UNKNOWN'] },
    { code: 'TENANT_SUSPENDED', input: () => { const i = base(); i.principal.tenant_id = i.resource.tenant_id = 'initech'; return i; }, reasons: ['TENANT_SUSPENDED'] },
    { code: 'TENANT_LOCKED', input: () => { const i = base(); i.principal.tenant_id = i.resource.tenant_id = 'umbrella'; return i; }, reasons: ['TENANT_LOCKED'] },
    { code: 'TENANT_DELETED', input: () => { const i = base(); i.principal.tenant_id = i.resource.tenant_id = 'hooli'; return i; }, reasons: ['TENANT_DELETED'] },
    { code: 'CLASSIFICATION', input: () => { const i = base(); i.resource.classification = 'restricted'; return i; }, reasons: ['CLASSIFICATION'] },
    { code: 'REGION', input: () => { const i = base(); i.resource.region = 'us-east-1'; return i; }, reasons: ['REGION'] },
    { code: 'TOOL_SCOPE', input: () => { const i = allowedFor('model_access', 'invoke'); i.resource.tool = 'shell'; return i; }, reasons: ['TOOL_SCOPE'] },
    { code: 'EGRESS', input: () => { const i = allowedFor('network', 'egress'); i.resource.host = 'example.com.evil.io'; return i; }, reasons: ['EGRESS'] },
    { code: 'MODE', input: () => { const i = allowedFor('control_plane', 'write'); i.context.mode = 'AUDIT'; return i; }, reasons: ['MODE'] },
    {
      code: 'CANARY_SUSPENDED',
      input: () => { const i = allowedFor('control_plane', 'deploy'); Object.assign(i.context, { mode: 'CONSERVATIVE', canary_suspended: true }); return i; },
      reasons: ['CANARY_SUSPENDED'],
    },
    {
      code: 'APPROVAL_REQUIRED',
      input: () => { const i = allowedFor('control_plane', 'switch_mode'); i.context.approvals = [{ principal_id: 'alice', role: 'approver' }, { principal_id: 'bob', role: 'approver' }]; return i; },
      reasons: ['APPROVAL_REQUIRED'],
    },
    { code: 'CAPABILITY', input: () => { const i = allowedFor('control_plane', 'migrate_domain'); i.principal.roles = ['developer']; return i; }, reasons: ['CAPABILITY'] },
    { code: 'PROTOCOL_VERSION', input: () => ({ ...base(), protocol_version: '2.0' }), reasons: ['PROTOCOL_VERSION'] },
    { code: 'INVALID_INPUT', input: () => ({ ...base(), action: 'fly' }), reasons: ['INVALID_INPUT'] },
  ];

  it.each(ROWS)('denies with $code', async ({ input, reasons }) => {
    const e = await engine({ lockdownAfter: 1_000_000 });
    const d = e.decide(input());
    expect(d).toEqual({ allow: false, reasons, violation: reasons.includes('CROSS_TENANT') });
  });

  it('reports every applicable reason at once, sorted', async () => {
    const e = await engine({ lockdownAfter: 1_000_000 });
    const i = allowedFor('network', 'egress');
    Object.assign(i.resource, { classification: 'restricted', region: 'us-east-1', host: 'evil.io' });
    i.context.mode = 'INCIDENT';
    expect(e.decide(i)).toEqual({ allow: false, reasons: ['CLASSIFICATION', 'EGRESS', 'MODE', 'REGION'], violation: false });
  });

  it('denies with EVALUATION_ERROR after close, and every code the engine can give is a known code', async () => {
    const e = await engine();
    e.close();
    expect(e.decide(base())).toEqual({ allow: false, reasons: ['EVALUATION_ERROR'], violation: false });
    for (const row of ROWS) expect(REASON_CODES).toContain(row.code);
    expect(REASON_CODES).toContain('EVALUATION_ERROR');
    expectPolicyError(() => e.setData(TENANTS), 'ENGINE_CLOSED');
  });
});

describe('cross-tenant requests', () => {
  it('are denied and flagged on every layer × action, for thousands of random inputs (valid or not)', async () => {
    const e = await engine({ lockdownAfter: 1_000_000 });
    const events: ViolationEvent[] = [];
    e.on('violation', (v) => events.push(v));
    const next = rng(0xc7055);
    const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
    const ids = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'nobody', 'ACME', 'acme ', ''];
    let n = 0;
    for (const layer of LAYERS) {
      for (const action of ACTIONS) {
        for (let k = 0; k < 40; k++) {
          const i = allowedFor(layer, action) as Record<string, unknown> & Input;
          const p = pick(ids);
          let r = pick(ids);
          if (r === p) r = `${p}-other`;
          i.principal.tenant_id = p;
          i.resource.tenant_id = r;
          // Sometimes also break something else: cross-tenant must still be reported.
          switch (next() % 6) {
            case 0: i.protocol_version = '0.9'; break;
            case 1: (i.principal as Record<string, unknown>).roles = 'admin'; break;
            case 2: i.context.mode = pick(['NORMAL', 'AUDIT', 'INCIDENT', 'RED_TEAM', 'CONSERVATIVE', 'PANIC']); break;
            case 3: i.resource.classification = pick(['public', 'restricted', 'top-secret']); break;
            default: break;
          }
          const d = e.decide(i);
          expect(d.allow, `${p} → ${r}: ${action} on ${layer}`).toBe(false);
          expect(d.reasons).toContain('CROSS_TENANT');
          expect(d.violation).toBe(true);
          n++;
        }
      }
    }
    expect(n).toBe(LAYERS.length * ACTIONS.length * 40);
    expect(events).toHaveLength(n);
    expect(e.stats().violations).toBe(n);
  });

  it('are flagged even when the input is too malformed to reach the policy', async () => {
    const e = await engine({ lockdownAfter: 1_000_000 });
    const cyclic = { ...base(), resource: { ...base().resource, tenant_id: 'globex' } } as Record<string, unknown>;
    cyclic.self = cyclic;
    expect(e.decide(cyclic)).toEqual({ allow: false, reasons: ['CROSS_TENANT', 'INVALID_INPUT'], violation: true });
    const huge = { ...base(), resource: { ...base().resource, tenant_id: 'globex', id: 'x'.repeat(1 << 20) } };
    expect(e.decide(huge)).toEqual({ allow: false, reasons: ['CROSS_TENANT', 'INVALID_INPUT'], violation: true });
  });
});

describe('lockdown', () => {
  it('locks the violating tenant after one violation (default), only it, until an explicit, evented unlock', async () => {
    let now = 1_000;
    const e = await engine({ clock: () => now });
    const locks: LockEvent[] = [];
    const unlocks: UnlockEvent[] = [];
    e.on('lockdown', (l) => locks.push(l));
    e.on('unlock', (u) => unlocks.push(u));
    const attack = base();
    attack.resource.tenant_id = 'globex';
    expect(e.decide(attack).violation).toBe(true);
    expect(locks).toEqual([{ tenantId: 'acme', since: 1_000, violations: 1, by: 'policy', reason: '1 cross-tenant violation' }]);
    expect(e.lockOf('acme')).toEqual(locks[0]);

    // acme's legitimate requests now deny with TENANT_LOCKED; globex's are untouched.
    expect(e.decide(base())).toEqual({ allow: false, reasons: ['TENANT_LOCKED'], violation: false });
    const g = base();
    g.principal.tenant_id = g.resource.tenant_id = 'globex';
    g.resource.region = 'us-east-1';
    expect(e.decide(g)).toEqual({ allow: true, reasons: [], violation: false });
    // A second attack while locked: still one lock, count 2.
    expect(e.decide(attack)).toEqual({ allow: false, reasons: ['CROSS_TENANT', 'TENANT_LOCKED'], violation: true });
    expect(locks).toHaveLength(1);
    expect(e.violations('acme')).toBe(2);

    expectPolicyError(() => e.unlock('acme', { by: '', reason: 'x' }), 'INVALID_ARGUMENT', 'options.by');
    expectPolicyError(() => e.unlock('acme', { by: 'ops', reason: '' }), 'INVALID_ARGUMENT', 'options.reason');
    expectPolicyError(() => e.unlock('globex', { by: 'ops', reason: 'no' }), 'NOT_LOCKED', 'tenantId');
    for (const id of [...BAD_TENANT_IDS, 42]) {
      expectPolicyError(() => e.unlock(id as string, { by: 'ops', reason: 'x' }), 'INVALID_ARGUMENT', 'tenantId');
      expectPolicyError(() => e.lock(id as string, { by: 'ops', reason: 'x' }), 'INVALID_ARGUMENT', 'tenantId');
    }
    expect(e.locks().map((l) => l.tenantId)).toEqual(['acme']);
    now = 2_000;
    e.unlock('acme', { by: 'ops@acme', reason: 'INC-42 reviewed' });
    expect(unlocks).toEqual([{ tenantId: 'acme', by: 'ops@acme', reason: 'INC-42 reviewed', lock: locks[0] }]);
    expect(e.lockOf('acme')).toBeUndefined();
    expect(e.violations('acme')).toBe(0);
    expect(e.decide(base())).toEqual({ allow: true, reasons: [], violation: false });
  });

  it('waits for lockdownAfter violations, and supports a manual lock', async () => {
    const e = await engine({ lockdownAfter: 3 });
    const attack = base();
    attack.resource.tenant_id = 'globex';
    e.decide(attack);
    e.decide(attack);
    expect(e.decide(base()).allow).toBe(true);
    e.decide(attack);
    expect(e.decide(base()).reasons).toEqual(['TENANT_LOCKED']);
    expect(e.locks().map((l) => l.tenantId)).toEqual(['acme']);

    expect(e.lock('globex', { by: 'ops', reason: 'suspicious traffic' })).toBe(true);
    expect(e.lock('globex', { by: 'ops', reason: 'again' })).toBe(false);
    const g = base();
    g.principal.tenant_id = g.resource.tenant_id = 'globex';
    expect(e.decide(g).reasons).toContain('TENANT_LOCKED');
  });

  it('locks the tenant the policy judged, not what a getter answers when read again', async () => {
    const e = await engine();
    const attack = base() as Input & Record<string, unknown>;
    attack.resource.tenant_id = 'globex';
    // A principal whose tenant id is "acme" when serialised and "globex" on every later read.
    let reads = 0;
    const principal = { ...attack.principal } as Record<string, unknown>;
    Object.defineProperty(principal, 'tenant_id', { enumerable: true, get: () => (reads++ === 0 ? 'acme' : 'globex') });
    attack.principal = principal as Input['principal'];
    const events: ViolationEvent[] = [];
    e.on('violation', (v) => events.push(v));
    expect(e.decide(attack)).toEqual({ allow: false, reasons: ['CROSS_TENANT'], violation: true });
    expect(events.map((v) => [v.tenantId, v.targetTenantId])).toEqual([['acme', 'globex']]);
    expect(e.locks().map((l) => l.tenantId)).toEqual(['acme']);
  });

  it('keeps deciding when a listener throws, and reports the listener error', async () => {
    const e = await engine();
    const errors: unknown[] = [];
    e.on('violation', () => {
      throw new Error('listener bug');
    });
    e.on('listenerError', (err) => errors.push(err));
    const attack = base();
    attack.resource.tenant_id = 'globex';
    expect(e.decide(attack)).toEqual({ allow: false, reasons: ['CROSS_TENANT'], violation: true });
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('listener bug');
  });
});

describe('data', () => {
  it('applies setData to later decisions and emits a data event', async () => {
    const e = await createPolicyEngine();
    expect(e.decide(base()).reasons).toEqual(['TENANT_UNKNOWN']);
    const seen: number[] = [];
    e.on('data', (d) => seen.push(d.tenants));
    e.setData(TENANTS);
    expect(e.decide(base())).toEqual({ allow: true, reasons: [], violation: false });
    expect(seen).toEqual([5]);
    // The engine keeps its own copy.
    const mine = structuredClone(TENANTS);
    e.setData(mine);
    mine.tenants.acme!.status = 'deleted';
    expect(e.decide(base()).allow).toBe(true);
    expect(e.getData()).toEqual(TENANTS);
  });

  it.each<[unknown, string]>([
    [null, 'data'],
    [{ tenants: [] }, 'tenants'],
    [{ tenants: {}, extra: 1 }, 'data.extra'],
    [{ tenants: { acme: { status: 'paused', regions: [], egress_allow: [] } } }, 'tenants["acme"].status'],
    [{ tenants: { acme: { status: 'active', regions: ['eu', 7], egress_allow: [] } } }, 'tenants["acme"].regions[1]'],
    [{ tenants: { acme: { status: 'active', regions: [], egress_allow: 'x' } } }, 'tenants["acme"].egress_allow'],
    [{ tenants: { acme: { status: 'active', regions: [], egress_allow: [], owner: 'x' } } }, 'tenants["acme"].owner'],
    [{ tenants: { acme: { status: 'active', regions: ['x'.repeat(MAX_DATA_STRING + 1)], egress_allow: [] } } }, 'tenants["acme"].regions[0]'],
    [{ tenants: { acme: { status: 'active', regions: [], egress_allow: ['h', ''] } } }, 'tenants["acme"].egress_allow[1]'],
    // Tenant ids follow core's rule: 1..120 UTF-8 bytes, no control character, no lone surrogate.
    ...BAD_TENANT_IDS.map((id): [unknown, string] => [{ tenants: { [id]: { status: 'active', regions: [], egress_allow: [] } } }, `tenants[${JSON.stringify(id)}]`]),
    [new Map([['acme', TENANTS.tenants.acme]]), 'data'],
    [{ tenants: new Map([['acme', TENANTS.tenants.acme]]) }, 'tenants'],
  ])('refuses %j with INVALID_DATA naming %s, changing nothing', async (data, field) => {
    const e = await engine();
    expectPolicyError(() => e.setData(data as PolicyData), 'INVALID_DATA', field);
    expect(e.decide(base()).allow).toBe(true);
    expect(e.getData()).toEqual(TENANTS);
  });

  it("accepts every id core's tenant id rule accepts, up to its byte limit, and decides for them", async () => {
    const ids = ['a'.repeat(MAX_TENANT_ID_BYTES), 'é'.repeat(MAX_TENANT_ID_BYTES / 2), '租'.repeat(MAX_TENANT_ID_BYTES / 3), '_control_plane', '__proto__', '../etc', '🦄'];
    for (const id of ids) expect(isTenantId(id), id).toBe(true);
    const e = await engine();
    e.setData({ tenants: Object.fromEntries(ids.map((id) => [id, { status: 'active', regions: ['eu-west-1'], egress_allow: [] }])) });
    expect(Object.keys(e.getData().tenants).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const i = base();
      i.principal.tenant_id = i.resource.tenant_id = id;
      expect(e.decide(i), id).toEqual({ allow: true, reasons: [], violation: false });
    }
  });
});

describe('malformed input denies with INVALID_INPUT and never throws', () => {
  const deep = (): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [v];
    return v;
  };
  // [name, input, reasons]: INVALID_INPUT alone unless the policy can say more (an object without a
  // protocol_version is also refused for its version).
  const cases: [string, () => unknown, string[]?][] = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['a number', () => 42],
    ['a string', () => 'read'],
    ['an array', () => [base()]],
    ['an empty object', () => ({}), ['INVALID_INPUT', 'PROTOCOL_VERSION']],
    ['a missing principal', () => { const { principal: _, ...rest } = base(); return rest; }],
    ['a missing resource layer', () => { const i = base() as unknown as { resource: Record<string, unknown> }; delete i.resource.layer; return i; }],
    ['roles not an array', () => ({ ...base(), principal: { ...base().principal, roles: 'admin' } })],
    ['a numeric tenant id', () => ({ ...base(), principal: { ...base().principal, tenant_id: 7 }, resource: { ...base().resource, tenant_id: 7 } })],
    ['an unknown layer', () => ({ ...base(), resource: { ...base().resource, layer: 'kernel' } })],
    ['an unknown clearance', () => ({ ...base(), principal: { ...base().principal, clearance: 'cosmic' } })],
    ['approvals of the wrong shape', () => ({ ...base(), context: { mode: 'NORMAL', approvals: ['bob'] } })],
    ['a huge string', () => ({ ...base(), resource: { ...base().resource, id: 'x'.repeat(4 << 20) } })],
    ['deep nesting', () => ({ ...base(), context: { mode: 'NORMAL', extra: deep() } })],
    ['a cycle', () => { const i = base() as unknown as Record<string, unknown>; i.me = i; return i; }],
    ['a BigInt', () => ({ ...base(), n: 1n })],
    ['a throwing getter', () => Object.defineProperty(base(), 'action', { enumerable: true, get() { throw new Error('boom'); } })],
    ['a throwing Proxy', () => new Proxy(base(), { ownKeys() { throw new Error('trap'); } })],
  ];
  it.each(cases)('%s', async (_name, make, reasons = ['INVALID_INPUT']) => {
    const e = await engine();
    const input = make();
    let d: unknown;
    expect(() => {
      d = e.decide(input);
    }).not.toThrow();
    expect(d).toEqual({ allow: false, reasons, violation: false });
  });

  it('keeps deciding correctly after each of them', async () => {
    const e = await engine();
    for (const [, make] of cases) {
      e.decide(make());
      expect(e.decide(base())).toEqual({ allow: true, reasons: [], violation: false });
    }
    expect(e.stats().invalidInputs).toBe(cases.length);
  });
});

describe('memory and the decision cache', () => {
  it('holds 10^5 tenants of data and stays flat over 10^6 decisions', async () => {
    const tenants: PolicyData['tenants'] = {};
    for (let i = 0; i < 100_000; i++) tenants[`tenant-${i}`] = { status: 'active', regions: ['eu-west-1'], egress_allow: [`api-${i}.example`] };
    const e = await createPolicyEngine({ data: { tenants } });
    const inputs = [0, 1, 99_999, 50_000].map((k) => {
      const i = base();
      i.principal.tenant_id = i.resource.tenant_id = `tenant-${k}`;
      return i;
    });
    for (const i of inputs) expect(e.decide(i).allow).toBe(true);
    const cross = base();
    cross.principal.tenant_id = 'tenant-1';
    cross.resource.tenant_id = 'tenant-2';
    const before = e.stats().memoryBytes;
    let allowed = 0;
    for (let n = 0; n < 1_000_000; n++) if (e.decide(inputs[n & 3]!).allow) allowed++;
    expect(allowed).toBe(1_000_000);
    expect(e.stats().memoryBytes).toBe(before);
    expect(e.decide(cross).reasons).toEqual(['CROSS_TENANT']);
  });

  it('answers repeated inputs from the cache, and forgets on setData and lockdown', async () => {
    const e = await engine({ cacheEntries: 2 });
    const i = base();
    expect(e.decide(i).allow).toBe(true);
    expect(e.decide(i).allow).toBe(true);
    expect(e.stats().cacheHits).toBe(1);
    e.setData({ tenants: { ...TENANTS.tenants, acme: { status: 'suspended', regions: ['eu-west-1'], egress_allow: [] } } });
    expect(e.decide(i).reasons).toEqual(['TENANT_SUSPENDED']);
    e.setData(TENANTS);
    expect(e.decide(i).allow).toBe(true);
    const attack = base();
    attack.resource.tenant_id = 'globex';
    e.decide(attack);
    // Locked now: the cached allow must not be served.
    expect(e.decide(i).reasons).toEqual(['TENANT_LOCKED']);
    // Cached decisions are copies: mutating one does not change the next.
    const d = e.decide(attack);
    d.reasons.push('X');
    expect(e.decide(attack).reasons).toEqual(['CROSS_TENANT', 'TENANT_LOCKED']);
  });
});

describe('options', () => {
  it.each([
    [{ lockdownAfter: 0 }, 'options.lockdownAfter'],
    [{ lockdownAfter: 1.5 }, 'options.lockdownAfter'],
    [{ maxInputBytes: 10 }, 'options.maxInputBytes'],
    [{ cacheEntries: -1 }, 'options.cacheEntries'],
    [{ entrypoint: '' }, 'options.entrypoint'],
    [{ clock: 5 }, 'options.clock'],
    [{ bundle: 'policy.tar.gz' }, 'options.bundle'],
    [{ colour: 'blue' }, 'options.colour'],
  ])('refuses %j naming %s', async (options, field) => {
    const err = await createPolicyEngine(options as never).then(() => undefined, (e: unknown) => e);
    expect(isPolicyError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('INVALID_ARGUMENT');
    expect((err as { field: string }).field).toBe(field);
  });

  it('refuses an entrypoint the bundle does not compile, with POLICY_LOAD_FAILED', async () => {
    const err = await createPolicyEngine({ entrypoint: 'tenantry/main/nothing' }).then(() => undefined, (e: unknown) => e);
    expect((err as { code: string }).code).toBe('POLICY_LOAD_FAILED');
    expect((err as { field: string }).field).toBe('entrypoint');
  });
});
