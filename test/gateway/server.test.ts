// The reference server end to end over HTTP, started as its own process (examples/reference-server/main.mjs)
// on a free loopback port: isolation and lockdown, budget exhaustion, receipts that verify offline, a restart
// that keeps the chain, client mistakes answered 4xx, and the same suite with the quota in a real Redis.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, verifyReceipt, type Receipt } from '@tenantry/audit';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { call, invoke, startServer, type Server } from '../helpers/server.js';

const ACME = 'Bearer acme-demo-key';
const GLOBEX = 'Bearer globex-demo-key';
const ADMIN = 'Bearer admin-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const globexDoc = { tenant_id: 'globex', layer: 'model_access', id: 'doc-7', classification: 'internal', region: 'us-east-1', domain: 'PROD', tool: 'chat' };

describe.each([{ quota: 'memory' }, { quota: 'redis' }])('reference server, quota in $quota', ({ quota }) => {
  let dataDir: string;
  let redis: RedisServer | undefined;
  let server: Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantry-server-'));
    if (quota === 'redis') redis = await startRedis();
    env = { DATA_DIR: dataDir, ...(redis ? { REDIS_URL: redis.url } : {}) };
    server = await startServer(env);
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers an invoke with a receipt that verifies offline against the entry it names', async () => {
    const r = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.5 });
    expect(r.status).toBe(200);
    const receipt = r.body.receipt as { tenant_id: string; index: number; leaf_hash: string };
    // Entry 0 is the call's admission (its reservation, written before the call); entry 1 its charge.
    expect(receipt).toMatchObject({ tenant_id: 'acme', index: 1 });
    expect(r.body.charged_usd).toBe(0.4);
    const e = await call(server.url, 'GET', `/v1/tenants/acme/audit/${receipt.index}`, ACME);
    expect(e.status).toBe(200);
    const full = e.body.receipt as Receipt;
    expect(full.leaf_hash).toBe(receipt.leaf_hash);
    expect(e.body.entry).toMatchObject({ kind: 'invoke', tenant_id: 'acme', payload: { charged_usd: 0.4, estimated_usd: 0.5 } });
    expect(verifyReceipt(full, e.body.verifier_keys as string[])).toBe(true);
    expect(verifyReceipt({ ...full, leaf_hash: '00'.repeat(32) }, e.body.verifier_keys as string[])).toBe(false);
    const cp = await call(server.url, 'GET', '/v1/audit/checkpoint', null);
    expect(cp.status).toBe(200);
    expect(openCheckpoint(String(cp.body), e.body.verifier_keys as string[]).checkpoint.size).toBeGreaterThan(0);
  });

  it('denies a cross-tenant request, locks the offender down, and lets the admin unlock it', async () => {
    const cross = await invoke(server.url, ACME, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 });
    expect(cross.status).toBe(403);
    expect(cross.body).toMatchObject({ code: 'POLICY_DENIED' });
    expect(cross.body.reasons).toContain('CROSS_TENANT');
    const locked = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 });
    expect(locked.status).toBe(403);
    expect(locked.body.reasons).toEqual(['TENANT_LOCKED']);
    // The other tenant is untouched, and cannot read the offender's log.
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).status).toBe(200);
    expect((await call(server.url, 'GET', '/v1/tenants/acme/audit/0', GLOBEX)).status).toBe(403);
    // Both denials are in acme's audit log, after the first call's admission and charge.
    const kinds = [];
    for (let i = 2; i <= 3; i++) kinds.push(((await call(server.url, 'GET', `/v1/tenants/acme/audit/${i}`, ACME)).body.entry as { kind: string }).kind);
    expect(kinds).toEqual(['policy.deny', 'policy.deny']);
    expect((await call(server.url, 'POST', '/v1/admin/tenants/acme/unlock', ACME, { by: 'me', reason: 'x' })).status).toBe(403);
    expect((await call(server.url, 'POST', '/v1/admin/tenants/acme/unlock', ADMIN, { by: 'oncall', reason: 'INC-7 reviewed' })).status).toBe(200);
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 })).status).toBe(200);
  });

  it('answers 429 QUOTA_DENIED with the reason and Retry-After once the daily cap is reached', async () => {
    // globex: daily cap 10 USD; 6 estimated (4.8 charged), then 6 more would pass the cap.
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 6 })).status).toBe(200);
    const denied = await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 6 });
    expect(denied.status).toBe(429);
    expect(denied.body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'DAILY_CAP' });
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0);
    // A freeze by the admin denies everything, an unfreeze lifts it.
    expect((await call(server.url, 'POST', '/v1/admin/tenants/globex/freeze', ADMIN, { reason: 'billing review' })).status).toBe(200);
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).body).toMatchObject({ reason: 'FROZEN' });
    expect((await call(server.url, 'POST', '/v1/admin/tenants/globex/unfreeze', ADMIN, {})).status).toBe(200);
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).status).toBe(200);
  });

  it('answers client mistakes with 4xx { code, message }', async () => {
    const cases: Array<[Promise<{ status: number; body: Record<string, unknown> }>, number, string]> = [
      [invoke(server.url, null, { action: 'invoke', resource: acmeDoc, estimated_usd: 1 }), 401, 'UNAUTHENTICATED'],
      [invoke(server.url, 'Bearer nobody', { action: 'invoke', resource: acmeDoc, estimated_usd: 1 }), 401, 'UNAUTHENTICATED'],
      [invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: -1 }), 400, 'INVALID_REQUEST'],
      [invoke(server.url, ACME, { action: 'invoke', resource: 'doc', estimated_usd: 1 }), 400, 'INVALID_REQUEST'],
      [invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 1, extra: 1 }), 400, 'INVALID_REQUEST'],
      [invoke(server.url, ACME, '{"action":'), 400, 'INVALID_JSON'],
      [invoke(server.url, ACME, { action: 'invoke', resource: { ...acmeDoc, id: 'x'.repeat(70_000) }, estimated_usd: 1 }), 413, 'BODY_TOO_LARGE'],
      [call(server.url, 'POST', '/v1/invoke', ACME, 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [call(server.url, 'GET', '/v1/tenants/acme/audit/-1', ACME), 400, 'INVALID_REQUEST'],
      [call(server.url, 'GET', '/v1/tenants/acme/audit/999999', ACME), 404, 'NOT_FOUND'],
      [call(server.url, 'GET', '/v2/nothing', ACME), 404, 'NOT_FOUND'],
      [call(server.url, 'PUT', '/v1/admin/tenants/acme/envelope', ADMIN, { tenant_id: 'acme', daily_budget_usd: -1 }), 400, 'INVALID_REQUEST'],
    ];
    for (const [p, status, code] of cases) {
      const r = await p;
      expect([r.status, r.body.code]).toEqual([status, code]);
      expect(typeof r.body.message).toBe('string');
    }
  });

  it('never answers 5xx to random bodies and headers', async () => {
    let state = 11;
    const next = (n: number): number => (state = (state * 1103515245 + 12345) % 2 ** 31) % n;
    const values: unknown[] = [null, 0, -1, 1e308, 'x', '', [], {}, [acmeDoc], acmeDoc, true, 'invoke', { tenant_id: 7 }];
    for (let i = 0; i < 150; i++) {
      const body: Record<string, unknown> = {};
      for (const f of ['action', 'resource', 'estimated_usd', 'experiment_id', 'junk']) if (next(2) === 0) body[f] = values[next(values.length)];
      const auth = [ACME, GLOBEX, ADMIN, 'Bearer ', 'Basic abc', null][next(6)]!;
      const raw = next(5) === 0 ? JSON.stringify(body).slice(0, next(20)) : body;
      const r = await invoke(server.url, auth, raw);
      expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
    }
  });

  it('counts decisions, denials, spend and audit entries in /metrics', async () => {
    const r = await call(server.url, 'GET', '/metrics', null);
    expect(r.status).toBe(200);
    const text = String(r.body);
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('tenantry_policy_decisions_total{allow="false",reason="CROSS_TENANT"}')).toBe(1);
    expect(value('tenantry_policy_decisions_total{allow="false",reason="TENANT_LOCKED"}')).toBe(1);
    expect(value('tenantry_quota_denials_total{reason="DAILY_CAP"}')).toBe(1);
    expect(value('tenantry_quota_denials_total{reason="FROZEN"}')).toBe(1);
    expect(value('tenantry_spend_usd_total{tenant="globex"}')).toBeCloseTo(0.08 + 4.8 + 0.08, 9);
    expect(value('tenantry_audit_log_entries{tenant="acme"}')).toBeGreaterThanOrEqual(4);
    expect(value('tenantry_stage_seconds_count{stage="upstream"}')).toBeGreaterThan(0);
    expect(value('tenantry_requests_total{route="/v1/invoke",status="429"}')).toBe(2);
  });

  it('switches the mode only with two approvers other than the requester, audited, and keeps it across a restart', async () => {
    const ask = (auth: string, approvals: Array<{ principal_id: string; role: string }>, target_mode = 'AUDIT') =>
      call(server.url, 'POST', '/v1/admin/mode', auth, { requested_by: 'alice', target_mode, approvals, reason: 'INC-9' });
    expect((await ask(ACME, [])).status).toBe(403);
    const one = await ask(ADMIN, [{ principal_id: 'bob', role: 'approver' }]);
    expect([one.status, one.body.reasons]).toEqual([403, ['APPROVAL_REQUIRED']]);
    const self = await ask(ADMIN, [{ principal_id: 'alice', role: 'approver' }, { principal_id: 'bob', role: 'approver' }]);
    expect(self.body.reasons).toEqual(['APPROVAL_REQUIRED']);
    const ok = await ask(ADMIN, [{ principal_id: 'bob', role: 'approver' }, { principal_id: 'carol', role: 'approver' }]);
    expect([ok.status, ok.body]).toEqual([200, { mode: 'AUDIT', previous: 'NORMAL' }]);
    expect((await call(server.url, 'GET', '/healthz', null)).body.mode).toBe('AUDIT');
    // AUDIT mode: no mutations.
    const write = await invoke(server.url, GLOBEX, { action: 'write', resource: globexDoc, estimated_usd: 0.01 });
    expect([write.status, write.body.reasons]).toEqual([403, ['MODE']]);
    const bad = await call(server.url, 'POST', '/v1/admin/mode', ADMIN, { requested_by: 'alice', target_mode: 'PANIC', approvals: [], reason: 'x' });
    expect([bad.status, bad.body.field]).toEqual([400, 'target_mode']);
    // Kept across a restart (from the control plane's audit log), then switched back.
    expect(await server.stop()).toBe(0);
    server = await startServer(env);
    expect((await call(server.url, 'GET', '/healthz', null)).body.mode).toBe('AUDIT');
    expect((await ask(ADMIN, [{ principal_id: 'bob', role: 'approver' }, { principal_id: 'carol', role: 'approver' }], 'NORMAL')).body).toEqual({ mode: 'NORMAL', previous: 'AUDIT' });
  });

  it('keeps the chain, its roots and the receipts across a restart', async () => {
    const before = await call(server.url, 'GET', '/v1/tenants/acme/audit/0', ACME);
    const again = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 });
    const lastIndex = (again.body.receipt as { index: number }).index;
    expect(await server.stop()).toBe(0);
    server = await startServer(env);
    const after = await call(server.url, 'GET', '/v1/tenants/acme/audit/0', ACME);
    expect(after.body.entry).toEqual(before.body.entry);
    expect(verifyReceipt(before.body.receipt as Receipt, after.body.verifier_keys as string[])).toBe(true);
    const next = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 });
    expect((next.body.receipt as { index: number }).index).toBe(lastIndex + 2);
    const last = await call(server.url, 'GET', `/v1/tenants/acme/audit/${lastIndex}`, ACME);
    expect((last.body.receipt as Receipt).leaf_hash).toBe((again.body.receipt as { leaf_hash: string }).leaf_hash);
    expect(verifyReceipt(last.body.receipt as Receipt, last.body.verifier_keys as string[])).toBe(true);
  });

  it('keeps lockdowns, freezes and envelopes set by operators across a restart', async () => {
    const envelope = { tenant_id: 'acme', monthly_budget_usd: 100, daily_budget_usd: 0.000001, experiment_budget_cap_usd: 2, max_parallel_experiments: 2, max_prod_traffic_pct: 10 };
    expect((await call(server.url, 'PUT', '/v1/admin/tenants/acme/envelope', ADMIN, envelope)).status).toBe(200);
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 })).body.reasons).toContain('CROSS_TENANT');
    expect((await call(server.url, 'POST', '/v1/admin/tenants/globex/freeze', ADMIN, { reason: 'INC-11' })).status).toBe(200);
    expect(await server.stop()).toBe(0);
    server = await startServer(env);
    // The tenants file says otherwise, but the operators' and the policy's decisions stand.
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).body.reasons).toEqual(['TENANT_LOCKED']);
    expect((await call(server.url, 'POST', '/v1/admin/tenants/globex/unlock', ADMIN, { by: 'oncall', reason: 'reviewed' })).status).toBe(200);
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'FROZEN' });
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.01 })).body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'DAILY_CAP' });
  });
});

