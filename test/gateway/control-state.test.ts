// Control state through the gateway (docs/architecture.md, "Control state"): every change — an admin's, the
// policy's lockdown, the quota's own freezes — is a control event in the `_control_plane` chain, durable
// before it takes effect (or, for a restrictive one, before the request that caused it is answered), and a
// restart folds the chain back into exactly what was in force.
import { readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey, nodeLogIo, tenantFileName, type LogIo } from '@tenantry/audit';
import { controlState, DOMAINS, type ControlEvent, type ControlState } from '@tenantry/core';
import { CONTROL_PLANE, ControlLog, Gateway, isGatewayError, tenantryRoutes } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';
import { arbitraryControlEvent } from '../helpers/control.js';

const TENANTS = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8')) as {
  tenants: Array<{ tenant_id: string; envelope: { daily_budget_usd: number } }>;
};
const IDS = TENANTS.tenants.map((t) => t.tenant_id);
const SIGNER = generateNoteKey('control-state.test').signerKey;
const ACME = 'Bearer acme-demo-key';
const globexDoc = { tenant_id: 'globex', layer: 'memory_graph', id: 'doc-9', classification: 'internal', region: 'us-east-1', domain: 'PROD' };

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tenantry-control-'));
  dirs.push(d);
  return d;
}

/** A gateway over `dir` wired as the reference server wires it: the quota writes its freezes through the control log. */
async function openGateway(dir: string, io?: LogIo): Promise<Gateway> {
  const ledger = await AuditLedger.open(dir, { signerKey: SIGNER, ...(io === undefined ? {} : { io }) });
  const control = new ControlLog(ledger);
  const quota = createQuota({ control: control.sink, freezeOnOverrun: true });
  return Gateway.create({ tenants: TENANTS, ledger, quota, policy: await createPolicyEngine(), control });
}

/** What is in force, read from the parts that enforce it (the quota, the policy engine, the gateway). */
async function live(g: Gateway) {
  const frozen: Record<string, string> = {};
  const locked: Record<string, { by: string; reason: string }> = {};
  const daily: Record<string, number> = {};
  for (const id of IDS) {
    const u = await g.quota.usage(id);
    if (u.frozen !== null) frozen[id] = u.frozen;
    const l = g.policy.lockOf(id);
    if (l !== undefined) locked[id] = { by: l.by, reason: l.reason };
    daily[id] = u.day.cap_usd;
  }
  const paused = IDS.filter((id) => g.control.paused(id));
  const pausedDomains = DOMAINS.filter((d) => g.control.paused('\u0000none', d));
  const canary = IDS.filter((id) => g.control.canarySuspended(id));
  return { mode: g.mode, frozen, locked, daily, paused, pausedDomains, canary };
}

/** The same, as the fold says it must be. */
function expected(s: ControlState) {
  const frozen: Record<string, string> = {};
  const locked: Record<string, { by: string; reason: string }> = {};
  const daily: Record<string, number> = {};
  for (const t of TENANTS.tenants) {
    const f = s.frozen.get(t.tenant_id);
    if (f !== undefined) frozen[t.tenant_id] = f.reason;
    const l = s.locked.get(t.tenant_id);
    if (l !== undefined) locked[t.tenant_id] = { by: l.by, reason: l.reason };
    daily[t.tenant_id] = Number(s.envelopes.get(t.tenant_id)?.daily_budget_usd ?? t.envelope.daily_budget_usd);
  }
  const paused = IDS.filter((id) => s.paused.tenants.has(id));
  const pausedDomains = DOMAINS.filter((d) => s.paused.domains.has(d));
  const canary = IDS.filter((id) => s.canarySuspended.has(id));
  return { mode: s.mode, frozen, locked, daily, paused, pausedDomains, canary };
}

