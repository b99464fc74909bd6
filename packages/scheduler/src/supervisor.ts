// The agent supervisor (docs/architecture.md, "@tenantry/scheduler": agent lifecycle, health-driven, every
// transition an event, self-healing). It runs agents' loops, checks their health on one shared tick, restarts
// crashed loops after a backoff and quarantines crash loops; the rule of what each signal does is
// lifecycle.ts, and this file applies it.
//
// Timers: one health tick (setInterval, only while some agent's loop runs) and one restart timer per agent
// waiting for its backoff; all unref'd, so a supervisor never keeps a process alive, and all cleared by
// close(). Nothing is created at import or at construction.
//
// A listener may call back into the supervisor (stop an agent from its event): each step of a transition
// applies only if the agent is still where the step expects it.
import { emitToAll } from './events.js';
import { invalidArgument, SchedulerError } from './errors.js';
import { afterCheck, afterCrash, type AgentState, type AgentTransitionReason, type HealthOutcome, type Step } from './lifecycle.js';
import { asSample, checkAgent, resolveSupervisorOptions, type Agent, type AgentSupervisorOptions, type ResolvedSupervisorOptions } from './supervisor-options.js';

/** One transition. `from` equals `to` only for CRASHED while DEGRADED and for RESTARTED. */
export interface AgentEvent {
  agent_id: string;
  tenant_id: string;
  from: AgentState;
  to: AgentState;
  reason: AgentTransitionReason;
  /** The clock's reading. */
  at: number;
  /** For CRASHED, FAULT and FAULTS: what the run loop or the failed check threw (a hung check: a SchedulerError TIMEOUT). */
  error?: unknown;
}

export type AgentListener = (event: AgentEvent) => void;

/** An agent as the supervisor sees it (a copy). */
export interface AgentStatus {
  id: string;
  tenant_id: string;
  state: AgentState;
  /** Its run loop is running (false while CREATED, waiting for a restart, PAUSED or TERMINATED). */
  running: boolean;
  /** Restarts after crashes, over the agent's life. */
  restarts: number;
  /** Consecutive failed health checks. */
  faults: number;
}

export interface AgentSupervisor {
  /** Adds an agent in CREATED. An id may be reused only once its agent is TERMINATED. */
  register(agent: Agent): void;
  /** CREATED → ACTIVE: its run loop starts and its health is checked from the next tick. */
  start(id: string): void;
  /** PAUSED → ACTIVE: a fresh run loop (after the old one has settled) and the fault count reset. */
  resume(id: string): void;
  /** Any → TERMINATED (STOPPED); resolves when its run loop has settled (a loop that ignores its signal keeps it pending). No-op once TERMINATED. */
  stop(id: string): Promise<void>;
  status(id: string): AgentStatus;
  list(): AgentStatus[];
  /** One event per transition; returns the unsubscribe. A listener that throws does not disturb the supervisor (its error is rethrown in a microtask). */
  on(listener: AgentListener): () => void;
  /** Terminates every agent (CLOSED), clears every timer, refuses new work (CLOSED); resolves when every run loop has settled. */
  close(): Promise<void>;
}

interface Check {
  hung: boolean;
}

interface AgentRecord {
  readonly id: string;
  readonly tenant_id: string;
  readonly agent: Agent;
  state: AgentState;
  /** The current run loop's controller; undefined while no loop runs. */
  controller: AbortController | undefined;
  /** Settles when the current (or last) run loop has settled. */
  loop: Promise<void>;
  loopSettled: boolean;
  /** A resume waiting for the old loop to settle. */
  relaunch: boolean;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  check: Check | undefined;
  faults: number;
  degradedAt: number;
  crashes: number[];
  restarts: number;
}

/**
 * Creates a supervisor. @throws SchedulerError INVALID_ARGUMENT naming the field (`thresholds.faults`, …).
 *
 * @example
 * const sup = createAgentSupervisor({ healthIntervalMs: 5_000,
 *   thresholds: { latencyMs: 2_000, errorRate: 0.2, faults: 3, recoveryTimeoutMs: 60_000 },
 *   restart: { maxRestarts: 5, windowMs: 60_000, backoffMs: 1_000 } });
 * sup.on((e) => log(e));
 * sup.register({ id: 'summariser', tenant_id: 'acme', start: (signal) => runLoop(signal), health: () => stats() });
 * sup.start('summariser');
 */
export function createAgentSupervisor(options: AgentSupervisorOptions): AgentSupervisor {
  return new Supervisor(resolveSupervisorOptions(options));
}

