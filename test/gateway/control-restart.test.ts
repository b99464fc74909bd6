// Control state across restarts of the reference server, over HTTP, on the memory quota and on Redis: a
// freeze by the quota's overrun rule and one by the cost limiter are each still in force after the server
// restarts on its data directory — on Redis even when Redis itself lost everything in between (the
// control-plane chain, not the store, is the record). And a tenants file whose tenant id breaks the one
// tenant id rule is refused at start, naming the field, before anything is charged.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { invoke, startServer, type Server } from '../helpers/server.js';

const ACME = 'Bearer acme-demo-key';
const GLOBEX = 'Bearer globex-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const globexDoc = { tenant_id: 'globex', layer: 'model_access', id: 'doc-7', classification: 'internal', region: 'us-east-1', domain: 'PROD', tool: 'chat' };
const TENANTS_FILE = fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tenantry-restart-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function start(env: Record<string, string>): Promise<Server> {
  const s = await startServer(env);
  cleanups.push(() => s.stop());
  return s;
}

/** Empties Redis, as a Redis restarted without persistence would be. */
function flushRedis(redis: RedisServer): void {
  execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
}

describe.each([{ quota: 'memory' }, { quota: 'redis' }])('freezes survive a restart, quota in $quota', ({ quota }) => {
  async function setup(extra: Record<string, string>) {
    const dataDir = await tempDir();
    let redis: RedisServer | undefined;
    if (quota === 'redis') {
      redis = await startRedis();
      cleanups.push(() => redis!.stop());
    }
    return { redis, env: { DATA_DIR: dataDir, ...(redis ? { REDIS_URL: redis.url } : {}), ...extra } };
  }

  it('an OVERRUN freeze', async () => {
    // Every call costs 1.5 × its estimate: the first settles above its reservation and freezes acme.
    const { redis, env } = await setup({ MOCK_COST_RATIO: '1.5' });
    let server = await start(env);
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 })).status).toBe(200);
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 })).body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'FROZEN' });
    expect(await server.stop()).toBe(0);
    if (redis) flushRedis(redis);
    server = await start({ ...env, MOCK_COST_RATIO: '0.5' });
    expect(server.output()).toMatch(/1 frozen/);
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.2 })).body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'FROZEN' });
    // Only acme: globex's calls (now within their estimates) go on.
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.2 })).status).toBe(200);
  });

  it('a COST_LIMITER freeze', async () => {
    // The limiter freezes a tenant whose monthly budget would run out within 6 h at its current rate;
    // spending dollars within seconds does that. The defense runs every 50 ms.
    const { redis, env } = await setup({ DEFENSE_TICK_MS: '50', COST_LIMITER_FREEZE_MS: String(6 * 3_600_000) });
    let server = await start(env);
    let reason: unknown;
    for (let i = 0; i < 200 && reason !== 'FROZEN'; i++) {
      const r = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.05 });
      reason = r.body.reason;
      if (r.status === 200) await new Promise((resolve) => setTimeout(resolve, 10));
      else expect(r.body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'FROZEN' });
    }
    expect(reason).toBe('FROZEN');
    expect(await server.stop()).toBe(0);
    if (redis) flushRedis(redis);
    // Restarted without the limiter: the freeze is in force because the chain says so, not because the rule fired again.
    server = await start({ DATA_DIR: env.DATA_DIR, ...(redis ? { REDIS_URL: redis.url } : {}) });
    expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.05 })).body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'FROZEN' });
    expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.05 })).status).toBe(200);
  });
});

describe('the tenant id rule at the edge', () => {
  it('refuses a tenants file with a 130-character tenant id at start, naming the field, and charges nothing', async () => {
    const dataDir = await tempDir();
    const file = JSON.parse(await readFile(TENANTS_FILE, 'utf8')) as { tenants: Array<{ tenant_id: string; envelope: { tenant_id: string } }> };
    const long = 't'.repeat(130);
    file.tenants[0]!.tenant_id = long;
    file.tenants[0]!.envelope.tenant_id = long;
    const config = join(dataDir, 'tenants.json');
    await writeFile(config, JSON.stringify(file));
    const err = await startServer({ DATA_DIR: dataDir, TENANTRY_CONFIG: config }).then(
      (s) => { cleanups.push(() => s.stop()); return undefined; },
      (e: unknown) => e as { exitCode: number; stderr: string },
    );
    expect(err?.exitCode).toBe(2);
    expect(err?.stderr).toContain('tenants[0].tenant_id');
    expect(err?.stderr).toContain('INVALID_TENANTS');
    expect(err?.stderr).toContain('120 UTF-8 bytes');
    // No tenant chain was started: nothing was charged or recorded for anyone.
    const audit = await readdir(join(dataDir, 'audit'));
    expect(audit.filter((f) => f.endsWith('.log') && f !== 'node-checkpoints.log')).toEqual([]);
  });
});
