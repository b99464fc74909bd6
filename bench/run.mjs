// Runs the benchmark suites side by side and writes bench/RESULTS.md (machine, date, tables,
// targets). Usage: npm run bench [-- <suite> …]   (suites: kernels, audit, audit-log, policy, quota, gateway, scheduler, cluster, quota-cluster)
import os from 'node:os';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { runGroup, table } from './harness.mjs';
import { logTargets } from './audit-log.bench.mjs';
import { policyTargets } from './policy.bench.mjs';
import { quotaTargets } from './quota.bench.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.arch()}, Node ${process.version}`;
const SUITES = {
  kernels: { file: './kernels.bench.mjs', title: '@tenantry/kernels', targets: kernelTargets },
  audit: { file: './audit.bench.mjs', title: '@tenantry/audit', targets: auditTargets },
  'audit-log': { file: './audit-log.bench.mjs', title: '@tenantry/audit durable log', targets: (results) => logTargets(results) },
  policy: { file: './policy.bench.mjs', title: '@tenantry/policy', targets: (results) => policyTargets(results) },
  quota: { file: './quota.bench.mjs', title: '@tenantry/quota', targets: (results) => quotaTargets(results) },
  // autocannon against two server processes; the suite writes its own tables (report()).
  gateway: { file: './gateway.bench.mjs', title: '@tenantry/gateway' },
  // per-task overhead tables and a virtual-clock overload run; the suite writes its own tables and targets (report()).
  scheduler: { file: './scheduler.bench.mjs', title: '@tenantry/scheduler' },
  // three reference gateways in cluster mode over one redis-server; the suite writes its own tables (report()).
  cluster: { file: './cluster.bench.mjs', title: '@tenantry/federation cluster' },
  // the quota's Redis store on one redis-server and on a three-primary Redis Cluster; the suite writes its own tables.
  'quota-cluster': { file: './quota-cluster.bench.mjs', title: '@tenantry/quota on Redis Cluster' },
};

function ratio(rows, a, b) {
  const x = rows.find((r) => r.name === a), y = rows.find((r) => r.name === b);
  return x.itemsPerSec / y.itemsPerSec;
}

/** The targets, evaluated on this run's figures. */
function kernelTargets(results) {
  const by = (title) => results.find((r) => r.group.title === title).rows;
  const level = by('One Merkle level of 2^20 children');
  const simd = level.find((r) => r.name === 'kernels SIMD').itemsPerSec;
  const bound = level.find((r) => r.name.startsWith('SHA-NI bound')).itemsPerSec;
  const root = by('RFC 6962 root of 2^20 leaves');
  const shard = by('shardOfMany over 10^6 ids');
  const rows = [
    ['one level ≥ 7 M parents/s single-thread', `${(simd / 1e6).toFixed(2)} M/s`, simd >= 7e6],
    ['one level ≥ 50 % of the SHA-NI bound of the same run', `${((100 * simd) / bound).toFixed(0)} %`, simd >= 0.5 * bound],
    ['root(2^20) ≥ 30× merkletreejs', `${ratio(root, 'kernels single thread', 'merkletreejs (RFC 6962 config)').toFixed(1)}×`, ratio(root, 'kernels single thread', 'merkletreejs (RFC 6962 config)') >= 30],
    ['root(2^20) ≥ 15× per-node JS', `${ratio(root, 'kernels single thread', 'plain JS + node:crypto per node').toFixed(1)}×`, ratio(root, 'kernels single thread', 'plain JS + node:crypto per node') >= 15],
    ['pool ≥ 1.6× single-thread, n = 2^20', `${ratio(root, 'kernels pool (2 threads)', 'kernels single thread').toFixed(2)}×`, ratio(root, 'kernels pool (2 threads)', 'kernels single thread') >= 1.6],
    ['shardOfMany ≥ 3× per-id node:crypto', `${ratio(shard, 'kernels shardOfMany', 'node:crypto per id').toFixed(1)}×`, ratio(shard, 'kernels shardOfMany', 'node:crypto per id') >= 3],
  ];
  return ['| target | this run | met |', '| --- | ---: | :---: |', ...rows.map(([t, v, ok]) => `| ${t} | ${v} | ${ok ? 'yes' : 'no'} |`)].join('\n');
}

