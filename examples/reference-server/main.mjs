// The tenantry reference gateway: Fastify with the tenantry routes (@tenantry/gateway) on the embedded
// default — the audit ledger in a data directory, the quota in memory (or in Redis with REDIS_URL), the
// bundled policy — and the tenants of the tenants file.
//
//   node examples/reference-server/main.mjs     (after npm run build)
//
// Environment: PORT (default 8787; 0 picks a free one), HOST (127.0.0.1), DATA_DIR (default
// .data/reference-server under the working directory, .data/reference-server/<NODE_ID> in cluster mode), TENANTRY_CONFIG (default
// examples/reference-server/tenants.json), REDIS_URL (the quota in Redis), MOCK_LATENCY_MS (latency of the
// built-in mock model, default 0), MOCK_COST_RATIO (what a call costs as a fraction of its estimate, default 0.8;
// above 1 every call overruns its reservation, which freezes the tenant), DEFENSE_TICK_MS (how often the
// cost defense runs, default 10000), COST_LIMITER_FREEZE_MS (the derivative limiter freezes a tenant whose
// budget would run out within this many ms at its current rate; default: off), HEADERS_TIMEOUT_MS (a request's
// headers must arrive within this many ms, default 10000) and REQUEST_TIMEOUT_MS (the whole request, body
// included, default 30000; not less than HEADERS_TIMEOUT_MS): past either, 408 { code: "REQUEST_TIMEOUT" }
// and the connection is closed; SCHEDULER_CONCURRENCY (upstream calls at once, default 64) and
// SCHEDULER_MAX_QUEUED_PER_TENANT (calls one tenant may have waiting, default 256; past it 503 QUEUE_FULL),
// BACKPRESSURE_INTERVAL_MS (how often the backpressure stages run, default 1000).
// Cluster mode: NODE_ID with REDIS_URL, and CLUSTER_NODE_KEY, CLUSTER_OPERATOR_KEY, CLUSTER_LEASE_MS,
// CLUSTER_SHARDS, CLUSTER_ROLE, CLUSTER_ADDRESS (cluster.mjs): every route works through every node, served by
// the owner of the tenant's shard, and the quota's admissions carry the owner's fencing token.
// SIGTERM / SIGINT: stop accepting, finish the requests in flight, close the audit log, exit 0.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { AuditLedger, generateNoteKey, isAuditError } from '@tenantry/audit';
import { MAX_TENANT_ID_BYTES } from '@tenantry/core';
import { clientError, ControlLog, Gateway, isGatewayError, mockModel, tenantryRoutes } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota, memoryStore, redisStore } from '@tenantry/quota';
import { createBackpressure, createScheduler } from '@tenantry/scheduler';
import { clusterConfig, clusterNode, logClusterEvents } from './cluster.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const port = env.PORT === undefined ? 8787 : Number(env.PORT);
const host = env.HOST ?? '127.0.0.1';
// In cluster mode each node has a directory of its own (nodes on one host must not share a ledger).
const dataDir = resolve(env.DATA_DIR ?? (env.NODE_ID === undefined ? '.data/reference-server' : join('.data/reference-server', env.NODE_ID)));
const configFile = resolve(env.TENANTRY_CONFIG ?? join(here, 'tenants.json'));
const latencyMs = env.MOCK_LATENCY_MS === undefined ? 0 : Number(env.MOCK_LATENCY_MS);
const costRatio = env.MOCK_COST_RATIO === undefined ? 0.8 : Number(env.MOCK_COST_RATIO);
const tickMs = env.DEFENSE_TICK_MS === undefined ? 10_000 : Number(env.DEFENSE_TICK_MS);
const freezeWithinMs = env.COST_LIMITER_FREEZE_MS === undefined ? undefined : Number(env.COST_LIMITER_FREEZE_MS);
const concurrency = env.SCHEDULER_CONCURRENCY === undefined ? 64 : Number(env.SCHEDULER_CONCURRENCY);
const maxQueuedPerTenant = env.SCHEDULER_MAX_QUEUED_PER_TENANT === undefined ? 256 : Number(env.SCHEDULER_MAX_QUEUED_PER_TENANT);
for (const [name, v] of [['SCHEDULER_CONCURRENCY', concurrency], ['SCHEDULER_MAX_QUEUED_PER_TENANT', maxQueuedPerTenant]]) {
  if (!Number.isInteger(v) || v < 1 || v > 100_000) {
    console.error(`${name} must be an integer from 1 to 100000, got ${JSON.stringify(env[name])}`);
    process.exit(2);
  }
}
const headersTimeoutMs = env.HEADERS_TIMEOUT_MS === undefined ? 10_000 : Number(env.HEADERS_TIMEOUT_MS);
const requestTimeoutMs = env.REQUEST_TIMEOUT_MS === undefined ? 30_000 : Number(env.REQUEST_TIMEOUT_MS);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(env.PORT)}`);
  process.exit(2);
}
if (!Number.isInteger(latencyMs) || latencyMs < 0 || latencyMs > 60_000) {
  console.error(`MOCK_LATENCY_MS must be an integer from 0 to 60000, got ${JSON.stringify(env.MOCK_LATENCY_MS)}`);
  process.exit(2);
}
if (!Number.isFinite(costRatio) || costRatio < 0 || costRatio > 100) {
  console.error(`MOCK_COST_RATIO must be a number from 0 to 100, got ${JSON.stringify(env.MOCK_COST_RATIO)}`);
  process.exit(2);
}
if (!Number.isInteger(tickMs) || tickMs < 10 || tickMs > 3_600_000) {
  console.error(`DEFENSE_TICK_MS must be an integer from 10 to 3600000, got ${JSON.stringify(env.DEFENSE_TICK_MS)}`);
  process.exit(2);
}
if (freezeWithinMs !== undefined && (!Number.isInteger(freezeWithinMs) || freezeWithinMs <= 0)) {
  console.error(`COST_LIMITER_FREEZE_MS must be a positive integer, got ${JSON.stringify(env.COST_LIMITER_FREEZE_MS)}`);
  process.exit(2);
}

if (!Number.isInteger(headersTimeoutMs) || headersTimeoutMs < 100 || headersTimeoutMs > 600_000) {
  console.error(`HEADERS_TIMEOUT_MS must be an integer from 100 to 600000, got ${JSON.stringify(env.HEADERS_TIMEOUT_MS)}`);
  process.exit(2);
}
if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < headersTimeoutMs || requestTimeoutMs > 600_000) {
  console.error(`REQUEST_TIMEOUT_MS must be an integer from HEADERS_TIMEOUT_MS (${headersTimeoutMs}) to 600000, got ${JSON.stringify(env.REQUEST_TIMEOUT_MS)}`);
  process.exit(2);
}

/** The node's note signer key: made on first start, kept in the data directory (mode 0600). */
async function signerKey() {
  const file = join(dataDir, 'node-signer.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    const { signerKey: key } = generateNoteKey('tenantry-reference.local');
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return key;
  }
}

const clusterSettings = await clusterConfig(env, { host, port });
const cluster = clusterSettings === null ? null : clusterNode(clusterSettings);

await mkdir(dataDir, { recursive: true });
const tenants = JSON.parse(await readFile(configFile, 'utf8'));
/** Opens the ledger; a damaged key or checkpoint file stops the start with what is wrong and where (fail closed). */
async function openLedger() {
  let key;
  try {
    key = await signerKey();
    return await AuditLedger.open(join(dataDir, 'audit'), { signerKey: key });
  } catch (e) {
    if (!isAuditError(e)) throw e;
    const where = key === undefined || e.code === 'INVALID_KEY' ? join(dataDir, 'node-signer.key') : join(dataDir, 'audit');
    console.error(`not starting: ${where}: ${e.message} (${e.code}). Check it with \`tenantry-audit verify ${join(dataDir, 'audit')}\`; ` +
      'the tenant chains are the record: a damaged node-checkpoints.log can be moved aside (the node signs a new checkpoint from the chains), a damaged node-signer.key restored from a backup.');
    process.exit(3);
  }
}

