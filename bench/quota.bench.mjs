// @tenantry/quota benchmarks: reserve + settle pairs per second, side by side with rate-limiter-flexible's
// consume() (which checks and takes one counter), in memory and on the same Redis.
//
// The workload is a gateway's: WORKERS requests in flight, each doing reserve → (call) → settle, over
// 100 tenants round-robin, every reservation checked against the daily and monthly caps (large enough that
// none is denied; the check verifies that). rate-limiter-flexible does the same number of consume() calls
// with the same concurrency and keys. A Redis reservation runs the full Lua check (frozen, caps, experiment,
// prod-traffic window, rate limits) and holds the amount; its settlement is a second script; operations of
// one tenant in the same tick share one script call.
//
// Run: `npm run bench -- quota` (writes bench/RESULTS.md) or `node bench/quota.bench.mjs`.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { createQuota, memoryStore, redisStore } from '@tenantry/quota';
import { kernelInfo } from '@tenantry/kernels';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TENANTS = 100;
const MEMORY_PAIRS = 20_000;
const REDIS_PAIRS = 4_000;
const WORKERS = { memory: 64, redis: 256 };
const CPU_PAIRS = 20_000;
const names = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`);
const requests = names.map((tenant_id) => ({ tenant_id, usd: 0.002 }));

function envelope(tenant_id) {
  return {
    tenant_id, monthly_budget_usd: 9_000_000, daily_budget_usd: 9_000_000, experiment_budget_cap_usd: 0,
    max_parallel_experiments: 0, max_prod_traffic_pct: 0,
  };
}

/** n reserve → settle pairs by `workers` concurrent loops, each awaiting the two calls directly. */
async function pairs(quota, n, workers) {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < n) {
      const r = await quota.reserve(requests[next++ % TENANTS]);
      if (!r.ok) throw new Error(`reservation denied: ${r.reason}`);
      const s = await quota.settle(r.id, 0.0015);
      if (s.status !== 'settled') throw new Error(`settle answered ${s.status}`);
    }
  }));
}

function pairsSync(quota, n) {
  for (let i = 0; i < n; i++) {
    const r = quota.reserveSync(requests[i % TENANTS]);
    if (!r.ok) throw new Error(`reservation denied: ${r.reason}`);
    if (quota.settleSync(r.id, 0.0015).status !== 'settled') throw new Error('settle failed');
  }
}

/** n consume() calls by `workers` concurrent loops, each awaiting the call directly. */
async function consumes(limiter, n, workers) {
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < n) await limiter.consume(names[next++ % TENANTS], 1);
  }));
}

function redisServer() {
  const env = { ...process.env, REDIS_SH_NO_INSTALL: '1' };
  const out = execFileSync('bash', [path.join(REPO, 'scripts/redis.sh'), 'start'], { env, encoding: 'utf8' });
  const port = Number(/REDIS_PORT=(\d+)/.exec(out)[1]);
  return { url: `redis://127.0.0.1:${port}`, port, stop: () => execFileSync('bash', [path.join(REPO, 'scripts/redis.sh'), 'stop', String(port)], { env, stdio: 'ignore' }) };
}

/** Throws unless `quota` recorded exactly `n` settlements of 0.0015 spread over the tenants. */
async function checkSpend(quota, n) {
  let spent = 0;
  let held = 0;
  for (const t of names) {
    const u = await quota.usage(t);
    spent += Math.round(u.day.spent_usd * 1e6);
    held += Math.round(u.day.reserved_usd * 1e6);
  }
  if (spent !== n * 1500 || held !== 0) throw new Error(`expected ${n * 1500} micros spent and none held, got ${spent} spent, ${held} held`);
}

