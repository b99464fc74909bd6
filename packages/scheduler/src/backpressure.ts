// Backpressure stages (docs/architecture.md, "@tenantry/scheduler" and "Control state"): measures what the
// scheduler sees — queue depth per tenant and per domain, queue wait per domain, error rate per tenant —
// and a tenant's remaining budget, and when a stage's threshold is crossed it acts: it pauses a tenant or a
// domain, or suspends a tenant's canary traffic (new experiments then run in LAB). Every action is a control
// event handed to the host's sink and awaited: the host writes it to its control-plane log and applies it
// (the gateway pauses the scheduler, passes canary_suspended to the policy), so an action is durable before
// it takes effect and a restart restores it. An action is lifted (resume, canary restored) once the measure
// falls below `resumeRatio` × its threshold (hysteresis, so a stage does not flap at its boundary). A stage
// only lifts what it set itself: an operator's pause stays until an operator resumes it.
import { checkTenantId, DOMAINS, isObject, type ControlEvent, type ControlSink, type Domain } from '@tenantry/core';
import { SchedulerError } from './errors.js';
import type { SchedulerEvent } from './events.js';
import type { Scheduler } from './scheduler.js';

export interface BackpressureOptions {
  scheduler: Scheduler;
  /** Where actions go; awaited before the stage counts them as in force. */
  sink: ControlSink;
  /** The tenants to watch for error rate and budget (the scheduler's tenants). */
  tenants: () => Iterable<string>;
  /** A tenant's remaining budget as a fraction (0..1) of its period's cap, for the budget boundary stage. */
  budget?: (tenant_id: string) => Promise<number | undefined>;
  stages: {
    /** Pause a tenant with this many queued tasks. */
    tenantQueueDepth?: number;
    /** Pause a domain with this many queued tasks. */
    domainQueueDepth?: number;
    /** Pause a domain whose mean queue wait over the window reaches this many ms. */
    domainQueueWaitMs?: number;
    /** Pause a tenant whose failed / (completed + failed) over the window reaches this fraction (0..1]. */
    tenantErrorRate?: number;
    /** Suspend a tenant's canary traffic when its remaining budget falls to this fraction (0..1). */
    budgetBoundary?: number;
  };
  /** A stage's action is lifted below resumeRatio × its threshold (default 0.5; 0..1). */
  resumeRatio?: number;
  /** Samples a window needs before a rate or a mean acts (default 20). */
  minSamples?: number;
  /** The window of rates and means, ms (default 10 000). */
  windowMs?: number;
  /** Evaluates every intervalMs (default 1 000; 0: only when evaluate() is called). */
  intervalMs?: number;
  /** Who the events name as `by` (default "backpressure"). */
  by?: string;
  clock?: () => number;
}

export interface Backpressure {
  /** One evaluation now: the actions taken (already through the sink). */
  evaluate(): Promise<ControlEvent[]>;
  /** What this stage has in force. */
  state(): { pausedTenants: string[]; pausedDomains: Domain[]; canarySuspended: string[] };
  close(): void;
}

const STAGE_FIELDS = ['tenantQueueDepth', 'domainQueueDepth', 'domainQueueWaitMs', 'tenantErrorRate', 'budgetBoundary'] as const;

