// Circuit breakers per (tenant, service), idempotency keys per tenant, retries and the poison queue,
// adaptive concurrency, and every INVALID_ARGUMENT naming its field.
import { describe, expect, it } from 'vitest';
import { createScheduler, isSchedulerError, type SchedulerOptions } from '@tenantry/scheduler';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { deferred, settle, sleep } from './helpers.js';

const boom = () => Promise.reject(new Error('upstream down'));

describe('circuit breakers', () => {
  it('open → CIRCUIT_OPEN with retry_after_ms → half-open lets one through → success closes', async () => {
    const s = createScheduler({ concurrency: 4, breaker: { threshold: 2, halfOpenAfterMs: 30 } });
    s.setTenant('a');
    s.setTenant('b');
    const opts = { tenant_id: 'a', service: 'llm' };
    for (let i = 0; i < 2; i++) await expect(s.submit(boom, opts)).rejects.toThrow('upstream down');
    expect(s.circuit('a', 'llm')).toBe('open');
    const open = (await s.submit(() => 1, opts).catch((e: unknown) => e)) as { code: string; field: string; retry_after_ms: number };
    expect(open).toMatchObject({ code: 'CIRCUIT_OPEN', field: 'service' });
    expect(open.retry_after_ms).toBeGreaterThan(0);
    expect(open.retry_after_ms).toBeLessThanOrEqual(30);
    // Another tenant's breaker for the same service is its own.
    expect(await s.submit(() => 'b ok', { tenant_id: 'b', service: 'llm' })).toBe('b ok');
    await sleep(open.retry_after_ms + 5);
    const probe = deferred<string>();
    const test = s.submit(() => probe.promise, opts);
    await settle();
    expect(s.circuit('a', 'llm')).toBe('half_open');
    await expectCodedRejection(s.submit(() => 1, opts), isSchedulerError, 'CIRCUIT_OPEN', 'service');
    probe.resolve('probe ok');
    expect(await test).toBe('probe ok');
    expect(s.circuit('a', 'llm')).toBe('closed');
    expect(await s.submit(() => 'closed', opts)).toBe('closed');
  });
});

describe('idempotency keys', () => {
  it('a duplicate joins the queued or running task, then gets the stored result until the TTL passes', async () => {
    let now = 0;
    const s = createScheduler({ concurrency: 1, idempotencyTtlMs: 1000, clock: () => now });
    s.setTenant('a');
    s.setTenant('b');
    let runs = 0;
    const gate = deferred();
    const fn = async () => {
      runs++;
      await gate.promise;
      return `result ${runs}`;
    };
    const first = s.submit(fn, { tenant_id: 'a', key: 'k' });
    const joined = s.submit(fn, { tenant_id: 'a', key: 'k' });
    await settle();
    gate.resolve();
    expect(await first).toBe('result 1');
    expect(await joined).toBe('result 1');
    expect(await s.submit(fn, { tenant_id: 'a', key: 'k' })).toBe('result 1');
    expect(runs).toBe(1);
    // Per tenant: b's "k" is another task.
    expect(await s.submit(fn, { tenant_id: 'b', key: 'k' })).toBe('result 2');
    now += 1000;
    expect(await s.submit(fn, { tenant_id: 'a', key: 'k' })).toBe('result 3');
  });

  it('a failed task leaves no stored result; a joiner with its own signal can leave alone', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('a');
    await expect(s.submit(boom, { tenant_id: 'a', key: 'x' })).rejects.toThrow('upstream down');
    expect(await s.submit(() => 'again', { tenant_id: 'a', key: 'x' })).toBe('again');
    const gate = deferred<string>();
    const first = s.submit(() => gate.promise, { tenant_id: 'a', key: 'y' });
    const c = new AbortController();
    const joiner = s.submit(() => 'unused', { tenant_id: 'a', key: 'y', signal: c.signal });
    c.abort();
    await expectCodedRejection(joiner, isSchedulerError, 'ABORTED');
    gate.resolve('first');
    expect(await first).toBe('first');
  });
});

describe('retries and the poison queue', () => {
  it('retryable failures are retried with backoff, poisoned after N, listed, and re-driven', async () => {
    const s = createScheduler({
      concurrency: 2,
      retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2, retryable: (e) => (e as { retryable?: boolean }).retryable === true },
    });
    s.setTenant('a');
    let calls = 0;
    let healthy = false;
    const fn = async () => {
      calls++;
      if (!healthy) throw Object.assign(new Error('flaky'), { retryable: true });
      return 'ok';
    };
    const p = s.submit(fn, { tenant_id: 'a', service: 'svc', key: 'job-1' });
    const e = (await p.catch((x: unknown) => x)) as { code: string; cause: Error };
    expect(isSchedulerError(e)).toBe(true);
    expect(e.code).toBe('POISONED');
    expect(e.cause.message).toBe('flaky');
    expect(calls).toBe(3);
    const list = s.poisoned();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ tenant_id: 'a', domain: 'PROD', service: 'svc', key: 'job-1', attempts: 3 });
    healthy = true;
    expect(await s.redrive(list[0]!.id)).toBe('ok');
    expect(s.poisoned()).toHaveLength(0);
    await expectCodedRejection(s.redrive(list[0]!.id), isSchedulerError, 'INVALID_ARGUMENT', 'id');
  });

  it('a non-retryable failure reaches the caller as it is, after one try', async () => {
    const s = createScheduler({ concurrency: 1, retry: { attempts: 5, initialDelayMs: 1, retryable: () => false } });
    s.setTenant('a');
    let calls = 0;
    const own = new TypeError('bad request');
    await expect(s.submit(() => {
      calls++;
      throw own;
    }, { tenant_id: 'a' })).rejects.toBe(own);
    expect(calls).toBe(1);
    expect(s.poisoned()).toEqual([]);
  });
});

