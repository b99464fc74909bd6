// Typed errors of @tenantry/audit. Every error has a stable `code`; callers and tests match on
// the code, never on message text. Recognisable across two copies of the package through a
// branded property (isAuditError), like every tenantry error.

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

const BRAND = Symbol.for('@tenantry/error');

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
export class AuditError extends Error {
  readonly code: AuditErrorCode;
  readonly field: string | undefined;
  readonly tenantId: string | undefined;
  readonly index: number | undefined;

  constructor(code: AuditErrorCode, message: string, details: AuditErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AuditError';
    this.code = code;
    this.field = details.field;
    this.tenantId = details.tenantId;
    this.index = details.index;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any error thrown by a tenantry package, whichever copy of it threw. */
export function isAuditError(e: unknown): e is AuditError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true && 'code' in e;
}
