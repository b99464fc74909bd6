// The cost defense wired into a quota (docs/architecture.md, "@tenantry/quota": "a cost-derivative limiter
// whose actions are: suspend canary, terminate experiment, freeze tenant"). Each tick's events go to the
// quota's listeners, and the quota applies two of the actions itself: freeze_tenant freezes the tenant
// (an automatic freeze, source COST_LIMITER: through the control sink first, auto-freeze.ts) and
// terminate_experiment ends the tenant's running experiments; suspend_canary is the host's to apply. An
// action that fails, or whose control event the sink refused, is reported as a defense_error event and
// never thrown: ticks also run on a timer, where nobody would catch it.
import type { ControlSink } from '@tenantry/core';
import { autoFreeze } from './auto-freeze.js';
import type { CostDefense, CostDefenseEvent, LimiterActionEvent } from './defense.js';
import type { QuotaEvent } from './quota-types.js';
import type { QuotaStore } from './store.js';

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DefenseActions {
  readonly defense: CostDefense;
  readonly #store: QuotaStore;
  readonly #control: ControlSink | null;
  readonly #emit: (e: QuotaEvent) => void;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(defense: CostDefense, store: QuotaStore, control: ControlSink | null, emit: (e: QuotaEvent) => void) {
    this.defense = defense;
    this.#store = store;
    this.#control = control;
    this.#emit = emit;
  }

  /** One tick at `now`: the events to the listeners, and the quota's actions applied before it resolves. */
  async tick(now: number): Promise<CostDefenseEvent[]> {
    const events = this.defense.tick(now);
    for (const e of events) {
      this.#emit(e);
      if (e.type === 'freeze_tenant' || e.type === 'terminate_experiment') await this.#act(e);
    }
    return events;
  }

  /** Ticks every `tickMs` at `now()`, without holding the process open; a failed tick waits for the next. */
  start(tickMs: number, now: () => number): void {
    this.#timer = setInterval(() => void Promise.resolve().then(() => this.tick(now())).catch(() => {}), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #act(e: LimiterActionEvent): Promise<void> {
    const failed = (message: string): void => this.#emit({ type: 'defense_error', tenant_id: e.tenant_id, at: e.at, action: e.type, message });
    try {
      if (e.type === 'freeze_tenant') {
        const { sinkFailure } = await autoFreeze(this.#store, this.#control, e.tenant_id, 'COST_LIMITER');
        if (sinkFailure !== null) failed(`the control sink refused the COST_LIMITER freeze (applied all the same): ${messageOf(sinkFailure.cause)}`);
      } else {
        for (const exp of await this.#store.runningExperiments(e.tenant_id)) await this.#store.endExperiment(e.tenant_id, exp);
      }
    } catch (err) {
      failed(messageOf(err));
    }
  }
}
