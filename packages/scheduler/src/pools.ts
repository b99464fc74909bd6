// Per-tenant execution pools (docs/architecture.md, "@tenantry/scheduler"): CPU-heavy tasks run in a piscina
// worker pool of their tenant's own, so one tenant's work never shares a thread, a heap or a queue with
// another's. Every worker runs under V8 `resourceLimits`: a task that exhausts its heap ends its own worker
// (ERR_WORKER_OUT_OF_MEMORY), piscina replaces that worker, and every other worker (of this tenant and of all
// others) keeps running. Each worker runs one task at a time, so an out-of-memory end or an abort (piscina
// terminates the worker of a running task) never takes an unrelated task with it.
//
// Pools are created on a tenant's first task, at most `maxPools` at once: to make room the least recently
// used pool without work is closed; when every pool has work the task is refused with QUEUE_FULL rather than
// queued behind another tenant. A pool without work for `idleTimeoutMs` is closed (reaped). Nothing starts at
// creation, idle workers and timers never keep the process alive, and close() waits for the work in flight.
//
// Error codes (SchedulerError): INVALID_ARGUMENT naming the field; CLOSED after close(); QUEUE_FULL with
// `retry_after_ms` when all pools are busy; ABORTED (`cause`: the signal's reason) when the signal aborts;
// POISONED (`cause`: the ERR_WORKER_OUT_OF_MEMORY error) when the task exhausted its worker's heap. POISONED
// is the existing code that fits: the task itself is the fault and running it again would fail again; it is
// not put in the scheduler's poison queue. A task's own error reaches the caller unwrapped, as in submit().
import { Piscina } from 'piscina';
import { isObject, describeValue } from '@tenantry/core';
import { SchedulerError, invalidArgument } from './errors.js';
import { checkTenant } from './options.js';
import { resolvePoolsOptions, type ResolvedPoolsOptions, type TenantPoolsOptions } from './pool-options.js';

export interface TenantPoolRunOptions {
  /** Cancels the task: a queued one leaves the queue, a running one's worker is terminated (and replaced). */
  signal?: AbortSignal;
  /** The export of the worker module to call (piscina's `name`; default: its default export). */
  name?: string;
}

/** One tenant's live pool. */
export interface TenantPoolStats {
  /** Tasks handed to the pool and not settled yet (queued or running). */
  pending: number;
  /** Of those, waiting for a free worker. */
  queued: number;
  /** Worker threads alive (spawned on demand, at most threadsPerPool). */
  threads: number;
  /** Tasks of this pool that resolved / rejected (aborts and out-of-memory ends included). */
  completed: number;
  failed: number;
  /** Tasks that exhausted their worker's heap (rejected POISONED). */
  outOfMemory: number;
}

export interface TenantPoolsStats {
  /** Pools alive now. */
  pools: number;
  maxPools: number;
  /** Pools created, closed after idleTimeoutMs without work, and closed to make room, since creation. */
  created: number;
  reaped: number;
  evicted: number;
  /** The live pools by tenant id; a reaped or evicted pool's counters go with it. */
  tenants: Record<string, TenantPoolStats>;
}

/** Per-tenant worker pools. Create with createTenantPools. */
export interface TenantPools {
  /**
   * Runs `task` (structured-cloned to the worker) in the tenant's pool, creating the pool if needed; resolves
   * with the worker's result. Every refusal is a rejection (SchedulerError, see the file comment).
   */
  run<R = unknown>(tenant_id: string, task: unknown, options?: TenantPoolRunOptions): Promise<R>;
  stats(): TenantPoolsStats;
  /** Refuses new tasks (CLOSED), lets the tasks in flight settle, then ends every pool. Idempotent. */
  close(): Promise<void>;
}

/** `retry_after_ms` of QUEUE_FULL before any task has settled. */
const DEFAULT_RETRY_AFTER_MS = 100;
/** Weight of the newest task in the mean task time behind `retry_after_ms`. */
const EWMA_ALPHA = 0.2;
const RUN_NAMES = ['signal', 'name'];

