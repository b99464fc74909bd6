// Backpressure stages over a real scheduler: each crossing becomes a control event through the host's sink
// (here a sink that applies it to the scheduler, as the gateway's control plane does after writing it), and
// is lifted with hysteresis; a stage lifts only what it set.
import { describe, expect, it } from 'vitest';
import type { ControlEvent } from '@tenantry/core';
import { createBackpressure, createScheduler, isSchedulerError, type Scheduler } from '@tenantry/scheduler';
import { deferred, settle } from './helpers.js';

/** A sink that records each event and applies pauses to the scheduler, as a host would once they are durable. */
function applyingSink(s: Scheduler, log: ControlEvent[]) {
  return async (e: ControlEvent): Promise<void> => {
    log.push(e);
    if (e.type === 'pause') (e.scope === 'tenant' ? s.pauseTenant(e.id) : s.pauseDomain(e.id as 'PROD'));
    if (e.type === 'resume') (e.scope === 'tenant' ? s.resumeTenant(e.id) : s.resumeDomain(e.id as 'PROD'));
  };
}

describe('backpressure', () => {
  it('pauses a tenant whose queue is too deep, durably first, and resumes it once it drained', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('a');
    s.setTenant('b');
    const log: ControlEvent[] = [];
    const bp = createBackpressure({ scheduler: s, sink: applyingSink(s, log), tenants: () => ['a', 'b'], stages: { tenantQueueDepth: 4 }, intervalMs: 0 });
    const gate = deferred();
    const tasks = Array.from({ length: 6 }, () => s.submit(() => gate.promise, { tenant_id: 'a' }));
    await settle();
    expect(await bp.evaluate()).toEqual([{ type: 'pause', scope: 'tenant', id: 'a', by: 'backpressure', reason: 'queue depth 5 (limit 4)' }]);
    const refused = await s.submit(() => 1, { tenant_id: 'a' }).then(() => null, (e: unknown) => e);
    expect(isSchedulerError(refused) && refused.code).toBe('TENANT_PAUSED');
    const other = s.submit(() => 2, { tenant_id: 'b' }); // another tenant is still admitted
    // Still deep enough to stay paused (3 queued ≥ 0.5 × 4): no flapping.
    expect(await bp.evaluate()).toEqual([]);
    gate.resolve();
    await Promise.all(tasks);
    expect(await other).toBe(2);
    expect(await bp.evaluate()).toEqual([{ type: 'resume', scope: 'tenant', id: 'a', by: 'backpressure' }]);
    expect(await s.submit(() => 3, { tenant_id: 'a' })).toBe(3);
    expect(bp.state()).toEqual({ pausedTenants: [], pausedDomains: [], canarySuspended: [] });
    bp.close();
    await s.close();
  });

  it('pauses a tenant whose error rate crosses its threshold, and resumes it when the window has passed', async () => {
    let now = 1_000_000;
    const s = createScheduler({ concurrency: 4, clock: () => now });
    s.setTenant('flaky');
    const log: ControlEvent[] = [];
    const bp = createBackpressure({
      scheduler: s, sink: applyingSink(s, log), tenants: () => ['flaky'], stages: { tenantErrorRate: 0.5 }, minSamples: 10, windowMs: 5_000, intervalMs: 0, clock: () => now,
    });
    for (let i = 0; i < 12; i++) await s.submit(() => { if (i % 4 !== 0) throw new Error('upstream 500'); return i; }, { tenant_id: 'flaky' }).catch(() => undefined);
    const [pause] = await bp.evaluate();
    expect(pause).toMatchObject({ type: 'pause', scope: 'tenant', id: 'flaky' });
    expect((pause as { reason: string }).reason).toMatch(/^error rate 0\.750/);
    now += 6_000;
    expect(await bp.evaluate()).toEqual([{ type: 'resume', scope: 'tenant', id: 'flaky', by: 'backpressure' }]);
    bp.close();
    await s.close();
  });

  it('pauses a domain whose queue is too deep while the other domains go on', async () => {
    const s = createScheduler({ concurrency: 2 });
    s.setTenant('t');
    const log: ControlEvent[] = [];
    const bp = createBackpressure({ scheduler: s, sink: applyingSink(s, log), tenants: () => ['t'], stages: { domainQueueDepth: 5 }, intervalMs: 0 });
    const gate = deferred();
    const lab = Array.from({ length: 10 }, () => s.submit(() => gate.promise, { tenant_id: 't', domain: 'LAB' }));
    await settle();
    expect(await bp.evaluate()).toEqual([expect.objectContaining({ type: 'pause', scope: 'domain', id: 'LAB' })]);
    const refused = await s.submit(() => 1, { tenant_id: 't', domain: 'LAB' }).then(() => null, (e: unknown) => e);
    expect(isSchedulerError(refused) && refused.code).toBe('DOMAIN_PAUSED');
    gate.resolve();
    await Promise.all(lab);
    expect(await s.submit(() => 'prod', { tenant_id: 't', domain: 'PROD' })).toBe('prod');
    expect(await bp.evaluate()).toEqual([{ type: 'resume', scope: 'domain', id: 'LAB', by: 'backpressure' }]);
    bp.close();
    await s.close();
  });

  it('suspends canary traffic at the budget boundary and restores it once the budget is back above twice the boundary', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('t');
    let remaining = 0.5;
    const log: ControlEvent[] = [];
    const bp = createBackpressure({ scheduler: s, sink: applyingSink(s, log), tenants: () => ['t'], budget: async () => remaining, stages: { budgetBoundary: 0.1 }, intervalMs: 0 });
    expect(await bp.evaluate()).toEqual([]);
    remaining = 0.08;
    expect(await bp.evaluate()).toEqual([expect.objectContaining({ type: 'canary', tenant_id: 't', suspended: true })]);
    remaining = 0.15; // above the boundary, below twice it: stays suspended
    expect(await bp.evaluate()).toEqual([]);
    remaining = 0.9; // a new period
    expect(await bp.evaluate()).toEqual([expect.objectContaining({ type: 'canary', tenant_id: 't', suspended: false })]);
    bp.close();
    await s.close();
  });

  it('counts an action only once the sink took it, and never lifts an operator\'s pause', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('a');
    let fail = true;
    const bp = createBackpressure({
      scheduler: s, tenants: () => ['a'], stages: { tenantQueueDepth: 2 }, intervalMs: 0,
      sink: async (e) => {
        if (fail) throw new Error('control log unavailable');
        if (e.type === 'pause') s.pauseTenant(e.id);
      },
    });
    const gate = deferred();
    const tasks = Array.from({ length: 4 }, () => s.submit(() => gate.promise, { tenant_id: 'a' }));
    await settle();
    await expect(bp.evaluate()).rejects.toThrow('control log unavailable');
    expect(bp.state().pausedTenants).toEqual([]);
    fail = false;
    expect((await bp.evaluate()).map((e) => e.type)).toEqual(['pause']);
    gate.resolve();
    await Promise.all(tasks);
    // An operator pauses another way; the stage's own resume concerns only what it set.
    s.pauseTenant('a');
    expect((await bp.evaluate()).map((e) => e.type)).toEqual(['resume']);
    bp.close();
    await s.close();
  });

  it.each([
    [{ stages: { tenantQueueDepth: 0 } }, 'options.stages.tenantQueueDepth'],
    [{ stages: { tenantErrorRate: 1.5 } }, 'options.stages.tenantErrorRate'],
    [{ stages: { nope: 1 } }, 'options.stages.nope'],
    [{ stages: { budgetBoundary: 0.1 } }, 'options.budget'],
    [{ stages: {}, resumeRatio: 1 }, 'options.resumeRatio'],
    [{ stages: {}, sink: 'x' }, 'options.sink'],
  ])('refuses bad options, naming the field (%#)', async (extra, field) => {
    const s = createScheduler({ concurrency: 1 });
    const base = { scheduler: s, sink: async () => undefined, tenants: () => [], intervalMs: 0 };
    let caught: unknown;
    try {
      createBackpressure({ ...base, ...extra } as never);
    } catch (e) {
      caught = e;
    }
    expect(isSchedulerError(caught) && [caught.code, caught.field]).toEqual(['INVALID_ARGUMENT', field]);
    await s.close();
  });
});
