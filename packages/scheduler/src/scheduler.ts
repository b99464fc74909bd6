// The scheduler (docs/architecture.md, "@tenantry/scheduler"): when does admitted work run. One per node,
// between quota.reserve and the upstream call. A public interface over a hidden engine, as piscina does.
//
// Path of a task: submit checks (options, tenant, pauses, breaker, queue limits) → the tenant's flow in the
// fair queue of its domain (fair-queue.ts) → a slot, when the concurrency limit (concurrency.ts) has room and
// the domain rule (domains.ts) picks its domain → fn(signal), through the breaker of (tenant, service) when
// it names one (breakers.ts) → completed, retried after a backoff (back into the fair queue, holding no
// slot while it waits), poisoned (poison.ts) or failed.
//
// Cancellation frees at once: a task aborted or timed out while waiting leaves its queue; one aborted or
// timed out while running gives its slot back and rejects immediately, and its fn's signal is aborted. A fn
// that ignores its signal keeps running outside the scheduler's count; the scheduler never waits for it.
// Nothing lingers: each task's deadline timer and signal listener are removed when it settles.
import { DOMAINS, isDomain, type Domain } from '@tenantry/core';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { Breakers, Cancelled, type BreakerState } from './breakers.js';
import { AimdLimit, fixedLimit, type ConcurrencyLimit } from './concurrency.js';
import { nextDomain } from './domains.js';
import { invalidArgument, SchedulerError, type SchedulerErrorCode } from './errors.js';
import { emitToAll, type SchedulerEvent, type SchedulerListener } from './events.js';
import { FairQueue, type FairItem } from './fair-queue.js';
import { IdempotencyStore } from './idempotency.js';
import { checkTenant, resolveOptions, resolveSubmit, resolveTenant, type ResolvedOptions, type ResolvedSubmit, type ResolvedTenant, type SchedulerOptions, type SubmitOptions, type TenantOptions } from './options.js';
import { PoisonList, type PoisonedTask } from './poison.js';

/**
 * A task: gets an AbortSignal that aborts when its caller aborts or its deadline passes. A function that
 * declares no parameter (`fn.length === 0`) is called with none: the signal is built only for tasks that take it.
 */
export type Task<T> = (signal: AbortSignal) => Promise<T> | T;

export interface TenantStats {
  queued: number;
  running: number;
  /** Ran and resolved. */
  completed: number;
  /** Started, then ended without a result (its error, a timeout or abort while running, poisoned). */
  failed: number;
  /** Never started: refused at submit, or cancelled or closed while waiting. */
  rejected: number;
}

export interface DomainStats {
  queued: number;
  running: number;
  completed: number;
}

export interface SchedulerStats {
  /** The concurrency limit now (fixed, or where the adaptive limit stands). */
  concurrency: number;
  running: number;
  queued: number;
  tenants: Record<string, TenantStats>;
  domains: Record<Domain, DomainStats>;
}

export interface Scheduler {
  /** Registers a tenant or changes its options (weight applies to tasks served from now on). */
  setTenant(tenant_id: string, options?: TenantOptions): void;
  /**
   * Runs `fn` when its turn comes. Every refusal is a rejection (never a synchronous throw): a SchedulerError
   * with its code, or the task's own error. The tenant must have been set with setTenant (UNKNOWN_TENANT).
   */
  submit<T>(fn: Task<T>, options: SubmitOptions): Promise<T>;
  stats(): SchedulerStats;
  on(listener: SchedulerListener): () => void;
  /** New submits of the tenant reject TENANT_PAUSED; its queued tasks wait. */
  pauseTenant(tenant_id: string): void;
  resumeTenant(tenant_id: string): void;
  /** New submits to the domain reject DOMAIN_PAUSED; its queued tasks wait. */
  pauseDomain(domain: Domain): void;
  resumeDomain(domain: Domain): void;
  /** The breaker state of (tenant, service). */
  circuit(tenant_id: string, service: string): BreakerState;
  poisoned(): PoisonedTask[];
  /** Submits a poisoned task again, as first submitted (without its signal). */
  redrive<T = unknown>(id: number): Promise<T>;
  /** Rejects every queued task with CLOSED, refuses new ones, and resolves when no task runs. */
  close(): Promise<void>;
}

