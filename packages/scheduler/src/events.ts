// What a scheduler reports to its listeners (on(listener) → unsubscribe). Every change of what runs, and
// every refusal, is one event; the host turns them into metrics, logs or control events. Pauses are events
// here; writing them to the control-plane log (docs/architecture.md, "Control state") is the host's part.
import type { Domain } from '@tenantry/core';
import type { BreakerState } from './breakers.js';
import type { SchedulerErrorCode } from './errors.js';

export type SchedulerEvent =
  /** A task waits in its tenant's queue of its domain. */
  | { type: 'queued'; task_id: number; tenant_id: string; domain: Domain; cost: number }
  /** A task got a slot; `attempt` counts from 1; `waited_ms` since submit. */
  | { type: 'started'; task_id: number; tenant_id: string; domain: Domain; attempt: number; waited_ms: number }
  | { type: 'completed'; task_id: number; tenant_id: string; domain: Domain; latency_ms: number }
  /** A started task ended without a result: its own error (`code` undefined) or the scheduler's verdict. */
  | { type: 'failed'; task_id: number; tenant_id: string; domain: Domain; code: SchedulerErrorCode | undefined; error: unknown }
  /** A task refused at submit (`task_id` undefined) or cancelled before it started. */
  | { type: 'rejected'; task_id: number | undefined; tenant_id: string; domain: Domain; code: SchedulerErrorCode }
  /** A started task failed with a retryable error; it waits `delay_ms`, then queues again. */
  | { type: 'retry'; task_id: number; tenant_id: string; domain: Domain; attempt: number; delay_ms: number; error: unknown }
  | { type: 'poisoned'; task_id: number; tenant_id: string; domain: Domain; attempts: number; error: unknown }
  | { type: 'tenant_paused'; tenant_id: string }
  | { type: 'tenant_resumed'; tenant_id: string }
  | { type: 'domain_paused'; domain: Domain }
  | { type: 'domain_resumed'; domain: Domain }
  /** The breaker of (tenant, service) changed state. */
  | { type: 'circuit'; tenant_id: string; service: string; state: BreakerState }
  /** The adaptive concurrency limit changed. */
  | { type: 'concurrency'; limit: number };

export type SchedulerEventType = SchedulerEvent['type'];
export type SchedulerListener = (event: SchedulerEvent) => void;

/**
 * Calls every listener with `event`. A listener that throws must not leave its emitter half-way through a
 * change: its error is rethrown on its own (an uncaught exception, as an EventEmitter listener's would be),
 * after the change is done.
 */
export function emitToAll<E>(listeners: Iterable<(event: E) => void>, event: E): void {
  for (const l of listeners) {
    try {
      l(event);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}
