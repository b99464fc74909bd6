// @tenantry/policy in one page: a decision, a cross-tenant denial, and the lockdown that follows it.
// Run with `node examples/policy/decide.mjs` after `npm ci` (the README shows its output).
import { createPolicyEngine } from '@tenantry/policy';

const engine = await createPolicyEngine({
  data: {
    tenants: {
      acme: { status: 'active', regions: ['eu-west-1'], egress_allow: ['api.openai.com'] },
      globex: { status: 'active', regions: ['us-east-1'], egress_allow: [] },
    },
  },
});
engine.on('violation', (v) => console.log(`violation: ${v.tenantId} → ${v.targetTenantId} (${v.action} on ${v.layer})`));
engine.on('lockdown', (l) => console.log(`lockdown:  ${l.tenantId} after ${l.violations} violation(s)`));
engine.on('unlock', (u) => console.log(`unlock:    ${u.tenantId} by ${u.by} (${u.reason})`));

const request = (resourceTenant) => ({
  protocol_version: '1.0',
  principal: { tenant_id: 'acme', id: 'alice', roles: ['developer'], clearance: 'confidential', tool_scopes: [] },
  action: 'read',
  resource: { tenant_id: resourceTenant, layer: 'memory_graph', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
  context: { mode: 'NORMAL' },
});

const show = (label, d) => console.log(`${label.padEnd(22)} ${JSON.stringify(d)}  revision ${JSON.stringify(d.revision)}`);
show('acme reads its own doc', engine.decide(request('acme')));
show('acme reads globex', engine.decide(request('globex')));
show('acme, locked down', engine.decide(request('acme')));
engine.unlock('acme', { by: 'oncall@acme', reason: 'INC-7 reviewed' });
show('acme, unlocked', engine.decide(request('acme')));
show('not even JSON', engine.decide({ get action() { throw new Error('boom'); } }));
