// @tenantry/gateway benchmark: the reference server's full request path (policy → quota → mock upstream →
// settle → durable audit append → receipt) against the same Fastify route with tenantry off (parse the
// body, call the same mock upstream, answer), each in its own process, driven by autocannon from this one
// on loopback. One run, side by side: requests/s and latency percentiles.
//
// Run: `npm run bench -- gateway` (writes bench/RESULTS.md) or `node bench/gateway.bench.mjs`
// (CONNECTIONS and DURATION_S override 64 connections and 10 s).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 64);
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const BODY = JSON.stringify({
  action: 'invoke',
  resource: { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' },
  estimated_usd: 0.000001,
});

const BARE = `
import Fastify from 'fastify';
import { mockModel } from '@tenantry/gateway';
const upstream = mockModel();
const app = Fastify({ logger: false });
app.post('/v1/invoke', async (req) => {
  const b = req.body;
  const result = await upstream({ tenant_id: 'acme', action: b.action, resource: b.resource, estimated_usd: b.estimated_usd });
  return { charged_usd: result.usd, output: result.output };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log('listening on ' + address);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

function start(file, env) {
  const child = spawn(process.execPath, [file], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolvePromise({ url: m[1], stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) });
    });
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

function load(url, headers) {
  return autocannon({ url: `${url}/v1/invoke`, method: 'POST', connections: CONNECTIONS, duration: DURATION_S, body: BODY, headers: { 'content-type': 'application/json', ...headers } });
}

/** Runs both servers under the same load; returns the markdown of the section. */
export async function report() {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-gateway-bench-'));
  const bareFile = join(REPO, 'bench', '.bare-route.mjs');
  await writeFile(bareFile, BARE);
  try {
    const full = await start(join(REPO, 'examples/reference-server/main.mjs'), { DATA_DIR: dir });
    const bare = await start(bareFile, {});
    // Warm up both, then measure one after the other under the same load.
    await load(full.url, { authorization: 'Bearer acme-demo-key' });
    await load(bare.url, {});
    const f = await load(full.url, { authorization: 'Bearer acme-demo-key' });
    const b = await load(bare.url, {});
    await full.stop();
    await bare.stop();
    for (const [name, r] of [['full', f], ['bare', b]]) {
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    }
    const row = (name, r) => `| ${name} | ${Math.round(r.requests.average).toLocaleString('en')} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} |`;
    const ratio = f.requests.average / b.requests.average;
    const addedP99 = f.latency.p99 - b.latency.p99;
    console.log(`  full ${Math.round(f.requests.average)} req/s p99 ${f.latency.p99} ms · bare ${Math.round(b.requests.average)} req/s p99 ${b.latency.p99} ms`);
    return [
      `### POST /v1/invoke, ${CONNECTIONS} connections, ${DURATION_S} s each (autocannon 8.0.0), loopback`,
      '',
      '| server | requests/s | p50 ms | p99 ms | max ms |',
      '| --- | ---: | ---: | ---: | ---: |',
      row('reference server: auth, policy, quota reserve, mock upstream, settle, durable audit append, receipt', f),
      row('the same Fastify route with tenantry off: parse, mock upstream, answer', b),
      '',
      'Both servers and autocannon share the 2 cores. The audit append resolves after its group-commit fdatasync.',
      '',
      '### Targets',
      '',
      '| target | this run | met |',
      '| --- | ---: | :---: |',
      `| ≥ 80 % of the bare route's throughput | ${(100 * ratio).toFixed(0)} % | ${ratio >= 0.8 ? 'yes' : 'no'} |`,
      `| ≤ 1 ms added p99 | ${addedP99.toFixed(1)} ms | ${addedP99 <= 1 ? 'yes' : 'no'} |`,
      '',
    ].join('\n');
  } finally {
    await rm(bareFile, { force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await report());
