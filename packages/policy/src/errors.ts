// Typed errors of @tenantry/policy (docs/architecture.md, "Errors"). Every error has a stable `code`;
// callers and tests match on the code, never on message text. PolicyError extends core's TenantryError,
// so isPolicyError recognises it across two copies of the package and never matches another package's
// errors.
//
// decide() never throws: a decision that cannot be made is a deny (fail closed). These errors come
// from loading, data updates and bundle verification.
import { errorGuard, TenantryError, type TenantryErrorDetails } from '@tenantry/core';

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

/** `field`: the argument, option or input field at fault, as named in the message; `cause`. */
export type PolicyErrorDetails = TenantryErrorDetails;

/** The one error class of the package; `field` names the argument or field at fault. */
export class PolicyError extends TenantryError<PolicyErrorCode> {
  constructor(code: PolicyErrorCode, message: string, details: PolicyErrorDetails = {}) {
    super('policy', code, message, details);
    this.name = 'PolicyError';
  }
}

/** True for an error thrown by @tenantry/policy, whichever copy of it threw; false for other packages' errors. */
export const isPolicyError = errorGuard<PolicyError>('policy');