interface TenantState {
  readonly id: string;
  opts: ResolvedTenant;
  paused: boolean;
  eligible: boolean;
  queued: number;
  running: number;
  completed: number;
  failed: number;
  rejected: number;
  /** EWMA of the time between two of its tasks starting, ms; undefined before two have. */
  gap: number | undefined;
  lastStart: number | undefined;
}

type TaskState = 'queued' | 'running' | 'backoff' | 'done';

interface Job extends FairItem {
  readonly id: number;
  readonly fn: Task<unknown>;
  readonly opts: ResolvedSubmit;
  readonly tenant: TenantState;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  readonly submittedAt: number;
  state: TaskState;
  attempts: number;
  startedAt: number;
  controller: AbortController | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  backoff: IBackoff<unknown> | undefined;
  onAbort: (() => void) | undefined;
  /** Why the scheduler ended it while it ran (ABORTED or TIMEOUT), for the breaker's accounting. */
  endedBy: SchedulerErrorCode | undefined;
}

// EWMA weight of the newest gap between task starts (for QUEUE_FULL's retry_after_ms).
const GAP_ALPHA = 0.1;
// retry_after_ms before anything has been measured.
const UNMEASURED_RETRY_MS = 1000;

// Node 20 builds an AbortSignal on the first read of `controller.signal` (a setPrototypeOf on a fresh
// EventTarget), about 2.7 µs: more than the rest of a task's path through the scheduler
// (bench/scheduler.bench.mjs). A fn that declares no parameter has no name for the signal (short of
// `arguments` or a rest parameter), so it is called with none and no signal is built.
function invoke(fn: Task<unknown>, controller: AbortController | undefined): unknown {
  return fn.length === 0 || controller === undefined ? (fn as () => unknown)() : fn(controller.signal);
}

function ewma(prev: number | undefined, sample: number): number {
  return prev === undefined ? sample : prev + (sample - prev) * GAP_ALPHA;
}

class Engine implements Scheduler {
  private readonly o: ResolvedOptions;
  private readonly limiter: ConcurrencyLimit;
  private readonly tenants = new Map<string, TenantState>();
  private readonly queues = {} as Record<Domain, FairQueue<Job>>;
  private readonly domainRunning = { PROD: 0, SHADOW: 0, LAB: 0 } as Record<Domain, number>;
  private readonly domainCompleted = { PROD: 0, SHADOW: 0, LAB: 0 } as Record<Domain, number>;
  private readonly domainPaused = { PROD: false, SHADOW: false, LAB: false } as Record<Domain, boolean>;
  private readonly listeners = new Set<SchedulerListener>();
  private readonly idem: IdempotencyStore;
  private readonly breakers: Breakers;
  private readonly poison: PoisonList<{ fn: Task<unknown>; opts: ResolvedSubmit }>;
  private readonly retrying = new Set<Job>();
  private readonly idle: (() => void)[] = [];
  private running = 0;
  private queued = 0;
  private nextId = 1;
  private pumping = false;
  private closed = false;
  private gap: number | undefined;
  private lastStart: number | undefined;
  // Started jobs whose fn has not been called yet; one microtask calls the whole batch (runStarted).
  private starting: Job[] = [];
  // pump()'s views for nextDomain, made once (not two closures per call).
  private readonly ready = (d: Domain): boolean => this.queues[d].ready;
  private readonly runningIn = (d: Domain): number => this.domainRunning[d];
  private readonly runStarted = (): void => this.callStarted();

  constructor(options: unknown) {
    const o = resolveOptions(options);
    this.o = o;
    const c = o.concurrency;
    this.limiter = 'fixed' in c ? fixedLimit(c.fixed) : new AimdLimit(c.min, c.max, c.initial);
    for (const d of DOMAINS) this.queues[d] = new FairQueue<Job>();
    this.idem = new IdempotencyStore(o.idempotencyTtlMs, o.clock);
    this.breakers = new Breakers(o.breaker.threshold, o.breaker.halfOpenAfterMs, (tenant_id, service, state) => {
      this.emit({ type: 'circuit', tenant_id, service, state });
    });
    this.poison = new PoisonList(o.maxPoisoned);
  }

