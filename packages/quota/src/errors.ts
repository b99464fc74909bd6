// Typed errors of @tenantry/quota. Every error has a stable `code` and names the field at fault;
// callers and tests match on the code, never on message text. Recognisable across two copies of the
// package through the branded property every tenantry error carries (isQuotaError).
//
// Denials are not errors: reserve() answers { ok: false, reason }. These errors are for bad input.

/** Stable error codes. */
export type QuotaErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_AMOUNT'
  | 'INVALID_TENANT_ID'
  | 'INVALID_TIMEZONE'
  /** freeze, unfreeze or usage of a tenant that has no envelope. */
  | 'UNKNOWN_TENANT'
  /** The store could not be reached (settle, release, setEnvelope…: retry; settle is idempotent by id). */
  | 'STORE_UNAVAILABLE';

const BRAND = Symbol.for('@tenantry/error');

export interface QuotaErrorDetails {
  /** The argument or envelope field at fault, as named in the message. */
  field?: string;
  cause?: unknown;
}

/** The one error class of the package; `field` names the argument or field at fault. */
export class QuotaError extends Error {
  readonly code: QuotaErrorCode;
  readonly field: string | undefined;

  constructor(code: QuotaErrorCode, message: string, details: QuotaErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'QuotaError';
    this.code = code;
    this.field = details.field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an error thrown by @tenantry/quota, whichever copy of it threw. */
export function isQuotaError(e: unknown): e is QuotaError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && (e as { name?: unknown }).name === 'QuotaError';
}
