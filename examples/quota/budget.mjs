// A tenant's budget envelope on the embedded store: reserve before the call, settle after; the hard stop
// at the daily cap (199.99 + 0.01 reaches 200 exactly), an experiment under its own cap, a request rate
// limit, and what usage() reports. Run: node examples/quota/budget.mjs (after npm run build).
import { createQuota } from '@tenantry/quota';

let now = Date.parse('2025-03-09T15:00:00Z'); // the day New York moves its clocks forward: a 23-hour day
const quota = createQuota({
  clock: () => now,
  rateLimits: { requests: { limit: 600, windowMs: 60_000, burst: 20 } }, // 10 requests/s per tenant, bursts of 20
});

await quota.setEnvelope({
  tenant_id: 'acme',
  monthly_budget_usd: 1000,
  daily_budget_usd: 200,
  experiment_budget_cap_usd: 50,
  max_parallel_experiments: 2,
  max_prod_traffic_pct: 100,
  timezone: 'America/New_York',
});

// Reserve the estimate before calling the model, settle the actual cost after.
const big = await quota.reserve({ tenant_id: 'acme', usd: 199.99 });
console.log('reserve 199.99     ', JSON.stringify(big.ok ? { ok: true } : big));
console.log('settle 199.99      ', JSON.stringify(await quota.settle(big.id, 199.99)));
const cent = await quota.reserve({ tenant_id: 'acme', usd: 0.01 });
await quota.settle(cent.id, 0.01);
console.log('reserve 0.02 more  ', JSON.stringify(await quota.reserve({ tenant_id: 'acme', usd: 0.02 })));

// Experiments run only once started, each under experiment_budget_cap_usd; they count against the day too.
now = Date.parse('2025-03-10T04:00:00Z'); // local midnight in New York: a new day, a fresh daily cap
await quota.startExperiment('acme', 'prompt-v2');
const exp = await quota.reserve({ tenant_id: 'acme', usd: 40, experiment_id: 'prompt-v2' });
console.log('experiment 40      ', JSON.stringify(exp.ok ? { ok: true } : exp));
console.log('experiment 10.01   ', JSON.stringify(await quota.reserve({ tenant_id: 'acme', usd: 10.01, experiment_id: 'prompt-v2' })));
await quota.settle(exp.id, 38.5);

// The rate limit: bursts of 20, then 10 per second (the experiment's reservation took one unit of this burst).
let admitted = 0;
let limited;
for (let i = 0; i < 25; i++) {
  const r = await quota.reserve({ tenant_id: 'acme', usd: 0.001 });
  if (r.ok) {
    admitted++;
    await quota.release(r.id);
  } else limited ??= r;
}
console.log(`25 at once           ${admitted} admitted, then ${JSON.stringify(limited)}`);

const u = await quota.usage('acme');
console.log('usage day          ', JSON.stringify(u.day));
console.log('usage experiments  ', JSON.stringify(u.experiments));