describe('adaptive concurrency', () => {
  it('stays within [min, max], backs off in an injected slow phase and recovers after it', async () => {
    let now = 0;
    let step = 0; // ms the clock moves per reading: 0 = fast, 100 = every task is slow
    const s = createScheduler({ concurrency: { min: 2, max: 16 }, clock: () => (now += step) });
    s.setTenant('t');
    const limits: number[] = [];
    let running = 0;
    let maxRunning = 0;
    s.on((e) => {
      if (e.type === 'concurrency') limits.push(e.limit);
    });
    const phase = async (n: number) => {
      const all: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        all.push(s.submit(async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await Promise.resolve();
          running--;
        }, { tenant_id: 't' }));
      }
      await Promise.all(all);
    };
    await phase(2000);
    expect(s.stats().concurrency).toBe(16);
    const mark = limits.length;
    step = 100;
    await phase(500);
    const slow = limits.slice(mark);
    expect(Math.min(...slow)).toBe(2);
    expect(s.stats().concurrency).toBeLessThan(16);
    step = 0;
    await phase(3000);
    expect(s.stats().concurrency).toBe(16);
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...limits)).toBeLessThanOrEqual(16);
    expect(maxRunning).toBeLessThanOrEqual(16);
  });
});

describe('INVALID_ARGUMENT names the field', () => {
  const bad: [string, unknown][] = [
    ['options', null],
    ['concurrency', {}],
    ['concurrency', { concurrency: 0 }],
    ['concurrency', { concurrency: 1.5 }],
    ['concurrency.min', { concurrency: { min: 0, max: 4 } }],
    ['concurrency.max', { concurrency: { min: 4, max: 2 } }],
    ['concurrency.initial', { concurrency: { min: 2, max: 4, initial: 9 } }],
    ['concurrency.step', { concurrency: { min: 2, max: 4, step: 1 } }],
    ['domains', { concurrency: 1, domains: { PROD: 0.5, SHADOW: 0.25, LAB: 0.15 } }],
    ['domains.LAB', { concurrency: 1, domains: { PROD: 0.6, SHADOW: 0.25, LAB: -0.15 } }],
    ['domains.DEV', { concurrency: 1, domains: { PROD: 0.6, SHADOW: 0.25, LAB: 0.15, DEV: 0 } }],
    ['maxQueued', { concurrency: 1, maxQueued: 0 }],
    ['maxQueuedPerTenant', { concurrency: 1, maxQueuedPerTenant: -1 }],
    ['clock', { concurrency: 1, clock: 5 }],
    ['idempotencyTtlMs', { concurrency: 1, idempotencyTtlMs: Infinity }],
    ['retry.attempts', { concurrency: 1, retry: {} }],
    ['retry.retryable', { concurrency: 1, retry: { attempts: 2, retryable: true } }],
    ['breaker.threshold', { concurrency: 1, breaker: { threshold: 0 } }],
    ['maxPoisoned', { concurrency: 1, maxPoisoned: 0 }],
    ['overload', { concurrency: 1, overload: 'yes' }],
    ['priority', { concurrency: 1, priority: 1 }],
  ];
  for (const [field, options] of bad) {
    it(`createScheduler: ${field}`, () => {
      expectCodedError(() => createScheduler(options as SchedulerOptions), isSchedulerError, 'INVALID_ARGUMENT', field);
    });
  }

  it('setTenant and submit', async () => {
    const s = createScheduler({ concurrency: 1 });
    expectCodedError(() => s.setTenant(''), isSchedulerError, 'INVALID_ARGUMENT', 'tenant_id');
    expectCodedError(() => s.setTenant('a', { weight: 0 }), isSchedulerError, 'INVALID_ARGUMENT', 'weight');
    expectCodedError(() => s.setTenant('a', { maxConcurrent: 0 }), isSchedulerError, 'INVALID_ARGUMENT', 'maxConcurrent');
    expectCodedError(() => s.setTenant('a', { maxQueued: 1.5 }), isSchedulerError, 'INVALID_ARGUMENT', 'maxQueued');
    s.setTenant('a');
    const cases: [string, unknown, unknown][] = [
      ['fn', 'not a function', { tenant_id: 'a' }],
      ['options', () => 1, null],
      ['tenant_id', () => 1, { tenant_id: 'a\u0000b' }],
      ['domain', () => 1, { tenant_id: 'a', domain: 'DEV' }],
      ['cost', () => 1, { tenant_id: 'a', cost: 0 }],
      ['key', () => 1, { tenant_id: 'a', key: '' }],
      ['timeout_ms', () => 1, { tenant_id: 'a', timeout_ms: 2 ** 31 }],
      ['service', () => 1, { tenant_id: 'a', service: 7 }],
      ['signal', () => 1, { tenant_id: 'a', signal: {} }],
      ['priority', () => 1, { tenant_id: 'a', priority: 1 }],
    ];
    for (const [field, fn, opts] of cases) {
      await expectCodedRejection(s.submit(fn as () => number, opts as { tenant_id: string }), isSchedulerError, 'INVALID_ARGUMENT', field);
    }
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 'nobody' }), isSchedulerError, 'UNKNOWN_TENANT', 'tenant_id');
    expectCodedError(() => s.pauseTenant('nobody'), isSchedulerError, 'UNKNOWN_TENANT', 'tenant_id');
    expectCodedError(() => s.pauseDomain('DEV' as 'LAB'), isSchedulerError, 'INVALID_ARGUMENT', 'domain');
  });
});
