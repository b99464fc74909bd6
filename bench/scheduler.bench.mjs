// @tenantry/scheduler benchmarks: what a task costs on its way through the scheduler, side by side with
// p-queue 9.3.5 (one FIFO, no tenants) and piscina 5.3.2 (its own task queue, in front of a worker thread),
// and how fair the scheduler stays when one tenant floods it.
//
// 1. Per-task overhead. N no-op tasks submitted in one synchronous burst, spread round-robin over 1, 100 or
//    10 000 tenants, at most CONCURRENCY running, then all awaited. tenantry runs every task through its
//    fair queue (a flow per tenant) and domain rule; p-queue has one FIFO and ignores the tenant; piscina
//    cannot run a function of this thread, so its row is a full round trip (queue, postMessage to one worker
//    thread, the worker's call, the answer back): it prices its queue together with a thread hop. The last
//    row is piscina's queue structure alone (FixedQueue, its default taskQueue): push and shift of N task
//    objects, no promise, no call — a floor for any queue, not a scheduler.
// 2. Fairness under overload, on a virtual clock (the scheduler's `clock` option; a task of cost c runs c
//    virtual ms, every completion is an event of a discrete-event loop, so nothing depends on this host's
//    speed and every run gives the same figures). FAIR.tenants tenants with weights 1, 2, 3, 4 in turn, each
//    task of cost 1–4 (a fixed sequence per tenant, so the runs with and without the flood give every tenant
//    the same tasks); each well-behaved tenant keeps FAIR.outstanding tasks submitted (closed loop: it submits
//    the next one when one completes), so every tenant is backlogged and the node is overloaded. The flooder
//    (tenant-0, weight 1) keeps FAIR.floodFactor × as many tasks submitted as all the others together; without
//    the flood it behaves like the others. After FAIR.warmup completions, over the next FAIR.window:
//    Jain's index (Σx)² / (n Σx²) over the well-behaved tenants, x = completed cost / weight; and the p99
//    queue wait (start − submit) of the well-behaved tenants' tasks. The same loop drives p-queue (FIFO).
//
// Run: `npm run bench -- scheduler` (writes bench/RESULTS.md) or `node bench/scheduler.bench.mjs`.
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import PQueue from 'p-queue';
import { Piscina, FixedQueue } from 'piscina';
import { createScheduler } from '@tenantry/scheduler';
import { fmt, runGroup, table } from './harness.mjs';

/** piscina's worker: this module, loaded in the worker thread, answers with its input. */
export default function piscinaEcho(x) {
  return x;
}

const TASKS = 20_000;
const CONCURRENCY = 64;
const TENANT_COUNTS = [1, 100, 10_000];
const FAIR = { tenants: 1000, outstanding: 2, floodFactor: 10, concurrency: 64, warmup: 40_000, window: 120_000 };
const noop = () => undefined;

// ---------------------------------------------------------------------------------------------------------
// 1. Per-task overhead

