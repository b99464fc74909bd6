// Upstream failover: a route naming several upstreams. When the primary fails, hangs past its timeout or
// has its circuit open, the call goes to the next upstream the tenant's egress policy allows; the one
// reservation is settled once, for the upstream that served, and the `invoke` entry names it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { ControlLog, Gateway, isGatewayError, type UpstreamTarget } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';

const TENANTS = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const ACME = 'Bearer acme-demo-key';
const GLOBEX = 'Bearer globex-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const globexDoc = { tenant_id: 'globex', layer: 'model_access', id: 'doc-7', classification: 'internal', region: 'us-east-1', domain: 'PROD', tool: 'chat' };

const open: Gateway[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const g of open.splice(0)) await g.close();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function gatewayWith(upstreams: UpstreamTarget[], breaker = { threshold: 2, halfOpenAfterMs: 60_000 }): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-failover-'));
  dirs.push(dir);
  const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('failover.test').signerKey });
  const control = new ControlLog(ledger);
  const g = await Gateway.create({
    tenants: TENANTS, ledger, control, quota: createQuota({ control: control.sink }), policy: await createPolicyEngine(), failover: { upstreams, breaker },
  });
  open.push(g);
  return g;
}

function counting(name: string, host: string, behave: () => Promise<{ usd: number; output: unknown }>, timeoutMs?: number) {
  const target = { name, host, calls: 0, call: async () => { target.calls++; return behave(); }, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
  return target;
}

async function chargesOf(g: Gateway, tenantId: string) {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < g.ledger.log.size(tenantId); i++) {
    const { entry } = await g.ledger.log.entry(tenantId, i);
    if (entry.kind === 'invoke') out.push(entry.payload as Record<string, unknown>);
  }
  return out;
}

describe('upstream failover', () => {
  it('serves from the secondary when the primary fails, charged once and named in the entry', async () => {
    const primary = counting('primary', 'api.openai.com', () => Promise.reject(new Error('503 from provider')));
    const secondary = counting('secondary', 'api.openai.com', async () => ({ usd: 0.2, output: 'from secondary' }));
    const g = await gatewayWith([primary, secondary]);
    const r = await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.5 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ charged_usd: 0.2, output: 'from secondary', upstream: 'secondary' });
    expect([primary.calls, secondary.calls]).toEqual([1, 1]);
    expect(await chargesOf(g, 'acme')).toEqual([expect.objectContaining({ charged_usd: 0.2, upstream: 'secondary' })]);
    const u = await g.quota.usage('acme');
    expect([u.day.spent_usd, u.day.reserved_usd, u.open_reservations]).toEqual([0.2, 0, 0]);
  });

  it('fails over when the primary hangs past its timeout', async () => {
    const primary = counting('primary', 'api.openai.com', () => new Promise(() => undefined), 30);
    const secondary = counting('secondary', 'api.openai.com', async () => ({ usd: 0.1, output: 'ok' }));
    const g = await gatewayWith([primary, secondary]);
    const r = await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.5 });
    expect(r.body).toMatchObject({ upstream: 'secondary' });
    expect(primary.calls).toBe(1);
  });

  it('stops calling a primary whose circuit is open, for that tenant', async () => {
    const primary = counting('primary', 'api.openai.com', () => Promise.reject(new Error('down')));
    const secondary = counting('secondary', 'api.openai.com', async () => ({ usd: 0.1, output: 'ok' }));
    const g = await gatewayWith([primary, secondary]);
    for (let i = 0; i < 5; i++) expect((await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 })).status).toBe(200);
    // Two failures opened acme's circuit to the primary: the three calls after went straight to the secondary.
    expect([primary.calls, secondary.calls]).toEqual([2, 5]);
    expect((await chargesOf(g, 'acme')).map((p) => p.upstream)).toEqual(Array(5).fill('secondary'));
  });

  it('never calls an upstream the tenant\'s egress policy does not allow, and answers 502 with what it tried when none serves', async () => {
    const allowed = counting('openai', 'api.openai.com', () => Promise.reject(new Error('down')));
    const elsewhere = counting('elsewhere', 'llm.example.net', async () => ({ usd: 0.1, output: 'should not be reached' }));
    const g = await gatewayWith([allowed, elsewhere]);
    const r = await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'UPSTREAM_FAILED', tried: [{ upstream: 'openai', outcome: 'down' }, { upstream: 'elsewhere', outcome: expect.stringContaining('EGRESS') }] });
    expect(elsewhere.calls).toBe(0);
    // globex may reach no host at all: nothing is called, nothing is charged, the reservation is released.
    const none = await g.invoke(GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.2 });
    expect(none.status).toBe(502);
    expect(allowed.calls + elsewhere.calls).toBe(1);
    const u = await g.quota.usage('globex');
    expect([u.day.spent_usd, u.day.reserved_usd]).toEqual([0, 0]);
  });

  it('refuses bad failover options, naming the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-failover-'));
    dirs.push(dir);
    const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('failover.test').signerKey });
    const base = { tenants: TENANTS, ledger, quota: createQuota(), policy: await createPolicyEngine() };
    for (const [failover, field] of [
      [{ upstreams: [] }, 'options.failover.upstreams'],
      [{ upstreams: [{ name: 'a', host: 'h', call: 'x' }] }, 'options.failover.upstreams[0].call'],
      [{ upstreams: [{ name: 'a', host: 'h', call: async () => ({ usd: 0, output: 0 }) }, { name: 'a', host: 'h', call: async () => ({ usd: 0, output: 0 }) }] }, 'options.failover.upstreams[1].name'],
      [{ upstreams: [{ name: 'a', host: 'h', call: async () => ({ usd: 0, output: 0 }) }], breaker: { threshold: 0 } }, 'options.failover.breaker.threshold'],
    ] as const) {
      const err = await Gateway.create({ ...base, failover: failover as never }).then(() => undefined, (e: unknown) => e);
      expect(isGatewayError(err) && [err.code, err.field]).toEqual(['INVALID_ARGUMENT', field]);
    }
    await ledger.close();
  });
});
