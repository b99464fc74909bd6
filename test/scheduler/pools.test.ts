// Per-tenant execution pools on real piscina workers and real timers: a heap-exhausting task ends only its
// own worker, pools are created lazily, capped (least recently used idle pool closed, QUEUE_FULL when all are
// busy), reaped when idle, an abort frees without touching other tasks, close() ends everything, and every
// bad option is refused naming its field. Concurrency is proven with gates (fixtures/pool-tasks.mjs `hold`),
// never with timings.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTenantPools, isSchedulerError, type SchedulerError, type TenantPools, type TenantPoolsOptions } from '@tenantry/scheduler';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { sleep } from './helpers.js';

const WORKER_URL = new URL('./fixtures/pool-tasks.mjs', import.meta.url);
const WORKER = fileURLToPath(WORKER_URL);
const N = 1_000_000;
const SUM = (N * (N - 1)) / 2;

let open: TenantPools[] = [];

function pools(options: Omit<TenantPoolsOptions, 'filename'> = {}): TenantPools {
  const p = createTenantPools({ filename: WORKER, ...options });
  open.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(open.map((p) => p.close()));
  open = [];
});

/** A gate for the `hold` task: the worker sets [0] when it runs and returns once [1] is set. */
function gate(): { gate: Int32Array; started: () => Promise<void>; release: () => void } {
  const g = new Int32Array(new SharedArrayBuffer(8));
  return {
    gate: g,
    async started() {
      while (Atomics.load(g, 0) === 0) await sleep(1);
    },
    release() {
      Atomics.store(g, 1, 1);
      Atomics.notify(g, 1);
    },
  };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(2);
}

