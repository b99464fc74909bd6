// Typed errors of @tenantry/kernels (docs/architecture.md, "Errors"). Every error carries a stable
// `code`; tests and callers match on the code, never on message text. A wrong type is a TypeError, a
// wrong size or range a RangeError (as in noble-hashes), so these classes cannot extend core's
// TenantryError: each brands itself with core's brandError instead, and isKernelError recognises them
// across two copies of the package, and never another package's errors.
import { brandError, errorGuard, type ErrorPackage, type TenantryErrorLike } from '@tenantry/core';

/** Stable error codes. */
export type KernelErrorCode =
  | 'INVALID_BYTES'
  | 'INVALID_LENGTH'
  | 'INVALID_ID'
  | 'INVALID_SHARD_COUNT'
  | 'INVALID_ARGUMENT'
  | 'DUPLICATE_NODE_ID'
  | 'KERNEL_UNAVAILABLE'
  | 'POOL_CLOSED';

export interface KernelError extends TenantryErrorLike {
  readonly code: KernelErrorCode;
  /** The argument at fault, as named in the message (e.g. `leafHashes[3]`). */
  readonly field: string | undefined;
}

/** A value of the wrong type (a string where bytes were expected, a non-array list). */
export class KernelTypeError extends TypeError implements KernelError {
  readonly code: KernelErrorCode;
  readonly field: string | undefined;
  declare readonly package: ErrorPackage;
  constructor(code: KernelErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'KernelTypeError';
    this.code = code;
    this.field = field;
    brandError(this, 'kernels');
  }
}

/** A value of the right type but the wrong size or outside its range. */
export class KernelRangeError extends RangeError implements KernelError {
  readonly code: KernelErrorCode;
  readonly field: string | undefined;
  declare readonly package: ErrorPackage;
  constructor(code: KernelErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'KernelRangeError';
    this.code = code;
    this.field = field;
    brandError(this, 'kernels');
  }
}

/** The WebAssembly module could not be instantiated (neither the SIMD nor the scalar build). */
export class KernelUnavailableError extends Error implements KernelError {
  readonly code: KernelErrorCode = 'KERNEL_UNAVAILABLE';
  readonly field: string | undefined = undefined;
  declare readonly package: ErrorPackage;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelUnavailableError';
    brandError(this, 'kernels');
  }
}

/** A call on a hash pool after close() began. */
export class PoolClosedError extends Error implements KernelError {
  readonly code: KernelErrorCode = 'POOL_CLOSED';
  readonly field: string | undefined = undefined;
  declare readonly package: ErrorPackage;
  constructor(message = 'the hash pool is closed') {
    super(message);
    this.name = 'PoolClosedError';
    brandError(this, 'kernels');
  }
}

/** True for an error thrown by @tenantry/kernels, whichever copy of it threw; false for other packages' errors. */
export const isKernelError = errorGuard<KernelError>('kernels');
