// Fair scheduling in one page: three tenants with weights 1 / 2 / 3 share PROD, a LAB flood borrows idle
// capacity and gives it back, a full queue answers QUEUE_FULL with retry_after_ms. Run after the build:
//   node examples/scheduler/fair.mjs
import { createScheduler, isSchedulerError } from '@tenantry/scheduler';

const scheduler = createScheduler({ concurrency: 4, maxQueuedPerTenant: 5000 });
scheduler.setTenant('acme', { weight: 1 });
scheduler.setTenant('globex', { weight: 2 });
scheduler.setTenant('initech', { weight: 3 });
scheduler.setTenant('lab-team', { maxQueued: 2 });

// 1. Backlogged tenants: the first 600 completions split 1 : 2 : 3.
const order = [];
const work = [];
for (let i = 0; i < 1000; i++) {
  for (const tenant_id of ['acme', 'globex', 'initech']) {
    work.push(scheduler.submit(async () => order.push(tenant_id), { tenant_id }));
  }
}
await Promise.all(work);
const first = order.slice(0, 600);
const count = (t) => first.filter((x) => x === t).length;
console.log(`first 600 completions  acme ${count('acme')}  globex ${count('globex')}  initech ${count('initech')}`);

// 2. LAB borrows every idle slot.
const release = [];
const lab = [];
for (let i = 0; i < 4; i++) {
  lab.push(scheduler.submit(() => new Promise((resolve) => release.push(resolve)), { tenant_id: 'lab-team', domain: 'LAB' }));
}
await new Promise((r) => setImmediate(r));
const stats = scheduler.stats();
console.log(`LAB alone              running LAB ${stats.domains.LAB.running}, PROD ${stats.domains.PROD.running}`);

// 3. A full queue answers at once, with a hint (lab-team may queue 2).
const queued = [1, 2].map(() => scheduler.submit(() => 'queued', { tenant_id: 'lab-team', domain: 'LAB' }));
try {
  await scheduler.submit(() => 'too many', { tenant_id: 'lab-team', domain: 'LAB' });
} catch (e) {
  if (!isSchedulerError(e)) throw e;
  console.log(`third LAB task queued  ${e.code} (retry_after_ms ${e.retry_after_ms > 0 ? '> 0' : e.retry_after_ms})`);
}

// 4. PROD's demand wins the next LAB slot that frees, ahead of LAB's own queue.
const prod = scheduler.submit(() => 'prod ran', { tenant_id: 'acme', domain: 'PROD' });
release.shift()();
console.log(`PROD after 1 LAB slot  ${await prod}`);

for (const r of release) r();
await Promise.all([...lab, ...queued]);
await scheduler.close();
console.log('closed                 ', JSON.stringify(scheduler.stats().tenants.initech));
