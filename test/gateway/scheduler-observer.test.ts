// The scheduler and the agent supervisor seen through the gateway: queue depth, queue wait, the concurrency
// limit and agent states in /metrics, and every lifecycle transition of an agent as an audit entry of its
// tenant (a crash loop ends quarantined, and the chain says so).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { ControlLog, Gateway } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';
import { createAgentSupervisor, createScheduler } from '@tenantry/scheduler';

const TENANTS = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };

it('reports the scheduler in /metrics and audits every agent transition for its tenant', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-observe-'));
  const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('observe.test').signerKey });
  const control = new ControlLog(ledger);
  const scheduler = createScheduler({ concurrency: 3 });
  const supervisor = createAgentSupervisor({
    healthIntervalMs: 10_000,
    thresholds: { latencyMs: 100, errorRate: 0.1, faults: 3, recoveryTimeoutMs: 1000 },
    restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: 1 },
  });
  const g = await Gateway.create({ tenants: TENANTS, ledger, control, quota: createQuota({ control: control.sink }), policy: await createPolicyEngine(), scheduler, supervisor });
  try {
    for (let i = 0; i < 3; i++) expect((await g.invoke('Bearer acme-demo-key', { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 })).status).toBe(200);
    // An agent of acme that crashes every time it starts: restarted twice, then quarantined.
    supervisor.register({ id: 'summariser', tenant_id: 'acme', start: () => Promise.reject(new Error('segfault in tool')) });
    supervisor.start('summariser');
    while (supervisor.status('summariser').state !== 'TERMINATED') await new Promise((resolve) => setTimeout(resolve, 5));
    const transitions: Array<Record<string, unknown>> = [];
    for (let tries = 0; tries < 200 && !transitions.some((t) => t.reason === 'QUARANTINED'); tries++) {
      transitions.length = 0;
      for (let i = 0; i < ledger.log.size('acme'); i++) {
        const { entry } = await ledger.log.entry('acme', i);
        if (entry.kind === 'agent.transition') transitions.push(entry.payload as Record<string, unknown>);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(transitions[0]).toMatchObject({ agent_id: 'summariser', from: 'CREATED', to: 'ACTIVE' });
    expect(transitions.filter((t) => t.reason === 'CRASHED').length).toBeGreaterThanOrEqual(2);
    expect(transitions.at(-1)).toMatchObject({ to: 'TERMINATED', reason: 'QUARANTINED' });
    expect(transitions.some((t) => String(t.error).includes('segfault in tool'))).toBe(true);
    const text = String((await g.metricsReply()).body);
    expect(text).toMatch(/tenantry_scheduler_concurrency 3/);
    expect(text).toMatch(/tenantry_scheduler_wait_seconds_count\{domain="PROD"\} 3/);
    expect(text).toMatch(/tenantry_scheduler_queued\{tenant="acme"\} 0/);
    expect(text).toMatch(/tenantry_agents\{tenant="acme",state="TERMINATED"\} 1/);
  } finally {
    await supervisor.close();
    await g.close();
    await rm(dir, { recursive: true, force: true });
  }
});
