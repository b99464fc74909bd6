// Typed errors of @tenantry/scheduler (docs/architecture.md, "Errors"). Every error has a stable `code` and,
// where an argument is at fault, names the `field`; callers and tests match on the code, never on message
// text. SchedulerError extends core's TenantryError with package 'scheduler', so isSchedulerError recognises
// this package's errors from any copy of it, and never another package's.
//
// A task's own failure is not wrapped: submit() rejects with the error the task threw, unless the scheduler
// itself decided the outcome (a timeout, an abort, an open circuit, the poison queue).
import { errorGuard, TenantryError, type TenantryErrorDetails } from '@tenantry/core';

/** Stable error codes. */
export type SchedulerErrorCode =
  /** The global queue, or the tenant's, is full; `retry_after_ms` estimates when a place frees. */
  | 'QUEUE_FULL'
  /** The tenant is paused (pauseTenant); nothing new is accepted until resumeTenant. */
  | 'TENANT_PAUSED'
  /** The domain is paused (pauseDomain); nothing new is accepted until resumeDomain. */
  | 'DOMAIN_PAUSED'
  /** The breaker of (tenant, service) is open or testing; `retry_after_ms` says when it half-opens. */
  | 'CIRCUIT_OPEN'
  /** `timeout_ms` passed, counted from submit (queue wait and run). */
  | 'TIMEOUT'
  /** The caller's `signal` aborted. */
  | 'ABORTED'
  /**
   * The task cannot succeed as it is: it failed with retryable errors on every attempt (it is in `poisoned()`,
   * `cause` is the last error), or, in a tenant pool, it exhausted its worker's heap (`cause` is
   * ERR_WORKER_OUT_OF_MEMORY; only that worker died).
   */
  | 'POISONED'
  /** submit for a tenant that was never set with setTenant. */
  | 'UNKNOWN_TENANT'
  /** The scheduler was closed before the task ran. */
  | 'CLOSED'
  | 'INVALID_ARGUMENT';

export interface SchedulerErrorDetails extends TenantryErrorDetails {
  /** For QUEUE_FULL and CIRCUIT_OPEN: how long to wait before trying again, in milliseconds (≥ 1). */
  retry_after_ms?: number | undefined;
}

/** The one error class of the package. */
export class SchedulerError extends TenantryError<SchedulerErrorCode> {
  readonly retry_after_ms: number | undefined;

  constructor(code: SchedulerErrorCode, message: string, details: SchedulerErrorDetails = {}) {
    super('scheduler', code, message, details);
    this.name = 'SchedulerError';
    this.retry_after_ms = details.retry_after_ms;
  }
}

/** True for an error thrown by @tenantry/scheduler, whichever copy of it threw; false for other packages' errors. */
export const isSchedulerError = errorGuard<SchedulerError>('scheduler');

/** INVALID_ARGUMENT naming `field`; the message is the field then `message`. */
export function invalidArgument(field: string, message: string): SchedulerError {
  return new SchedulerError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}
