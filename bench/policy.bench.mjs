// @tenantry/policy benchmarks: decide() on the isolation path with 10^4 tenants loaded, side by side with
//   (a) the raw @open-policy-agent/opa-wasm SDK: loadPolicy on the same compiled policy (the bundled
//       packages/policy/bundle/policy.tar.gz), setData, evaluate(input);
//   (b) the same policy served by `opa run --server` (the pinned OPA, from the Rego in policies/, tests left
//       out) on loopback HTTP with a keep-alive agent: PUT /v1/data/tenants, POST /v1/data/tenantry/main/decision;
//   (c) decide() with the exact-input decision cache on (cacheEntries), on the same repeating inputs.
// All of them are checked to give identical decisions on every input before anything is timed. Latency
// percentiles come from timing single calls with process.hrtime.bigint() (benchmark.js reports means only).
//
// Run: `npm run bench -- policy` (writes bench/RESULTS.md) or `node bench/policy.bench.mjs`.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { createPolicyEngine, readBundle } from '@tenantry/policy';
import { kernelInfo } from '@tenantry/kernels';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TENANTS = 10_000;
const INPUTS = 1024;
const LAYERS = ['agent_runtime', 'control_plane', 'memory_graph', 'risk_engine', 'approval', 'model_access', 'network'];
const LATENCY_CALLS = 100_000;
const SERVER_CALLS = 2000;
const SERVER_CONCURRENCY = 16;

/** The isolation-path workload: same-tenant requests over many tenants and layers, 1 in 8 cross-tenant. */
function workload() {
  const inputs = [];
  for (let i = 0; i < INPUTS; i++) {
    const t = `tenant-${(i * 7919) % TENANTS}`;
    const layer = LAYERS[i % LAYERS.length];
    const action = ['read', 'write', 'invoke', 'read'][i % 4];
    const input = {
      protocol_version: '1.0',
      principal: { tenant_id: t, id: `user-${i % 97}`, roles: ['developer'], clearance: 'confidential', tool_scopes: ['search'] },
      action,
      resource: { tenant_id: i % 8 === 0 ? `tenant-${(i * 7919 + 1) % TENANTS}` : t, layer, id: `res-${i}`, classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
      context: { mode: 'NORMAL' },
    };
    if (action === 'invoke' || layer === 'agent_runtime') input.resource.tool = 'search';
    if (layer === 'network') input.resource.host = i % 2 ? 'api-1.example' : `h${i % 5}.internal.example`;
    inputs.push(input);
  }
  return inputs;
}

function tenantsData() {
  const tenants = {};
  for (let i = 0; i < TENANTS; i++) tenants[`tenant-${i}`] = { status: 'active', regions: ['eu-west-1'], egress_allow: ['api-1.example', '*.internal.example'] };
  return { tenants };
}

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  }).on('error', reject);
});

/** An OPA server on loopback serving policies/, with a keep-alive client. */
async function startOpaServer(data) {
  const opa = execFileSync('bash', [path.join(REPO, 'scripts/install-opa.sh')], { encoding: 'utf8' }).trim().split('\n').at(-1);
  const port = await freePort();
  const proc = spawn(opa, ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', '--ignore', '*_test.rego', path.join(REPO, 'policies')], { stdio: 'ignore' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: SERVER_CONCURRENCY });
  const request = (method, url, body) => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, method, path: url, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode >= 300) reject(new Error(`opa ${method} ${url}: ${res.statusCode} ${text}`));
        else resolve(text === '' ? undefined : JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
  for (let i = 0; ; i++) {
    try {
      await request('GET', '/health');
      break;
    } catch (e) {
      if (i > 200) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await request('PUT', '/v1/data/tenants', data.tenants);
  return {
    decide: async (input) => (await request('POST', '/v1/data/tenantry/main/decision', { input })).result,
    stop: () => {
      agent.destroy();
      proc.kill('SIGTERM');
    },
  };
}

function percentiles(samplesNs) {
  const s = Float64Array.from(samplesNs).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] / 1000;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1] / 1000 };
}