interface _Pool {
  readonly tenant_id: string;
  readonly piscina: Piscina;
  pending: number;
  completed: number;
  failed: number;
  outOfMemory: number;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

function _runOptions(v: unknown): TenantPoolRunOptions {
  if (v === undefined) return {};
  if (!isObject(v)) throw invalidArgument('options', `must be an object { signal?, name? }, got ${describeValue(v)}`);
  for (const k of Object.keys(v)) if (!RUN_NAMES.includes(k)) throw invalidArgument(k, `is not an option (known: ${RUN_NAMES.join(', ')})`);
  const out: TenantPoolRunOptions = {};
  if (v.signal !== undefined) {
    if (!(v.signal instanceof AbortSignal)) throw invalidArgument('signal', `must be an AbortSignal, got ${describeValue(v.signal)}`);
    out.signal = v.signal;
  }
  if (v.name !== undefined) {
    if (typeof v.name !== 'string' || v.name.length === 0) throw invalidArgument('name', `must be a non-empty string (an export of the worker module), got ${describeValue(v.name)}`);
    out.name = v.name;
  }
  return out;
}

function _aborted(signal: AbortSignal, before: boolean): SchedulerError {
  return new SchedulerError('ABORTED', before ? 'signal was aborted before run' : 'signal was aborted', { field: 'signal', cause: signal.reason });
}

class _TenantPools implements TenantPools {
  readonly #o: ResolvedPoolsOptions;
  /** Live pools in order of last use, least recent first. */
  readonly #pools = new Map<string, _Pool>();
  /** piscina close() calls under way (evicted and reaped pools); close() waits for them. */
  readonly #closingPools = new Set<Promise<void>>();
  /** Tasks not settled; close() waits for them (piscina's own close would end queued tasks). */
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  #created = 0;
  #reaped = 0;
  #evicted = 0;
  #meanTaskMs: number | undefined;

  constructor(o: ResolvedPoolsOptions) {
    this.#o = o;
  }

