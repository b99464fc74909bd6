// The poison queue (docs/architecture.md, "@tenantry/scheduler"): a task that failed with retryable errors
// on every attempt is rejected POISONED and kept here, inspectable with poisoned() and re-drivable with
// redrive(id), which submits it again as it was first submitted (without its signal, which belonged to the
// first caller). The list is bounded; when full, the oldest entry goes.
import type { Domain } from '@tenantry/core';

/** What poisoned() shows of a poisoned task. */
export interface PoisonedTask {
  readonly id: number;
  readonly tenant_id: string;
  readonly domain: Domain;
  readonly service: string | undefined;
  readonly key: string | undefined;
  /** Tries made, the first included. */
  readonly attempts: number;
  /** The last error. */
  readonly error: unknown;
  /** When it was poisoned (the scheduler's clock). */
  readonly at: number;
}

export interface PoisonRecord<R> {
  readonly info: PoisonedTask;
  /** What redrive() needs to submit it again. */
  readonly resubmit: R;
}

export class PoisonList<R> {
  private readonly map = new Map<number, PoisonRecord<R>>();

  constructor(private readonly max: number) {}

  add(record: PoisonRecord<R>): void {
    this.map.set(record.info.id, record);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  /** Removes and returns the record of `id`, or undefined. */
  take(id: number): PoisonRecord<R> | undefined {
    const r = this.map.get(id);
    if (r !== undefined) this.map.delete(id);
    return r;
  }

  list(): PoisonedTask[] {
    return [...this.map.values()].map((r) => r.info);
  }
}