function latencySync(fn, inputs, calls) {
  const out = new Array(calls);
  for (let i = 0; i < 2000; i++) fn(inputs[i % inputs.length]);
  for (let i = 0; i < calls; i++) {
    const input = inputs[i % inputs.length];
    const t0 = process.hrtime.bigint();
    fn(input);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentiles(out);
}

async function latencyAsync(fn, inputs, calls) {
  const out = new Array(calls);
  for (let i = 0; i < 100; i++) await fn(inputs[i % inputs.length]);
  for (let i = 0; i < calls; i++) {
    const input = inputs[i % inputs.length];
    const t0 = process.hrtime.bigint();
    await fn(input);
    out[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentiles(out);
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const fmtUs = (x) => `${x.toFixed(1)} µs`;
let latency; // filled by check(), read by policyTargets()

export async function groups() {
  const inputs = workload();
  const data = tenantsData();
  const bundleBytes = new Uint8Array(fs.readFileSync(path.join(REPO, 'packages/policy/bundle/policy.tar.gz')));
  const engine = await createPolicyEngine({ data, lockdownAfter: 1_000_000 });
  const cached = await createPolicyEngine({ data, lockdownAfter: 1_000_000, cacheEntries: 4096 });
  const sdk = await loadPolicy((await readBundle(bundleBytes)).wasm);
  sdk.setData(data);
  const server = await startOpaServer(data);
  const decideSdk = (input) => sdk.evaluate(input)[0].result;
  // The parts of one decision, for the note.
  const parts = {};

  const group = {
    title: `decide() on the isolation path, ${TENANTS.toLocaleString('en')} tenants loaded`,
    unit: 'decisions', items: INPUTS,
    baseline: `opa run --server, loopback HTTP, ${SERVER_CONCURRENCY} in flight`,
    async check() {
      let cross = 0;
      for (const input of inputs) {
        const a = engine.decide(input);
        const b = decideSdk(input);
        const c = await server.decide(input);
        const d = cached.decide(input);
        if (!same(a, b) || !same(a, c) || !same(a, d)) throw new Error(`variants disagree on ${JSON.stringify(input)}: ${JSON.stringify([a, b, c, d])}`);
        if (a.reasons.includes('CROSS_TENANT')) cross++;
        else if (!a.allow) throw new Error(`workload input denied: ${JSON.stringify(a)} for ${JSON.stringify(input)}`);
      }
      if (cross !== INPUTS / 8) throw new Error(`expected ${INPUTS / 8} cross-tenant inputs, got ${cross}`);
      // Latency of single calls.
      latency = {
        engine: latencySync((i) => engine.decide(i), inputs, LATENCY_CALLS),
        sdk: latencySync(decideSdk, inputs, LATENCY_CALLS),
        cached: latencySync((i) => cached.decide(i), inputs, LATENCY_CALLS),
        server: await latencyAsync(server.decide, inputs, SERVER_CALLS),
      };
      // Where a decision goes: JSON.stringify of the input, the wasm evaluation alone (the SDK given the
      // encoded bytes), JSON.parse of the result.
      const encoded = inputs.map((i) => new TextEncoder().encode(JSON.stringify(i)).buffer);
      const resultText = JSON.stringify(sdk.evaluate(inputs[1]));
      const time = (fn) => {
        const n = 50_000;
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < n; k++) fn(k % INPUTS);
        return Number(process.hrtime.bigint() - t0) / n / 1000;
      };
      parts.stringify = time((k) => JSON.stringify(inputs[k]));
      parts.wasm = time((k) => sdk.evaluate(encoded[k]));
      parts.parse = time(() => JSON.parse(resultText));
      parts.engine = time((k) => engine.decide(inputs[k]));
    },
    cases: [
      { name: 'tenantry decide()', fn: () => { for (const i of inputs) engine.decide(i); } },
      { name: 'raw opa-wasm SDK evaluate()', fn: () => { for (const i of inputs) sdk.evaluate(i); } },
      { name: 'tenantry decide(), exact-input cache (cacheEntries 4096, all inputs repeat)', fn: () => { for (const i of inputs) cached.decide(i); } },
      {
        name: `opa run --server, loopback HTTP, ${SERVER_CONCURRENCY} in flight`, defer: true, heavy: true,
        fn: async () => {
          let next = 0;
          await Promise.all(Array.from({ length: SERVER_CONCURRENCY }, async () => {
            while (next < INPUTS) await server.decide(inputs[next++]);
          }));
        },
      },
    ],
  };
  Object.defineProperty(group, 'note', {
    enumerable: true,
    get: () => [
      `${INPUTS} distinct inputs (1 in 8 cross-tenant, the rest allowed, over ${LAYERS.length} layers and many tenants), each variant checked to give identical decisions on all of them; the engines run with lockdown off (lockdownAfter 10^6) so that a cross-tenant input does not lock its tenant and change later answers. The OPA server evaluates the Rego of policies/ (the source of the compiled bundle) with its own evaluator.`,
      '',
      '| single-call latency | p50 | p99 | max |',
      '| --- | ---: | ---: | ---: |',
      ...[['tenantry decide()', latency.engine], ['raw opa-wasm SDK evaluate()', latency.sdk], ['decide() with the exact-input cache', latency.cached], [`opa run --server, one request at a time (${SERVER_CALLS} calls)`, latency.server]]
        .map(([n, l]) => `| ${n} | ${fmtUs(l.p50)} | ${fmtUs(l.p99)} | ${fmtUs(l.max)} |`),
      '',
      `Where a decide() of ${fmtUs(parts.engine)} goes (means over the workload): JSON.stringify of the input ${fmtUs(parts.stringify)}; the wasm evaluation alone (the SDK given pre-encoded input bytes, its result parsed) ${fmtUs(parts.wasm)}; JSON.parse of a result ${fmtUs(parts.parse)}. The evaluation of the Rego dominates; OPA's wasm rebuilds constant sets and objects on every evaluation, so the policies use function forms of their vocabularies (policies/tenantry/vocab.rego).`,
    ].join('\n'),
  });
  return {
    groups: [group],
    info: () => kernelInfo(),
    async close() {
      server.stop();
      engine.close();
      cached.close();
    },
  };
}

/** The targets, from this run's figures. */
export function policyTargets(results) {
  const rows = results[0].rows;
  const get = (prefix) => rows.find((r) => r.name.startsWith(prefix)).itemsPerSec;
  const engine = get('tenantry decide()');
  const sdk = get('raw opa-wasm SDK');
  const server = get('opa run --server');
  const table = [
    ['decisions/s on one thread ≥ 50 k (decide, cache off)', `${(engine / 1e3).toFixed(1)} k/s`, engine >= 5e4],
    ['≥ 20× the OPA-server path', `${(engine / server).toFixed(1)}×`, engine / server >= 20],
    ['p99 latency ≤ 100 µs (decide, cache off)', fmtUs(latency.engine.p99), latency.engine.p99 <= 100],
    ['wrapper within 1.3× of the raw SDK (SDK rate / decide rate)', `${(sdk / engine).toFixed(2)}`, sdk / engine <= 1.3],
  ];
  return ['| target | this run | met |', '| --- | ---: | :---: |', ...table.map(([t, v, ok]) => `| ${t} | ${v} | ${ok ? 'yes' : 'no'} |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { runDirect } = await import('./harness.mjs');
  await runDirect(groups, policyTargets);
}
