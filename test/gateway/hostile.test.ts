// Hostile and malformed requests against the request path over HTTP (in-process Fastify on loopback, the
// real ledger, quota and policy): no answer is a 5xx, and after every answer each tenant's spend in the
// quota equals the sum of the charges its audit chain records — nothing is charged without its entry.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { ControlLog, Gateway, tenantryRoutes } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';

const TENANTS = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const KEYS: Record<string, string> = { acme: 'Bearer acme-demo-key', globex: 'Bearer globex-demo-key' };
const ADMIN = 'Bearer admin-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };

let dir: string;
let gateway: Gateway;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantry-hostile-'));
  const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('hostile.test').signerKey });
  const control = new ControlLog(ledger);
  const quota = createQuota({ control: control.sink, freezeOnOverrun: true });
  gateway = await Gateway.create({ tenants: TENANTS, ledger, quota, control, policy: await createPolicyEngine() });
  app = Fastify();
  await app.register(tenantryRoutes, { gateway });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

async function post(path: string, auth: string | null, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + path, { method: 'POST', headers: { ...(auth ? { authorization: auth } : {}), 'content-type': 'application/json' }, body });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { unparsed: text };
  }
  return { status: res.status, body: json };
}

/** Micro-USD charged to `tenantId` by the entries of its chain, read incrementally. */
const audited: Record<string, { read: number; micros: number }> = { acme: { read: 0, micros: 0 }, globex: { read: 0, micros: 0 } };
async function auditedMicros(tenantId: string): Promise<number> {
  const a = audited[tenantId]!;
  const log = gateway.ledger.log;
  for (; a.read < log.size(tenantId); a.read++) {
    const { entry } = await log.entry(tenantId, a.read);
    if (entry.kind === 'invoke') a.micros += Math.round((entry.payload as { charged_usd: number }).charged_usd * 1e6);
  }
  return a.micros;
}

async function spentMicros(tenantId: string): Promise<number> {
  return Math.round((await gateway.quota.usage(tenantId)).month.spent_usd * 1e6);
}

async function checkInvariant(): Promise<void> {
  for (const t of ['acme', 'globex']) expect(await spentMicros(t), `spend of ${t}`).toBe(await auditedMicros(t));
}

const deep = (n: number): unknown => (n === 0 ? 'x' : { a: deep(n - 1) });

describe('content an audit entry cannot hold is refused before any charge', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a lone surrogate in action', { action: 'invoke\ud800', resource: acmeDoc, estimated_usd: 0.8 }, 'action'],
    ['a lone surrogate in a resource field', { action: 'invoke', resource: { ...acmeDoc, id: 'doc-\udc00' }, estimated_usd: 0.8 }, 'resource.id'],
    ['a lone surrogate in a resource key', { action: 'invoke', resource: { ...acmeDoc, ['k\ud800']: 1 }, estimated_usd: 0.8 }, 'resource'],
    ['a resource nested deeper than 64 levels', { action: 'invoke', resource: { ...acmeDoc, extra: deep(70) }, estimated_usd: 0.8 }, 'resource.extra'],
    ['a lone surrogate in experiment_id', { action: 'invoke', resource: acmeDoc, estimated_usd: 0.8, experiment_id: 'e\ud800' }, 'experiment_id'],
  ];
  it.each(cases)('%s: 400 naming the field, no charge and no entry', async (_name, body, field) => {
    const before = { entries: gateway.ledger.log.size('acme'), spent: await spentMicros('acme') };
    const r = await post('/v1/invoke', KEYS.acme!, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(String(r.body.field)).toContain(field);
    expect({ entries: gateway.ledger.log.size('acme'), spent: await spentMicros('acme') }).toEqual(before);
  });

  it.each([
    ['an admin freeze reason', '/v1/admin/tenants/acme/freeze', { reason: 'bad \ud800' }, 'reason'],
    ['an unlock by', '/v1/admin/tenants/acme/unlock', { by: '\udfff', reason: 'r' }, 'by'],
    ['a mode requested_by', '/v1/admin/mode', { requested_by: 'ops\ud800', target_mode: 'AUDIT', approvals: [], reason: 'r' }, 'requested_by'],
    ['a mode reason', '/v1/admin/mode', { requested_by: 'ops', target_mode: 'AUDIT', approvals: [], reason: '\ud800' }, 'reason'],
    ['a mode approval', '/v1/admin/mode', { requested_by: 'ops', target_mode: 'AUDIT', approvals: [{ principal_id: '\ud800', role: 'approver' }], reason: 'r' }, 'approvals'],
  ])('%s with a lone surrogate: 400 naming the field, nothing changed', async (_name, path, body, field) => {
    const control = gateway.ledger.log.size('_control_plane');
    const r = await post(path, ADMIN, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'INVALID_REQUEST', field });
    expect(gateway.ledger.log.size('_control_plane')).toBe(control);
    expect((await gateway.quota.usage('acme')).frozen).toBeNull();
    expect(gateway.mode).toBe('NORMAL');
  });
});

