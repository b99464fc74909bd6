// @tenantry/quota on a three-primary Redis Cluster vs one Redis: the same reserve + settle pairs for the same
// tenants through redisStore, in one run. Reported: pairs per second at the client, the redis-server CPU per
// pair (INFO cpu, user + sys, summed over the servers) and how the work spread over the primaries (script calls
// and tenants per primary). Both without persistence, on loopback, sharing the host's 2 cores with the client.
//
// Run: `npm run bench -- quota-cluster` (writes bench/RESULTS.md) or `node bench/quota-cluster.bench.mjs`.
// PAIRS (20000), TENANTS (200) and IN_FLIGHT (256) override.
import { Redis } from 'ioredis';
import { createQuota, redisStore } from '@tenantry/quota';
import { startRedis } from '../scripts/lib/local-cluster.mjs';
import { startRedisCluster } from '../scripts/lib/redis-cluster.mjs';

const PAIRS = Number(process.env.PAIRS ?? 20_000);
const TENANTS = Number(process.env.TENANTS ?? 200);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 256);
const tenantIds = Array.from({ length: TENANTS }, (_, i) => `tenant-${String(i).padStart(4, '0')}`);

/** user + sys CPU seconds and the script calls of one redis-server. */
async function serverStats(port) {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  await r.connect();
  const cpu = await r.info('cpu');
  const stats = await r.info('commandstats');
  r.disconnect();
  const num = (text, key) => Number(new RegExp(`^${key}:([0-9.]+)`, 'm').exec(text)?.[1] ?? 0);
  const calls = (cmd) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  return { cpu: num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys'), scripts: calls('evalsha') + calls('eval') };
}

/** PAIRS reserve + settle pairs, IN_FLIGHT at a time, spread over the tenants; returns the measurements. */
async function run(conn, ports) {
  const quota = createQuota({ store: redisStore(conn, { prefix: 'bench:' }) });
  for (const tenant_id of tenantIds) {
    await quota.setEnvelope({
      tenant_id, daily_budget_usd: 1e6, monthly_budget_usd: 1e7, experiment_budget_cap_usd: 0, max_parallel_experiments: 0, max_prod_traffic_pct: 100,
    });
  }
  // Warm-up (scripts loaded, tenants cached), not measured.
  await Promise.all(tenantIds.map(async (tenant_id) => {
    const r = await quota.reserve({ tenant_id, usd: 0.01 });
    if (r.ok) await quota.settle(r.id, 0.01);
  }));
  const before = await Promise.all(ports.map(serverStats));
  let next = 0;
  let denied = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < PAIRS) {
      const i = next++;
      const r = await quota.reserve({ tenant_id: tenantIds[i % TENANTS], usd: 0.01 });
      if (!r.ok) denied++;
      else await quota.settle(r.id, 0.008);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const after = await Promise.all(ports.map(serverStats));
  await quota.close();
  if (denied > 0) throw new Error(`${denied} reservations were denied: the run measures admissions only`);
  const cpu = after.reduce((s, a, i) => s + a.cpu - before[i].cpu, 0);
  const scripts = after.map((a, i) => a.scripts - before[i].scripts);
  return { rate: PAIRS / seconds, cpuUsPerPair: (cpu * 1e6) / PAIRS, scripts };
}

export async function report() {
  const single = startRedis({ persist: false });
  let one;
  try {
    one = await run({ url: single.url }, [single.port]);
  } finally {
    single.stop();
  }
  const cluster = await startRedisCluster();
  let three;
  try {
    three = await run({ cluster: cluster.nodes }, cluster.nodes.map((n) => n.port));
  } finally {
    await cluster.stop();
  }
  const spread = (s) => s.map((n) => `${((100 * n) / s.reduce((a, b) => a + b, 0)).toFixed(0)} %`).join(' / ');
  return [
    `### ${PAIRS} reserve + settle pairs over ${TENANTS} tenants, ${IN_FLIGHT} in flight (redisStore, ioredis 6.1.0)`,
    '',
    '| Redis | pairs/s | redis-server CPU per pair | script calls | calls per primary |',
    '| --- | ---: | ---: | ---: | --- |',
    `| one redis-server | ${one.rate.toFixed(0)} | ${one.cpuUsPerPair.toFixed(1)} µs | ${one.scripts[0]} | — |`,
    `| Redis Cluster, 3 primaries | ${three.rate.toFixed(0)} | ${three.cpuUsPerPair.toFixed(1)} µs (sum of the three) | ${three.scripts.reduce((a, b) => a + b, 0)} | ${spread(three.scripts)} |`,
    `| cluster / one | ${(three.rate / one.rate).toFixed(2)}× | ${(three.cpuUsPerPair / one.cpuUsPerPair).toFixed(2)}× | | |`,
    '',
    'On a cluster a batch carries only the operations of one slot, so the same work takes more script calls, each with fewer operations: the Redis CPU per pair grows with the number of calls, and the client pays a round trip per slot group. The primaries share this host\'s 2 cores with the client, so a cluster cannot show its capacity here; the spread column is what scales on separate machines.',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await report());