class Supervisor implements AgentSupervisor {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly listeners = new Set<AgentListener>();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly o: ResolvedSupervisorOptions) {}

  register(agent: Agent): void {
    this.open();
    const { id, tenant_id } = checkAgent(agent);
    const old = this.agents.get(id);
    if (old !== undefined && old.state !== 'TERMINATED') throw invalidArgument('agent.id', `${JSON.stringify(id)} is already registered (${old.state})`);
    this.agents.set(id, {
      id, tenant_id, agent, state: 'CREATED', controller: undefined, loop: Promise.resolve(), loopSettled: true, relaunch: false,
      restartTimer: undefined, check: undefined, faults: 0, degradedAt: 0, crashes: [], restarts: 0,
    });
  }

  start(id: string): void {
    this.open();
    const rec = this.get(id);
    if (rec.state !== 'CREATED') throw invalidArgument('id', `${JSON.stringify(id)} is ${rec.state}; only a CREATED agent starts (resume a PAUSED one)`);
    this.move(rec, { to: 'ACTIVE', reason: 'STARTED' });
    // A listener may have stopped it.
    if (live(rec)) this.launch(rec);
  }

  resume(id: string): void {
    this.open();
    const rec = this.get(id);
    if (rec.state !== 'PAUSED') throw invalidArgument('id', `${JSON.stringify(id)} is ${rec.state}; only a PAUSED agent resumes`);
    rec.faults = 0;
    this.move(rec, { to: 'ACTIVE', reason: 'RESUMED' });
    if (!live(rec)) return;
    if (rec.loopSettled) this.launch(rec);
    else rec.relaunch = true;
  }

  stop(id: string): Promise<void> {
    const rec = this.get(id);
    if (rec.state !== 'TERMINATED') this.terminate(rec, 'STOPPED');
    return rec.loop;
  }

  status(id: string): AgentStatus {
    return statusOf(this.get(id));
  }

  list(): AgentStatus[] {
    return [...this.agents.values()].map(statusOf);
  }

  on(listener: AgentListener): () => void {
    if (typeof listener !== 'function') throw invalidArgument('listener', 'must be a function (event) => void');
    const wrapped: AgentListener = (e) => listener(e);
    this.listeners.add(wrapped);
    return () => {
      this.listeners.delete(wrapped);
    };
  }

  close(): Promise<void> {
    this.closed = true;
    for (const rec of this.agents.values()) if (rec.state !== 'TERMINATED') this.terminate(rec, 'CLOSED');
    this.stopTicker();
    return Promise.all([...this.agents.values()].map((r) => r.loop)).then(() => undefined);
  }

  private open(): void {
    if (this.closed) throw new SchedulerError('CLOSED', 'the agent supervisor is closed');
  }

  private get(id: string): AgentRecord {
    if (typeof id !== 'string') throw invalidArgument('id', `must be an agent id (a string), got ${typeof id}`);
    const rec = this.agents.get(id);
    if (rec === undefined) throw invalidArgument('id', `${JSON.stringify(id)} is not a registered agent`);
    return rec;
  }

  /** Applies one step if the agent is not TERMINATED, and reports it. */
  private move(rec: AgentRecord, step: Step, error?: unknown): void {
    const from = rec.state;
    if (from === 'TERMINATED') return;
    rec.state = step.to;
    if (step.to === 'DEGRADED' && from !== 'DEGRADED') rec.degradedAt = this.o.clock();
    if (step.to === 'PAUSED' || step.to === 'TERMINATED') this.halt(rec, step.to === 'PAUSED' ? 'paused' : 'terminated');
    const event: AgentEvent = { agent_id: rec.id, tenant_id: rec.tenant_id, from, to: step.to, reason: step.reason, at: this.o.clock() };
    if (error !== undefined) event.error = error;
    this.emit(event);
  }

  private terminate(rec: AgentRecord, reason: AgentTransitionReason, error?: unknown): void {
    this.move(rec, { to: 'TERMINATED', reason }, error);
  }

  /** Ends the agent's run loop and any pending restart or check (PAUSED, TERMINATED). */
  private halt(rec: AgentRecord, why: string): void {
    rec.relaunch = false;
    rec.check = undefined;
    if (rec.restartTimer !== undefined) {
      clearTimeout(rec.restartTimer);
      rec.restartTimer = undefined;
    }
    const c = rec.controller;
    rec.controller = undefined;
    c?.abort(new SchedulerError(this.closed ? 'CLOSED' : 'ABORTED', `agent ${JSON.stringify(rec.id)} ${why}`));
  }

  /** Starts a fresh run loop; a crash or an exit is handled when it settles. */
  private launch(rec: AgentRecord): void {
    const controller = new AbortController();
    rec.controller = controller;
    rec.check = undefined;
    rec.loopSettled = false;
    let run: Promise<void>;
    try {
      run = Promise.resolve(rec.agent.start(controller.signal));
    } catch (e) {
      run = Promise.reject(e);
    }
    rec.loop = run.then(
      () => this.ended(rec, controller, undefined, false),
      (e: unknown) => this.ended(rec, controller, e, true),
    );
    this.ensureTicker();
  }

  private ended(rec: AgentRecord, controller: AbortController, error: unknown, crashed: boolean): void {
    rec.loopSettled = true;
    if (rec.controller === controller) rec.controller = undefined;
    // A loop we aborted (pause, stop, close) ends as asked, however it ends.
    if (controller.signal.aborted) {
      if (rec.relaunch && live(rec)) {
        rec.relaunch = false;
        this.launch(rec);
      }
      return;
    }
    if (!crashed) {
      this.terminate(rec, 'EXITED');
      return;
    }
    const decision = afterCrash(rec.crashes, this.o.clock(), this.o.restart);
    this.move(rec, { to: 'DEGRADED', reason: 'CRASHED' }, error);
    if (!live(rec)) return;
    if (decision.quarantine) {
      this.terminate(rec, 'QUARANTINED', error);
      return;
    }
    rec.restartTimer = setTimeout(() => {
      rec.restartTimer = undefined;
      if (this.closed || !live(rec)) return;
      rec.restarts++;
      this.move(rec, { to: rec.state, reason: 'RESTARTED' });
      // A listener may have stopped it.
      if (live(rec)) this.launch(rec);
    }, decision.delay_ms);
    rec.restartTimer.unref();
  }

  private ensureTicker(): void {
    if (this.ticker !== undefined || this.closed) return;
    this.ticker = setInterval(() => this.tick(), this.o.healthIntervalMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker === undefined) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private tick(): void {
    let running = 0;
    for (const rec of this.agents.values()) {
      if (rec.controller === undefined || !live(rec)) continue;
      running++;
      this.checkHealth(rec);
    }
    // Restarted or resumed loops start it again.
    if (running === 0) this.stopTicker();
  }

  private checkHealth(rec: AgentRecord): void {
    if (rec.check !== undefined) {
      // Still pending since the last tick: it hung past the interval. Its answer, if it ever comes, is stale.
      rec.check.hung = true;
      this.apply(rec, { ok: false, error: new SchedulerError('TIMEOUT', `agent ${JSON.stringify(rec.id)}: health() took longer than ${this.o.healthIntervalMs} ms`) });
      return;
    }
    const health = rec.agent.health;
    if (health === undefined) {
      this.apply(rec, { ok: true, sample: { latency_ms: 0, error_rate: 0 } });
      return;
    }
    const check: Check = { hung: false };
    rec.check = check;
    const controller = rec.controller;
    new Promise<unknown>((resolve) => resolve(health.call(rec.agent))).then(
      (v) => {
        const sample = asSample(v);
        return sample === undefined
          ? { ok: false as const, error: invalidArgument('health', 'must return { latency_ms ≥ 0, error_rate within [0, 1] }') }
          : { ok: true as const, sample };
      },
      (error: unknown) => ({ ok: false as const, error }),
    ).then((outcome) => {
      if (rec.check !== check) return;
      rec.check = undefined;
      if (check.hung || rec.controller !== controller) return;
      this.apply(rec, outcome);
    });
  }

  private apply(rec: AgentRecord, outcome: HealthOutcome): void {
    if (rec.state !== 'ACTIVE' && rec.state !== 'DEGRADED') return;
    const decision = afterCheck(rec.state, outcome, rec.faults, rec.degradedAt, this.o.clock(), this.o.thresholds);
    rec.faults = decision.faults;
    const error = outcome.ok ? undefined : outcome.error;
    for (const step of decision.steps) {
      // A listener may have moved the agent meanwhile; the rest of the decision no longer applies.
      if (!live(rec)) return;
      this.move(rec, step, step.reason === 'FAULT' || step.reason === 'FAULTS' ? error : undefined);
    }
  }

  // As the scheduler's: a listener that throws must not leave a transition half-way; its error is rethrown
  // on its own (an uncaught exception, as an EventEmitter listener's would be), after the transition.
  private emit(event: AgentEvent): void {
    emitToAll(this.listeners, event);
  }
}

// ACTIVE or DEGRADED: the states in which a loop runs and is checked. A function, so that TypeScript does not
// narrow the state across calls that move it.
function live(r: AgentRecord): boolean {
  return r.state === 'ACTIVE' || r.state === 'DEGRADED';
}

function statusOf(r: AgentRecord): AgentStatus {
  return { id: r.id, tenant_id: r.tenant_id, state: r.state, running: r.controller !== undefined, restarts: r.restarts, faults: r.faults };
}
