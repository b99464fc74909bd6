// The fault campaign (docs/architecture.md, "@tenantry/federation"): real node processes over one persistent
// Redis, seeded faults of every kind (harness.ts), then the history checker (history.ts) must find nothing.
//
//   npx vitest run test/faults/campaign.test.ts                              the CI campaign (200 faults)
//   TENANTRY_FAULTS=2000 npx vitest run test/faults/campaign.test.ts         the long campaign
//   TENANTRY_FAULTS_SEED=<seed> …                                            replays the plan of a failed one
//   TENANTRY_FAULTS_HISTORY=<file> …                                         also writes the history there (JSON lines)
//
// Lease 1000 ms and heartbeat (membership TTL refresh and keeper tick) 333 ms: a re-ownership bound of
// lease + 2 heartbeats = 1666 ms, which a kill needs at most lease + 1 heartbeat + two round trips to meet,
// leaving a heartbeat of slack for a loaded machine.
//
// Also at this level: 1 000 concurrent 0.01 USD reserves through every node at once against a 5 USD cap.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, type ReserveRecord, type ShardRecord } from './events.js';
import { campaignTiming, Cluster, runCampaign } from './harness.js';
import { checkHistory } from './history.js';

const LEASE_MS = 1000;
const HEARTBEAT_MS = 333;
const CAP_USD = 5;
const FAULTS = Number(process.env.TENANTRY_FAULTS ?? 200);
const SEED = Number(process.env.TENANTRY_FAULTS_SEED ?? (Date.now() % 2 ** 31));
if (!Number.isSafeInteger(FAULTS) || FAULTS < 1) throw new Error(`TENANTRY_FAULTS must be a positive integer, got ${process.env.TENANTRY_FAULTS}`);
if (!Number.isSafeInteger(SEED) || SEED < 0) throw new Error(`TENANTRY_FAULTS_SEED must be a non-negative integer, got ${process.env.TENANTRY_FAULTS_SEED}`);

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

