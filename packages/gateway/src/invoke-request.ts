// The body of POST /v1/invoke: { action, resource, estimated_usd, experiment_id? }, checked once with
// an answer naming the field at fault.
import { isObject } from '@tenantry/core';
import type { JsonObject } from '@tenantry/audit';
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
  return {
    action: body.action, resource: body.resource as JsonObject, estimated_usd: usd,
    ...(body.experiment_id === undefined ? {} : { experiment_id: body.experiment_id as string }),
  };
}

/** True when checkInvokeRequest answered (a 400) rather than returning the request. */
export function isReply(v: InvokeRequest | GatewayReply): v is GatewayReply {
  return 'status' in v;
}
