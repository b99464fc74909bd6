// tenantry demonstration on the embedded default (no server, no external service): a sample
// audit log's RFC 6962 root and proof sizes, shard and rendezvous assignments for sample tenants,
// burn rates for a sample spend series, and policy decisions from the bundled Rego policy (compiled
// to wasm) including a cross-tenant attempt and the lockdown that follows.
import {
  hashLeaves, merkleRoot, shardOfMany, rankNodes, kernelInfo, burnRate,
} from '@tenantry/kernels';
import { createPolicyEngine } from '@tenantry/policy';

const hex = (b) => Buffer.from(b).toString('hex');
const encoder = new TextEncoder();

/** Largest power of two strictly below n (RFC 6962 §2.1 split). */
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Number of hashes in the inclusion proof of leaf m in a tree of n leaves (RFC 9162 §2.1.3). */
function inclusionProofSize(m, n) {
  if (n <= 1) return 0;
  const k = split(n);
  return 1 + (m < k ? inclusionProofSize(m, k) : inclusionProofSize(m - k, n - k));
}

/** Number of hashes in the consistency proof from size m to size n, 0 < m < n (RFC 9162 §2.1.4). */
function consistencyProofSize(m, n, complete = true) {
  if (m === n) return complete ? 0 : 1;
  const k = split(n);
  return 1 + (m <= k ? consistencyProofSize(m, k, complete) : consistencyProofSize(m - k, n - k, false));
}

const hashes = (s) => `${s} hash${s === 1 ? '' : 'es'} (${32 * s} bytes)`;

console.log(`tenantry kernels: ${kernelInfo().build} build\n`);

// 1. A sample audit log: 10 000 entries from three tenants.
const tenants = ['acme', 'globex', 'initech'];
const entries = Array.from({ length: 10_000 }, (_, i) => encoder.encode(JSON.stringify({
  protocol_version: '1.0', tenant_id: tenants[i % 3], index: Math.floor(i / 3), kind: 'invoke', payload: { usd: (i % 17) / 100 },
})));
const leaves = hashLeaves(entries);
console.log('Audit log (RFC 6962)');
console.log(`  entries            ${entries.length}`);
console.log(`  root               ${hex(merkleRoot(leaves))}`);
for (const [m, n] of [[0, 10_000], [4_999, 10_000], [9_999, 10_000]]) {
  const s = inclusionProofSize(m, n);
  console.log(`  inclusion proof    entry ${m} of ${n}: ${hashes(s)}`);
}
for (const [m, n] of [[1_000, 10_000], [8_192, 10_000], [9_999, 10_000]]) {
  const s = consistencyProofSize(m, n);
  console.log(`  consistency proof  size ${m} → ${n}: ${hashes(s)}`);
}

// 2. Shards and rendezvous placement for sample tenants.
const sample = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark-industries', 'wayne-enterprises', 'tyrell'];
const nodes = ['node-a', 'node-b', 'node-c', 'node-d'];
const shards = shardOfMany(sample, 16);
console.log('\nPlacement (protocol 1.0): shard of 16, primary and secondary of 4 nodes');
for (let i = 0; i < sample.length; i++) {
  const [primary, secondary] = rankNodes(sample[i], nodes);
  console.log(`  ${sample[i].padEnd(18)} shard ${String(shards[i]).padStart(2)}   primary ${primary}   secondary ${secondary}`);
}

// 3. Burn rates (SRE workbook, "Alerting on SLOs"): the fraction of the monthly budget spent in a
//    window ÷ the fraction of the month the window covers; all tenants in one kernel call per window.
const HOUR = 3_600;
const MONTH = 30 * 24 * HOUR;
const windows = [
  { name: '1 h', seconds: HOUR, threshold: 14.4, action: 'page' },
  { name: '6 h', seconds: 6 * HOUR, threshold: 6, action: 'page' },
  { name: '3 d', seconds: 72 * HOUR, threshold: 1, action: 'ticket' },
];
// Monthly budget 1 000 USD each; spend (USD) in the last 1 h, 6 h and 3 d.
const spend = {
  acme: [20, 40, 100],        // 2 % in an hour: a runaway
  globex: [2, 50, 120],       // 5 % in 6 hours
  initech: [1, 6, 100],       // 10 % in 3 days: on pace to run out exactly at month end
  umbrella: [0.5, 3, 30],     // well within budget
};
const names = Object.keys(spend);
const budget = Float64Array.from(names, () => 1_000);
console.log('\nBurn rate of a 1 000 USD monthly budget (page at 14.4 over 1 h and 6 over 6 h, ticket at 1 over 3 d)');
console.log(`  ${'tenant'.padEnd(10)}${windows.map((w) => w.name.padStart(9)).join('')}   alert`);
const rates = windows.map((w, j) => burnRate(Float64Array.from(names, (n) => spend[n][j]), budget, w.seconds, MONTH));
names.forEach((n, i) => {
  const fired = windows.filter((w, j) => rates[j][i] >= w.threshold - 1e-9).map((w) => `${w.action} (${w.name})`);
  console.log(`  ${n.padEnd(10)}${rates.map((r) => r[i].toFixed(2).padStart(9)).join('')}   ${fired.join(', ') || '-'}`);
});

// Policy: the bundled policy, three tenants, a few requests.
const engine = await createPolicyEngine({
  data: {
    tenants: {
      acme: { status: 'active', regions: ['eu-west-1'], egress_allow: ['api.openai.com', '*.acme.example'] },
      globex: { status: 'active', regions: ['us-east-1'], egress_allow: [] },
      initech: { status: 'suspended', regions: ['eu-west-1'], egress_allow: [] },
    },
  },
});
const request = (over) => {
  const r = {
    protocol_version: '1.0',
    principal: { tenant_id: 'acme', id: 'alice', roles: ['developer'], clearance: 'confidential', tool_scopes: ['search'] },
    action: 'read',
    resource: { tenant_id: 'acme', layer: 'memory_graph', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
    context: { mode: 'NORMAL' },
  };
  return { ...r, ...over, principal: { ...r.principal, ...over.principal }, resource: { ...r.resource, ...over.resource }, context: { ...r.context, ...over.context } };
};
const requests = [
  ['acme reads its memory graph', {}],
  ['acme egress to api.openai.com', { action: 'egress', resource: { layer: 'network', host: 'api.openai.com' } }],
  ['acme egress to evil.example', { action: 'egress', resource: { layer: 'network', host: 'evil.example' } }],
  ['acme deploys to PROD in AUDIT mode', { action: 'deploy', resource: { domain: 'PROD', layer: 'control_plane' }, context: { mode: 'AUDIT' } }],
  ['initech (suspended) reads', { principal: { tenant_id: 'initech' }, resource: { tenant_id: 'initech' } }],
  ['acme reads globex memory', { resource: { tenant_id: 'globex' } }],
  ['acme reads its memory again', {}],
];
console.log(`\nPolicy decisions (bundled policy, revision ${engine.revision}; lockdown after 1 cross-tenant attempt)`);
for (const [label, over] of requests) {
  const d = engine.decide(request(over));
  console.log(`  ${label.padEnd(36)} ${d.allow ? 'allow' : 'deny '} ${d.reasons.join(', ')}${d.violation ? '  (violation)' : ''}`);
}
