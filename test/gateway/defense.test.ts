// The quota's cost defense inside the gateway: a burn-rate alert and a limiter action become audit entries
// of the tenant, with the numbers that triggered them, and are counted in the metrics; the limiter's freeze is
// a control event of the control-plane chain, written before it applies.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { ControlLog, Gateway } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';

const tenants = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const doc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };

it('audits the cost defense\'s alerts and actions for the tenant', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-defense-'));
  let now = Date.parse('2025-06-10T12:00:00Z');
  const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('defense.test').signerKey, clock: () => now });
  const control = new ControlLog(ledger);
  const quota = createQuota({ clock: () => now, control: control.sink, defense: { tickMs: 0, limiter: { freezeWhenExhaustedWithinMs: 6 * 3_600_000 } } });
  const gateway = await Gateway.create({ tenants, ledger, quota, control, policy: await createPolicyEngine() });
  try {
    await quota.tickDefense();
    // acme: 100 USD a month; 2 % of it (2 USD, charged 0.8 × the estimate) within five minutes.
    for (let i = 0; i < 5; i++) {
      now += 60_000;
      const r = await gateway.invoke('Bearer acme-demo-key', { action: 'invoke', resource: doc, estimated_usd: 0.5 });
      expect(r.status).toBe(200);
    }
    const fired = await quota.tickDefense();
    expect(fired.map((e) => e.type)).toEqual(expect.arrayContaining(['burn_rate_alert', 'freeze_tenant']));
    // The events are audited as their appends complete: the 5 invokes, then the 2 events.
    const before = 5;
    while (ledger.log.size('acme') < before + 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const kinds: string[] = [];
    for (let i = 0; i < ledger.log.size('acme'); i++) kinds.push((await ledger.log.entry('acme', i)).entry.kind);
    expect(kinds.filter((k) => k.startsWith('defense.'))).toEqual(['defense.burn_rate_alert', 'defense.freeze_tenant']);
    const alert = (await ledger.log.entry('acme', kinds.indexOf('defense.burn_rate_alert'))).entry.payload as Record<string, number>;
    expect(alert).toMatchObject({ severity: 'page', threshold: 14.4 });
    expect(alert.long_burn_rate).toBeGreaterThanOrEqual(14.4);
    // The freeze was applied: acme's next request is refused by the quota.
    const denied = await gateway.invoke('Bearer acme-demo-key', { action: 'invoke', resource: doc, estimated_usd: 0.5 });
    expect([denied.status, (denied.body as { reason: string }).reason]).toEqual([429, 'FROZEN']);
    // ... after its control event was written: a restart restores it.
    expect(await control.events()).toEqual([{ type: 'freeze', tenant_id: 'acme', source: 'COST_LIMITER', reason: 'COST_LIMITER' }]);
    expect(await gateway.metrics.registry.getSingleMetricAsString('tenantry_defense_events_total')).toContain('tenantry_defense_events_total{type="freeze_tenant"} 1');
  } finally {
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  }
});
