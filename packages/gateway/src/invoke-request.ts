// The body of POST /v1/invoke: { action, resource, estimated_usd, experiment_id? }, checked once with
// an answer naming the field at fault — including everything the request's audit entries will hold, so
// that no request gets as far as a charge with content its entry would refuse (a lone surrogate, a value
// nested deeper than the entry allows): docs/architecture.md, "The request path".
import { encodeEntry, GENESIS_PREV, isAuditError, PROTOCOL_VERSION, type JsonObject } from '@tenantry/audit';
import { isObject } from '@tenantry/core';
import { badRequest, type GatewayReply } from './reply.js';
import type { InvokeRequest } from './stage.js';

const FIELDS: ReadonlySet<string> = new Set(['action', 'resource', 'estimated_usd', 'experiment_id']);
/** Largest estimate of one request, USD. */
export const MAX_ESTIMATE_USD = 1_000_000;

/** The checked request, or the 400 answer for the first field at fault. */
export function checkInvokeRequest(body: unknown): InvokeRequest | GatewayReply {
  if (!isObject(body)) return badRequest('body', 'must be a JSON object { action, resource, estimated_usd, experiment_id? }');
  for (const k of Object.keys(body)) if (!FIELDS.has(k)) return badRequest(k, 'is not a field of an invoke request');
  if (typeof body.action !== 'string' || body.action.length === 0) return badRequest('action', 'must be a non-empty string');
  if (!isObject(body.resource)) return badRequest('resource', 'must be an object (the policy resource)');
  const usd = body.estimated_usd;
  if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0 || usd > MAX_ESTIMATE_USD) return badRequest('estimated_usd', `must be a number of USD from 0 to ${MAX_ESTIMATE_USD}`);
  if (body.experiment_id !== undefined && (typeof body.experiment_id !== 'string' || body.experiment_id.length === 0)) return badRequest('experiment_id', 'must be a non-empty string');
  const request: InvokeRequest = {
    action: body.action, resource: body.resource as JsonObject, estimated_usd: usd,
    ...(body.experiment_id === undefined ? {} : { experiment_id: body.experiment_id as string }),
  };
  return checkEntryContent(request) ?? request;
}

/** What every entry of an invoke carries from its request. */
export function requestFields(r: InvokeRequest): JsonObject {
  return {
    action: r.action, resource: r.resource, estimated_usd: r.estimated_usd,
    ...(r.experiment_id === undefined ? {} : { experiment_id: r.experiment_id }),
  };
}

// A stand-in for the fields the log fills in: the payload rules do not depend on them.
const TEMPLATE = { protocol_version: PROTOCOL_VERSION, tenant_id: 't', index: 0, timestamp: '1970-01-01T00:00:00.000Z', prev: GENESIS_PREV } as const;

/**
 * The 400 for request content an audit entry cannot hold (the audit log's own payload rules, applied by
 * encodeEntry), naming the request field; null when every entry of this request can be written.
 */
function checkEntryContent(r: InvokeRequest): GatewayReply | null {
  try {
    encodeEntry({ ...TEMPLATE, kind: 'invoke.admit', payload: { ...requestFields(r), reservation: 'r', charged_usd: 0 } });
    return null;
  } catch (e) {
    if (!isAuditError(e)) throw e;
    const field = (e.field ?? 'payload').replace(/^payload\.?/, '') || 'body';
    const message = e.message.startsWith(e.field ?? '\u0000') ? e.message.slice((e.field ?? '').length).trim() : e.message;
    return badRequest(field, message);
  }
}

/** True when checkInvokeRequest answered (a 400) rather than returning the request. */
export function isReply(v: InvokeRequest | GatewayReply): v is GatewayReply {
  return 'status' in v;
}