/** The audit issue's targets (in-memory tree, proofs), evaluated on this run's figures. */
function auditTargets(results) {
  const by = (prefix) => results.find((r) => r.group.title.startsWith(prefix)).rows;
  const get = (rows, name) => rows.find((r) => r.name === name).itemsPerSec;
  const appends = by('Appends to an in-memory tree');
  const rows = ['tenantry append (one call per leaf)', 'tenantry appendLeafHash (one call per leaf)', 'tenantry appendMany (one call)', 'tenantry appendLeafHashes (one call)']
    .map((name) => [`${name.replace('tenantry ', '')} ≥ 1 M leaves/s`, `${(get(appends, name) / 1e6).toFixed(2)} M/s`, get(appends, name) >= 1e6]);
  const gen = by('Inclusion proof generation');
  const ver = by('Inclusion proof verification');
  const genRatio = ratio(gen, 'tenantry inclusionProof', 'merkletreejs getProof (RFC 6962 config)');
  const verRatio = ratio(ver, 'tenantry verifyInclusion', 'merkletreejs verify (RFC 6962 config)');
  // No target was set for proofs; the ratios are reported for the record (— in the last column).
  rows.push(
    ['inclusion proof generation on 2^20 vs merkletreejs getProof (ours copies each element; its proof shares its nodes)', `${genRatio.toFixed(2)}×`, null],
    ['inclusion proof verification on 2^20 vs merkletreejs verify', `${verRatio.toFixed(2)}×`, null],
  );
  const met = (ok) => (ok === null ? '—' : ok ? 'yes' : 'no');
  return ['| target | this run | met |', '| --- | ---: | :---: |', ...rows.map(([t, v, ok]) => `| ${t} | ${v} | ${met(ok)} |`)].join('\n');
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(SUITES);
const started = new Date();
const sections = [];
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) throw new Error(`unknown suite ${name}; known: ${Object.keys(SUITES).join(', ')}`);
  console.log(`suite ${name}`);
  const mod = await import(suite.file);
  if (mod.report) {
    const body = await mod.report();
    sections.push({ name, text: [`## ${suite.title}`, '', `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.`, '', body].join('\n') });
    continue;
  }
  const { groups, info, close } = await mod.groups();
  const results = [];
  try {
    for (const group of groups) results.push({ group, rows: await runGroup(group) });
  } finally {
    await close?.();
  }
  const parts = [`## ${suite.title}`, '', `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}; kernel build: ${info().build}.`, ''];
  for (const { group, rows } of results) {
    parts.push(`### ${group.title}`, '', table(group, rows), '');
    if (group.note) parts.push(group.note, '');
  }
  if (suite.targets) parts.push('### Targets', '', suite.targets(results), '');
  sections.push({ name, text: parts.join('\n') });
}

const header = [
  '# Benchmark results',
  '',
  'Each section names the machine and date of its own run (suites are run one at a time, on whatever host the session has).',
  `Latest: ${started.toISOString().slice(0, 10)}, ${machine}. Command: \`npm run bench${wanted.length ? ' -- ' + wanted.join(' ') : ''}\` (benchmark.js, all variants of a table in one process, outputs checked equal before timing).`,
  'The host is a shared virtual machine whose speed drifts between runs: compare the ratios within a table, not absolute figures across runs.',
  '',
].join('\n');

// Keep sections of suites not run this time.
const path = join(here, 'RESULTS.md');
const kept = [];
if (existsSync(path) && wanted.length) {
  const old = readFileSync(path, 'utf8').split(/^(?=## )/m).slice(1);
  for (const s of old) if (!names.some((n) => s.startsWith(`## ${SUITES[n].title}`))) kept.push(s.trimEnd() + '\n');
}
writeFileSync(path, [header, ...sections.map((s) => s.text), ...kept].join('\n'));
console.log(`wrote ${path}`);
