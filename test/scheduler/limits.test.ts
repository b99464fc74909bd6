// Concurrency limits under load, queue limits with retry_after_ms, cancellation that frees at once and
// leaves nothing behind, pauses, and close().
import { describe, expect, it } from 'vitest';
import { createScheduler, isSchedulerError, type SchedulerEvent } from '@tenantry/scheduler';
import { expectCodedRejection } from '../helpers/errors.js';
import { rng } from '../helpers/random.js';
import { deferred, settle, timeouts } from './helpers.js';

describe('concurrency limit', () => {
  it('10⁶ submits in batches never run more than the limit at once', async () => {
    const limit = 8;
    const s = createScheduler({ concurrency: limit, maxQueued: 20_000 });
    const tenants = Array.from({ length: 50 }, (_, i) => `t${i}`);
    for (const t of tenants) s.setTenant(t, { weight: 1 + (t.length % 3) });
    const random = rng(1_000_000);
    const domains = ['PROD', 'SHADOW', 'LAB'] as const;
    let running = 0;
    let maxRunning = 0;
    let maxReported = 0;
    s.on((e) => {
      if (e.type === 'started') maxReported = Math.max(maxReported, s.stats().running);
    });
    const task = async () => {
      running++;
      if (running > maxRunning) maxRunning = running;
      await Promise.resolve();
      running--;
    };
    let completed = 0;
    for (let batch = 0; batch < 100; batch++) {
      const all: Promise<void>[] = [];
      for (let i = 0; i < 10_000; i++) {
        const r = random();
        all.push(s.submit(task, { tenant_id: tenants[r % 50]!, domain: domains[r % 3]!, cost: 1 + (r % 5) }));
      }
      await Promise.all(all);
      completed += all.length;
    }
    expect(completed).toBe(1_000_000);
    expect(maxRunning).toBe(limit);
    expect(maxReported).toBe(limit);
    const st = s.stats();
    expect([st.running, st.queued]).toEqual([0, 0]);
  });

  it('per-tenant maxConcurrent caps the tenant across domains; others use the rest', async () => {
    const s = createScheduler({ concurrency: 6 });
    s.setTenant('capped', { maxConcurrent: 2 });
    s.setTenant('free');
    const gate = deferred();
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) all.push(s.submit(() => gate.promise, { tenant_id: 'capped', domain: i % 2 ? 'LAB' : 'PROD' }));
    for (let i = 0; i < 10; i++) all.push(s.submit(() => gate.promise, { tenant_id: 'free' }));
    await settle();
    expect(s.stats().tenants.capped!.running).toBe(2);
    expect(s.stats().tenants.free!.running).toBe(4);
    gate.resolve();
    await Promise.all(all);
    expect(s.stats().tenants.capped!.completed).toBe(10);
  });
});

describe('queue limits', () => {
  it('maxQueuedPerTenant and a tenant maxQueued answer QUEUE_FULL with retry_after_ms; other tenants still queue', async () => {
    const s = createScheduler({ concurrency: 1, maxQueuedPerTenant: 3 });
    s.setTenant('a');
    s.setTenant('b', { maxQueued: 1 });
    const gate = deferred();
    const held = [s.submit(() => gate.promise, { tenant_id: 'a' })];
    await settle();
    for (let i = 0; i < 3; i++) held.push(s.submit(() => gate.promise, { tenant_id: 'a' }));
    const full = await s.submit(() => 1, { tenant_id: 'a' }).catch((e: unknown) => e);
    expect(isSchedulerError(full)).toBe(true);
    expect(full).toMatchObject({ code: 'QUEUE_FULL', field: 'tenant_id' });
    expect((full as { retry_after_ms: number }).retry_after_ms).toBeGreaterThanOrEqual(1);
    held.push(s.submit(() => gate.promise, { tenant_id: 'b' }));
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 'b' }), isSchedulerError, 'QUEUE_FULL', 'tenant_id');
    expect(s.stats().tenants.a!.rejected).toBe(1);
    gate.resolve();
    await Promise.all(held);
  });

  it('global maxQueued answers QUEUE_FULL, with retry_after_ms from the measured drain rate', async () => {
    let now = 0;
    const s = createScheduler({ concurrency: 1, maxQueued: 2, clock: () => now });
    s.setTenant('a');
    // Measure: tasks start 40 ms apart on the scheduler's clock.
    for (let i = 0; i < 20; i++) {
      await s.submit(() => {
        now += 40;
      }, { tenant_id: 'a' });
    }
    const gate = deferred();
    const held = [s.submit(() => gate.promise, { tenant_id: 'a' })];
    await settle();
    held.push(s.submit(() => gate.promise, { tenant_id: 'a' }), s.submit(() => gate.promise, { tenant_id: 'a' }));
    const full = (await s.submit(() => 1, { tenant_id: 'a' }).catch((e: unknown) => e)) as { code: string; field: string; retry_after_ms: number };
    expect(full.code).toBe('QUEUE_FULL');
    expect(full.field).toBe('maxQueued');
    expect(full.retry_after_ms).toBe(40);
    gate.resolve();
    await Promise.all(held);
  });
});