describe('thousands of generated bodies', () => {
  const hostile = fc.constantFrom('\ud800', '\udfff', 'a\u0000b', '\u202e', '__proto__', 'constructor', '😀', 'é', '', ' ', '\n', 'x'.repeat(300));
  const text = fc.oneof(fc.string({ maxLength: 12 }), hostile, fc.string({ unit: 'binary', maxLength: 8 }));
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(text, tie('v'), { maxKeys: 4 })),
  })).v;
  const resource = fc.record({
    tenant_id: fc.oneof(fc.constantFrom('acme', 'acme', 'acme', 'globex'), text),
    layer: fc.oneof(fc.constantFrom('model_access', 'memory_graph', 'network'), text),
    id: fc.oneof(fc.constant('doc-1'), text),
    classification: fc.oneof(fc.constantFrom('public', 'internal', 'restricted'), text),
    region: fc.oneof(fc.constantFrom('eu-west-1', 'us-east-1'), text),
    domain: fc.oneof(fc.constantFrom('PROD', 'LAB', 'SHADOW'), text),
    tool: fc.oneof(fc.constant('chat'), text),
  }, { requiredKeys: ['tenant_id', 'layer', 'id', 'classification', 'region', 'domain'] }).chain((r) =>
    fc.oneof(fc.constant(r as Record<string, unknown>), fc.tuple(text, value).map(([k, v]) => ({ ...r, [k]: v }))));
  const invoke = fc.record({
    action: fc.oneof(fc.constantFrom('invoke', 'read', 'write', 'egress'), text, value),
    resource: fc.oneof(resource, resource, value),
    estimated_usd: fc.oneof(fc.double({ min: 0, max: 0.05, noNaN: true }), fc.constantFrom(-1, 1e9, Number.MAX_VALUE, 0), value),
    experiment_id: fc.option(fc.oneof(fc.constantFrom('exp-1'), text), { nil: undefined }),
  }, { requiredKeys: ['action', 'resource', 'estimated_usd'] });
  const docs: Record<string, unknown> = {
    acme: acmeDoc,
    globex: { tenant_id: 'globex', layer: 'model_access', id: 'doc-7', classification: 'internal', region: 'us-east-1', domain: 'PROD', tool: 'chat' },
  };
  /** A request the policy and the quota admit (its own tenant's document, a small estimate), sometimes with a hostile extra. */
  const valid = (tenant: string) => fc.record({
    estimated_usd: fc.double({ min: 0, max: 0.02, noNaN: true }),
    extra: fc.option(fc.tuple(text, value), { nil: undefined }),
  }).map(({ estimated_usd, extra }) => JSON.stringify({
    action: 'invoke', resource: extra === undefined ? docs[tenant] : { ...(docs[tenant] as object), [extra[0]]: extra[1] }, estimated_usd,
  }));
  const rawBody = (tenant: string) => fc.oneof(
    { weight: 4, arbitrary: valid(tenant) },
    { weight: 6, arbitrary: invoke.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"action":', '[]', 'null', '"x"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '\u0000', '{"action":"invoke","resource":' + '['.repeat(10_000) + ']'.repeat(10_000) + ',"estimated_usd":0.01}') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  );

  it('never answer a 5xx, and spend always equals the audited charges', async () => {
    let answered = 0;
    const request = fc.constantFrom('acme', 'globex').chain((tenant) => rawBody(tenant).map((body) => ({ tenant, body })));
    await fc.assert(fc.asyncProperty(request, async ({ tenant, body }) => {
      const r = await post('/v1/invoke', KEYS[tenant]!, body);
      answered++;
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
      expect(typeof r.body.code === 'string' || r.status === 200, JSON.stringify(r.body)).toBe(true);
      await checkInvariant();
      // A cross-tenant attempt locks its tenant down; lift it now and then so the run keeps reaching the quota.
      if (gateway.policy.lockOf(tenant) !== undefined && answered % 3 === 0) {
        expect((await post(`/v1/admin/tenants/${tenant}/unlock`, ADMIN, JSON.stringify({ by: 'test', reason: 'keep going' }))).status).toBe(200);
      }
    }), { numRuns: 2500, seed: 20261206 });
    expect(answered).toBe(2500);
    // Something was charged along the way, so the invariant was not vacuous.
    expect(await spentMicros('acme') + await spentMicros('globex')).toBeGreaterThan(0);
  });
});