describe('out of memory', () => {
  it("a heap-exhausting task rejects POISONED and ends only its own worker; other tenants' and its own running tasks complete", async () => {
    const p = pools({ threadsPerPool: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const b = gate();
    const a = gate();
    const bHeld = p.run<{ sum: number }>('globex', { gate: b.gate, n: N }, { name: 'hold' });
    const bSum = p.run<{ sum: number }>('globex', { n: N }, { name: 'sum' });
    const aHeld = p.run<{ sum: number }>('acme', { gate: a.gate, n: N }, { name: 'hold' });
    await Promise.all([b.started(), a.started()]);

    const leak = p.run('acme', {}, { name: 'leak' }).then(() => undefined, (e: unknown) => e);
    const caught = await leak;
    expect(isSchedulerError(caught)).toBe(true);
    const e = caught as SchedulerError;
    expect(e.code).toBe('POISONED');
    expect((e.cause as { code?: string }).code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    expect(p.stats().tenants.acme).toMatchObject({ outOfMemory: 1, failed: 1, pending: 1 });

    // Both held tasks were running when the worker died; they finish only now.
    b.release();
    a.release();
    expect((await bHeld).sum).toBe(SUM);
    expect((await bSum).sum).toBe(SUM);
    expect((await aHeld).sum).toBe(SUM);

    // The same pool (nothing created since) serves the tenant again on a fresh worker.
    const again = await p.run<{ sum: number; tenant_id: string }>('acme', { n: N }, { name: 'sum' });
    expect(again).toEqual({ sum: SUM, tenant_id: 'acme' });
    expect(p.stats()).toMatchObject({ pools: 2, created: 2 });
    expect(p.stats().tenants.acme).toMatchObject({ completed: 2, failed: 1, outOfMemory: 1, pending: 0 });
  });
});

describe('lazy creation', () => {
  it('creates no pool before a tenant’s first task, then one per tenant, each worker knowing its tenant', async () => {
    const p = pools();
    expect(p.stats()).toEqual({ pools: 0, maxPools: 8, created: 0, reaped: 0, evicted: 0, tenants: {} });

    expect(await p.run('acme', { n: 10 })).toEqual({ sum: 45, tenant_id: 'acme' });
    expect(await p.run('acme', { n: 10 }, { name: 'sum' })).toEqual({ sum: 45, tenant_id: 'acme' });
    expect(p.stats()).toMatchObject({ pools: 1, created: 1 });
    expect(p.stats().tenants.acme).toEqual({ pending: 0, queued: 0, threads: 1, completed: 2, failed: 0, outOfMemory: 0 });

    expect(await p.run('globex', { n: 4 })).toEqual({ sum: 6, tenant_id: 'globex' });
    expect(Object.keys(p.stats().tenants).sort()).toEqual(['acme', 'globex']);
  });

  it("passes a task's own error through unwrapped", async () => {
    const p = pools();
    const caught = await p.run('acme', { message: 'bad input' }, { name: 'fail' }).then(() => undefined, (e: unknown) => e);
    expect(isSchedulerError(caught)).toBe(false);
    expect((caught as Error).message).toBe('bad input');
    expect(p.stats().tenants.acme).toMatchObject({ completed: 0, failed: 1 });
  });

  it('a refused run creates no pool', async () => {
    const p = pools();
    await expectCodedRejection(p.run('', {}), isSchedulerError, 'INVALID_ARGUMENT', 'tenant_id');
    await expectCodedRejection(p.run('acme', {}, { signal: AbortSignal.abort() }), isSchedulerError, 'ABORTED', 'signal');
    expect(p.stats()).toMatchObject({ pools: 0, created: 0 });
  });
});

describe('cap', () => {
  it('closes the least recently used idle pool to make room', async () => {
    const p = pools({ maxPools: 2 });
    await p.run('t1', { n: 3 });
    await p.run('t2', { n: 3 });
    await p.run('t3', { n: 3 });
    expect(Object.keys(p.stats().tenants)).toEqual(['t2', 't3']);
    await p.run('t2', { n: 3 });
    await p.run('t1', { n: 3 });
    expect(Object.keys(p.stats().tenants)).toEqual(['t2', 't1']);
    expect(p.stats()).toMatchObject({ pools: 2, created: 4, evicted: 2 });
  });

  it('refuses QUEUE_FULL with retry_after_ms while every pool has work, and has room once one is idle', async () => {
    const p = pools({ maxPools: 1 });
    const g = gate();
    const held = p.run<{ sum: number }>('t1', { gate: g.gate, n: 10 }, { name: 'hold' });
    await g.started();
    const caught = await p.run('t2', { n: 3 }).then(() => undefined, (e: unknown) => e);
    expect(isSchedulerError(caught)).toBe(true);
    const e = caught as SchedulerError;
    expect(e.code).toBe('QUEUE_FULL');
    expect(Number.isInteger(e.retry_after_ms) && e.retry_after_ms! >= 1).toBe(true);
    expect(Object.keys(p.stats().tenants)).toEqual(['t1']);

    g.release();
    expect((await held).sum).toBe(45);
    expect(await p.run('t2', { n: 3 })).toEqual({ sum: 3, tenant_id: 't2' });
    expect(p.stats()).toMatchObject({ pools: 1, evicted: 1 });
  });
});

describe('idle reaping', () => {
  it('closes a pool idle for idleTimeoutMs, and a later task creates a new one', async () => {
    const p = pools({ idleTimeoutMs: 5 });
    await p.run('acme', { n: 3 });
    await until(() => p.stats().pools === 0);
    expect(p.stats()).toMatchObject({ created: 1, reaped: 1, tenants: {} });
    expect(await p.run('acme', { n: 3 })).toEqual({ sum: 3, tenant_id: 'acme' });
    expect(p.stats()).toMatchObject({ pools: 1, created: 2 });
  });

  it('never reaps a pool with work in flight', async () => {
    const p = pools({ idleTimeoutMs: 1 });
    const g = gate();
    const held = p.run('acme', { gate: g.gate }, { name: 'hold' });
    await g.started();
    await sleep(50);
    expect(p.stats()).toMatchObject({ pools: 1, reaped: 0 });
    g.release();
    await held;
    await until(() => p.stats().pools === 0);
    expect(p.stats().reaped).toBe(1);
  });
});

describe('abort', () => {
  it('a running task aborted rejects ABORTED; other tasks keep running and the pool serves again', async () => {
    const p = pools({ threadsPerPool: 2 });
    const a = gate();
    const a2 = gate();
    const b = gate();
    const controller = new AbortController();
    const aborted = p.run('acme', { gate: a.gate }, { name: 'hold', signal: controller.signal });
    const aOther = p.run<{ sum: number }>('acme', { gate: a2.gate, n: 10 }, { name: 'hold' });
    const bHeld = p.run<{ sum: number }>('globex', { gate: b.gate, n: 10 }, { name: 'hold' });
    await Promise.all([a.started(), a2.started(), b.started()]);

    const reason = new Error('caller gave up');
    controller.abort(reason);
    const caught = await aborted.then(() => undefined, (e: unknown) => e);
    expectCodedError(() => {
      throw caught;
    }, isSchedulerError, 'ABORTED', 'signal');
    expect((caught as SchedulerError).cause).toBe(reason);
    expect(p.stats().tenants.acme?.pending).toBe(1);

    a2.release();
    b.release();
    expect((await aOther).sum).toBe(45);
    expect((await bHeld).sum).toBe(45);
    expect(await p.run('acme', { n: 10 })).toEqual({ sum: 45, tenant_id: 'acme' });
  });

  it('a queued task aborted leaves the queue at once; the running one is untouched', async () => {
    const p = pools({ threadsPerPool: 1 });
    const g = gate();
    const held = p.run<{ sum: number }>('acme', { gate: g.gate, n: 10 }, { name: 'hold' });
    await g.started();
    const controller = new AbortController();
    const queued = p.run('acme', { n: 3 }, { signal: controller.signal });
    expect(p.stats().tenants.acme).toMatchObject({ pending: 2, queued: 1 });
    controller.abort();
    await expectCodedRejection(queued, isSchedulerError, 'ABORTED', 'signal');
    expect(p.stats().tenants.acme).toMatchObject({ pending: 1, queued: 0 });
    g.release();
    expect((await held).sum).toBe(45);
  });
});

describe('close', () => {
  it('refuses new tasks, lets the ones in flight finish, then ends every pool', async () => {
    const p = pools();
    await p.run('globex', { n: 3 });
    const g = gate();
    const held = p.run<{ sum: number }>('acme', { gate: g.gate, n: 10 }, { name: 'hold' });
    await g.started();

    let closed = false;
    const closing = p.close().then(() => {
      closed = true;
    });
    await expectCodedRejection(p.run('acme', { n: 3 }), isSchedulerError, 'CLOSED');
    await sleep(20);
    expect(closed).toBe(false);

    g.release();
    expect((await held).sum).toBe(45);
    await closing;
    expect(p.stats()).toMatchObject({ pools: 0, tenants: {} });
    await p.close();
    await expectCodedRejection(p.run('globex', { n: 3 }), isSchedulerError, 'CLOSED');
  });
});

describe('options', () => {
  const bad: Array<[string, unknown, string]> = [
    ['not an object', null, 'options'],
    ['no filename', {}, 'filename'],
    ['a relative filename', { filename: 'fixtures/pool-tasks.mjs' }, 'filename'],
    ['a filename that does not exist', { filename: `${WORKER}.missing` }, 'filename'],
    ['a filename that is a number', { filename: 42 }, 'filename'],
    ['maxPools 0', { filename: WORKER, maxPools: 0 }, 'maxPools'],
    ['maxPools 1.5', { filename: WORKER, maxPools: 1.5 }, 'maxPools'],
    ['threadsPerPool "2"', { filename: WORKER, threadsPerPool: '2' }, 'threadsPerPool'],
    ['resourceLimits 64', { filename: WORKER, resourceLimits: 64 }, 'resourceLimits'],
    ['a negative heap', { filename: WORKER, resourceLimits: { maxOldGenerationSizeMb: -1 } }, 'resourceLimits.maxOldGenerationSizeMb'],
    ['an unknown limit', { filename: WORKER, resourceLimits: { heapMb: 64 } }, 'resourceLimits.heapMb'],
    ['idleTimeoutMs -1', { filename: WORKER, idleTimeoutMs: -1 }, 'idleTimeoutMs'],
    ['an unknown option', { filename: WORKER, maxThreads: 4 }, 'maxThreads'],
  ];
  for (const [what, options, field] of bad) {
    it(`refuses ${what}, naming ${field}`, () => {
      expectCodedError(() => createTenantPools(options as TenantPoolsOptions), isSchedulerError, 'INVALID_ARGUMENT', field);
    });
  }

  it('accepts a file URL, as a URL or a string, and Infinity as idleTimeoutMs', async () => {
    for (const filename of [WORKER_URL, WORKER_URL.href]) {
      const p = createTenantPools({ filename, idleTimeoutMs: Infinity });
      open.push(p);
      expect(await p.run('acme', { n: 3 })).toEqual({ sum: 3, tenant_id: 'acme' });
    }
  });

  it('refuses bad run arguments as rejections naming the field', async () => {
    const p = pools();
    await expectCodedRejection(p.run(42 as unknown as string, {}), isSchedulerError, 'INVALID_ARGUMENT', 'tenant_id');
    await expectCodedRejection(p.run('acme', {}, { signal: 'stop' as unknown as AbortSignal }), isSchedulerError, 'INVALID_ARGUMENT', 'signal');
    await expectCodedRejection(p.run('acme', {}, { name: '' }), isSchedulerError, 'INVALID_ARGUMENT', 'name');
    await expectCodedRejection(p.run('acme', {}, { priority: 1 } as never), isSchedulerError, 'INVALID_ARGUMENT', 'priority');
    expect(p.stats().pools).toBe(0);
  });
});