const ledger = await openLedger();
// What opening the ledger found: torn tails (an append cut by a crash, never acknowledged) are cut; a
// damaged tenant chain makes that tenant read-only (503 TENANT_LOG_CORRUPT) while every other tenant goes on.
{
  const report = ledger.log.openReport;
  console.log(`tenantry audit ledger ${join(dataDir, 'audit')}: ${report.tenants} chains, ${report.entries} entries verified`);
  for (const t of report.tornTails) console.log(`  torn tail cut: ${JSON.stringify(t)}`);
  for (const c of report.corruptions) {
    console.error(`  DAMAGED chain of tenant ${JSON.stringify(c.tenantId)}: ${c.kind} at entry ${c.index}, byte ${c.offset}; the tenant is read-only until repaired (tenantry-audit verify ${join(dataDir, 'audit')})`);
  }
}
// Control events (lockdowns, freezes, admin changes, the mode) go to the ledger's control-plane chain; the
// quota writes its own freezes there (a settlement above its reservation, the cost limiter) before they apply.
const control = new ControlLog(ledger);
// The cost defense watches the spend settled here: SRE burn-rate alerts every DEFENSE_TICK_MS, audited per
// tenant, and with COST_LIMITER_FREEZE_MS the derivative limiter's freeze.
const defense = { tickMs, ...(freezeWithinMs === undefined ? {} : { limiter: { freezeWhenExhaustedWithinMs: freezeWithinMs } }) };
// In a cluster every admission carries the fencing token of the tenant's shard: a node that lost the shard
// (paused past its lease, cut off from Redis) admits nothing (503 NOT_OWNER).
const store = !env.REDIS_URL ? memoryStore()
  : redisStore({ url: env.REDIS_URL }, cluster === null ? {} : { fence: (tenantId) => cluster.fenceFor(tenantId) });