function invalid(field: string, message: string): SchedulerError {
  return new SchedulerError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

interface Sample {
  at: number;
  value: number;
}

/** Samples of the last windowMs, oldest first. */
class Window {
  readonly #samples: Sample[] = [];
  constructor(readonly windowMs: number) {}
  add(at: number, value: number): void {
    this.#samples.push({ at, value });
  }
  values(now: number): number[] {
    let drop = 0;
    while (drop < this.#samples.length && this.#samples[drop]!.at < now - this.windowMs) drop++;
    if (drop > 0) this.#samples.splice(0, drop);
    return this.#samples.map((s) => s.value);
  }
}

/**
 * Starts the stages over `options.scheduler`.
 * @throws SchedulerError INVALID_ARGUMENT naming the option at fault.
 */
export function createBackpressure(options: BackpressureOptions): Backpressure {
  if (!isObject(options)) throw invalid('options', 'must be an object { scheduler, sink, tenants, stages }');
  const o = options as unknown as BackpressureOptions;
  if (!isObject(o.scheduler) || typeof o.scheduler.stats !== 'function') throw invalid('options.scheduler', 'must be a Scheduler');
  if (typeof o.sink !== 'function') throw invalid('options.sink', 'must be a function (event) => Promise<void>');
  if (typeof o.tenants !== 'function') throw invalid('options.tenants', 'must be a function returning tenant ids');
  if (o.budget !== undefined && typeof o.budget !== 'function') throw invalid('options.budget', 'must be a function');
  if (!isObject(o.stages)) throw invalid('options.stages', 'must be an object');
  for (const k of Object.keys(o.stages)) if (!(STAGE_FIELDS as readonly string[]).includes(k)) throw invalid(`options.stages.${k}`, 'is not a backpressure stage');
  const stages = { ...o.stages };
  for (const k of STAGE_FIELDS) {
    const v = stages[k];
    if (v === undefined) continue;
    const fraction = k === 'tenantErrorRate' || k === 'budgetBoundary';
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (fraction && v > 1)) throw invalid(`options.stages.${k}`, fraction ? 'must be a fraction in (0, 1]' : 'must be a positive number');
  }
  if (stages.budgetBoundary !== undefined && o.budget === undefined) throw invalid('options.budget', 'is required with stages.budgetBoundary');
  const num = (v: unknown, field: string, dflt: number, ok: (n: number) => boolean, what: string): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalid(field, what);
    return v;
  };
  const resumeRatio = num(o.resumeRatio, 'options.resumeRatio', 0.5, (n) => n >= 0 && n < 1, 'must be a number from 0 to below 1');
  const minSamples = num(o.minSamples, 'options.minSamples', 20, (n) => Number.isInteger(n) && n >= 1, 'must be a positive integer');
  const windowMs = num(o.windowMs, 'options.windowMs', 10_000, (n) => n > 0, 'must be a positive number');
  const intervalMs = num(o.intervalMs, 'options.intervalMs', 1_000, (n) => n >= 0, 'must be a non-negative number');
  const by = o.by ?? 'backpressure';
  if (typeof by !== 'string' || by.length === 0) throw invalid('options.by', 'must be a non-empty string');
  const clock = o.clock ?? Date.now;
  const scheduler = o.scheduler;

  const waits = new Map<Domain, Window>(DOMAINS.map((d) => [d, new Window(windowMs)]));
  const outcomes = new Map<string, Window>();
  const onEvent = (e: SchedulerEvent): void => {
    if (e.type === 'started') waits.get(e.domain)!.add(clock(), e.waited_ms);
    else if (e.type === 'completed' || e.type === 'failed') {
      let w = outcomes.get(e.tenant_id);
      if (w === undefined) outcomes.set(e.tenant_id, (w = new Window(windowMs)));
      w.add(clock(), e.type === 'failed' ? 1 : 0);
    }
  };
  const unsubscribe = scheduler.on(onEvent);

  const pausedTenants = new Map<string, string>();
  const pausedDomains = new Map<Domain, string>();
  const canary = new Set<string>();
  let evaluating: Promise<ControlEvent[]> | undefined;

  /** Crossing logic with hysteresis: 'on' at or above `limit`, 'off' below resumeRatio × limit, else unchanged. */
  const crossing = (value: number, limit: number, on: boolean): boolean => (on ? value >= limit * resumeRatio : value >= limit);

  async function act(event: ControlEvent, out: ControlEvent[]): Promise<void> {
    await o.sink(event);
    out.push(event);
  }

  async function run(): Promise<ControlEvent[]> {
    const out: ControlEvent[] = [];
    const now = clock();
    const stats = scheduler.stats();
    // Tenants: queue depth and error rate.
    for (const id of o.tenants()) {
      checkTenantId(id, 'tenants()');
      const t = stats.tenants[id];
      const reasons: string[] = [];
      const on = pausedTenants.has(id);
      if (stages.tenantQueueDepth !== undefined && t !== undefined && crossing(t.queued, stages.tenantQueueDepth, on)) reasons.push(`queue depth ${t.queued} (limit ${stages.tenantQueueDepth})`);
      if (stages.tenantErrorRate !== undefined) {
        const v = outcomes.get(id)?.values(now) ?? [];
        if (v.length >= minSamples) {
          const rate = v.reduce((a, b) => a + b, 0) / v.length;
          if (crossing(rate, stages.tenantErrorRate, on)) reasons.push(`error rate ${rate.toFixed(3)} (limit ${stages.tenantErrorRate})`);
        }
        // A tenant paused for its error rate runs nothing, so its window empties: once the failures are older
        // than windowMs it is resumed, and the next window judges it again (like a breaker's half-open).
      }
      if (!on && reasons.length > 0) {
        const reason = reasons.join('; ');
        await act({ type: 'pause', scope: 'tenant', id, by, reason }, out);
        pausedTenants.set(id, reason);
      } else if (on && reasons.length === 0) {
        await act({ type: 'resume', scope: 'tenant', id, by }, out);
        pausedTenants.delete(id);
      }
      // The budget boundary: canary traffic suspended near the end of the budget.
      if (stages.budgetBoundary !== undefined) {
        const remaining = await o.budget!(id);
        if (remaining === undefined) continue;
        const suspended = canary.has(id);
        // Inverted measure: the boundary is crossed as the remaining budget falls.
        const low = suspended ? remaining <= stages.budgetBoundary / Math.max(resumeRatio, 1e-9) : remaining <= stages.budgetBoundary;
        if (!suspended && low) {
          await act({ type: 'canary', tenant_id: id, suspended: true, by, reason: `remaining budget ${(remaining * 100).toFixed(1)} % (boundary ${stages.budgetBoundary * 100} %)` }, out);
          canary.add(id);
        } else if (suspended && !low) {
          await act({ type: 'canary', tenant_id: id, suspended: false, by, reason: `remaining budget ${(remaining * 100).toFixed(1)} %` }, out);
          canary.delete(id);
        }
      }
    }
    // Domains: queue depth and queue wait.
    for (const d of DOMAINS) {
      const on = pausedDomains.has(d);
      const reasons: string[] = [];
      const depth = stats.domains[d]?.queued ?? 0;
      if (stages.domainQueueDepth !== undefined && crossing(depth, stages.domainQueueDepth, on)) reasons.push(`queue depth ${depth} (limit ${stages.domainQueueDepth})`);
      if (stages.domainQueueWaitMs !== undefined) {
        const v = waits.get(d)!.values(now);
        if (v.length >= minSamples) {
          const mean = v.reduce((a, b) => a + b, 0) / v.length;
          if (crossing(mean, stages.domainQueueWaitMs, on)) reasons.push(`mean queue wait ${mean.toFixed(1)} ms (limit ${stages.domainQueueWaitMs})`);
        }
      }
      if (!on && reasons.length > 0) {
        const reason = reasons.join('; ');
        await act({ type: 'pause', scope: 'domain', id: d, by, reason }, out);
        pausedDomains.set(d, reason);
      } else if (on && reasons.length === 0) {
        await act({ type: 'resume', scope: 'domain', id: d, by }, out);
        pausedDomains.delete(d);
      }
    }
    return out;
  }

  const evaluate = (): Promise<ControlEvent[]> => {
    // One evaluation at a time: the sink is awaited, and two overlapping runs would act twice.
    const next = (evaluating ?? Promise.resolve([])).then(run, run);
    evaluating = next.then(() => [], () => []);
    return next;
  };

  let timer: ReturnType<typeof setInterval> | undefined;
  if (intervalMs > 0) {
    timer = setInterval(() => {
      evaluate().then(undefined, (e: unknown) => process.emitWarning(`@tenantry/scheduler: a backpressure evaluation failed: ${e instanceof Error ? e.message : String(e)}`));
    }, intervalMs);
    timer.unref();
  }

  return {
    evaluate,
    state: () => ({ pausedTenants: [...pausedTenants.keys()], pausedDomains: [...pausedDomains.keys()], canarySuspended: [...canary] }),
    close() {
      if (timer !== undefined) clearInterval(timer);
      unsubscribe();
    },
  };
}
