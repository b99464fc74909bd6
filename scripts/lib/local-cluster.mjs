// A local tenantry cluster's parts, shared by `npm run cluster` (scripts/cluster.mjs) and the cluster benchmark
// (bench/cluster.bench.mjs): node keys certified by a local operator key, a loopback redis-server with an
// append-only file, and reference gateways in cluster mode (examples/reference-server, cluster.mjs).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REDIS_SCRIPT = join(ROOT, 'scripts/redis.sh');
const DAY = 86_400_000;

/** A JSON file made once by `make`, then read back while `stillGood`; mode 0600 (it holds a secret key). */
async function keyFile(file, make, stillGood = () => true) {
  if (existsSync(file)) {
    const value = JSON.parse(await readFile(file, 'utf8'));
    if (stillGood(value)) return value;
  }
  const value = make();
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return value;
}

/**
 * The operator key of `dir` (made on first use) and a key file per node id, certified for 30 days.
 * @returns { operator, keyFiles: { [nodeId]: path } }
 */
export async function clusterKeys(dir, nodeIds) {
  const { generateOperatorKey, issueNodeKey } = await import('@tenantry/federation');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const operator = await keyFile(join(dir, 'operator.json'), () => generateOperatorKey('tenantry-local-cluster'));
  const keyFiles = {};
  for (const id of nodeIds) {
    keyFiles[id] = join(dir, `${id}.key`);
    await keyFile(keyFiles[id], () => issueNodeKey(operator, { node_id: id, not_before: Date.now() - 60_000, not_after: Date.now() + 30 * DAY }),
      (k) => k.certificate?.not_after > Date.now() + DAY && k.certificate?.public_key === k.public_key);
  }
  return { operator, keyFiles };
}

/** A loopback redis-server (installed through apt when missing and root), with an append-only file unless `persist` is false. */
export function startRedis({ install = true, persist = true } = {}) {
  if (install) execFileSync('bash', [REDIS_SCRIPT, 'install'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync('bash', [REDIS_SCRIPT, 'start'], { env: { ...process.env, REDIS_SH_PERSIST: persist ? '1' : '' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(/REDIS_PORT=(\d+)/.exec(out)?.[1]);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop() {
      try {
        execFileSync('bash', [REDIS_SCRIPT, 'stop', String(port)], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    },
  };
}

/** A free loopback port. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * One reference gateway in cluster mode as a child process. `onLine(stream, line)` gets its output line by line.
 * @returns the ChildProcess
 */
export function startNode({ nodeId, port, redisUrl, dataDir, keyFile, operator, leaseMs, env = {}, onLine = () => {} }) {
  const child = spawn(process.execPath, [join(ROOT, 'examples/reference-server/main.mjs')], {
    env: {
      ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', NODE_ID: nodeId, REDIS_URL: redisUrl, DATA_DIR: dataDir,
      CLUSTER_NODE_KEY: keyFile, CLUSTER_OPERATOR_KEY: operator.public_key, CLUSTER_LEASE_MS: String(leaseMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [name, stream] of [['stdout', child.stdout], ['stderr', child.stderr]]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) onLine(name, line);
    });
  }
  return child;
}

/** Resolves once every url answers GET /v1/cluster with `members` members and every shard held. */
export async function untilSettled(urls, members, { pollMs = 100, alive = () => true } = {}) {
  for (;;) {
    if (!alive()) throw new Error('a node exited while the cluster was settling');
    let ok = true;
    for (const u of urls) {
      try {
        const s = await (await fetch(`${u}/v1/cluster`)).json();
        if (s.members?.length !== members || !Array.isArray(s.shards) || s.shards.some((x) => x.token === null)) ok = false;
      } catch {
        ok = false;
      }
      if (!ok) break;
    }
    if (ok) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
