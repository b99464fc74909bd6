// The tenantry reference gateway: Fastify with the tenantry routes (@tenantry/gateway) on the embedded
// default — the audit ledger in a data directory, the quota in memory (or in Redis with REDIS_URL), the
// bundled policy — and the tenants of the tenants file.
//
//   node examples/reference-server/main.mjs     (after npm run build)
//
// Environment: PORT (default 8787; 0 picks a free one), HOST (127.0.0.1), DATA_DIR (default
// .data/reference-server under the working directory), TENANTRY_CONFIG (default
// examples/reference-server/tenants.json), REDIS_URL (the quota in Redis), MOCK_LATENCY_MS (latency of the
// built-in mock model, default 0), MOCK_COST_RATIO (what a call costs as a fraction of its estimate, default 0.8;
// above 1 every call overruns its reservation, which freezes the tenant), DEFENSE_TICK_MS (how often the
// cost defense runs, default 10000), COST_LIMITER_FREEZE_MS (the derivative limiter freezes a tenant whose
// budget would run out within this many ms at its current rate; default: off).
// SIGTERM / SIGINT: stop accepting, finish the requests in flight, close the audit log, exit 0.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { ControlLog, Gateway, isGatewayError, mockModel, tenantryRoutes } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota, memoryStore, redisStore } from '@tenantry/quota';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const port = env.PORT === undefined ? 8787 : Number(env.PORT);
const host = env.HOST ?? '127.0.0.1';
const dataDir = resolve(env.DATA_DIR ?? '.data/reference-server');
const configFile = resolve(env.TENANTRY_CONFIG ?? join(here, 'tenants.json'));
const latencyMs = env.MOCK_LATENCY_MS === undefined ? 0 : Number(env.MOCK_LATENCY_MS);
const costRatio = env.MOCK_COST_RATIO === undefined ? 0.8 : Number(env.MOCK_COST_RATIO);
const tickMs = env.DEFENSE_TICK_MS === undefined ? 10_000 : Number(env.DEFENSE_TICK_MS);
const freezeWithinMs = env.COST_LIMITER_FREEZE_MS === undefined ? undefined : Number(env.COST_LIMITER_FREEZE_MS);
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

await mkdir(dataDir, { recursive: true });
const tenants = JSON.parse(await readFile(configFile, 'utf8'));
const ledger = await AuditLedger.open(join(dataDir, 'audit'), { signerKey: await signerKey() });
// Control events (lockdowns, freezes, admin changes, the mode) go to the ledger's control-plane chain; the
// quota writes its own freezes there (a settlement above its reservation, the cost limiter) before they apply.
const control = new ControlLog(ledger);
// The cost defense watches the spend settled here: SRE burn-rate alerts every DEFENSE_TICK_MS, audited per
// tenant, and with COST_LIMITER_FREEZE_MS the derivative limiter's freeze.
const defense = { tickMs, ...(freezeWithinMs === undefined ? {} : { limiter: { freezeWhenExhaustedWithinMs: freezeWithinMs } }) };
const quota = createQuota({
  store: env.REDIS_URL ? redisStore({ url: env.REDIS_URL }) : memoryStore(), defense, freezeOnOverrun: true, control: control.sink,
});
const policy = await createPolicyEngine();
let gateway;
try {
  gateway = await Gateway.create({ tenants, ledger, quota, policy, control, upstream: mockModel({ latencyMs, costRatio }) });
} catch (e) {
  // A tenants file the gateway refuses (an id over the tenant id rule, a bad envelope…) stops the start
  // before anything is served or charged, naming the field at fault.
  if (isGatewayError(e) && e.code === 'INVALID_TENANTS') {
    console.error(`${configFile}: ${e.message} (${e.code}, field ${e.field})`);
    await ledger.close();
    process.exit(2);
  }
  throw e;
}
const r = gateway.restored;

console.log(`tenantry control state restored from ${r.events} control events: mode ${r.mode}, ${r.locked} locked, ${r.frozen} frozen, ${r.envelopes} run-time envelopes`);

const app = Fastify({ logger: false });
app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }));
await app.register(tenantryRoutes, { gateway });
const address = await app.listen({ port, host });

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  await app.close(); // stops accepting, waits for the requests in flight
  await gateway.close(); // the audit log's last appends are on disk
  policy.close();
  console.log(`${signal}: closed`);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

console.log(`tenantry reference gateway listening on ${address}`);
console.log(`  data ${dataDir}, tenants ${configFile}, quota ${env.REDIS_URL ? `in Redis (${env.REDIS_URL})` : 'in memory'}`);
console.log(`  try: curl -s ${address}/v1/invoke -H 'authorization: Bearer acme-demo-key' -H 'content-type: application/json' \\`);
console.log(`         -d '{"action":"invoke","resource":{"tenant_id":"acme","layer":"model_access","id":"doc-1","classification":"internal","region":"eu-west-1","domain":"PROD","tool":"chat"},"estimated_usd":0.5}'`);