describe('cancellation', () => {
  it('10 000 abort / timeout cycles free every place and slot at once and leave no timer or listener', async () => {
    const s = createScheduler({ concurrency: 4 });
    s.setTenant('t');
    const before = timeouts();
    const random = rng(42);
    let called = 0;
    let signalled = 0;
    for (let round = 0; round < 100; round++) {
      const all: Promise<unknown>[] = [];
      const controllers: AbortController[] = [];
      for (let i = 0; i < 100; i++) {
        const r = random() % 3;
        // A task that ignores its signal and never settles: the scheduler must not wait for it.
        const hang = (signal: AbortSignal) => new Promise<never>(() => {
          called++;
          signal.addEventListener('abort', () => signalled++, { once: true });
        });
        if (r === 2) {
          all.push(s.submit(hang, { tenant_id: 't', timeout_ms: 1 }).then(() => 'ok', (e: { code: string }) => e.code));
        } else {
          const c = new AbortController();
          controllers.push(c);
          all.push(s.submit(hang, { tenant_id: 't', signal: c.signal }).then(() => 'ok', (e: { code: string }) => e.code));
        }
      }
      await settle(1);
      for (const c of controllers) c.abort();
      const codes = await Promise.all(all);
      expect(codes.every((c) => c === 'ABORTED' || c === 'TIMEOUT')).toBe(true);
      const st = s.stats();
      expect([st.running, st.queued]).toEqual([0, 0]);
    }
    const t = s.stats().tenants.t!;
    expect([t.queued, t.running, t.completed]).toEqual([0, 0, 0]);
    expect(t.rejected + t.failed).toBe(10_000);
    expect(called).toBeGreaterThan(0);
    expect(signalled).toBe(called); // every fn that ran saw its signal abort
    expect(timeouts()).toBeLessThanOrEqual(before); // 5 000 timed-out tasks: none of their timers is left
  });

  it('an abort while running hands the slot to the next task before the aborted fn settles', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('t');
    const c = new AbortController();
    let seen: unknown;
    const first = s.submit((signal) => new Promise(() => {
      signal.addEventListener('abort', () => (seen = signal.reason));
    }), { tenant_id: 't', signal: c.signal });
    const second = s.submit(() => 'second', { tenant_id: 't' });
    await settle();
    c.abort();
    await expectCodedRejection(first, isSchedulerError, 'ABORTED', 'signal');
    expect(await second).toBe('second');
    expect((seen as { code: string }).code).toBe('ABORTED');
  });

  it('an already aborted signal is refused at submit', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('t');
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 't', signal: AbortSignal.abort() }), isSchedulerError, 'ABORTED', 'signal');
  });
});

describe('pauses and close', () => {
  it('a paused tenant is refused new work while what it had queued drains; resume admits again; each change is an event', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('t');
    const events: SchedulerEvent['type'][] = [];
    s.on((e) => events.push(e.type));
    const gate = deferred();
    const first = s.submit(() => gate.promise, { tenant_id: 't' });
    const queued = s.submit(() => 'later', { tenant_id: 't' });
    await settle();
    s.pauseTenant('t');
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 't' }), isSchedulerError, 'TENANT_PAUSED', 'tenant_id');
    gate.resolve();
    await first;
    expect(await queued).toBe('later');
    expect(s.stats().tenants.t!.queued).toBe(0);
    s.resumeTenant('t');
    expect(await s.submit(() => 'again', { tenant_id: 't' })).toBe('again');
    expect(events).toContain('tenant_paused');
    expect(events).toContain('tenant_resumed');
  });

  it('a paused domain is refused new work while its queue drains; other domains run', async () => {
    const s = createScheduler({ concurrency: 2 });
    s.setTenant('t');
    const events: SchedulerEvent[] = [];
    s.on((e) => events.push(e));
    const gate = deferred();
    const running = [s.submit(() => gate.promise, { tenant_id: 't', domain: 'LAB' }), s.submit(() => gate.promise, { tenant_id: 't', domain: 'LAB' })];
    const queued = s.submit(() => 'queued lab', { tenant_id: 't', domain: 'LAB' });
    await settle();
    s.pauseDomain('LAB');
    gate.resolve();
    await Promise.all(running);
    expect(await queued).toBe('queued lab');
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 't', domain: 'LAB' }), isSchedulerError, 'DOMAIN_PAUSED', 'domain');
    expect(await s.submit(() => 'prod', { tenant_id: 't' })).toBe('prod');
    s.resumeDomain('LAB');
    expect(await s.submit(() => 'lab', { tenant_id: 't', domain: 'LAB' })).toBe('lab');
    expect(events.filter((e) => e.type === 'domain_paused' || e.type === 'domain_resumed')).toEqual([
      { type: 'domain_paused', domain: 'LAB' }, { type: 'domain_resumed', domain: 'LAB' },
    ]);
  });

  it('close() rejects the queued with CLOSED, lets the running finish, and refuses new work', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('t');
    const gate = deferred<string>();
    const running = s.submit(() => gate.promise, { tenant_id: 't' });
    const queued = s.submit(() => 'never', { tenant_id: 't', timeout_ms: 60_000 });
    const before = timeouts();
    await settle();
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await expectCodedRejection(queued, isSchedulerError, 'CLOSED');
    expect(timeouts()).toBe(before - 1); // the queued task's deadline timer is gone
    await expectCodedRejection(s.submit(() => 1, { tenant_id: 't' }), isSchedulerError, 'CLOSED');
    await settle();
    expect(closed).toBe(false);
    gate.resolve('done');
    expect(await running).toBe('done');
    await closing;
    expect(closed).toBe(true);
  });
});

describe('the task signal', () => {
  it('is given to a fn that declares a parameter, and aborted on timeout; a fn without one gets no argument', async () => {
    const s = createScheduler({ concurrency: 2 });
    s.setTenant('t');
    let seen: AbortSignal | undefined;
    const slow = s.submit((signal: AbortSignal) => {
      seen = signal;
      return new Promise((resolve) => signal.addEventListener('abort', () => resolve('stopped')));
    }, { tenant_id: 't', timeout_ms: 20 });
    await expectCodedRejection(slow, isSchedulerError, 'TIMEOUT');
    expect(seen?.aborted).toBe(true);
    const args = await s.submit(function (this: unknown) { return arguments.length; }, { tenant_id: 't' });
    expect(args).toBe(0);
    await s.close();
  });
});