  async run<R>(tenant_id: string, task: unknown, options?: TenantPoolRunOptions): Promise<R> {
    const id = checkTenant(tenant_id);
    const { signal, name } = _runOptions(options);
    if (this.#closing !== undefined) throw new SchedulerError('CLOSED', 'the tenant pools are closed');
    if (signal?.aborted === true) throw _aborted(signal, true);
    const pool = this.#acquire(id);
    pool.pending++;
    clearTimeout(pool.idleTimer);
    pool.idleTimer = undefined;
    const started = performance.now();
    const done = pool.piscina.run(task, { signal: signal ?? null, name: name ?? null }) as Promise<R>;
    this.#inFlight.add(done);
    try {
      const result = await done;
      pool.completed++;
      return result;
    } catch (e) {
      pool.failed++;
      // The signal may have aborted since the check above, which TypeScript's narrowing does not see.
      if ((signal as AbortSignal | undefined)?.aborted === true && (e as Error | null)?.name === 'AbortError') throw _aborted(signal!, false);
      if ((e as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        pool.outOfMemory++;
        throw new SchedulerError('POISONED', `a task of tenant ${JSON.stringify(id)} exhausted its worker's heap (resourceLimits); only that worker was ended`, { cause: e });
      }
      throw e;
    } finally {
      this.#inFlight.delete(done);
      const ms = performance.now() - started;
      this.#meanTaskMs = this.#meanTaskMs === undefined ? ms : this.#meanTaskMs + EWMA_ALPHA * (ms - this.#meanTaskMs);
      if (--pool.pending === 0 && this.#closing === undefined && this.#pools.get(id) === pool) this.#armIdle(pool);
    }
  }

  /** The tenant's pool, marked most recently used; a new one if there is room or an idle pool to close. */
  #acquire(id: string): _Pool {
    const live = this.#pools.get(id);
    if (live !== undefined) {
      this.#pools.delete(id);
      this.#pools.set(id, live);
      return live;
    }
    if (this.#pools.size >= this.#o.maxPools) {
      let victim: _Pool | undefined;
      for (const p of this.#pools.values()) {
        if (p.pending === 0) {
          victim = p;
          break;
        }
      }
      if (victim === undefined) {
        // A pool frees when its work ends: the mean task time is the expected wait.
        const retry_after_ms = Math.max(1, Math.ceil(this.#meanTaskMs ?? DEFAULT_RETRY_AFTER_MS));
        throw new SchedulerError('QUEUE_FULL', `all ${this.#o.maxPools} tenant pools are busy`, { retry_after_ms });
      }
      this.#retire(victim);
      this.#evicted++;
    }
    const { filename, threadsPerPool, resourceLimits, idleTimeoutMs } = this.#o;
    const piscina = new Piscina({
      filename,
      minThreads: 0,
      maxThreads: threadsPerPool,
      idleTimeout: idleTimeoutMs,
      maxQueue: Infinity,
      // One task per worker: an out-of-memory end or an abort terminates the worker, and must take no other task.
      concurrentTasksPerWorker: 1,
      resourceLimits: { ...resourceLimits },
      // The worker module can read its tenant as `workerData.tenant_id` (import { workerData } from 'piscina').
      workerData: { tenant_id: id },
      recordTiming: false,
    });
    // Failures that concern a task reject that task; a worker dying between tasks (which piscina replaces)
    // must not become an uncaught 'error' event in the host.
    piscina.on('error', () => {});
    const pool: _Pool = { tenant_id: id, piscina, pending: 0, completed: 0, failed: 0, outOfMemory: 0, idleTimer: undefined };
    this.#pools.set(id, pool);
    this.#created++;
    return pool;
  }

  #armIdle(pool: _Pool): void {
    if (this.#o.idleTimeoutMs === Infinity) return;
    pool.idleTimer = setTimeout(() => {
      pool.idleTimer = undefined;
      if (pool.pending !== 0 || this.#pools.get(pool.tenant_id) !== pool) return;
      this.#retire(pool);
      this.#reaped++;
    }, this.#o.idleTimeoutMs);
    pool.idleTimer.unref();
  }

  /** Removes an idle pool at once and closes its piscina in the background (close() waits for it). */
  #retire(pool: _Pool): void {
    clearTimeout(pool.idleTimer);
    pool.idleTimer = undefined;
    this.#pools.delete(pool.tenant_id);
    const closing = pool.piscina.close();
    this.#closingPools.add(closing);
    const forget = (): void => {
      this.#closingPools.delete(closing);
    };
    closing.then(forget, forget);
  }

  stats(): TenantPoolsStats {
    const tenants: Record<string, TenantPoolStats> = Object.fromEntries([...this.#pools.values()].map((p) => [p.tenant_id, {
      pending: p.pending,
      queued: p.piscina.queueSize,
      threads: p.piscina.threads.length,
      completed: p.completed,
      failed: p.failed,
      outOfMemory: p.outOfMemory,
    }]));
    return { pools: this.#pools.size, maxPools: this.#o.maxPools, created: this.#created, reaped: this.#reaped, evicted: this.#evicted, tenants };
  }

  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      for (const p of this.#pools.values()) {
        clearTimeout(p.idleTimer);
        p.idleTimer = undefined;
      }
      await Promise.allSettled([...this.#inFlight]);
      for (const p of [...this.#pools.values()]) this.#retire(p);
      await Promise.allSettled([...this.#closingPools]);
    })());
  }
}

/**
 * Per-tenant piscina pools over the host's worker module. Options are checked here, once; no pool and no
 * worker starts before a tenant's first task.
 *
 * @throws SchedulerError INVALID_ARGUMENT naming the field.
 * @example
 * const pools = createTenantPools({ filename: new URL('./tasks.mjs', import.meta.url), maxPools: 16,
 *   resourceLimits: { maxOldGenerationSizeMb: 128 }, idleTimeoutMs: 60_000 });
 * const digest = await pools.run('acme', { doc }, { name: 'render', signal });
 * await pools.close();
 */
export function createTenantPools(options: TenantPoolsOptions): TenantPools {
  return new _TenantPools(resolvePoolsOptions(options));
}