const quota = createQuota({ store, defense, freezeOnOverrun: true, control: control.sink });
const policy = await createPolicyEngine();
// Every upstream call runs in a slot of its tenant's fair share of its domain (PROD / SHADOW / LAB); a tenant
// whose queue is full gets 503 QUEUE_FULL with Retry-After while the others go on.
const scheduler = createScheduler({ concurrency, maxQueuedPerTenant });
let gateway;
try {
  gateway = await Gateway.create({ tenants, ledger, quota, policy, control, scheduler, upstream: mockModel({ latencyMs, costRatio }) });
} catch (e) {
  // A tenants file the gateway refuses (an id over the tenant id rule, a bad envelope…) stops the start
  // before anything is served or charged, naming the field at fault.
  if (isGatewayError(e) && e.code === 'INVALID_TENANTS') {
    console.error(`${configFile}: ${e.message} (${e.code}, field ${e.field})`);
    await ledger.close();
    process.exit(2);
  }
  // A damaged or unreadable control-plane chain: starting would restore less than was in force.
  if (isGatewayError(e) && (e.code === 'CONTROL_LOG_CORRUPT' || e.code === 'CONTROL_LOG_INVALID')) {
    console.error(`not starting: ${e.message} (${e.code})`);
    await ledger.close();
    process.exit(3);
  }
  throw e;
}
// Backpressure: a tenant failing half of its calls, or a domain whose mean queue wait reaches 5 s, is paused
// (new work refused, what was queued drains), and a tenant down to 10 % of its budget has its canary traffic
// suspended (new experiments run in LAB). Every action is a control event, durable before it applies.
const backpressure = createBackpressure({
  scheduler, sink: (event) => gateway.control.commit(event), tenants: () => tenants.tenants.map((t) => t.tenant_id),
  budget: async (tenantId) => {
    const u = await quota.usage(tenantId);
    const fraction = (p) => (p.cap_usd > 0 ? p.remaining_usd / p.cap_usd : 1);
    return Math.min(fraction(u.day), fraction(u.month));
  },
  stages: { tenantErrorRate: 0.5, domainQueueWaitMs: 5_000, budgetBoundary: 0.1 },
  intervalMs: Number(env.BACKPRESSURE_INTERVAL_MS ?? 1_000),
});
const r = gateway.restored;

console.log(`tenantry control state restored from ${r.events} control events: mode ${r.mode}, ${r.locked} locked, ${r.frozen} frozen, ${r.envelopes} run-time envelopes`);
{
  const u = gateway.usage;
  console.log(`tenantry quota usage rebuilt from ${u.entries} audit entries: ${u.charges} charges, ${u.open} open reservations (${JSON.stringify(u.quota)})`);
}