function overheadGroup(tenants, piscina) {
  const ids = Array.from({ length: tenants }, (_, i) => `tenant-${i}`);
  const scheduler = createScheduler({ concurrency: CONCURRENCY });
  for (const id of ids) scheduler.setTenant(id);
  const pq = new PQueue({ concurrency: CONCURRENCY });
  const opts = ids.map((tenant_id) => ({ tenant_id }));
  const tenantry = (fn = noop) => {
    const all = new Array(TASKS);
    for (let i = 0; i < TASKS; i++) all[i] = scheduler.submit(fn, opts[i % tenants]);
    return Promise.all(all);
  };
  const pqueue = (fn = noop) => {
    const all = new Array(TASKS);
    for (let i = 0; i < TASKS; i++) all[i] = pq.add(fn);
    return Promise.all(all);
  };
  const pool = () => {
    const all = new Array(TASKS);
    for (let i = 0; i < TASKS; i++) all[i] = piscina.run(i);
    return Promise.all(all);
  };
  const items = Array.from({ length: TASKS }, (_, i) => ({ i }));
  const fixed = new FixedQueue();
  const structure = () => {
    for (let i = 0; i < TASKS; i++) fixed.push(items[i]);
    let sum = 0;
    for (let i = 0; i < TASKS; i++) sum += fixed.shift().i;
    return sum;
  };
  const expected = (TASKS * (TASKS - 1)) / 2;
  return {
    title: `submit and run ${TASKS.toLocaleString('en')} no-op tasks, ${CONCURRENCY} at a time, ${tenants.toLocaleString('en')} tenant${tenants === 1 ? '' : 's'}`,
    unit: 'tasks', items: TASKS, baseline: 'p-queue add() (one FIFO, tenant ignored)',
    async check() {
      // Every variant runs every task exactly once, and tenantry spreads them over the tenants.
      let ran = 0;
      await tenantry(() => void ran++);
      const per = scheduler.stats().tenants;
      const counts = ids.map((id) => per[id].completed);
      if (ran !== TASKS || counts.some((c) => c !== TASKS / tenants)) throw new Error(`tenantry ran ${ran} tasks, per tenant ${Math.min(...counts)}–${Math.max(...counts)}`);
      ran = 0;
      await pqueue(() => void ran++);
      if (ran !== TASKS) throw new Error(`p-queue ran ${ran} tasks`);
      const echoed = (await pool()).reduce((a, b) => a + b, 0);
      if (echoed !== expected) throw new Error(`piscina answered ${echoed}, expected ${expected}`);
      if (structure() !== expected) throw new Error('FixedQueue lost items');
    },
    cases: [
      { name: 'tenantry submit()', defer: true, fn: () => tenantry() },
      { name: 'p-queue add() (one FIFO, tenant ignored)', defer: true, fn: () => pqueue() },
      { name: 'piscina run(): queue + round trip to 1 worker thread (64 in flight)', defer: true, heavy: true, fn: () => pool() },
      { name: "piscina's FixedQueue push + shift only (no promise, no call)", fn: structure },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Fairness under overload (virtual clock)

/** Cost (1–4) of the n-th task of tenant i: a fixed sequence (xorshift of the pair), the same in every run. */
function costOf(i, n) {
  let x = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(n + 1, 0x85ebca6b)) >>> 0;
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  return 1 + ((x >>> 0) % 4);
}

/** Completions as a binary min-heap on (time, seq). */
class Events {
  #t = [];
  #seq = [];
  #f = [];
  #n = 0;
  #seq0 = 0;
  get size() {
    return this.#n;
  }
  get nextTime() {
    return this.#t[0];
  }
  push(time, fn) {
    let i = this.#n++;
    const seq = this.#seq0++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.#t[p] < time || (this.#t[p] === time && this.#seq[p] < seq)) break;
      this.#t[i] = this.#t[p];
      this.#seq[i] = this.#seq[p];
      this.#f[i] = this.#f[p];
      i = p;
    }
    this.#t[i] = time;
    this.#seq[i] = seq;
    this.#f[i] = fn;
  }
  pop() {
    const fn = this.#f[0];
    const n = --this.#n;
    const time = this.#t[n], seq = this.#seq[n], last = this.#f[n];
    this.#f[n] = undefined;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (this.#t[c + 1] < this.#t[c] || (this.#t[c + 1] === this.#t[c] && this.#seq[c + 1] < this.#seq[c]))) c++;
      if (time < this.#t[c] || (time === this.#t[c] && seq < this.#seq[c])) break;
      this.#t[i] = this.#t[c];
      this.#seq[i] = this.#seq[c];
      this.#f[i] = this.#f[c];
      i = c;
    }
    if (n > 0) {
      this.#t[i] = time;
      this.#seq[i] = seq;
      this.#f[i] = last;
    }
    return fn;
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * One closed-loop run. `make(clock, weights)` answers `submit(tenantIndex, cost, fn) → Promise`. Returns the window's
 * figures: completed cost per tenant, well-behaved queue waits, and how busy the slots were.
 */
async function overloadRun(make, flood) {
  const { tenants, outstanding, floodFactor, concurrency, warmup, window } = FAIR;
  const weights = Array.from({ length: tenants }, (_, i) => 1 + (i % 4));
  const floodOutstanding = flood ? floodFactor * outstanding * (tenants - 1) : outstanding;
  let now = 0;
  const submit = make(() => now, weights);
  const events = new Events();
  const sent = new Array(tenants).fill(0);
  const cost = new Float64Array(tenants);
  const waits = [];
  let completed = 0;
  let windowStart = 0;
  let windowEnd = 0;
  let busy = 0;
  const inWindow = () => completed >= warmup && completed < warmup + window;
  const send = (i) => {
    const c = costOf(i, sent[i]++);
    const submittedAt = now;
    submit(i, c, () => {
      const startedAt = now;
      if (inWindow() && i !== 0) waits.push(startedAt - submittedAt);
      return new Promise((resolve) => events.push(now + c, resolve));
    }).then(() => {
      if (inWindow()) {
        cost[i] += c;
        busy += c;
      }
      completed++;
      if (completed === warmup) windowStart = now;
      if (completed === warmup + window) windowEnd = now;
      send(i);
    });
  };
  // Round-robin, so that no tenant gets a head start from the order of the first submits.
  for (let k = 0; k < floodOutstanding; k++) for (let i = 0; i < tenants; i++) if (i === 0 || k < outstanding) send(i);
  await turn();
  while (completed < warmup + window) {
    if (events.size === 0) throw new Error(`no task running after ${completed} completions`);
    now = events.nextTime;
    while (events.size > 0 && events.nextTime === now) events.pop()();
    await turn();
  }
  const x = [];
  for (let i = 1; i < tenants; i++) x.push(cost[i] / weights[i]);
  const sum = x.reduce((a, b) => a + b, 0);
  const jain = (sum * sum) / (x.length * x.reduce((a, b) => a + b * b, 0));
  waits.sort((a, b) => a - b);
  const p99 = waits[Math.min(waits.length - 1, Math.floor(0.99 * waits.length))];
  const meanOthers = sum / x.length;
  return {
    jain, p99, p50: waits[Math.floor(0.5 * waits.length)],
    flooderShare: cost[0] / weights[0] / meanOthers,
    utilisation: busy / (concurrency * (windowEnd - windowStart)),
  };
}

function tenantryMaker(clock, weights) {
  const s = createScheduler({ concurrency: FAIR.concurrency, clock });
  const ids = weights.map((w, i) => {
    s.setTenant(`tenant-${i}`, { weight: w });
    return `tenant-${i}`;
  });
  return (i, cost, fn) => s.submit(fn, { tenant_id: ids[i], cost });
}

function pqueueMaker() {
  const q = new PQueue({ concurrency: FAIR.concurrency });
  return (_i, _cost, fn) => q.add(fn);
}

async function fairness() {
  const rows = [];
  for (const [name, make] of [['tenantry (weighted fair queue per tenant)', tenantryMaker], ['p-queue (one FIFO)', pqueueMaker]]) {
    const calm = await overloadRun(make, false);
    const flood = await overloadRun(make, true);
    rows.push({ name, calm, flood });
    console.log(`  fairness · ${name}: Jain ${flood.jain.toFixed(4)}, p99 wait ${calm.p99} → ${flood.p99} ms`);
  }
  for (const r of rows) {
    for (const run of [r.calm, r.flood]) if (run.utilisation < 0.99) throw new Error(`${r.name}: slots busy ${(100 * run.utilisation).toFixed(1)} % of the window, not overloaded`);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------

export async function report() {
  const piscina = new Piscina({ filename: fileURLToPath(import.meta.url), minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: CONCURRENCY, idleTimeout: 60_000 });
  const overhead = [];
  try {
    for (const t of TENANT_COUNTS) {
      const group = overheadGroup(t, piscina);
      overhead.push({ group, rows: await runGroup(group), tenants: t });
    }
  } finally {
    await piscina.destroy();
  }
  const fair = await fairness();
  const get = (rows, prefix) => rows.find((r) => r.name.startsWith(prefix)).itemsPerSec;
  const us = (rate) => (1e6 / rate).toFixed(2);
  const parts = [];
  for (const { group, rows } of overhead) {
    parts.push(`### ${group.title}`, '', table(group, rows), '');
  }
  parts.push(
    '| µs per task | ' + TENANT_COUNTS.map((t) => `${t.toLocaleString('en')} tenant${t === 1 ? '' : 's'}`).join(' | ') + ' |',
    '| --- |' + TENANT_COUNTS.map(() => ' ---: |').join(''),
    ...['tenantry submit()', 'p-queue add()', 'piscina run()', "piscina's FixedQueue"].map((prefix) => `| ${prefix} | ${overhead.map(({ rows }) => us(get(rows, prefix))).join(' | ')} |`),
    '',
    `Each task: submit (options checked, tenant looked up, limits), its flow in the fair queue of PROD, a slot, the`,
    `call, the promise settled. p-queue and piscina have no tenants: their rows are the same in every table but for`,
    `noise. The piscina row is dominated by the thread hop (structured clone and a MessagePort each way); its queue`,
    `alone is the FixedQueue row. All rows of a table run in one process; compare ratios within a table.`,
    '',
  );
  const f = (x, d = 4) => x.toFixed(d);
  parts.push(
    `### Fairness under overload: ${FAIR.tenants.toLocaleString('en')} tenants, one floods ${FAIR.floodFactor}× (virtual clock)`,
    '',
    '| scheduler | Jain index, well-behaved, flood | Jain index, no flood | flooder cost/weight ÷ others\' mean, flood | p99 wait no flood (ms) | p99 wait flood (ms) | p99 ratio | p50 wait no flood → flood (ms) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...fair.map((r) => `| ${r.name} | ${f(r.flood.jain, 5)} | ${f(r.calm.jain, 5)} | ${f(r.flood.flooderShare, 2)} | ${r.calm.p99} | ${r.flood.p99} | ${f(r.flood.p99 / r.calm.p99, 3)}× | ${r.calm.p50} → ${r.flood.p50} |`),
    '',
    `${FAIR.concurrency} slots; weights 1, 2, 3, 4 in turn; task costs 1–4 (a fixed sequence per tenant), a task of cost c runs c`,
    `virtual ms. Every well-behaved tenant keeps ${FAIR.outstanding} tasks submitted; the flooder (weight 1) keeps`,
    `${FAIR.floodFactor} × ${FAIR.outstanding} × ${FAIR.tenants - 1} = ${(FAIR.floodFactor * FAIR.outstanding * (FAIR.tenants - 1)).toLocaleString('en')} (${FAIR.floodFactor}× the demand of all the others together). Measured over`,
    `completions ${FAIR.warmup.toLocaleString('en')}–${(FAIR.warmup + FAIR.window).toLocaleString('en')}; the slots were busy ≥ 99 % of that window in every run (checked).`,
    'Jain\'s index is (Σx)² / (n Σx²) over the 999 well-behaved tenants, x = completed cost ÷ weight (1 = perfectly',
    'proportional); waits are start − submit of the well-behaved tenants\' tasks in the window. A FIFO serves',
    'tasks, not weights, so its index reflects the weights 1–4 it ignores, and its waits grow with the flood.',
    'tenantry is given each task\'s cost (submit\'s `cost`); the index falls short of 1 only by the cost of the tasks',
    'in flight at the two ends of the window.',
    '',
  );
  const t10k = overhead.find((o) => o.tenants === 10_000).rows;
  const perTask = 1e6 / get(t10k, 'tenantry submit()');
  const tf = fair[0];
  const ratio = tf.flood.p99 / tf.calm.p99;
  const vsPq = overhead.map(({ rows, tenants }) => ({ tenants, r: get(rows, 'tenantry submit()') / get(rows, 'p-queue add()') }));
  const targets = [
    ['≤ 2 µs per task in-process at 10 000 tenants', `${perTask.toFixed(2)} µs`, perTask <= 2],
    ...vsPq.map(({ tenants, r }) => [`≥ p-queue's rate, ${tenants.toLocaleString('en')} tenant${tenants === 1 ? '' : 's'}`, `${r.toFixed(2)}×`, r >= 1]),
    ['Jain index ≥ 0.99 over the well-behaved tenants\' completed cost ÷ weight, during the flood', f(tf.flood.jain, 5), tf.flood.jain >= 0.99],
    ['p99 queue wait of the well-behaved tenants during the flood ≤ 1.1× without it', `${ratio.toFixed(3)}×`, ratio <= 1.1],
  ];
  parts.push('### Targets', '', '| target | this run | met |', '| --- | ---: | :---: |', ...targets.map(([t, v, ok]) => `| ${t} | ${v} | ${ok ? 'yes' : 'no'} |`), '');
  parts.push(WHERE_THE_TIME_GOES, '');
  return parts.join('\n');
}

// From `node --cpu-prof` on a driver of the 10 000-tenant table (20 000 no-op tasks per round, 64 at a time),
// 2026-12-06 on the 2-core host; the figures of the tables above are this run's.
const WHERE_THE_TIME_GOES = `Where a task's time goes (node --cpu-prof on a driver of the 10 000-tenant table, before and after the
cuts made with this benchmark). Before: 4.5–5.5 µs per task in that driver, slower than p-queue. An AbortSignal was built for every
task (Node 20 builds it on the first read of \`controller.signal\`: a setPrototypeOf on a fresh EventTarget, about
2.7 µs) and that alone was 30 % of the profile, and much of the 36 % in the garbage collector. After: a task that
declares no parameter (\`fn.length === 0\`) is called without a signal and gets no AbortController (a task that
takes the signal still pays for it); the fns of the tasks started together are called in one microtask instead of
one promise chain per task (three promises, four closures); pump() no longer makes two closures per call. What
remains is about 40 % garbage collection (a queued task holds about 530 bytes: its promise with its two resolving
functions about 265, the job about 185, the checked options about 75; a burst of 20 000 outlives the young
generation), then submit's option checks (options.ts: the key scan, the tenant id rule's regular expressions), the
fair queue's heap (log₂ of the tenants with work: enqueue, dequeue, removeAt) and the job's start and settle.
From 1 to 10 000 tenants the cost grows with the depth of that heap.`;

if (isMainThread && import.meta.url === `file://${process.argv[1]}`) {
  console.log(await report());
}
