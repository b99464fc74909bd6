// What a request answers when one of its audit entries cannot be written. The request then stops where
// it is: nothing after the failed append happens, and a reservation made for it is released, so nothing
// is ever charged without its entry (docs/architecture.md, "The request path").
import { isAuditError } from '@tenantry/audit';
import { reply, type GatewayReply } from './reply.js';

/**
 * 503 TENANT_LOG_CORRUPT for a tenant whose chain is damaged (read-only until repaired; every other
 * tenant goes on), 503 AUDIT_UNAVAILABLE when the log cannot take the entry now; null for an error that is
 * not the audit log's (a bug, rethrown by the caller).
 */
export function auditFailure(e: unknown, tenantId: string): GatewayReply | null {
  if (!isAuditError(e)) return null;
  if (e.code === 'LOG_CORRUPT') return tenantLogCorrupt(tenantId, e.message);
  return { ...reply(503, 'AUDIT_UNAVAILABLE', `the audit log cannot take this request's entry now (${e.code}); nothing was charged`), headers: { 'retry-after': '1' } };
}

/** 503 for a request of a tenant whose audit chain is damaged: it is read-only until an operator repairs it. */
export function tenantLogCorrupt(tenantId: string, detail: string): GatewayReply {
  return reply(503, 'TENANT_LOG_CORRUPT', `tenant ${JSON.stringify(tenantId)} is read-only: its audit log is damaged (${detail}); its entries before the damage stay readable and provable`);
}
