// redisStore on a real three-primary Redis Cluster (docs/architecture.md, "@tenantry/quota": stores over Redis;
// the quota suites of quota.test.ts and restore*.test.ts run on it too, through stores.ts). Here: tenants spread
// over every primary, a burst of concurrent reserves for 200 tenants (the store groups each tick's operations by
// slot, one script call per slot: a batch spanning slots would be refused CROSSSLOT), a cluster client of the
// caller's, and what fences can do on a cluster (keys in the tenant's slot only; anything else INVALID_ARGUMENT).
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuota, isQuotaError, redisStore, type BudgetEnvelope, type QuotaStore } from '@tenantry/quota';
import { expectCodedRejection } from '../helpers/errors.js';
import { startRedisCluster, type RedisClusterServer } from '../helpers/redis-cluster.js';

/** A fixed mid-day instant: nothing expires and no day ends while a test runs. */
const BASE = Date.parse('2025-06-10T12:00:00Z');
const clock = (): number => BASE;
const TENANTS = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, '0')}`);

const envelope = (tenant_id: string): BudgetEnvelope => ({
  tenant_id, monthly_budget_usd: 100, daily_budget_usd: 10, experiment_budget_cap_usd: 5, max_parallel_experiments: 2, max_prod_traffic_pct: 100,
});

let cluster: RedisClusterServer;
let admin: Cluster;
let cases = 0;
const stores: QuotaStore[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  admin = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })));
});

afterAll(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  admin?.disconnect();
  await cluster?.stop();
});

/** A fresh prefix per case, so cases share the cluster without sharing keys. */
function prefix(): string {
  return `rc${process.pid}.${cases++}:`;
}

/** The port of the primary serving each slot, as the cluster itself says (CLUSTER SLOTS). */
async function primaryOfSlot(): Promise<(slot: number) => number> {
  const ranges = await admin.cluster('SLOTS');
  return (slot) => {
    const r = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (r === undefined) throw new Error(`slot ${slot} is served by no primary`);
    return r[2]![1];
  };
}

/** The slot of the tenant's keys, computed by the cluster (CLUSTER KEYSLOT), not by the store. */
async function slotOf(p: string, tenant: string): Promise<number> {
  return Number(await admin.cluster('KEYSLOT', `${p}{${encodeURIComponent(tenant)}}:h`));
}

describe('redisStore on a three-primary Redis Cluster', () => {
  it('spreads 200 tenants over every primary, and answers a burst of concurrent reserves for all of them in one tick', async () => {
    const p = prefix();
    const store = redisStore({ cluster: cluster.nodes }, { prefix: p });
    stores.push(store);
    const quota = createQuota({ store, clock });
    await Promise.all(TENANTS.map((t) => quota.setEnvelope(envelope(t))));

    // The tenants' slots, by the cluster's own CLUSTER KEYSLOT, land on all three primaries.
    const primaryOf = await primaryOfSlot();
    const tenantsPer = new Map<number, number>(cluster.nodes.map(({ port }) => [port, 0]));
    for (const t of TENANTS) {
      const port = primaryOf(await slotOf(p, t));
      tenantsPer.set(port, (tenantsPer.get(port) ?? 0) + 1);
    }
    expect([...tenantsPer.keys()].sort()).toEqual(cluster.nodes.map(({ port }) => port).sort());
    for (const n of tenantsPer.values()) expect(n).toBeGreaterThan(0);

    // Three reserves of $4 per tenant against a $10 day, all issued before any answer: one tick, so the store
    // queues all 600 and sends them grouped by slot. Each tenant: exactly two admitted, one DAILY_CAP; any
    // CROSSSLOT refusal would surface as STORE_UNAVAILABLE (or a rejection) instead.
    const burst = await Promise.all(TENANTS.flatMap((t) => [0, 1, 2].map(() => quota.reserve({ tenant_id: t, usd: 4 }).then((r) => ({ t, r })))));
    const admitted = new Map<string, number>();
    for (const { t, r } of burst) {
      if (r.ok) admitted.set(t, (admitted.get(t) ?? 0) + 1);
      else expect(r.reason).toBe('DAILY_CAP');
    }
    for (const t of TENANTS) expect(admitted.get(t), t).toBe(2);
    for (const t of TENANTS.slice(0, 20)) expect((await quota.usage(t)).day).toMatchObject({ spent_usd: 0, reserved_usd: 8, remaining_usd: 2 });

    // How the admissions and their keys spread over the primaries (reported, not asserted).
    const admissionsPer = new Map<number, number>();
    for (const t of TENANTS) {
      const port = primaryOf(await slotOf(p, t));
      admissionsPer.set(port, (admissionsPer.get(port) ?? 0) + (admitted.get(t) ?? 0));
    }
    const keysPer = await Promise.all(admin.nodes('master').map(async (n) => [n.options.port, await n.dbsize()] as const));
    console.log('redis-cluster spread per primary (port: tenants / admissions / keys):', cluster.nodes.map(({ port }) => (
      `${port}: ${tenantsPer.get(port)} / ${admissionsPer.get(port) ?? 0} / ${keysPer.find(([q]) => q === port)?.[1] ?? '?'}`
    )).join(', '));
  });

  it('settles, releases, freezes, runs experiments and reports usage per tenant on the cluster', async () => {
    const store = redisStore({ cluster: cluster.nodes }, { prefix: prefix() });
    stores.push(store);
    const quota = createQuota({ store, clock });
    const tenants = TENANTS.slice(0, 30);
    await Promise.all(tenants.map((t) => quota.setEnvelope(envelope(t))));
    // Settles and releases of many tenants in one tick: grouped by slot as reserves are.
    const ids = await Promise.all(tenants.map(async (t) => {
      const r = await quota.reserve({ tenant_id: t, usd: 3 });
      if (!r.ok) throw new Error(`${t}: ${r.reason}`);
      return r.id;
    }));
    const settled = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? quota.settle(id, 2) : quota.release(id))));
    settled.forEach((s, i) => expect(s).toMatchObject({ status: i % 2 === 0 ? 'settled' : 'released', tenant_id: tenants[i] }));
    for (const [i, t] of tenants.entries()) expect((await quota.usage(t)).day).toMatchObject({ spent_usd: i % 2 === 0 ? 2 : 0, reserved_usd: 0 });

    expect(await quota.startExperiment(tenants[0]!, 'exp-1')).toMatchObject({ ok: true });
    expect(await quota.reserve({ tenant_id: tenants[0]!, usd: 1, experiment_id: 'exp-1' })).toMatchObject({ ok: true });
    await quota.freeze(tenants[1]!, 'manual');
    expect(await quota.reserve({ tenant_id: tenants[1]!, usd: 1 })).toMatchObject({ ok: false, reason: 'FROZEN' });
    await quota.unfreeze(tenants[1]!);
    expect(await quota.reserve({ tenant_id: tenants[1]!, usd: 1 })).toMatchObject({ ok: true });
  });

  it('uses a cluster client of the caller\'s and leaves it open', async () => {
    const client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })));
    try {
      const store = redisStore({ client }, { prefix: prefix() });
      const quota = createQuota({ store, clock });
      await Promise.all(TENANTS.slice(0, 50).map((t) => quota.setEnvelope(envelope(t))));
      const answers = await Promise.all(TENANTS.slice(0, 50).map((t) => quota.reserve({ tenant_id: t, usd: 6 })));
      expect(answers.every((a) => a.ok)).toBe(true);
      await store.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('refuses a fence whose keys are in another slot than the tenant (INVALID_ARGUMENT), never admitting unfenced', async () => {
    const p = prefix();
    const fence = { fenceKey: 'fed:{shard:7}:fence', leaseKey: 'fed:{shard:7}:lease', token: 3 };
    const store = redisStore({ cluster: cluster.nodes }, { prefix: p, fence: () => fence });
    stores.push(store);
    const quota = createQuota({ store, clock });
    // Precondition of the case: the shard's tag and the tenant's are in different slots.
    expect(Number(await admin.cluster('KEYSLOT', fence.fenceKey))).not.toBe(await slotOf(p, 'acme'));
    await quota.setEnvelope(envelope('acme'));
    await expectCodedRejection(quota.reserve({ tenant_id: 'acme', usd: 1 }), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
    await expectCodedRejection(quota.startExperiment('acme', 'exp-1'), isQuotaError, 'INVALID_ARGUMENT', 'options.fence');
    expect((await quota.usage('acme')).day).toMatchObject({ reserved_usd: 0 });
  });

  it('checks a fence whose keys share the tenant\'s slot: the holder\'s token is admitted, a stale one is NOT_OWNER', async () => {
    const p = prefix();
    // The host gives the tenant fence keys under the tenant's own hash tag, so they share its slot.
    const fenceKey = `fed:${p}{acme}:fence`;
    const leaseKey = `fed:${p}{acme}:lease`;
    await admin.set(fenceKey, '5');
    await admin.set(leaseKey, '5|node-b', 'PX', 600_000);
    let token = 5;
    const store = redisStore({ cluster: cluster.nodes }, { prefix: p, fence: () => ({ fenceKey, leaseKey, token }) });
    stores.push(store);
    const quota = createQuota({ store, clock });
    await quota.setEnvelope(envelope('acme'));
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toMatchObject({ ok: true });
    expect(await quota.startExperiment('acme', 'exp-1')).toMatchObject({ ok: true });
    token = 4;
    expect(await quota.reserve({ tenant_id: 'acme', usd: 1 })).toEqual({ ok: false, reason: 'NOT_OWNER' });
    expect(await quota.startExperiment('acme', 'exp-2')).toEqual({ ok: false, reason: 'NOT_OWNER' });
    expect((await quota.usage('acme')).day).toMatchObject({ reserved_usd: 1 });
  });
});
