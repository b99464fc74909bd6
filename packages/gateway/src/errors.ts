// Typed errors of @tenantry/gateway, for configuration mistakes (a tenants file, options) and for the
// control-plane log. Request mistakes are answers, never thrown: 4xx with { code, message } (reply.ts).
// The base class and the guard come from @tenantry/core (docs/architecture.md, "Errors").
import { errorGuard, TenantryError } from '@tenantry/core';

/** Stable error codes. */
export type GatewayErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_TENANTS'
  /** A control event could not be made durable in the control-plane log. */
  | 'CONTROL_LOG_UNAVAILABLE'
  /** An entry of the control-plane log is not a control event (the log is readable but its content is not). */
  | 'CONTROL_LOG_INVALID'
  /** The control-plane chain is damaged (a flipped byte, a bad record): the gateway does not start on it. */
  | 'CONTROL_LOG_CORRUPT';

/** The one error class of the package; `field` names the option or tenants-file field at fault. */
export class GatewayError extends TenantryError<GatewayErrorCode> {
  /** For control-log errors: the entry index concerned. */
  readonly index: number | undefined;

  constructor(code: GatewayErrorCode, message: string, field?: string, cause?: unknown, index?: number) {
    super('gateway', code, message, { field, cause });
    this.name = 'GatewayError';
    this.index = index;
  }
}

/** True for an error thrown by @tenantry/gateway, whichever copy of it threw; never for another package's. */
export const isGatewayError = errorGuard<GatewayError>('gateway');
