// The connect/Express-style middleware on a bare node:http server: the same answers as the Fastify plugin,
// everything else passed to next(), a body parsed by the host used as is.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey, verifyReceipt, type Receipt } from '@tenantry/audit';
import { Gateway, isGatewayError, tenantryMiddleware } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';

const tenants = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const doc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };

describe('tenantryMiddleware', () => {
  let dir: string;
  let gateway: Gateway;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenantry-mw-'));
    const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('mw.test').signerKey });
    gateway = await Gateway.create({ tenants, ledger, quota: createQuota(), policy: await createPolicyEngine() });
    const mw = tenantryMiddleware(gateway, { bodyLimit: 4096 });
    server = createServer((req: IncomingMessage & { body?: unknown }, res) => {
      // A host that parses JSON itself for one path, as express.json() would.
      if (req.headers['x-preparsed'] === '1') req.body = { action: 'invoke', resource: doc, estimated_usd: 0.25 };
      mw(req, res, (err?: unknown) => {
        res.statusCode = err ? 500 : 404;
        res.end(err ? 'host error' : 'host 404');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url + path, { method: 'POST', body, headers: { authorization: 'Bearer acme-demo-key', 'content-type': 'application/json', ...headers } });

  it('answers an invoke with a receipt that verifies, and serves the entry and metrics', async () => {
    const r = await post('/v1/invoke', JSON.stringify({ action: 'invoke', resource: doc, estimated_usd: 0.5 }));
    expect(r.status).toBe(200);
    const body = (await r.json()) as { receipt: { index: number; leaf_hash: string } };
    const e = await fetch(`${url}/v1/tenants/acme/audit/${body.receipt.index}?x=1`, { headers: { authorization: 'Bearer acme-demo-key' } });
    const entry = (await e.json()) as { receipt: Receipt; verifier_keys: string[] };
    expect(entry.receipt.leaf_hash).toBe(body.receipt.leaf_hash);
    expect(verifyReceipt(entry.receipt, entry.verifier_keys)).toBe(true);
    const pre = await post('/v1/invoke', 'ignored', { 'x-preparsed': '1' });
    expect(((await pre.json()) as { charged_usd: number }).charged_usd).toBe(0.2);
    const m = await (await fetch(`${url}/metrics`)).text();
    expect(m).toContain('tenantry_requests_total{route="/v1/invoke",status="200"} 2');
  });

  it('answers client mistakes 4xx and passes other paths to next()', async () => {
    const cases: Array<[Promise<Response>, number, string]> = [
      [post('/v1/invoke', '{"action"'), 400, 'INVALID_JSON'],
      [post('/v1/invoke', 'a=1', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post('/v1/invoke', JSON.stringify({ action: 'invoke', resource: { ...doc, id: 'x'.repeat(5000) }, estimated_usd: 1 })), 413, 'BODY_TOO_LARGE'],
      [post('/v1/invoke', JSON.stringify({ action: 'read', resource: { ...doc, tenant_id: 'globex' }, estimated_usd: 1 })), 403, 'POLICY_DENIED'],
      [fetch(`${url}/v1/invoke`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }), 401, 'UNAUTHENTICATED'],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([status, code]);
    }
    const other = await fetch(`${url}/elsewhere`);
    expect([other.status, await other.text()]).toEqual([404, 'host 404']);
  });

  it('refuses a missing gateway', () => {
    let caught: unknown;
    try {
      tenantryMiddleware(undefined as never);
    } catch (e) {
      caught = e;
    }
    expect(isGatewayError(caught) && (caught as { field: string }).field).toBe('gateway');
  });
});
