// Typed errors of @tenantry/policy. Every error has a stable `code`; callers and tests match on the
// code, never on message text. Recognisable across two copies of the package through the branded
// property every tenantry error carries (isPolicyError).
//
// decide() never throws: a decision that cannot be made is a deny (fail closed). These errors come
// from loading, data updates and bundle verification.

/** Stable error codes. */
export type PolicyErrorCode =
  // arguments and options
  | 'INVALID_ARGUMENT'
  // setData: the tenants document
  | 'INVALID_DATA'
  // bundles
  | 'BUNDLE_MALFORMED'
  | 'BUNDLE_UNSIGNED'
  | 'BUNDLE_SIGNATURE_INVALID'
  | 'BUNDLE_TAMPERED'
  // the compiled policy
  | 'POLICY_LOAD_FAILED'
  // the engine
  | 'ENGINE_CLOSED'
  | 'NOT_LOCKED';

const BRAND = Symbol.for('@tenantry/error');

export interface PolicyErrorDetails {
  /** The argument, option or input field at fault, as named in the message. */
  field?: string;
  cause?: unknown;
}

/** The one error class of the package; `field` names the argument or field at fault. */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;
  readonly field: string | undefined;

  constructor(code: PolicyErrorCode, message: string, details: PolicyErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PolicyError';
    this.code = code;
    this.field = details.field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an error thrown by @tenantry/policy, whichever copy of it threw. */
export function isPolicyError(e: unknown): e is PolicyError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && (e as { name?: unknown }).name === 'PolicyError';
}
