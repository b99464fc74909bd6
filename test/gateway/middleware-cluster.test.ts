// The middleware in cluster mode, two nodes in this process on bare node:http servers over a real redis-server:
// a tenant's invoke through the node that does not own its shard is forwarded to the owner and answered as the
// owner answers (one chain), GET /v1/cluster answers through the middleware, and a reservation made with a token
// that no longer holds the shard is 503 NOT_OWNER at the reserve stage (the fence at the resource).
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { createClusterNode, generateOperatorKey, issueNodeKey, type ClusterNode } from '@tenantry/federation';
import { Gateway, tenantryMiddleware } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota, redisStore } from '@tenantry/quota';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const tenants = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const doc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const operator = generateOperatorKey('middleware-cluster.test');

interface Node {
  id: string;
  url: string;
  cluster: ClusterNode;
  gateway: Gateway;
  server: Server;
}

let redis: RedisServer;
let dir: string;
const nodes: Node[] = [];

async function startNode(id: string): Promise<Node> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const cluster = createClusterNode({
    redis: { url: redis.url }, nodeId: id, address: url, leaseMs: 3000, shardCount: 8, operatorPublicKey: operator.public_key,
    nodeKey: issueNodeKey(operator, { node_id: id, not_before: Date.now() - 60_000, not_after: Date.now() + 86_400_000 }),
  });
  const ledger = await AuditLedger.open(join(dir, id), { signerKey: generateNoteKey(`${id}.test`).signerKey });
  const quota = createQuota({ store: redisStore({ url: redis.url }, { fence: (t) => cluster.fenceFor(t) }) });
  const gateway = await Gateway.create({ tenants, ledger, quota, policy: await createPolicyEngine() });
  const mw = tenantryMiddleware(gateway, { cluster });
  server.on('request', (req, res) => mw(req, res));
  await cluster.start();
  return { id, url, cluster, gateway, server };
}

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'tenantry-mw-cluster-'));
  nodes.push(await startNode('node-a'), await startNode('node-b'));
  // Both nodes see both, and every shard has its owner.
  for (;;) {
    await Promise.all(nodes.map((n) => n.cluster.tick()));
    if (nodes.every((n) => n.cluster.stats().members === 2) && nodes.reduce((s, n) => s + n.cluster.stats().shardsOwned, 0) === 8) break;
  }
});

afterAll(async () => {
  for (const n of nodes) {
    await new Promise((resolve) => n.server.close(resolve));
    await n.cluster.close();
    await n.gateway.close();
  }
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

const invoke = (url: string) => fetch(`${url}/v1/invoke`, {
  method: 'POST', headers: { authorization: 'Bearer acme-demo-key', 'content-type': 'application/json' },
  body: JSON.stringify({ action: 'invoke', resource: doc, estimated_usd: 0.01 }),
});

describe('tenantryMiddleware with a cluster', () => {
  it('forwards a tenant to its owner and answers GET /v1/cluster', async () => {
    const owner = nodes.find((n) => n.cluster.route('acme').self)!;
    const other = nodes.find((n) => n !== owner)!;
    const a = await invoke(owner.url);
    const b = await invoke(other.url);
    expect([a.status, b.status]).toEqual([200, 200]);
    const ia = ((await a.json()) as { receipt: { index: number } }).receipt.index;
    const ib = ((await b.json()) as { receipt: { index: number } }).receipt.index;
    expect(ib).toBe(ia + 2); // the owner wrote both: admission and charge per call
    expect(other.gateway.ledger.log.size('acme')).toBe(0);
    const state = (await (await fetch(`${other.url}/v1/cluster?tenant=acme`)).json()) as { members: unknown[]; tenant: { primary: string } };
    expect(state.members).toHaveLength(2);
    expect(state.tenant.primary).toBe(owner.id);
  });

  it('a reserve under a token that no longer holds the shard is 503 NOT_OWNER, with nothing written', async () => {
    const owner = nodes.find((n) => n.cluster.route('acme').self)!;
    const shard = owner.cluster.shardOf('acme');
    const before = owner.gateway.ledger.log.size('acme');
    // Another holder takes the shard's lease in Redis (as after a pause past the lease): the owner's own clock
    // still says it holds it, so only the fence at the resource can refuse.
    const { createLeases } = await import('@tenantry/federation');
    const leases = createLeases({ url: redis.url });
    const holder = await leases.holder(`shard:${shard}`);
    await leases.release(`shard:${shard}`, owner.id, holder!.token);
    const taken = await leases.acquire(`shard:${shard}`, 'intruder', 60_000);
    expect(taken.ok).toBe(true);
    const r = await invoke(owner.url);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { code: string }).code).toBe('NOT_OWNER');
    expect(r.headers.get('retry-after')).toBe('1');
    expect(owner.gateway.ledger.log.size('acme')).toBe(before);
    await leases.close();
  });
});
