// Typed errors of @tenantry/audit (docs/architecture.md, "Errors"). Every error has a stable `code`;
// callers and tests match on the code, never on message text. AuditError extends core's
// TenantryError, whose brand names the package, so isAuditError recognises an AuditError from any
// copy of this package and never another package's error.
import { errorGuard, TenantryError } from '@tenantry/core';

/** Stable error codes. */
export type AuditErrorCode =
  // arguments
  | 'INVALID_ARGUMENT'
  | 'INVALID_BYTES'
  | 'INVALID_LENGTH'
  | 'INVALID_INDEX'
  | 'INVALID_SIZE'
  | 'INVALID_PROOF'
  // signed notes and checkpoints
  | 'INVALID_KEY'
  | 'MALFORMED_NOTE'
  | 'UNVERIFIED_NOTE'
  | 'INVALID_SIGNATURE'
  | 'AMBIGUOUS_KEY'
  | 'MALFORMED_CHECKPOINT'
  // durable logs
  | 'INVALID_TENANT_ID'
  | 'INVALID_PAYLOAD'
  | 'ENTRY_TOO_LARGE'
  | 'LOG_CORRUPT'
  | 'LOG_CLOSED'
  | 'LOG_LOCKED'
  | 'IO_ERROR'
  // receipts and replay
  | 'INVALID_RECEIPT'
  | 'ROOT_MISMATCH';

export interface AuditErrorDetails {
  /** The argument or input field at fault, as named in the message. */
  field?: string;
  /** For log errors: the tenant and entry index concerned. */
  tenantId?: string;
  index?: number;
  cause?: unknown;
}

/**
 * The one error class of the package. A wrong type in an argument is still an AuditError (with
 * code INVALID_ARGUMENT or INVALID_BYTES); `field` names the argument.
 */
export class AuditError extends TenantryError<AuditErrorCode> {
  readonly tenantId: string | undefined;
  readonly index: number | undefined;

  constructor(code: AuditErrorCode, message: string, details: AuditErrorDetails = {}) {
    super('audit', code, message, { field: details.field, cause: details.cause });
    this.name = 'AuditError';
    this.tenantId = details.tenantId;
    this.index = details.index;
  }
}

/** True for an error thrown by @tenantry/audit, from any copy of it; false for other packages' errors. */
export const isAuditError = errorGuard<AuditError>('audit');

/**
 * `e` as an IO_ERROR of the log (an AuditError passes through unchanged), with the tenant and
 * index concerned when there are.
 */
export function _ioError(e: unknown, what: string, tenantId?: string, index?: number): AuditError {
  if (isAuditError(e)) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new AuditError('IO_ERROR', `${what}: ${reason}`, {
    ...(tenantId === undefined ? {} : { tenantId }), ...(index === undefined ? {} : { index }), cause: e,
  });
}
