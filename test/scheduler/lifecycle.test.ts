// The agent lifecycle (createAgentSupervisor): transitions driven by a health() the test controls, restarts
// after crashes, quarantine of a crash loop, the recovery timeout, resume, stop, one event per transition,
// close() leaving no timer, and every INVALID_ARGUMENT naming its field. Real timers with a short health
// interval; the test waits for events, never for an amount of time, and asserts nothing about time.
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentSupervisor, isSchedulerError, type Agent, type AgentEvent, type AgentSupervisor, type AgentSupervisorOptions, type HealthSample } from '@tenantry/scheduler';
import { expectCodedError } from '../helpers/errors.js';
import { deferred, timeouts } from './helpers.js';

const HEALTHY: HealthSample = { latency_ms: 10, error_rate: 0 };
const base = {
  healthIntervalMs: 5,
  thresholds: { latencyMs: 100, errorRate: 0.1, faults: 3, recoveryTimeoutMs: 1000 },
  restart: { maxRestarts: 3, windowMs: 60_000, backoffMs: 1 },
} satisfies AgentSupervisorOptions;

const open: AgentSupervisor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function supervisor(overrides: Partial<AgentSupervisorOptions> = {}) {
  const now = { value: 1_000 };
  const sup = createAgentSupervisor({ ...base, clock: () => now.value, ...overrides });
  open.push(sup);
  const events: AgentEvent[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  sup.on((e) => {
    events.push(e);
    for (const w of waiters.slice()) if (w.test()) waiters.splice(waiters.indexOf(w), 1), w.resolve();
  });
  return {
    sup,
    now,
    events,
    /** Resolves once `n` events with this reason (and agent, when given) have been seen, counting past ones. */
    until(reason: AgentEvent['reason'], n = 1, agent?: string): Promise<void> {
      const test = () => events.filter((e) => e.reason === reason && (agent === undefined || e.agent_id === agent)).length >= n;
      if (test()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    /** The agent's transitions as `FROM→TO REASON`. */
    path(agent: string): string[] {
      return events.filter((e) => e.agent_id === agent).map((e) => `${e.from}→${e.to} ${e.reason}`);
    },
  };
}

/** An agent whose run loop runs until its signal aborts, and whose health() answers what the test sets. */
function fakeAgent(id: string, tenant_id = 'acme') {
  let answer: HealthSample | Error | 'hang' | 'malformed' = HEALTHY;
  const signals: AbortSignal[] = [];
  let checks = 0;
  const waiting: { at: number; resolve: () => void }[] = [];
  const agent: Agent = {
    id,
    tenant_id,
    start(signal) {
      signals.push(signal);
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
    health() {
      checks++;
      for (const w of waiting.slice()) if (checks >= w.at) waiting.splice(waiting.indexOf(w), 1), w.resolve();
      if (answer === 'hang') return new Promise<HealthSample>(() => {});
      if (answer === 'malformed') return { latency_ms: -1, error_rate: 0 };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return {
    agent,
    signals,
    /** Resolves when health() has been called `n` more times (so at least n − 1 more checks were applied). */
    checked(n: number): Promise<void> {
      return new Promise((resolve) => waiting.push({ at: checks + n, resolve }));
    },
    set(a: HealthSample | Error | 'hang' | 'malformed') {
      answer = a;
    },
  };
}

/** Every event continues where the agent's previous one ended, starting from CREATED. */
function expectChained(events: AgentEvent[], agent: string): void {
  let state = 'CREATED';
  for (const e of events.filter((x) => x.agent_id === agent)) {
    expect(e.from).toBe(state);
    state = e.to;
  }
}

describe('agent lifecycle: health-driven transitions', () => {
  it('ACTIVE → DEGRADED on latency or error rate above its threshold, back to ACTIVE when healthy; the loop keeps running', async () => {
    const t = supervisor();
    const a = fakeAgent('worker');
    t.sup.register(a.agent);
    expect(t.sup.status('worker')).toMatchObject({ state: 'CREATED', running: false, tenant_id: 'acme' });
    t.sup.start('worker');
    expect(t.sup.status('worker')).toMatchObject({ state: 'ACTIVE', running: true });
    a.set({ latency_ms: 101, error_rate: 0 });
    await t.until('LATENCY');
    expect(t.sup.status('worker').state).toBe('DEGRADED');
    a.set({ latency_ms: 100, error_rate: 0.1 }); // equal to both thresholds: healthy
    await t.until('RECOVERED');
    a.set({ latency_ms: 0, error_rate: 0.5 });
    await t.until('ERROR_RATE');
    a.set(HEALTHY);
    await t.until('RECOVERED', 2);
    expect(t.path('worker')).toEqual([
      'CREATED→ACTIVE STARTED',
      'ACTIVE→DEGRADED LATENCY',
      'DEGRADED→ACTIVE RECOVERED',
      'ACTIVE→DEGRADED ERROR_RATE',
      'DEGRADED→ACTIVE RECOVERED',
    ]);
    expect(a.signals).toHaveLength(1);
    expect(a.signals[0]?.aborted).toBe(false);
    expect(t.events.every((e) => e.tenant_id === 'acme' && e.at === 1_000)).toBe(true);
  });

  it('DEGRADED → PAUSED after recoveryTimeoutMs by the clock without recovery; the loop is aborted; resume starts a fresh one', async () => {
    const t = supervisor();
    const a = fakeAgent('slow');
    t.sup.register(a.agent);
    t.sup.start('slow');
    a.set({ latency_ms: 5_000, error_rate: 0 });
    await t.until('LATENCY');
    const degradedAt = t.now.value;
    t.now.value = degradedAt + 999;
    // Still DEGRADED after more checks one millisecond short of the timeout.
    await a.checked(3);
    expect(t.sup.status('slow').state).toBe('DEGRADED');
    t.now.value = degradedAt + 1000;
    await t.until('RECOVERY_TIMEOUT');
    expect(t.sup.status('slow')).toMatchObject({ state: 'PAUSED', running: false });
    expect(a.signals[0]?.aborted).toBe(true);
    expect(t.events.at(-1)).toMatchObject({ from: 'DEGRADED', to: 'PAUSED', reason: 'RECOVERY_TIMEOUT', at: degradedAt + 1000 });

    a.set(HEALTHY);
    t.sup.resume('slow');
    expect(t.sup.status('slow')).toMatchObject({ state: 'ACTIVE', running: true, faults: 0 });
    expect(a.signals).toHaveLength(2);
    expect(a.signals[1]?.aborted).toBe(false);
    expect(t.path('slow').slice(-2)).toEqual(['DEGRADED→PAUSED RECOVERY_TIMEOUT', 'PAUSED→ACTIVE RESUMED']);
    // Only a PAUSED agent resumes.
    expectCodedError(() => t.sup.resume('slow'), isSchedulerError, 'INVALID_ARGUMENT', 'id');
  });

  it('repeated faults: a throwing, hung or malformed health() is a fault; `faults` consecutive ones pause the agent', async () => {
    const t = supervisor();
    const thrower = fakeAgent('thrower');
    const hung = fakeAgent('hung');
    const malformed = fakeAgent('malformed');
    for (const x of [thrower, hung, malformed]) t.sup.register(x.agent);
    thrower.set(new Error('health endpoint down'));
    hung.set('hang');
    malformed.set('malformed');
    for (const id of ['thrower', 'hung', 'malformed']) t.sup.start(id);
    await Promise.all(['thrower', 'hung', 'malformed'].map((id) => t.until('FAULTS', 1, id)));
    for (const id of ['thrower', 'hung', 'malformed']) {
      expect(t.path(id)).toEqual(['CREATED→ACTIVE STARTED', 'ACTIVE→DEGRADED FAULT', 'DEGRADED→PAUSED FAULTS']);
      expect(t.sup.status(id)).toMatchObject({ state: 'PAUSED', faults: 3, running: false });
    }
    const errorOf = (id: string) => t.events.find((e) => e.agent_id === id && e.reason === 'FAULTS')?.error;
    expect(errorOf('thrower')).toMatchObject({ message: 'health endpoint down' });
    expect(errorOf('hung')).toMatchObject({ code: 'TIMEOUT' });
    expect(errorOf('malformed')).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'health' });
  });

  it('a healthy sample resets the fault count, so faults that are not consecutive never pause', async () => {
    const t = supervisor({ thresholds: { ...base.thresholds, faults: 2 } });
    const a = fakeAgent('flaky');
    t.sup.register(a.agent);
    t.sup.start('flaky');
    for (let round = 1; round <= 3; round++) {
      a.set(new Error('blip'));
      await t.until('FAULT', round);
      a.set(HEALTHY);
      await t.until('RECOVERED', round);
      expect(t.sup.status('flaky').faults).toBe(0);
    }
    expect(t.events.some((e) => e.reason === 'FAULTS')).toBe(false);
    expect(t.sup.status('flaky').state).toBe('ACTIVE');
  });
});

describe('agent lifecycle: self-healing', () => {
  it('a crashed run loop (rejected or thrown) restarts after the backoff and recovers at the next check', async () => {
    const t = supervisor();
    let starts = 0;
    const running = deferred();
    const agent: Agent = {
      id: 'crashy',
      tenant_id: 'acme',
      start(signal) {
        starts++;
        if (starts === 1) return Promise.reject(new Error('first crash'));
        if (starts === 2) throw new Error('second crash');
        running.resolve();
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      },
    };
    t.sup.register(agent);
    t.sup.start('crashy');
    await running.promise;
    await t.until('RECOVERED');
    expect(starts).toBe(3);
    expect(t.sup.status('crashy')).toMatchObject({ state: 'ACTIVE', running: true, restarts: 2 });
    expect(t.path('crashy')).toEqual([
      'CREATED→ACTIVE STARTED',
      'ACTIVE→DEGRADED CRASHED',
      'DEGRADED→DEGRADED RESTARTED',
      'DEGRADED→DEGRADED CRASHED',
      'DEGRADED→DEGRADED RESTARTED',
      'DEGRADED→ACTIVE RECOVERED',
    ]);
    const crashes = t.events.filter((e) => e.reason === 'CRASHED').map((e) => (e.error as Error).message);
    expect(crashes).toEqual(['first crash', 'second crash']);
  });

  it('more than maxRestarts crashes within windowMs quarantine the agent (TERMINATED, QUARANTINED)', async () => {
    const t = supervisor({ restart: { maxRestarts: 2, windowMs: 10_000, backoffMs: 1 } });
    let starts = 0;
    t.sup.register({ id: 'looping', tenant_id: 'acme', start: () => { starts++; throw new Error('crash loop'); } });
    t.sup.start('looping');
    await t.until('QUARANTINED');
    expect(starts).toBe(3); // the first run and maxRestarts restarts
    expect(t.sup.status('looping')).toMatchObject({ state: 'TERMINATED', running: false, restarts: 2 });
    expect(t.path('looping').slice(-2)).toEqual(['DEGRADED→DEGRADED CRASHED', 'DEGRADED→TERMINATED QUARANTINED']);
    expect(t.events.at(-1)?.error).toMatchObject({ message: 'crash loop' });
    expectChained(t.events, 'looping');
  });

  it('crashes spread wider than windowMs (by the clock) never quarantine', async () => {
    const t = supervisor({ restart: { maxRestarts: 1, windowMs: 10_000, backoffMs: 1 } });
    let starts = 0;
    t.sup.register({
      id: 'rare',
      tenant_id: 'acme',
      start: () => {
        starts++;
        t.now.value += 10_000; // each crash falls outside the previous one's window
        throw new Error('rare crash');
      },
    });
    t.sup.start('rare');
    await t.until('RESTARTED', 5);
    expect(starts).toBeGreaterThanOrEqual(5);
    expect(t.events.some((e) => e.reason === 'QUARANTINED')).toBe(false);
    await t.sup.stop('rare');
    expect(t.sup.status('rare').state).toBe('TERMINATED');
  });
});

describe('agent lifecycle: stop, exit and events', () => {
  it('stop: any state → TERMINATED (STOPPED); the loop is aborted and stop resolves once it settled; stopping again is a no-op', async () => {
    const t = supervisor();
    const a = fakeAgent('worker');
    const idle = fakeAgent('idle');
    t.sup.register(a.agent);
    t.sup.register(idle.agent);
    t.sup.start('worker');
    let settled = false;
    const stopped = t.sup.stop('worker').then(() => {
      settled = true;
    });
    expect(t.sup.status('worker')).toMatchObject({ state: 'TERMINATED', running: false });
    expect(a.signals[0]?.aborted).toBe(true);
    expect(isSchedulerError(a.signals[0]?.reason)).toBe(true);
    await stopped;
    expect(settled).toBe(true);
    await t.sup.stop('worker');
    await t.sup.stop('idle'); // from CREATED: never ran
    expect(idle.signals).toHaveLength(0);
    expect(t.path('worker')).toEqual(['CREATED→ACTIVE STARTED', 'ACTIVE→TERMINATED STOPPED']);
    expect(t.path('idle')).toEqual(['CREATED→TERMINATED STOPPED']);
    expectCodedError(() => t.sup.start('worker'), isSchedulerError, 'INVALID_ARGUMENT', 'id');
    expectCodedError(() => t.sup.resume('worker'), isSchedulerError, 'INVALID_ARGUMENT', 'id');
    // A TERMINATED agent's id may be registered again.
    t.sup.register(fakeAgent('worker').agent);
    expect(t.sup.status('worker').state).toBe('CREATED');
  });

  it('a run loop that fulfils on its own ends the agent (EXITED), without a restart', async () => {
    const t = supervisor();
    let starts = 0;
    t.sup.register({ id: 'batch', tenant_id: 'acme', start: async () => { starts++; } });
    t.sup.start('batch');
    await t.until('EXITED');
    expect(starts).toBe(1);
    expect(t.path('batch')).toEqual(['CREATED→ACTIVE STARTED', 'ACTIVE→TERMINATED EXITED']);
  });

  it('one event per transition, each from the state the previous one left; unsubscribe stops delivery', async () => {
    const t = supervisor({ thresholds: { ...base.thresholds, faults: 2 } });
    const mine: AgentEvent[] = [];
    const off = t.sup.on((e) => mine.push(e));
    const a = fakeAgent('tour', 'globex');
    t.sup.register(a.agent);
    t.sup.start('tour');
    a.set({ latency_ms: 1_000, error_rate: 0 });
    await t.until('LATENCY');
    a.set(new Error('x'));
    await t.until('FAULTS');
    a.set(HEALTHY);
    t.sup.resume('tour');
    await t.until('RESUMED');
    off();
    await t.sup.stop('tour');
    expect(t.path('tour')).toEqual([
      'CREATED→ACTIVE STARTED',
      'ACTIVE→DEGRADED LATENCY',
      'DEGRADED→PAUSED FAULTS',
      'PAUSED→ACTIVE RESUMED',
      'ACTIVE→TERMINATED STOPPED',
    ]);
    expectChained(t.events, 'tour');
    expect(mine.map((e) => e.reason)).toEqual(['STARTED', 'LATENCY', 'FAULTS', 'RESUMED']);
    expect(t.events.every((e) => e.agent_id === 'tour' && e.tenant_id === 'globex')).toBe(true);
    expect(t.sup.list().map((s) => [s.id, s.state])).toEqual([['tour', 'TERMINATED']]);
  });

  it('a listener may stop the agent from its event; the rest of that transition does not apply', async () => {
    const t = supervisor({ thresholds: { ...base.thresholds, faults: 1 } });
    t.sup.on((e) => {
      if (e.reason === 'FAULT') void t.sup.stop(e.agent_id);
    });
    const a = fakeAgent('short');
    t.sup.register(a.agent);
    a.set(new Error('down'));
    t.sup.start('short');
    await t.until('STOPPED');
    expect(t.path('short')).toEqual(['CREATED→ACTIVE STARTED', 'ACTIVE→DEGRADED FAULT', 'DEGRADED→TERMINATED STOPPED']);
  });
});

describe('agent lifecycle: close()', () => {
  it('terminates every agent (CLOSED), leaves no timer behind, and refuses new work; all its timers are unref’d', async () => {
    // Unref'd timers are not listed by getActiveResourcesInfo, so while the supervisor runs here its timers'
    // unref() only records the call: they stay visible, and the count after close() can show a leak.
    const realTimeout = globalThis.setTimeout;
    const realInterval = globalThis.setInterval;
    const made: { unrefd: boolean }[] = [];
    const track = <F extends (...args: never[]) => NodeJS.Timeout>(real: F) =>
      ((...args: Parameters<F>) => {
        const handle = real(...args);
        const rec = { unrefd: false };
        made.push(rec);
        handle.unref = () => {
          rec.unrefd = true;
          return handle;
        };
        return handle;
      }) as unknown as F;
    const before = timeouts();
    let t: ReturnType<typeof supervisor>;
    globalThis.setTimeout = track(realTimeout) as typeof setTimeout;
    globalThis.setInterval = track(realInterval) as typeof setInterval;
    try {
      t = supervisor({ restart: { maxRestarts: 5, windowMs: 60_000, backoffMs: 600_000 } });
      const healthy = fakeAgent('healthy');
      const hung = fakeAgent('hung');
      hung.set('hang');
      t.sup.register(healthy.agent);
      t.sup.register(hung.agent);
      t.sup.register({ id: 'crashed', tenant_id: 'acme', start: () => Promise.reject(new Error('waits for its restart')) });
      for (const id of ['healthy', 'hung', 'crashed']) t.sup.start(id);
      await t.until('CRASHED'); // its restart timer is set
      await t.until('FAULT', 1, 'hung'); // the health tick has run
      expect(timeouts()).toBeGreaterThanOrEqual(before + 2); // the tick and the restart timer
      await t.sup.close();
    } finally {
      globalThis.setTimeout = realTimeout;
      globalThis.setInterval = realInterval;
    }
    expect(timeouts()).toBeLessThanOrEqual(before);
    expect(made.length).toBeGreaterThanOrEqual(2);
    expect(made.every((m) => m.unrefd)).toBe(true);
    for (const id of ['healthy', 'hung', 'crashed']) {
      expect(t.sup.status(id).state).toBe('TERMINATED');
      expect(t.path(id).at(-1)).toMatch(/→TERMINATED CLOSED$/);
    }
    expect(t.events.filter((e) => e.reason === 'RESTARTED')).toHaveLength(0);
    expect(t.sup.list().every((s) => !s.running)).toBe(true);
    const later = fakeAgent('later');
    for (const fn of [() => t.sup.register(later.agent), () => t.sup.start('healthy'), () => t.sup.resume('healthy')]) {
      expectCodedError(fn, isSchedulerError, 'CLOSED');
    }
    await t.sup.close(); // again: nothing to do
  });
});

describe('agent lifecycle: bad options and arguments name the field', () => {
  const cases: [string, unknown][] = [
    ['options', null],
    ['thresholds', { ...base, thresholds: undefined }],
    ['restart', { ...base, restart: 3 }],
    ['extra', { ...base, extra: true }],
    ['clock', { ...base, clock: 5 }],
    ['healthIntervalMs', { ...base, healthIntervalMs: 0 }],
    ['healthIntervalMs', { ...base, healthIntervalMs: 2 ** 31 }],
    ['thresholds.latencyMs', { ...base, thresholds: { ...base.thresholds, latencyMs: -1 } }],
    ['thresholds.errorRate', { ...base, thresholds: { ...base.thresholds, errorRate: 1.5 } }],
    ['thresholds.faults', { ...base, thresholds: { ...base.thresholds, faults: 0 } }],
    ['thresholds.recoveryTimeoutMs', { ...base, thresholds: { ...base.thresholds, recoveryTimeoutMs: Number.NaN } }],
    ['thresholds.other', { ...base, thresholds: { ...base.thresholds, other: 1 } }],
    ['restart.maxRestarts', { ...base, restart: { ...base.restart, maxRestarts: 1.5 } }],
    ['restart.windowMs', { ...base, restart: { ...base.restart, windowMs: 0 } }],
    ['restart.backoffMs', { ...base, restart: { ...base.restart, backoffMs: -5 } }],
  ];
  it.each(cases)('createAgentSupervisor: %s', (field, options) => {
    expectCodedError(() => createAgentSupervisor(options as AgentSupervisorOptions), isSchedulerError, 'INVALID_ARGUMENT', field);
  });

  it('register, start, status and on check their arguments', () => {
    const t = supervisor();
    const start = () => undefined;
    const bad: [string, unknown][] = [
      ['agent', 'worker'],
      ['agent.id', { id: '', tenant_id: 'acme', start }],
      ['agent.tenant_id', { id: 'w', tenant_id: 'bad\u0000id', start }],
      ['agent.tenant_id', { id: 'w', tenant_id: 42, start }],
      ['agent.start', { id: 'w', tenant_id: 'acme' }],
      ['agent.health', { id: 'w', tenant_id: 'acme', start, health: 'ok' }],
    ];
    for (const [field, agent] of bad) expectCodedError(() => t.sup.register(agent as Agent), isSchedulerError, 'INVALID_ARGUMENT', field);
    t.sup.register(fakeAgent('w').agent);
    expectCodedError(() => t.sup.register(fakeAgent('w').agent), isSchedulerError, 'INVALID_ARGUMENT', 'agent.id');
    expectCodedError(() => t.sup.start('nobody'), isSchedulerError, 'INVALID_ARGUMENT', 'id');
    expectCodedError(() => t.sup.status(7 as unknown as string), isSchedulerError, 'INVALID_ARGUMENT', 'id');
    expectCodedError(() => t.sup.on('listener' as never), isSchedulerError, 'INVALID_ARGUMENT', 'listener');
    expect(t.sup.list().map((s) => s.id)).toEqual(['w']);
  });
});
