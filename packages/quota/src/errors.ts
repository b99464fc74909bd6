// Typed errors of @tenantry/quota (docs/architecture.md, "Errors"). Every error has a stable `code` and
// names the field at fault; callers and tests match on the code, never on message text. QuotaError extends
// core's TenantryError with package 'quota', so isQuotaError recognises this package's errors from any copy
// of it, and never another package's.
//
// Denials are not errors: reserve() answers { ok: false, reason }. These errors are for bad input, a store
// that cannot be reached and a control sink that failed.
import { errorGuard, TenantryError, type TenantryErrorDetails } from '@tenantry/core';

/** Stable error codes. */
export type QuotaErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_AMOUNT'
  | 'INVALID_TENANT_ID'
  | 'INVALID_TIMEZONE'
  /** freeze, unfreeze or usage of a tenant that has no envelope. */
  | 'UNKNOWN_TENANT'
  /** The store could not be reached (settle, release, setEnvelope…: retry; settle is idempotent by id). */
  | 'STORE_UNAVAILABLE'
  /**
   * The control sink (createQuota({ control })) rejected the event of an automatic freeze. The freeze was
   * applied all the same (fail closed) and the settlement that caused it has landed: a retried settle
   * answers `duplicate`. `cause` is the sink's error.
   */
  | 'CONTROL_FAILED';

export type QuotaErrorDetails = TenantryErrorDetails;

/** The one error class of the package; `field` names the argument or field at fault. */
export class QuotaError extends TenantryError<QuotaErrorCode> {
  constructor(code: QuotaErrorCode, message: string, details: QuotaErrorDetails = {}) {
    super('quota', code, message, details);
    this.name = 'QuotaError';
  }
}

/** True for an error thrown by @tenantry/quota, whichever copy of it threw; false for other packages' errors. */
export const isQuotaError = errorGuard<QuotaError>('quota');

/** STORE_UNAVAILABLE for a store call that failed with `cause`. */
export function storeUnavailable(cause: unknown, what = 'the quota store could not be reached'): QuotaError {
  return new QuotaError('STORE_UNAVAILABLE', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { field: 'store', cause });
}

/**
 * A store call whose failure is STORE_UNAVAILABLE, except a QuotaError the store threw (a fenced store's bad
 * `options.fence`), which is passed on as it is.
 */
export async function reach<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (isQuotaError(e)) throw e;
    throw storeUnavailable(e);
  }
}

/** INVALID_ARGUMENT naming `field`; the message is the field then `message`. */
export function invalidArgument(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}
