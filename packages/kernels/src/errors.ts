// Typed errors of @tenantry/kernels. Every error carries a stable `code`; tests and callers match
// on the code, never on message text. A wrong type is a TypeError, a wrong size or range a
// RangeError (as in noble-hashes), and both are recognisable across two copies of the package
// through a branded property (isKernelError).

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

const BRAND = Symbol.for('@tenantry/error');

export interface KernelError extends Error {
  readonly code: KernelErrorCode;
  /** The argument at fault, as named in the message (e.g. `leafHashes[3]`). */
  readonly field: string | undefined;
}

/** A value of the wrong type (a string where bytes were expected, a non-array list). */
export class KernelTypeError extends TypeError implements KernelError {
  readonly code: KernelErrorCode;
  readonly field: string | undefined;
  constructor(code: KernelErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'KernelTypeError';
    this.code = code;
    this.field = field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** A value of the right type but the wrong size or outside its range. */
export class KernelRangeError extends RangeError implements KernelError {
  readonly code: KernelErrorCode;
  readonly field: string | undefined;
  constructor(code: KernelErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'KernelRangeError';
    this.code = code;
    this.field = field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** The WebAssembly module could not be instantiated (neither the SIMD nor the scalar build). */
export class KernelUnavailableError extends Error implements KernelError {
  readonly code: KernelErrorCode = 'KERNEL_UNAVAILABLE';
  readonly field: string | undefined = undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelUnavailableError';
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** A call on a hash pool after close() began. */
export class PoolClosedError extends Error implements KernelError {
  readonly code: KernelErrorCode = 'POOL_CLOSED';
  readonly field: string | undefined = undefined;
  constructor(message = 'the hash pool is closed') {
    super(message);
    this.name = 'PoolClosedError';
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any error thrown by a tenantry package, whichever copy of it threw. */
export function isKernelError(e: unknown): e is KernelError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}
