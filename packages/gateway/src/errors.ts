// Typed errors of @tenantry/gateway, for configuration mistakes (a tenants file, options). Request
// mistakes are answers, never thrown: 4xx with { code, message } (gateway.ts).
const BRAND = Symbol.for('@tenantry/error');

/** Stable error codes. */
export type GatewayErrorCode = 'INVALID_ARGUMENT' | 'INVALID_TENANTS';

/** The one error class of the package; `field` names the option or tenants-file field at fault. */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly field: string | undefined;

  constructor(code: GatewayErrorCode, message: string, field?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'GatewayError';
    this.code = code;
    this.field = field;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an error thrown by @tenantry/gateway, whichever copy of it threw. */
export function isGatewayError(e: unknown): e is GatewayError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && (e as { name?: unknown }).name === 'GatewayError';
}
