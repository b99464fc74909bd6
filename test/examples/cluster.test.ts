// `npm run cluster` (scripts/cluster.mjs) as a user runs it: a real redis-server and three reference gateways in
// cluster mode, each its own process. Every route works through every node (forwarded to the owner of the
// tenant's shard), the nodes agree on who owns what, 1 000 concurrent 0.01 USD invokes through all three nodes
// against a 5 USD cap admit exactly 500 (no overspend, nothing refused for any other reason), a forged
// forwarded request is refused and counted, and when the owner of a tenant is SIGKILLed another node serves the
// tenant (after its lease ends). Ctrl-C stops the nodes and the redis-server.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '@tenantry/gateway';
import { call, invoke } from '../helpers/server.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/cluster.mjs', import.meta.url));
const TENANTS = fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url));
const LEASE_MS = 1500;

const resource = (tenant: string) => ({ tenant_id: tenant, layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' });
const ACME = 'Bearer acme-demo-key';
const HOT = 'Bearer hot-key';

interface Cluster {
  child: ChildProcess;
  urls: string[];
  nodes: Map<string, { pid: number; url: string }>;
  output(): string;
  exited: Promise<number | null>;
}

let dir: string;
let cluster: Cluster;

async function startCluster(): Promise<Cluster> {
  // The demo tenants and `hot`, whose day is capped at 5 USD; every call costs exactly its estimate.
  const file = JSON.parse(await readFile(TENANTS, 'utf8'));
  const hot = structuredClone(file.tenants[0]);
  hot.tenant_id = 'hot';
  hot.api_key_sha256 = hashApiKey('hot-key');
  hot.envelope = { ...hot.envelope, tenant_id: 'hot', daily_budget_usd: 5, monthly_budget_usd: 100 };
  file.tenants.push(hot);
  await writeFile(join(dir, 'tenants.json'), JSON.stringify(file));
  const child = spawn(process.execPath, [SCRIPT], {
    env: {
      ...process.env, CLUSTER_PORT: '0', CLUSTER_DIR: join(dir, 'cluster'), CLUSTER_LEASE_MS: String(LEASE_MS), TENANTRY_CONFIG: join(dir, 'tenants.json'),
      MOCK_COST_RATIO: '1', SCHEDULER_MAX_QUEUED_PER_TENANT: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const urls = await new Promise<string[]>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /CLUSTER_READY (.+)\n/.exec(out);
      if (m && (out.match(/^NODE /gm) ?? []).length === 3) resolve(m[1]!.trim().split(' '));
    });
    void exited.then((code) => reject(new Error(`npm run cluster exited with ${code}: ${out}`)));
  });
  const nodes = new Map<string, { pid: number; url: string }>();
  for (const m of out.matchAll(/^NODE (\S+) (\d+) (\S+)$/gm)) nodes.set(m[1]!, { pid: Number(m[2]), url: m[3]! });
  return { child, urls, nodes, output: () => out, exited };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantry-cluster-'));
  cluster = await startCluster();
});

afterAll(async () => {
  if (cluster !== undefined && cluster.child.exitCode === null) {
    cluster.child.kill('SIGINT');
    await cluster.exited;
  }
  await rm(dir, { recursive: true, force: true });
});

interface State {
  node_id: string;
  role: string;
  members: Array<{ node_id: string; address: string | null }>;
  shards: Array<{ shard: number; primary: string | null; secondary: string | null; token: number | null }>;
  tenant?: { tenant_id: string; shard: number; primary: string | null };
}

const state = async (url: string, tenant?: string): Promise<State> =>
  (await call(url, 'GET', `/v1/cluster${tenant === undefined ? '' : `?tenant=${tenant}`}`, null)).body as unknown as State;