// Every answer is JSON { code, message } (`field` when one is at fault), the server's own included: the
// tenantry plugin answers its routes and clientError (@tenantry/gateway) names the rest — no such route (404),
// a path the router refuses (a bad %-escape 400, a parameter longer than a tenant id can be 414), what Node's
// HTTP parser refuses before there is a request to reply to (a malformed request line or header 400, headers
// too large 431, a request not received in time 408: written on the socket, which is then closed), and what
// Node would otherwise answer with an empty body or not at all (no Host 400, an Expect other than
// 100-continue 417, CONNECT 405).
const INTERNAL = { status: 500, code: 'INTERNAL', message: 'internal error' };
const MALFORMED = { status: 400, code: 'INVALID_REQUEST', message: 'malformed HTTP/1.1 request' };
const answerBody = (c) => (c.field === undefined ? { code: c.code, message: c.message } : { code: c.code, message: c.message, field: c.field });
const refuse = (reply, c) => reply.code(c.status).send(answerBody(c));
function answerOnSocket(socket, c) {
  const text = JSON.stringify(answerBody(c));
  socket.write(`HTTP/1.1 ${c.status} ${STATUS_CODES[c.status]}\r\ncontent-type: application/json; charset=utf-8\r\n`
    + `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
  socket.destroy();
}
function onClientError(e, socket) {
  if (e.code === 'ECONNRESET' || socket.destroyed) return; // the client is gone
  // Only while no response has begun on this socket, as Node's own answer does (http server, socketOnError).
  if (socket.writable && socket._httpMessage?.headersSent !== true) answerOnSocket(socket, clientError(e) ?? MALFORMED);
  else socket.destroy();
}
const app = Fastify({
  logger: false,
  // Fastify sets the server's requestTimeout from its own option (default 0: none, and a body that never
  // comes holds the connection for ever).
  requestTimeout: requestTimeoutMs,
  http: {
    requestTimeout: requestTimeoutMs,
    headersTimeout: headersTimeoutMs,
    // How often Node looks for requests past their time (default 30 s, which would make 10 s up to 40).
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 4)),
    requireHostHeader: false, // checked in onRequest below, with a body
  },
  // A path parameter is a tenant id (at most MAX_TENANT_ID_BYTES UTF-8 bytes, so at most as many UTF-16
  // units, which is what the router counts after decoding) or an audit index (at most 15 digits).
  routerOptions: { maxParamLength: MAX_TENANT_ID_BYTES },
  frameworkErrors: (e, _req, reply) => refuse(reply, clientError(e) ?? INTERNAL),
  clientErrorHandler: onClientError,
});
// CONNECT: Node hands over the socket (and without this listener closes it unanswered).
app.server.on('connect', (_req, socket) => answerOnSocket(socket, { status: 405, code: 'METHOD_NOT_ALLOWED', message: 'this server is no proxy: CONNECT is not served', field: 'method' }));
app.server.on('checkExpectation', (_req, res) => {
  res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
  res.end(JSON.stringify({ code: 'EXPECTATION_FAILED', message: 'the only expectation this server meets is 100-continue', field: 'expect' }));
});
app.addHook('onRequest', async (req, reply) => {
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
    return refuse(reply, { status: 400, code: 'INVALID_REQUEST', message: 'an HTTP/1.1 request must have a Host header', field: 'host' });
  }
});
app.setErrorHandler((e, _req, reply) => refuse(reply, clientError(e) ?? INTERNAL));
app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }));
await app.register(tenantryRoutes, { gateway, ...(cluster === null ? {} : { cluster }) });
const address = await app.listen({ port, host });
if (cluster !== null) {
  // Joined once the server listens, so that requests forwarded here find it.
  logClusterEvents(cluster);
  try {
    await cluster.start();
  } catch (e) {
    console.error(`not starting: cluster mode: ${e.message} (${e.code ?? 'ERROR'})`);
    await app.close();
    await gateway.close();
    process.exit(3);
  }
}

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  // Stops accepting and waits for the requests in flight. A keep-alive connection becomes idle only once
  // its request is answered, after close() began: close those as they go idle, rather than waiting for the
  // clients' keep-alive timeout.
  backpressure.close();
  const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
  await app.close();
  clearInterval(reaper);
  // Leases released, so the other nodes take this node's shards at their next tick, not after the lease.
  await cluster?.close();
  await gateway.close(); // the audit log's last appends are on disk
  policy.close();
  console.log(`${signal}: closed`);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

console.log(`tenantry reference gateway listening on ${address}`);
console.log(`  data ${dataDir}, tenants ${configFile}, quota ${env.REDIS_URL ? `in Redis (${env.REDIS_URL})` : 'in memory'}`);
if (cluster !== null) {
  console.log(`  cluster node ${cluster.nodeId} (${clusterSettings.role}) at ${clusterSettings.address}: ${cluster.stats().shardsOwned} of ${clusterSettings.shardCount} shards, lease ${clusterSettings.leaseMs} ms; GET ${address}/v1/cluster`);
}
console.log(`  try: curl -s ${address}/v1/invoke -H 'authorization: Bearer acme-demo-key' -H 'content-type: application/json' \\`);
console.log(`         -d '{"action":"invoke","resource":{"tenant_id":"acme","layer":"model_access","id":"doc-1","classification":"internal","region":"eu-west-1","domain":"PROD","tool":"chat"},"estimated_usd":0.5}'`);
