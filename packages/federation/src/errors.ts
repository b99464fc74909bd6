// Typed errors of @tenantry/federation (docs/architecture.md, "Errors"). Every error has a stable `code`
// naming what went wrong and a `field` naming where; callers and tests match on the code, never on message
// text. FederationError extends core's TenantryError, so isFederationError recognises it from any copy of
// this package and never another package's error.
import { errorGuard, TenantryError, type TenantryErrorDetails } from '@tenantry/core';

/** Stable error codes. */
export type FederationErrorCode =
  // arguments and options
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  // cluster messages: why a received message was refused (messages.ts)
  | 'UNSIGNED'
  | 'MALFORMED'
  | 'UNSUPPORTED_VERSION'
  | 'UNTRUSTED_KEY'
  | 'REVOKED'
  | 'WRONG_SOURCE'
  | 'FORGED'
  | 'WRONG_TARGET'
  | 'STALE'
  | 'REPLAYED'
  | 'REPLAY_GUARD_FULL'
  // revocation lists (revocation.ts)
  | 'REVOCATION_ROLLBACK'
  // leases and fencing (lease.ts, fencing.ts)
  /** A fenced write carried a token lower than the highest the resource has seen (fencing.ts). */
  | 'STALE_TOKEN'
  /** A fenced write carried a token that no longer holds the resource's lease (expired or released). */
  | 'LEASE_NOT_HELD'
  /** Redis could not be reached or did not answer in time: nothing was written (fail closed). */
  | 'REDIS_UNAVAILABLE'
  /** The leases, membership or shard keeper was closed. */
  | 'CLOSED';

/** The one error class of the package; `field` names the argument or message field at fault. */
export class FederationError extends TenantryError<FederationErrorCode> {
  constructor(code: FederationErrorCode, message: string, details: TenantryErrorDetails = {}) {
    super('federation', code, message, details);
    this.name = 'FederationError';
  }
}

/** True for an error thrown by @tenantry/federation, from any copy of it; false for other packages' errors. */
export const isFederationError = errorGuard<FederationError>('federation');