describe('the fault campaign', () => {
  it(`survives ${FAULTS} seeded faults with no violation in the history`, async () => {
    const timing = campaignTiming(LEASE_MS, HEARTBEAT_MS);
    const cluster = await Cluster.start({ nodes: 4, leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS, seed: SEED, quota: true, hotTenant: 'hot-tenant', capUsd: CAP_USD });
    try {
      const campaign = await runCampaign(cluster, { faults: FAULTS, seed: SEED, log: (l) => console.log(l) });
      await cluster.stopNodes();
      const final = await cluster.final();
      const report = checkHistory(cluster.history, final, {
        leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS, caps: { 'hot-tenant': CAP_USD }, tenantShards: cluster.tenantShards(), quietBeforeMs: timing.quietBeforeMs,
      });
      const dump = process.env.TENANTRY_FAULTS_HISTORY;
      if (dump !== undefined && dump !== '') {
        writeFileSync(dump, `${cluster.history.map((r) => JSON.stringify(r)).join('\n')}\n${JSON.stringify({ final: { lists: [...final.lists], usage: [...final.usage] } })}\n`);
      }
      const delays = report.reownership.map((r) => r.delayMs ?? Infinity).sort((a, b) => a - b);
      console.log([
        `fault campaign: seed ${SEED} (replay: TENANTRY_FAULTS=${FAULTS} TENANTRY_FAULTS_SEED=${SEED}), ${Math.round(campaign.durationMs / 1000)} s`,
        `  faults: ${Object.entries(campaign.counts).map(([k, n]) => `${k} ${n}`).join(', ')} (isolated kills ${campaign.isolatedKills})`,
        `  re-ownership after a kill (bound ${timing.boundMs} ms): ${delays.length} shards of ${report.counts.killsMeasured} kills, p50 ${percentile(delays, 0.5)} ms, max ${delays[delays.length - 1]} ms`,
        `  appends: ${JSON.stringify(report.counts.appends)}, zombie writes: ${JSON.stringify(report.counts.zombie)}, entries in Redis ${report.counts.entries}, grants ${report.counts.grants}`,
        `  hot tenant: reserves ${JSON.stringify(report.counts.reserves)}, Redis ${JSON.stringify(final.usage.get('hot-tenant'))}`,
        `  violations: ${report.violations.length}`,
      ].join('\n'));
      const seed = `seed ${SEED}`;
      expect(cluster.problems(), seed).toEqual([]);
      expect(report.violations.slice(0, 20), seed).toEqual([]);
      // The campaign did what it claims: every kind of fault, writes on every side of them, measured kills.
      expect(Object.values(campaign.counts).reduce((a, b) => a + b, 0)).toBe(FAULTS);
      // (planFaults starts with one fault of each kind.)
      if (FAULTS >= FAULT_KINDS.length) for (const n of Object.values(campaign.counts)) expect(n, seed).toBeGreaterThan(0);
      expect(report.counts.appends.ok, seed).toBeGreaterThan(1000);
      expect(report.counts.entries, seed).toBeGreaterThanOrEqual(report.counts.appends.ok);
      expect(report.counts.zombie.refused, seed).toBeGreaterThan(0);
      expect(report.reownership.length, seed).toBeGreaterThan(0);
      expect(report.counts.reserves.ok, seed).toBeGreaterThan(0);
      expect(report.counts.reserves.NOT_OWNER, seed).toBeGreaterThan(0);
      // The hot tenant's owner was paused at least once and its admissions under the old token were refused.
      expect(report.counts.reserves['zombie NOT_OWNER'], seed).toBeGreaterThan(0);
    } finally {
      await cluster.close();
    }
  }, 120_000 + FAULTS * 2_000);

  it('admits at most 500 of 1 000 concurrent 0.01 USD reserves through every node against a 5 USD cap', async () => {
    const tenant = 'burst-tenant';
    const cluster = await Cluster.start({ nodes: 4, leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS, quota: true, capUsd: CAP_USD, cappedTenants: [tenant] });
    try {
      const shard = cluster.tenantShards()[tenant]!;
      // Wait until the tenant's shard is held, and has stayed with the same node for two leases.
      let owner: string | undefined;
      const deadline = Date.now() + 60_000;
      for (let since = Date.now(); ; await sleep(50)) {
        if (Date.now() > deadline) throw new Error(`shard ${shard} of ${tenant} found no stable owner within 60 s`);
        const last = cluster.history.filter((r): r is ShardRecord => (r.ev === 'acquired' || r.ev === 'released' || r.ev === 'stepped_down') && (r as ShardRecord).shard === shard).at(-1);
        const now = last?.ev === 'acquired' ? last.node : undefined;
        if (now !== owner) {
          owner = now;
          since = Date.now();
        }
        if (owner !== undefined && Date.now() - since > 2 * LEASE_MS) break;
      }
      const nodes = cluster.running();
      expect(nodes).toHaveLength(4);
      // 1 000 at once: 700 through the owner (more than the cap allows) and 100 through each other node.
      const counts = new Map(nodes.map((id) => [id, id === owner ? 700 : 100]));
      for (const [id, count] of counts) cluster.command(id, { cmd: 'burst', tenant, count, usd: 0.01, tag: 'b1' });
      while (cluster.history.filter((r) => r.ev === 'burst_done').length < nodes.length) await sleep(50);
      await cluster.stopNodes();
      const final = await cluster.final();

      const reserves = cluster.history.filter((r): r is ReserveRecord => r.ev === 'reserve' && (r as ReserveRecord).burst === 'b1');
      expect(reserves).toHaveLength(1000);
      const admitted = reserves.filter((r) => r.ok);
      expect(admitted.length).toBeLessThanOrEqual(500);
      // With the cap as the only limit, the owner's 700 fill it exactly and the rest is DAILY_CAP.
      expect(admitted).toHaveLength(500);
      expect(admitted.every((r) => r.node === owner)).toBe(true);
      expect(reserves.filter((r) => r.node === owner && !r.ok).every((r) => r.reason === 'DAILY_CAP')).toBe(true);
      const others = reserves.filter((r) => r.node !== owner);
      expect(others).toHaveLength(300);
      expect(others.every((r) => !r.ok && r.reason === 'NOT_OWNER')).toBe(true);
      expect(final.usage.get(tenant)).toMatchObject({ spent_usd: 0, reserved_usd: CAP_USD });
      const report = checkHistory(cluster.history, final, { leaseMs: LEASE_MS, heartbeatMs: HEARTBEAT_MS, caps: { [tenant]: CAP_USD }, tenantShards: { [tenant]: shard } });
      expect(report.violations).toEqual([]);
      expect(cluster.problems()).toEqual([]);
    } finally {
      await cluster.close();
    }
  });
});