describe('npm run cluster', () => {
  it('GET /v1/cluster: the same three members and the same owner and token of each of the 64 shards on every node', async () => {
    const states = await Promise.all(cluster.urls.map((u) => state(u)));
    expect(states.map((s) => s.node_id).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const s of states) {
      expect(s.members.map((m) => m.node_id)).toEqual(['node-1', 'node-2', 'node-3']);
      expect(s.shards).toHaveLength(64);
      expect(s.shards).toEqual(states[0]!.shards);
      for (const sh of s.shards) {
        expect(sh.primary).not.toBeNull();
        expect(sh.secondary).not.toBe(sh.primary);
        expect(sh.token).toBeGreaterThan(0);
      }
    }
    // Rendezvous spreads the shards: every node is primary of some.
    for (const id of ['node-1', 'node-2', 'node-3']) expect(states[0]!.shards.some((sh) => sh.primary === id)).toBe(true);
    const t = await state(cluster.urls[1]!, 'acme');
    expect(t.tenant).toMatchObject({ tenant_id: 'acme', primary: states[0]!.shards[t.tenant!.shard]!.primary });
    expect((await call(cluster.urls[0]!, 'GET', '/v1/cluster?tenant=%00', null)).status).toBe(400);
  });

  it('serves a tenant through every node: one chain, at its owner, whichever node the caller reached', async () => {
    const indexes: number[] = [];
    for (const url of cluster.urls) {
      const r = await invoke(url, ACME, { action: 'invoke', resource: resource('acme'), estimated_usd: 0.01 });
      expect(r.status).toBe(200);
      indexes.push((r.body.receipt as { index: number }).index);
    }
    // One owner appends them all: consecutive entries of one chain (admission, then the charge, per call).
    expect(indexes[1]! - indexes[0]!).toBe(2);
    expect(indexes[2]! - indexes[1]!).toBe(2);
    // The entry is read back through every node too, with a receipt that verifies against the owner's key.
    for (const url of cluster.urls) {
      const r = await call(url, 'GET', `/v1/tenants/acme/audit/${indexes[2]}`, ACME);
      expect(r.status).toBe(200);
      expect((r.body.entry as { kind: string }).kind).toBe('invoke');
    }
    // What needs no owner is answered by the node reached: an unknown key is 401 there.
    expect((await invoke(cluster.urls[0]!, 'Bearer nobody', { action: 'invoke', resource: resource('acme'), estimated_usd: 0.01 })).status).toBe(401);
  });

  it('1 000 concurrent 0.01 USD invokes through all three nodes against a 5 USD cap: exactly 500 admitted', async () => {
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) =>
      invoke(cluster.urls[i % 3]!, HOT, { action: 'invoke', resource: resource('hot'), estimated_usd: 0.01 })));
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: 500, 429: 500 });
    for (const a of answers) if (a.status === 429) expect(a.body.reason).toBe('DAILY_CAP');
    const charged = answers.filter((a) => a.status === 200).reduce((s, a) => s + Math.round((a.body.charged_usd as number) * 1e6), 0);
    expect(charged).toBe(5_000_000);
  });

  it('refuses a forged forwarded request and counts it', async () => {
    const url = cluster.urls[0]!;
    const r = await call(url, 'POST', '/v1/cluster/forward', null, { message_id: 'x', payload: { method: 'POST', path: '/v1/invoke' } });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('CLUSTER_MESSAGE_REFUSED');
    expect(r.body.reason).toBe('UNSIGNED');
    const metrics = await Promise.all(cluster.urls.map(async (u) => (await call(u, 'GET', '/metrics', null)).body as unknown as string));
    expect(metrics[0]).toMatch(/tenantry_cluster_messages_refused_total\{code="UNSIGNED"\} 1\n/);
    for (const m of metrics) expect(m).toMatch(/tenantry_cluster_members 3\n/);
    // The requests of the tests above that reached a non-owner were forwarded and served by the owner.
    const total = (name: string) => metrics.reduce((sum, m) => sum + Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(m)?.[1] ?? 0), 0);
    const forwarded = metrics.reduce((sum, m) => sum + Number(/^tenantry_cluster_forwarded_total\{outcome="answered"\} (\d+)$/m.exec(m)?.[1] ?? 0), 0);
    expect(forwarded).toBeGreaterThan(600);
    expect(total('tenantry_cluster_forward_served_total')).toBe(forwarded);
    expect(total('tenantry_cluster_messages_accepted_total')).toBe(forwarded);
  });

  it('a hostile body gets the same answer through a non-owner as from the owner, never a 5xx (300 generated bodies)', async () => {
    const owner = (await state(cluster.urls[0]!, 'globex')).tenant!.primary!;
    const ownerUrl = cluster.nodes.get(owner)!.url;
    const others = cluster.urls.filter((u) => u !== ownerUrl);
    const deep = (n: number): unknown => (n === 0 ? 'x' : [deep(n - 1)]);
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }), fc.constant('\ud800'), fc.constant('a\u0000b'), fc.constant('\udfff\ud800'),
      fc.integer({ min: 1, max: 200 }).map(deep), fc.double(), fc.constant(null), fc.constant({ __proto__x: 1 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 3 }),
    );
    const field = fc.constantFrom('action', 'estimated_usd', 'experiment_id', 'resource.id', 'resource.tool', 'resource.region', 'resource.domain', 'resource.extra', 'extra');
    const body = fc.record({ at: field, value: hostile }).map(({ at, value }) => {
      const b: Record<string, unknown> = { action: 'invoke', resource: { ...resource('globex'), region: 'us-east-1' }, estimated_usd: 0.000001 };
      const [head, tail] = at.split('.');
      if (tail === undefined) b[head!] = value;
      else (b[head!] as Record<string, unknown>)[tail] = value;
      return JSON.stringify(b);
    });
    const post = async (url: string, text: string) => {
      const res = await fetch(`${url}/v1/invoke`, { method: 'POST', headers: { authorization: 'Bearer globex-demo-key', 'content-type': 'application/json' }, body: text });
      const answer = (await res.json()) as Record<string, unknown>;
      return { status: res.status, code: answer.code, field: answer.field };
    };
    await fc.assert(fc.asyncProperty(body, async (text) => {
      const direct = await post(ownerUrl, text);
      expect(direct.status).toBeLessThan(500);
      for (const u of others) expect(await post(u, text)).toEqual(direct);
    }), { numRuns: 300, seed: 0x5eed });
  });

  it('when the owner of a tenant is SIGKILLed, another node serves the tenant once the lease has ended', async () => {
    const before = await state(cluster.urls[0]!, 'acme');
    const owner = before.tenant!.primary!;
    const victim = cluster.nodes.get(owner)!;
    const survivor = cluster.urls.find((u) => u !== victim.url)!;
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = performance.now();
    const seen = new Set<string>();
    let served: { status: number } | undefined;
    while (served === undefined) {
      const r = await invoke(survivor, ACME, { action: 'invoke', resource: resource('acme'), estimated_usd: 0.01 });
      if (r.status === 200) served = r;
      else {
        // Until then: fail closed, with Retry-After, never a 5xx of another kind or an admission elsewhere.
        expect(['NOT_OWNER', 'OWNER_UNREACHABLE']).toContain(r.body.code);
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('1');
        seen.add(r.body.code as string);
        await sleep(50);
      }
    }
    console.log(`failover of acme after SIGKILL of ${owner}: first 200 after ${Math.round(performance.now() - killedAt)} ms (lease ${LEASE_MS} ms); refusals seen: ${[...seen].join(', ') || 'none'}`);
    const after = await state(survivor, 'acme');
    expect(after.members.map((m) => m.node_id)).not.toContain(owner);
    expect(after.tenant!.primary).not.toBe(owner);
    expect(after.shards[after.tenant!.shard]!.token).toBeGreaterThan(before.shards[before.tenant!.shard]!.token!);
  });

  it('Ctrl-C stops the nodes and the redis-server', async () => {
    cluster.child.kill('SIGINT');
    expect(await cluster.exited).toBe(0);
    expect(cluster.output()).toContain('cluster stopped');
  });
});
