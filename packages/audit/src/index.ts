export { AuditError, isAuditError } from './errors.js';
export type { AuditErrorCode, AuditErrorDetails } from './errors.js';
export { federatedRoot } from './federated.js';