describe('control events', () => {
  it('folding any sequence gives the state applied live, and a restart restores exactly that state', async () => {
    await fc.assert(fc.asyncProperty(fc.array(arbitraryControlEvent(IDS), { maxLength: 25 }), async (events: ControlEvent[]) => {
      const dir = await mkdtemp(join(tmpdir(), 'tenantry-fold-'));
      try {
        const g = await openGateway(dir);
        for (const e of events) await g.control.commit(e);
        const want = expected(controlState(events));
        expect(await live(g)).toEqual(want);
        expect(await g.control.log.events()).toEqual(events);
        await g.close();
        const again = await openGateway(dir);
        try {
          expect(await live(again)).toEqual(want);
          expect(again.restored.events).toBe(events.length);
        } finally {
          await again.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }), { numRuns: 15 });
  });

  it('records an overrun freeze before it takes effect, and a restart keeps it', async () => {
    const dir = await tempDir();
    const g = await openGateway(dir);
    const r = await g.quota.reserve({ tenant_id: 'acme', usd: 1 });
    if (!r.ok) throw new Error('reserve denied');
    const settled = await g.quota.settle(r.id, 1.5);
    expect(settled).toMatchObject({ status: 'settled', overrun: true, froze: true });
    const events = await g.control.log.events();
    expect(events).toEqual([{ type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' }]);
    await g.close();
    const again = await openGateway(dir);
    expect((await again.quota.usage('acme')).frozen).toBe('OVERRUN');
    expect((await again.quota.reserve({ tenant_id: 'acme', usd: 0.1 }))).toMatchObject({ ok: false, reason: 'FROZEN' });
    await again.close();
  });

  it('reads the chains written before control events existed (admin.* and policy.lockdown entries)', async () => {
    const dir = await tempDir();
    const ledger = await AuditLedger.open(dir, { signerKey: SIGNER });
    const old: Array<[string, Record<string, unknown>]> = [
      ['admin.mode', { from: 'NORMAL', to: 'AUDIT', requested_by: 'ops', approvals: [], reason: 'r', reasons: [] }],
      ['admin.mode.denied', { from: 'AUDIT', to: 'NORMAL', requested_by: 'ops', approvals: [], reason: 'r', reasons: ['APPROVAL_REQUIRED'] }],
      ['admin.freeze', { tenant_id: 'acme', reason: 'unpaid' }],
      ['policy.lockdown', { tenant_id: 'globex', by: 'policy', reason: '1 cross-tenant violation', violations: 1 }],
      ['admin.envelope', { tenant_id: 'globex', envelope: { ...TENANTS.tenants[1]!.envelope, daily_budget_usd: 3 } }],
    ];
    for (const [kind, payload] of old) await ledger.append(CONTROL_PLANE, { kind, payload: payload as never });
    await ledger.close();
    const g = await openGateway(dir);
    expect(await live(g)).toEqual({
      mode: 'AUDIT', frozen: { acme: 'unpaid' }, locked: { globex: { by: 'policy', reason: '1 cross-tenant violation' } }, daily: { acme: 10, globex: 3 },
      paused: [], pausedDomains: [], canary: [],
    });
    await g.close();
  });

  it('refuses to start on a control-plane entry that is not a control event, naming its index', async () => {
    const dir = await tempDir();
    const ledger = await AuditLedger.open(dir, { signerKey: SIGNER });
    await ledger.append(CONTROL_PLANE, { kind: 'control.freeze', payload: { type: 'freeze', tenant_id: 'acme', source: 'admin', reason: 'ok' } });
    await ledger.append(CONTROL_PLANE, { kind: 'control.freeze', payload: { type: 'freeze', tenant_id: 'acme', source: 'nobody', reason: 'x' } });
    await ledger.close();
    const err = await openGateway(dir).then(() => undefined, (e: unknown) => e);
    expect(isGatewayError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'CONTROL_LOG_INVALID', index: 1 });
  });
});

describe('a lockdown whose entry cannot be written', () => {
  it('fails the request (503) instead of being forgotten, and is written once the log recovers', async () => {
    const dir = await tempDir();
    // Writes to the control-plane chain fail while `broken` is set; every tenant's own chain keeps working.
    const controlFile = tenantFileName(CONTROL_PLANE);
    let broken = false;
    const isControl = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`).endsWith(controlFile);
    const io: LogIo = {
      ...nodeLogIo,
      async write(fd, data, position) {
        if (broken && isControl(fd)) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return nodeLogIo.write(fd, data, position);
      },
    };
    const g = await openGateway(dir, io);
    const app = Fastify();
    await app.register(tenantryRoutes, { gateway: g });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      broken = true;
      const res = await fetch(`${url}/v1/invoke`, {
        method: 'POST', headers: { authorization: ACME, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'read', resource: globexDoc, estimated_usd: 0.1 }),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'CONTROL_LOG_UNAVAILABLE' });
      // In force in this process all the same (fail closed), and waiting to be written.
      expect(g.policy.lockOf('acme')).toBeDefined();
      expect(g.control.log.unwritten).toBe(1);
      broken = false;
      await g.control.log.flush();
      expect(g.control.log.unwritten).toBe(0);
    } finally {
      await app.close();
      await g.close();
    }
    const again = await openGateway(dir);
    expect(again.policy.lockOf('acme')).toMatchObject({ by: 'policy' });
    const denied = await again.invoke(ACME, { action: 'read', resource: { ...globexDoc, tenant_id: 'acme', region: 'eu-west-1' }, estimated_usd: 0.1 });
    expect(denied.status).toBe(403);
    expect((denied.body as { reasons: string[] }).reasons).toContain('TENANT_LOCKED');
    await again.close();
  });

  it('an admin change the log cannot take answers 503 and changes nothing', async () => {
    const dir = await tempDir();
    let broken = false;
    const io: LogIo = {
      ...nodeLogIo,
      async datasync(fd) {
        if (broken) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return nodeLogIo.datasync(fd);
      },
    };
    const g = await openGateway(dir, io);
    try {
      broken = true;
      const r = await g.freeze('Bearer admin-demo-key', 'acme', { reason: 'unpaid' }, true);
      expect(r.status).toBe(503);
      expect((r.body as { code: string }).code).toBe('CONTROL_LOG_UNAVAILABLE');
      expect((await g.quota.usage('acme')).frozen).toBeNull();
      expect(g.control.log.unwritten).toBe(0);
    } finally {
      broken = false;
      await g.close();
    }
  });
});
