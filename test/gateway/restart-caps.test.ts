// A cap is a cap across restarts of the reference server on the embedded default (the quota in memory):
// the quota's usage is rebuilt at start from the audit chains, charges and the reservations open at the
// moment of a SIGKILL included. Run with 1, 2 and 5 SIGKILLs during a load of concurrent clients: the
// charges the tenant's chain records for the day never pass its daily cap.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, invoke, startServer, type Server } from '../helpers/server.js';

const ACME = 'Bearer acme-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const DAILY_CAP_MICROS = 10_000_000; // acme's daily_budget_usd in examples/reference-server/tenants.json
const CLIENTS = 8;

/** Sends invokes from CLIENTS concurrent clients until `stop()` resolves or the cap denies; counts the answers. */
function load(server: Server, stop: Promise<void>): Promise<{ ok: number; capped: number; failed: number }> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  const counts = { ok: 0, capped: 0, failed: 0 };
  const client = async () => {
    while (!stopped) {
      try {
        const r = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.5 });
        if (r.status === 200) counts.ok++;
        else if (r.status === 429 && r.body.reason === 'DAILY_CAP') {
          counts.capped++;
          return;
        } else throw new Error(`unexpected ${r.status} ${JSON.stringify(r.body)}`);
      } catch (e) {
        // A SIGKILL cuts requests in flight: their answers are lost, which is what the test is about.
        if (!stopped && !(e instanceof TypeError)) throw e;
        counts.failed++;
        return;
      }
    }
  };
  return Promise.all(Array.from({ length: CLIENTS }, client)).then(() => counts);
}

/** The micro-USD the tenant's chain records as charged, read over HTTP with its own key. */
async function chargedMicros(server: Server): Promise<number> {
  let micros = 0;
  for (let i = 0; ; i++) {
    const r = await call(server.url, 'GET', `/v1/tenants/acme/audit/${i}`, ACME);
    if (r.status === 404) return micros;
    expect(r.status).toBe(200);
    const entry = r.body.entry as { kind: string; payload: { charged_usd?: number } };
    if (entry.kind === 'invoke') micros += Math.round(entry.payload.charged_usd! * 1e6);
  }
}

describe.each([1, 2, 5])('with %i SIGKILLs under load', (kills) => {
  it('never charges past the daily cap', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tenantry-caps-'));
    try {
      const env = { DATA_DIR: dataDir, MOCK_LATENCY_MS: '40' };
      for (let k = 0; k < kills; k++) {
        const server = await startServer(env);
        // Kill once this run has charged its share of the cap, with requests (and their reservations) in flight.
        const share = Math.floor(DAILY_CAP_MICROS / (kills + 1));
        const before = await chargedMicros(server);
        let kill!: () => void;
        const killed = new Promise<void>((resolve) => (kill = resolve));
        let done = false;
        const running = load(server, killed).finally(() => (done = true));
        while (!done) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const r = await call(server.url, 'GET', '/metrics', null);
          const spent = /tenantry_spend_usd_total\{tenant="acme"\} ([0-9.e+-]+)/.exec(String(r.body));
          if (spent !== null && Number(spent[1]) * 1e6 >= share) break;
        }
        server.child.kill('SIGKILL');
        kill();
        await running;
        await new Promise<void>((resolve) => (server.child.exitCode !== null || server.child.signalCode !== null ? resolve() : server.child.once('exit', () => resolve())));
        expect(before).toBeLessThanOrEqual(DAILY_CAP_MICROS);
      }
      // The last run: load until the cap denies everyone.
      const server = await startServer(env);
      try {
        const counts = await load(server, new Promise(() => undefined));
        expect(counts.capped).toBe(CLIENTS);
        const charged = await chargedMicros(server);
        // Had a restart forgotten the usage before it, the last run alone would have charged a whole cap on
        // top of what the earlier runs charged.
        expect(charged).toBeLessThanOrEqual(DAILY_CAP_MICROS);
        expect(charged).toBeGreaterThan(0);
        const denied = await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.5 });
        expect(denied.body).toMatchObject({ code: 'QUOTA_DENIED', reason: 'DAILY_CAP' });
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
