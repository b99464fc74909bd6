// The one error base of tenantry (docs/architecture.md, "Errors").
//
// Every error a tenantry package throws carries a stable `code` (callers and tests match on it, never on
// message text), the `field` at fault where there is one, and the name of the package that threw it.
// Recognition works across two copies of a package (two versions installed side by side, or a CJS and
// an ESM copy), as cockatiel's guards do: not through `instanceof`, which fails across copies, but
// through a property keyed by a registered symbol whose value is the package name. So each package's
// guard (`isAuditError`, `isQuotaError`, …) matches that package's errors from any copy, and never
// another package's.

/** The registered symbol every tenantry error carries; its value is the throwing package's name. */
export const ERROR_BRAND: unique symbol = Symbol.for('@tenantry/error') as never;

/** The packages that throw tenantry errors. */
export type ErrorPackage = 'core' | 'kernels' | 'audit' | 'policy' | 'quota' | 'gateway' | 'scheduler' | 'federation';

export interface TenantryErrorDetails {
  /** The argument, option or input field at fault, as named in the message. */
  field?: string | undefined;
  cause?: unknown;
}

/** What every tenantry error has, whichever class it is (kernels' errors keep TypeError / RangeError). */
export interface TenantryErrorLike extends Error {
  readonly code: string;
  readonly field: string | undefined;
  readonly package: ErrorPackage;
}

/**
 * Marks `error` as thrown by `pkg`. For error classes that cannot extend TenantryError (kernels' errors
 * extend TypeError and RangeError, as noble-hashes does); every other package extends TenantryError.
 */
export function brandError(error: Error, pkg: ErrorPackage): void {
  Object.defineProperty(error, ERROR_BRAND, { value: pkg, enumerable: false });
  Object.defineProperty(error, 'package', { value: pkg, enumerable: false });
}

/** The base class of every package's error class. */
export class TenantryError<Code extends string = string> extends Error implements TenantryErrorLike {
  readonly code: Code;
  readonly field: string | undefined;
  declare readonly package: ErrorPackage;

  constructor(pkg: ErrorPackage, code: Code, message: string, details: TenantryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TenantryError';
    this.code = code;
    this.field = details.field;
    brandError(this, pkg);
  }
}

/** The package that threw `e`, or undefined when `e` is not a tenantry error. */
export function errorPackage(e: unknown): ErrorPackage | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const brand = (e as Record<symbol, unknown>)[ERROR_BRAND];
  return typeof brand === 'string' && typeof (e as { code?: unknown }).code === 'string' ? (brand as ErrorPackage) : undefined;
}

/** True for an error thrown by any tenantry package, from any copy of it. */
export function isTenantryError(e: unknown): e is TenantryErrorLike {
  return errorPackage(e) !== undefined;
}

/**
 * The guard of one package: true for that package's errors only, from any copy of it.
 * @example export const isAuditError = errorGuard<AuditError>('audit');
 */
export function errorGuard<E extends TenantryErrorLike>(pkg: ErrorPackage): (e: unknown) => e is E {
  return (e: unknown): e is E => errorPackage(e) === pkg;
}

/** Stable codes of @tenantry/core's own errors. */
export type CoreErrorCode = 'INVALID_TENANT_ID' | 'INVALID_ARGUMENT' | 'INVALID_CONTROL_EVENT';

/** Errors of @tenantry/core: a tenant id or a control event that breaks the rules. */
export class CoreError extends TenantryError<CoreErrorCode> {
  constructor(code: CoreErrorCode, message: string, details: TenantryErrorDetails = {}) {
    super('core', code, message, details);
    this.name = 'CoreError';
  }
}

/** True for an error thrown by @tenantry/core, from any copy of it. */
export const isCoreError = errorGuard<CoreError>('core');