describe('reference server killed with SIGKILL', () => {
  it('loses no receipt it returned', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-kill-'));
    try {
      let server = await startServer({ DATA_DIR: dataDir });
      const receipts: Array<{ index: number; leaf_hash: string }> = [];
      let stop = false;
      const loops = Array.from({ length: 16 }, async () => {
        while (!stop) {
          const r = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.001 }).catch(() => null);
          if (r === null) return;
          if (r.status === 200) receipts.push(r.body.receipt as { index: number; leaf_hash: string });
        }
      });
      while (receipts.length < 200) await new Promise((resolve) => setTimeout(resolve, 5));
      server.child.kill('SIGKILL');
      stop = true;
      await Promise.all(loops);
      const child = server.child;
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
      server = await startServer({ DATA_DIR: dataDir });
      try {
        for (const r of receipts) {
          const e = await call(server.url, 'GET', `/v1/tenants/acme/audit/${r.index}`, ACME);
          expect(e.status).toBe(200);
          expect((e.body.receipt as Receipt).leaf_hash).toBe(r.leaf_hash);
        }
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('reference server on SIGTERM', () => {
  it('finishes the requests in flight, keeps their receipts and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-term-'));
    try {
      let server = await startServer({ DATA_DIR: dataDir, MOCK_LATENCY_MS: '2000' });
      const inFlight = Array.from({ length: 20 }, () => invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.01 }));
      // All 20 are past their reservation, i.e. waiting on the upstream, before the signal.
      for (;;) {
        const m = String((await call(server.url, 'GET', '/metrics', null)).body);
        if (/^tenantry_stage_seconds_count\{stage="quota_reserve"\} 20$/m.test(m)) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const exit = server.stop();
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(await exit).toBe(0);
      server = await startServer({ DATA_DIR: dataDir });
      try {
        for (const a of answers) {
          const r = a.body.receipt as { index: number; leaf_hash: string };
          const e = await call(server.url, 'GET', `/v1/tenants/acme/audit/${r.index}`, ACME);
          expect((e.body.receipt as Receipt).leaf_hash).toBe(r.leaf_hash);
        }
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('reference server with the scheduler', () => {
  it('answers a flooding tenant 503 QUEUE_FULL with Retry-After while another tenant still gets 200s, releasing what it refused', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-flood-'));
    try {
      const server = await startServer({ DATA_DIR: dataDir, MOCK_LATENCY_MS: '200', SCHEDULER_CONCURRENCY: '4', SCHEDULER_MAX_QUEUED_PER_TENANT: '3' });
      try {
        const flood = Array.from({ length: 30 }, () => invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.01 }));
        const others = Array.from({ length: 3 }, () => invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.01 }));
        const [floodAnswers, otherAnswers] = await Promise.all([Promise.all(flood), Promise.all(others)]);
        const full = floodAnswers.filter((a) => a.status === 503);
        expect(full.length).toBeGreaterThan(0);
        for (const a of full) {
          expect(a.body).toMatchObject({ code: 'QUEUE_FULL' });
          expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        }
        expect(floodAnswers.every((a) => a.status === 200 || a.status === 503)).toBe(true);
        expect(otherAnswers.map((a) => a.status)).toEqual([200, 200, 200]);
        // What was refused was not charged: the tenant's chain holds one charge per 200.
        let charges = 0;
        for (let i = 0; ; i++) {
          const e = await call(server.url, 'GET', `/v1/tenants/acme/audit/${i}`, ACME);
          if (e.status === 404) break;
          if ((e.body.entry as { kind: string }).kind === 'invoke') charges++;
        }
        expect(charges).toBe(floodAnswers.filter((a) => a.status === 200).length);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
