// `npm run cluster`: a local tenantry cluster to try — a redis-server on loopback (append-only, fsynced on
// every write) and three reference gateways in cluster mode (examples/reference-server, cluster.mjs) on ports
// 8787, 8788 and 8789, each with its own data directory under .data/cluster/ and a node key certified by a
// local operator key (made on first run, kept in .data/cluster/, mode 0600). Prints how to try a failover,
// then runs until Ctrl-C, which stops the nodes (each hands its shards over) and the redis-server.
//
// Environment: CLUSTER_PORT (first node's port, default 8787; the others follow; 0 picks free ports),
// CLUSTER_LEASE_MS (default 3000: a killed node's tenants are served again within about that), CLUSTER_SHARDS
// (default 64), CLUSTER_DIR (default .data/cluster). Everything else (TENANTRY_CONFIG, MOCK_LATENCY_MS, …) is
// passed to the nodes.
//
// Prints `CLUSTER_READY <url> <url> <url>` and one `NODE <id> <pid> <url>` line per node when every node
// serves; tests read them.
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterKeys, freePort, ROOT, startNode as spawnNode, startRedis, untilSettled } from './lib/local-cluster.mjs';

const env = process.env;
const NODES = ['node-1', 'node-2', 'node-3'];
const dir = resolve(env.CLUSTER_DIR ?? join(ROOT, '.data/cluster'));
const leaseMs = env.CLUSTER_LEASE_MS ?? '3000';
const basePort = env.CLUSTER_PORT === undefined ? 8787 : Number(env.CLUSTER_PORT);
if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65533) {
  console.error(`CLUSTER_PORT must be a port number, got ${JSON.stringify(env.CLUSTER_PORT)}`);
  process.exit(2);
}

const { operator, keyFiles } = await clusterKeys(dir, NODES);
const redis = startRedis();
const redisUrl = redis.url;

const ports = [];
for (let i = 0; i < NODES.length; i++) ports.push(basePort === 0 ? await freePort() : basePort + i);
const children = new Map();
let stopping = false;

function startNode(i) {
  const id = NODES[i];
  const child = spawnNode({
    nodeId: id, port: ports[i], redisUrl, dataDir: join(dir, id), keyFile: keyFiles[id], operator, leaseMs,
    onLine: (stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`[${id}] ${line}\n`),
  });
  child.on('exit', (code, signal) => {
    children.delete(id);
    if (!stopping) console.log(`[${id}] exited (${signal ?? code}); the other nodes take its shards when its lease ends. Start it again: see above.`);
  });
  children.set(id, child);
  return child;
}

async function stopAll() {
  if (stopping) return;
  stopping = true;
  const exits = [...children.values()].map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGTERM'); }));
  await Promise.race([Promise.all(exits), sleep(15_000)]);
  for (const c of children.values()) c.kill('SIGKILL');
  redis.stop();
  console.log('cluster stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());

for (let i = 0; i < NODES.length; i++) startNode(i);

const urls = ports.map((p) => `http://127.0.0.1:${p}`);
try {
  await untilSettled(urls, NODES.length, { pollMs: 200, alive: () => children.size === NODES.length });
} catch {
  console.error('a node exited while starting: see its output above');
  await stopAll();
}

const states = await Promise.all(urls.map(async (u) => (await fetch(`${u}/v1/cluster`)).json()));
const owned = Object.fromEntries(NODES.map((id) => [id, states[0].shards.filter((s) => s.primary === id).length]));
console.log(`
tenantry cluster: redis ${redisUrl} (append-only), lease ${leaseMs} ms, nodes:`);
for (let i = 0; i < NODES.length; i++) console.log(`  ${NODES[i]}  ${urls[i]}  pid ${children.get(NODES[i]).pid}  primary of ${owned[NODES[i]]} shards`);
let acmeOwner = null;
try {
  acmeOwner = (await (await fetch(`${urls[0]}/v1/cluster?tenant=acme`)).json()).tenant?.primary ?? null;
} catch {
  // the demo tenant is not in this tenants file
}
console.log(`
Try it:
  curl -s ${urls[0]}/v1/cluster | head -c 600; echo          # members and every shard's primary, secondary, token
  for p in ${ports.join(' ')}; do curl -s http://127.0.0.1:$p/v1/invoke -H 'authorization: Bearer acme-demo-key' \\
    -H 'content-type: application/json' -d '{"action":"invoke","resource":{"tenant_id":"acme","layer":"model_access","id":"doc-1","classification":"internal","region":"eu-west-1","domain":"PROD","tool":"chat"},"estimated_usd":0.5}'; echo; done
    # the same tenant through every node: each request is served by the owner of acme's shard (one hop)
  A failover: kill -9 the pid of acme's owner (curl -s '${urls[0]}/v1/cluster?tenant=acme' names it under "tenant"${acmeOwner === null ? '' : `: now ${acmeOwner}, kill -9 ${children.get(acmeOwner)?.pid}`}), then repeat the loop:
    503 NOT_OWNER / OWNER_UNREACHABLE with Retry-After for about ${leaseMs} ms, then 200 from the new owner.
Ctrl-C stops the nodes and the redis-server.
`);
console.log(`CLUSTER_READY ${urls.join(' ')}`);
for (let i = 0; i < NODES.length; i++) console.log(`NODE ${NODES[i]} ${children.get(NODES[i]).pid} ${urls[i]}`);