  setTenant(tenant_id: string, options?: TenantOptions): void {
    const id = checkTenant(tenant_id);
    const opts = resolveTenant(options);
    const t = this.tenants.get(id);
    if (t === undefined) {
      this.tenants.set(id, { id, opts, paused: false, eligible: true, queued: 0, running: 0, completed: 0, failed: 0, rejected: 0, gap: undefined, lastStart: undefined });
      return;
    }
    t.opts = opts;
    for (const d of DOMAINS) this.queues[d].setWeight(id, opts.weight);
    this.refresh(t);
    this.pump();
  }

  submit<T>(fn: Task<T>, options: SubmitOptions): Promise<T> {
    let o: ResolvedSubmit;
    try {
      if (typeof fn !== 'function') throw invalidArgument('fn', 'must be a function (signal) => Promise<T> | T');
      o = resolveSubmit(options);
    } catch (e) {
      return Promise.reject(e);
    }
    const tenant = this.tenants.get(o.tenant_id);
    if (tenant === undefined) return Promise.reject(new SchedulerError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(o.tenant_id)} was never set with setTenant`, { field: 'tenant_id' }));
    if (o.key !== undefined && !this.closed) {
      const dup = this.idem.lookup(o.tenant_id, o.key);
      if (dup?.state === 'done') return Promise.resolve(dup.value as T);
      if (dup?.state === 'pending') return this.join(dup.promise as Promise<T>, o.signal);
    }
    const refusal = this.refusal(tenant, o);
    if (refusal !== undefined) {
      tenant.rejected++;
      this.emit({ type: 'rejected', task_id: undefined, tenant_id: tenant.id, domain: o.domain, code: refusal.code });
      return Promise.reject(refusal);
    }
    return this.enqueueNew(fn as Task<unknown>, o, tenant) as Promise<T>;
  }

  private refusal(tenant: TenantState, o: ResolvedSubmit): SchedulerError | undefined {
    if (this.closed) return new SchedulerError('CLOSED', 'the scheduler is closed');
    if (o.signal?.aborted === true) return new SchedulerError('ABORTED', 'signal was aborted before submit', { field: 'signal', cause: o.signal.reason });
    if (tenant.paused) return new SchedulerError('TENANT_PAUSED', `tenant_id ${JSON.stringify(tenant.id)} is paused`, { field: 'tenant_id' });
    if (this.domainPaused[o.domain]) return new SchedulerError('DOMAIN_PAUSED', `domain ${o.domain} is paused`, { field: 'domain' });
    if (o.service !== undefined) {
      const v = this.breakers.verdict(tenant.id, o.service);
      if (!v.ok) return new SchedulerError('CIRCUIT_OPEN', `service ${JSON.stringify(o.service)}: the circuit is open for this tenant`, { field: 'service', retry_after_ms: v.retry_after_ms });
    }
    const tenantMax = tenant.opts.maxQueued ?? this.o.maxQueuedPerTenant;
    if (tenant.queued >= tenantMax) {
      return new SchedulerError('QUEUE_FULL', `tenant_id ${JSON.stringify(tenant.id)} has ${tenant.queued} tasks queued, its maximum`, { field: 'tenant_id', retry_after_ms: this.retryAfter(tenant.gap ?? this.gap) });
    }
    if (this.queued >= this.o.maxQueued) {
      return new SchedulerError('QUEUE_FULL', `${this.queued} tasks are queued (maxQueued)`, { field: 'maxQueued', retry_after_ms: this.retryAfter(this.gap) });
    }
    return undefined;
  }

  // One place frees each time a task of the queue starts: the mean gap between starts estimates the wait.
  private retryAfter(gap: number | undefined): number {
    return gap === undefined ? UNMEASURED_RETRY_MS : Math.max(1, Math.ceil(gap));
  }

  private enqueueNew(fn: Task<unknown>, o: ResolvedSubmit, tenant: TenantState): Promise<unknown> {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const job: Job = {
      id: this.nextId++, fn, opts: o, tenant, resolve, reject, submittedAt: this.o.clock(), cost: o.cost,
      state: 'queued', attempts: 0, startedAt: 0, controller: undefined, deadline: undefined, retryTimer: undefined,
      backoff: undefined, onAbort: undefined, endedBy: undefined, _flow: undefined, _prev: undefined, _next: undefined,
    };
    if (o.key !== undefined) this.idem.begin(tenant.id, o.key, promise);
    if (o.signal !== undefined) {
      const signal = o.signal;
      job.onAbort = () => this.cancel(job, new SchedulerError('ABORTED', 'signal was aborted', { field: 'signal', cause: signal.reason }));
      signal.addEventListener('abort', job.onAbort, { once: true });
    }
    if (o.timeout_ms !== undefined) {
      const ms = o.timeout_ms;
      job.deadline = setTimeout(() => this.cancel(job, new SchedulerError('TIMEOUT', `timeout_ms (${ms} ms) passed`, { field: 'timeout_ms' })), ms);
    }
    this.enqueue(job);
    if (this.listeners.size > 0) this.emit({ type: 'queued', task_id: job.id, tenant_id: tenant.id, domain: o.domain, cost: o.cost });
    this.pump();
    return promise;
  }

  private enqueue(job: Job): void {
    const t = job.tenant;
    const q = this.queues[job.opts.domain];
    job.state = 'queued';
    q.enqueue(t.id, t.opts.weight, job);
    if (!t.eligible) q.setEligible(t.id, false);
    t.queued++;
    this.queued++;
  }

  // A duplicate joins the first task's outcome; its own signal ends only its own wait.
  private join<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) return promise;
    if (signal.aborted) return Promise.reject(new SchedulerError('ABORTED', 'signal was aborted before submit', { field: 'signal', cause: signal.reason }));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new SchedulerError('ABORTED', 'signal was aborted', { field: 'signal', cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  private refresh(t: TenantState): void {
    // A pause stops intake only (submit refuses TENANT_PAUSED): what was queued before it drains, so a
    // backpressure pause lets the queue that caused it empty, and admitted work is not held hostage.
    const eligible = t.running < t.opts.maxConcurrent;
    if (eligible === t.eligible) return;
    t.eligible = eligible;
    for (const d of DOMAINS) this.queues[d].setEligible(t.id, eligible);
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.running < this.limiter.limit) {
        const d = nextDomain(this.o.shares, this.ready, this.runningIn);
        if (d === undefined) break;
        this.start(this.queues[d].dequeue() as Job);
      }
    } finally {
      this.pumping = false;
    }
  }

  private start(job: Job): void {
    const t = job.tenant;
    const now = this.o.clock();
    t.queued--;
    this.queued--;
    t.running++;
    this.running++;
    this.domainRunning[job.opts.domain]++;
    this.refresh(t);
    if (this.lastStart !== undefined) this.gap = ewma(this.gap, now - this.lastStart);
    this.lastStart = now;
    if (t.lastStart !== undefined) t.gap = ewma(t.gap, now - t.lastStart);
    t.lastStart = now;
    job.state = 'running';
    job.attempts++;
    job.startedAt = now;
    const attempt = job.attempts;
    if (this.listeners.size > 0) {
      this.emit({ type: 'started', task_id: job.id, tenant_id: t.id, domain: job.opts.domain, attempt, waited_ms: now - job.submittedAt });
    }
    // fn runs in a microtask: never inside pump() (a fn that submits would re-enter it), and a fn that throws
    // synchronously rejects like one that rejects.
    // A task cancelled before that microtask runs is not called at all.
    const service = job.opts.service;
    if (service === undefined) {
      // Without a breaker, a fn that takes no signal needs no controller (see invoke()).
      job.controller = job.fn.length === 0 ? undefined : new AbortController();
      if (this.starting.push(job) === 1) queueMicrotask(this.runStarted);
      return;
    }
    const controller = new AbortController();
    job.controller = controller;
    const run = (): Promise<unknown> => Promise.resolve().then(() => {
      if (job.state !== 'running' || job.attempts !== attempt) throw controller.signal.reason;
      return invoke(job.fn, controller);
    });
    this.breakers.execute(t.id, service, () =>
      run().catch((e: unknown) => {
        throw job.endedBy === 'ABORTED' ? new Cancelled(e) : e;
      }),
    ).then(
      (v) => this.succeeded(job, attempt, v),
      (e: unknown) => this.failed(job, attempt, e),
    );
  }

  // The microtask that calls the fns of the jobs started (without a breaker) since it was queued. Jobs that
  // pump() starts while it runs go to the next batch, in a microtask of their own, as they would have with
  // one microtask per job; a job cancelled in between is skipped (no longer 'running').
  private callStarted(): void {
    const batch = this.starting;
    this.starting = [];
    let i = 0;
    try {
      for (; i < batch.length; i++) {
        const job = batch[i] as Job;
        if (job.state === 'running') this.run(job, job.attempts);
      }
    } finally {
      // Something threw past run()'s own catch (a clock or host hook): the rest of the batch still runs.
      if (++i < batch.length) {
        const wasEmpty = this.starting.length === 0;
        this.starting = batch.slice(i).concat(this.starting);
        if (wasEmpty) queueMicrotask(this.runStarted);
      }
    }
  }

  // One started job without a breaker. A value that is not an object settles the job in this same
  // microtask; anything else goes through Promise.resolve (a thenable is adopted, a throwing `then` getter
  // rejects), as the promise chain of the breaker path would treat it.
  private run(job: Job, attempt: number): void {
    let result: unknown;
    try {
      result = invoke(job.fn, job.controller);
    } catch (e) {
      this.failed(job, attempt, e);
      return;
    }
    if ((typeof result === 'object' && result !== null) || typeof result === 'function') {
      Promise.resolve(result).then(
        (v) => this.succeeded(job, attempt, v),
        (e: unknown) => this.failed(job, attempt, e),
      );
    } else this.succeeded(job, attempt, result);
  }

  // Gives the slot of a running job back; `overload` feeds adaptive concurrency (undefined: no sample).
  private release(job: Job, overload: boolean | undefined): void {
    const t = job.tenant;
    t.running--;
    this.running--;
    this.domainRunning[job.opts.domain]--;
    job.controller = undefined;
    this.refresh(t);
    if (overload !== undefined) {
      const before = this.limiter.limit;
      this.limiter.record(this.o.clock() - job.startedAt, overload);
      if (this.limiter.limit !== before && this.listeners.size > 0) this.emit({ type: 'concurrency', limit: this.limiter.limit });
    }
    if (this.running === 0 && this.idle.length > 0) for (const done of this.idle.splice(0)) done();
  }

  private settle(job: Job): void {
    job.state = 'done';
    if (job.deadline !== undefined) clearTimeout(job.deadline);
    if (job.retryTimer !== undefined) clearTimeout(job.retryTimer);
    job.deadline = job.retryTimer = undefined;
    if (job.onAbort !== undefined) job.opts.signal?.removeEventListener('abort', job.onAbort);
    job.onAbort = undefined;
    this.retrying.delete(job);
  }

  private succeeded(job: Job, attempt: number, value: unknown): void {
    if (job.state !== 'running' || job.attempts !== attempt) return;
    const latency = this.o.clock() - job.startedAt;
    this.release(job, false);
    this.settle(job);
    const t = job.tenant;
    t.completed++;
    this.domainCompleted[job.opts.domain]++;
    if (job.opts.key !== undefined) this.idem.succeed(t.id, job.opts.key, value);
    if (this.listeners.size > 0) this.emit({ type: 'completed', task_id: job.id, tenant_id: t.id, domain: job.opts.domain, latency_ms: latency });
    job.resolve(value);
    this.pump();
  }

  private failed(job: Job, attempt: number, error: unknown): void {
    if (job.state !== 'running' || job.attempts !== attempt) return;
    const t = job.tenant;
    const service = job.opts.service;
    const circuit = service === undefined ? undefined : this.breakers.refusal(error, t.id, service);
    if (circuit !== undefined) {
      // Refused by the breaker (opened while the task waited, or a half-open test is running): fn never ran.
      this.release(job, undefined);
      this.finish(job, new SchedulerError('CIRCUIT_OPEN', `service ${JSON.stringify(service)}: the circuit is open for this tenant`, { field: 'service', retry_after_ms: circuit }));
      return;
    }
    this.release(job, this.isOverload(error));
    if (this.isRetryable(error)) {
      if (job.attempts < this.o.retry.attempts) {
        this.backoffThenRequeue(job, error);
        this.pump();
        return;
      }
      const info = {
        id: job.id, tenant_id: t.id, domain: job.opts.domain, service: job.opts.service, key: job.opts.key,
        attempts: job.attempts, error, at: this.o.clock(),
      };
      this.poison.add({ info, resubmit: { fn: job.fn, opts: job.opts } });
      this.emit({ type: 'poisoned', task_id: job.id, tenant_id: t.id, domain: job.opts.domain, attempts: job.attempts, error });
      this.finish(job, new SchedulerError('POISONED', `the task failed ${job.attempts} times with retryable errors; redrive(${job.id}) runs it again`, { cause: error }));
      return;
    }
    this.finish(job, error);
  }

  // A started job ends without a result.
  private finish(job: Job, error: unknown): void {
    this.settle(job);
    const t = job.tenant;
    t.failed++;
    if (job.opts.key !== undefined) this.idem.fail(t.id, job.opts.key);
    if (this.listeners.size > 0) {
      const code = error instanceof SchedulerError ? error.code : undefined;
      this.emit({ type: 'failed', task_id: job.id, tenant_id: t.id, domain: job.opts.domain, code, error });
    }
    job.reject(error);
    this.pump();
  }

  private isOverload(error: unknown): boolean {
    if (this.o.overload === undefined) return false;
    try {
      return this.o.overload(error) === true;
    } catch {
      return false;
    }
  }

  // A predicate that throws answers "not retryable": the task's own error then reaches its caller.
  private isRetryable(error: unknown): boolean {
    try {
      return this.o.retry.retryable(error) === true;
    } catch {
      return false;
    }
  }

  // The retry waits outside the queue and holds no slot; then it queues again behind its tenant's share.
  // Backoff durations come from cockatiel's ExponentialBackoff (decorrelated jitter).
  private backoffThenRequeue(job: Job, error: unknown): void {
    const r = this.o.retry;
    job.backoff = job.backoff === undefined
      ? new ExponentialBackoff({ initialDelay: r.initialDelayMs, maxDelay: r.maxDelayMs }).next()
      : job.backoff.next(undefined);
    const delay = Math.min(r.maxDelayMs, Math.max(0, job.backoff.duration));
    job.state = 'backoff';
    this.retrying.add(job);
    job.retryTimer = setTimeout(() => {
      job.retryTimer = undefined;
      this.retrying.delete(job);
      if (job.state !== 'backoff') return;
      this.enqueue(job);
      this.pump();
    }, delay);
    if (this.listeners.size > 0) {
      this.emit({ type: 'retry', task_id: job.id, tenant_id: job.tenant.id, domain: job.opts.domain, attempt: job.attempts, delay_ms: delay, error });
    }
  }

  // The caller aborted, the deadline passed, or close(): ends the job wherever it is, at once.
  private cancel(job: Job, error: SchedulerError): void {
    const t = job.tenant;
    switch (job.state) {
      case 'done':
        return;
      case 'queued':
        this.queues[job.opts.domain].remove(job);
        this.cancelDrained(job, error);
        this.pump();
        return;
      case 'running': {
        const controller = job.controller;
        job.endedBy = error.code;
        // A timeout is the service being slow (overload for adaptive concurrency); an abort is the caller's.
        this.release(job, error.code === 'TIMEOUT' ? true : undefined);
        this.finish(job, error);
        controller?.abort(error);
        return;
      }
      case 'backoff':
        this.finish(job, error);
        return;
    }
  }

  stats(): SchedulerStats {
    const tenants: [string, TenantStats][] = [];
    for (const t of this.tenants.values()) {
      tenants.push([t.id, { queued: t.queued, running: t.running, completed: t.completed, failed: t.failed, rejected: t.rejected }]);
    }
    const domains = {} as Record<Domain, DomainStats>;
    for (const d of DOMAINS) domains[d] = { queued: this.queues[d].size, running: this.domainRunning[d], completed: this.domainCompleted[d] };
    // fromEntries defines own properties, so a tenant called "__proto__" is an entry like any other.
    return { concurrency: this.limiter.limit, running: this.running, queued: this.queued, tenants: Object.fromEntries(tenants), domains };
  }

  on(listener: SchedulerListener): () => void {
    if (typeof listener !== 'function') throw invalidArgument('listener', 'must be a function (event) => void');
    const wrapped: SchedulerListener = (e) => listener(e);
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  // A listener that throws must not leave the scheduler half-way through a change: its error is rethrown
  // on its own (an uncaught exception, as an EventEmitter listener's would be), after the change is done.
  private emit(event: SchedulerEvent): void {
    emitToAll(this.listeners, event);
  }

  private tenant(tenant_id: string): TenantState {
    const id = checkTenant(tenant_id);
    const t = this.tenants.get(id);
    if (t === undefined) throw new SchedulerError('UNKNOWN_TENANT', `tenant_id ${JSON.stringify(id)} was never set with setTenant`, { field: 'tenant_id' });
    return t;
  }

  private domain(domain: Domain): Domain {
    if (!isDomain(domain)) throw invalidArgument('domain', `must be one of ${DOMAINS.join(', ')}`);
    return domain;
  }

  pauseTenant(tenant_id: string): void {
    const t = this.tenant(tenant_id);
    if (t.paused) return;
    t.paused = true;
    this.refresh(t);
    this.emit({ type: 'tenant_paused', tenant_id: t.id });
  }

  resumeTenant(tenant_id: string): void {
    const t = this.tenant(tenant_id);
    if (!t.paused) return;
    t.paused = false;
    this.refresh(t);
    this.emit({ type: 'tenant_resumed', tenant_id: t.id });
    this.pump();
  }

  pauseDomain(domain: Domain): void {
    const d = this.domain(domain);
    if (this.domainPaused[d]) return;
    this.domainPaused[d] = true;
    this.emit({ type: 'domain_paused', domain: d });
  }

  resumeDomain(domain: Domain): void {
    const d = this.domain(domain);
    if (!this.domainPaused[d]) return;
    this.domainPaused[d] = false;
    this.emit({ type: 'domain_resumed', domain: d });
    this.pump();
  }

  circuit(tenant_id: string, service: string): BreakerState {
    const t = this.tenant(tenant_id);
    if (typeof service !== 'string' || service.length === 0) throw invalidArgument('service', 'must be a non-empty string');
    return this.breakers.state(t.id, service);
  }

  poisoned(): PoisonedTask[] {
    return this.poison.list();
  }

  redrive<T = unknown>(id: number): Promise<T> {
    const r = typeof id === 'number' ? this.poison.take(id) : undefined;
    if (r === undefined) return Promise.reject(invalidArgument('id', `${String(id)} is not in the poison list`));
    const opts = r.resubmit.opts;
    const options: SubmitOptions = { tenant_id: opts.tenant_id, domain: opts.domain, cost: opts.cost };
    if (opts.key !== undefined) options.key = opts.key;
    if (opts.timeout_ms !== undefined) options.timeout_ms = opts.timeout_ms;
    if (opts.service !== undefined) options.service = opts.service;
    return this.submit(r.resubmit.fn as Task<T>, options);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const closed = () => new SchedulerError('CLOSED', 'the scheduler was closed before the task ran');
      const waiting: Job[] = [];
      for (const d of DOMAINS) this.queues[d].drain((job) => waiting.push(job));
      for (const job of waiting) this.cancelDrained(job, closed());
      for (const job of [...this.retrying]) this.cancel(job, closed());
    }
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private cancelDrained(job: Job, error: SchedulerError): void {
    const t = job.tenant;
    t.queued--;
    this.queued--;
    this.settle(job);
    t.rejected++;
    if (job.opts.key !== undefined) this.idem.fail(t.id, job.opts.key);
    if (this.listeners.size > 0) this.emit({ type: 'rejected', task_id: job.id, tenant_id: t.id, domain: job.opts.domain, code: error.code });
    job.reject(error);
  }
}

/**
 * A scheduler. Options are checked once and copied.
 * @throws SchedulerError INVALID_ARGUMENT naming the field at fault.
 * @example
 * const s = createScheduler({ concurrency: 8 });
 * s.setTenant('acme', { weight: 2 });
 * const answer = await s.submit((signal) => fetch(url, { signal }), { tenant_id: 'acme', domain: 'PROD' });
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  return new Engine(options);
}