export async function groups() {
  const server = redisServer();
  const memQuota = createQuota({ store: memoryStore() });
  const redisQuota = createQuota({ store: redisStore({ url: server.url }, { prefix: 'bench:q:' }) });
  for (const t of names) {
    await memQuota.setEnvelope(envelope(t));
    await redisQuota.setEnvelope(envelope(t));
  }
  const points = 2 ** 40;
  const rlfMemory = new RateLimiterMemory({ points, duration: 3600 });
  const rlfClient = new Redis(server.url, { enableOfflineQueue: false });
  await new Promise((resolve) => rlfClient.once('ready', resolve));
  const rlfRedis = new RateLimiterRedis({ storeClient: rlfClient, points, duration: 3600, keyPrefix: 'bench:rlf' });

  const memory = {
    title: `reserve + settle in memory, ${WORKERS.memory} in flight, ${TENANTS} tenants`,
    unit: 'reserve+settle (or consume)', items: MEMORY_PAIRS,
    baseline: 'rate-limiter-flexible RateLimiterMemory consume()',
    async check() {
      const fresh = createQuota({ store: memoryStore() });
      for (const t of names) await fresh.setEnvelope(envelope(t));
      await pairs(fresh, 10_000, WORKERS.memory);
      pairsSync(fresh, 10_000);
      await checkSpend(fresh, 20_000);
      await consumes(rlfMemory, 10_000, WORKERS.memory);
    },
    cases: [
      { name: 'tenantry memoryStore reserve + settle', defer: true, fn: () => pairs(memQuota, MEMORY_PAIRS, WORKERS.memory) },
      { name: 'tenantry memoryStore reserveSync + settleSync (no promises, one at a time)', fn: () => pairsSync(memQuota, MEMORY_PAIRS) },
      { name: 'rate-limiter-flexible RateLimiterMemory consume()', defer: true, fn: () => consumes(rlfMemory, MEMORY_PAIRS, WORKERS.memory) },
    ],
  };
  // CPU per operation on each side, for the note: this process (process.cpuUsage) and redis-server (the
  // usec of its script commands in INFO commandstats), over CPU_PAIRS operations of each library.
  const info = new Redis(server.url);
  const scriptUsec = async () => {
    const stats = await info.info('commandstats');
    let usec = 0;
    for (const m of stats.matchAll(/cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/g)) usec += Number(m[1]);
    return usec;
  };
  const cpu = async (fn) => {
    const u0 = await scriptUsec();
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    return { client: (c.user + c.system) / CPU_PAIRS, redis: ((await scriptUsec()) - u0) / CPU_PAIRS };
  };
  const cpuTable = {};
  const redis = {
    title: `reserve + settle on one local redis-server, ${WORKERS.redis} in flight, ${TENANTS} tenants`,
    unit: 'reserve+settle (or consume)', items: REDIS_PAIRS,
    baseline: 'rate-limiter-flexible RateLimiterRedis consume()',
    async check() {
      const fresh = createQuota({ store: redisStore({ url: server.url }, { prefix: 'bench:check:' }) });
      for (const t of names) await fresh.setEnvelope(envelope(t));
      await pairs(fresh, 4_000, WORKERS.redis);
      await checkSpend(fresh, 4_000);
      cpuTable.tenantry = await cpu(() => pairs(fresh, CPU_PAIRS, WORKERS.redis));
      await fresh.close();
      await consumes(rlfRedis, 4_000, WORKERS.redis);
      cpuTable.rlf = await cpu(() => consumes(rlfRedis, CPU_PAIRS, WORKERS.redis));
      const f = (x) => x.toFixed(1);
      redis.note = [
        `CPU per operation over ${CPU_PAIRS.toLocaleString('en')} operations (this 2-core host runs both processes):`,
        '',
        '| | client (Node) µs | redis-server scripts µs | total µs |',
        '| --- | ---: | ---: | ---: |',
        `| tenantry reserve + settle | ${f(cpuTable.tenantry.client)} | ${f(cpuTable.tenantry.redis)} | ${f(cpuTable.tenantry.client + cpuTable.tenantry.redis)} |`,
        `| rate-limiter-flexible consume() | ${f(cpuTable.rlf.client)} | ${f(cpuTable.rlf.redis)} | ${f(cpuTable.rlf.client + cpuTable.rlf.redis)} |`,
        '',
        'A reserve+settle pair checks frozen, experiment, prod-traffic, daily, monthly and experiment caps and rate limits, holds the',
        'amount with an expiring record, then charges it and closes the record; consume() increments one counter. The client side',
        'costs about what one consume() costs (batches travel as one JSON argument); the scripts cost several times more, and',
        "redis-server's single thread is what runs out: about half of the script time is per tenant and batch (reading and",
        'writing its counters), the rest per operation.',
      ].join('\n');
    },
    cases: [
      { name: 'tenantry redisStore reserve + settle', defer: true, heavy: true, fn: () => pairs(redisQuota, REDIS_PAIRS, WORKERS.redis) },
      { name: 'rate-limiter-flexible RateLimiterRedis consume()', defer: true, heavy: true, fn: () => consumes(rlfRedis, REDIS_PAIRS, WORKERS.redis) },
    ],
  };
  return {
    groups: [memory, redis],
    info: () => kernelInfo(),
    close: async () => {
      await redisQuota.close();
      rlfClient.disconnect();
      info.disconnect();
      server.stop();
    },
  };
}

/** The quota issue's targets, evaluated on this run's figures. */
export function quotaTargets(results) {
  const rows = (prefix) => results.find((r) => r.group.title.startsWith(prefix)).rows;
  const get = (rs, name) => rs.find((r) => r.name === name).itemsPerSec;
  const mem = rows('reserve + settle in memory');
  const red = rows('reserve + settle on one local redis-server');
  const m = get(mem, 'tenantry memoryStore reserve + settle');
  const r = get(red, 'tenantry redisStore reserve + settle');
  const rlf = get(red, 'rate-limiter-flexible RateLimiterRedis consume()');
  const lines = [
    ['≥ 1 M reserve+settle/s in memory (promise API)', `${(m / 1e6).toFixed(2)} M/s`, m >= 1e6],
    ['Redis reserve+settle/s ≥ rate-limiter-flexible RateLimiterRedis consume/s (same Redis)', `${(r / 1000).toFixed(1)} k/s vs ${(rlf / 1000).toFixed(1)} k/s (${(r / rlf).toFixed(2)}×)`, r >= rlf],
  ];
  return ['| target | this run | met |', '| --- | ---: | :---: |', ...lines.map(([t, v, ok]) => `| ${t} | ${v} | ${ok ? 'yes' : 'no'} |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { runGroup } = await import('./harness.mjs');
  const { groups: gs, close } = await groups();
  try {
    for (const g of gs) await runGroup(g);
  } finally {
    await close();
  }
}
