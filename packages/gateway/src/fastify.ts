// tenantry as a Fastify plugin: the routes of DESIGN.md on a Gateway (gateway.ts), and GET /metrics. Register it in an
// existing server (`app.register(tenantryRoutes, { gateway })`); it is encapsulated, so its error handler
// (client mistakes → 4xx { code, message }, never a 500) applies to its own routes only and the host's
// handlers are left alone.
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { GatewayError } from './errors.js';
import type { Gateway, GatewayReply } from './gateway.js';

export interface TenantryRoutesOptions {
  gateway: Gateway;
  /** Largest request body, bytes (default 64 KiB). */
  bodyLimit?: number;
}

function send(reply: FastifyReply, r: GatewayReply): FastifyReply {
  if (r.headers !== undefined) void reply.headers(r.headers);
  return reply.code(r.status).send(r.body);
}

/** Maps Fastify's own refusals of a request to 4xx { code, message }. */
export function clientError(e: FastifyError): { status: number; code: string; message: string } | null {
  const status = e.statusCode ?? 500;
  if (status < 400 || status >= 500) return null;
  const code =
    e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'BODY_TOO_LARGE'
    : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE'
    : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e instanceof SyntaxError ? 'INVALID_JSON'
    : 'INVALID_REQUEST';
  return { status, code, message: e.message };
}

/**
 * The tenantry routes: POST /v1/invoke, GET /v1/tenants/:tenant/audit/:index, GET /v1/audit/checkpoint,
 * PUT /v1/admin/tenants/:tenant/envelope, POST /v1/admin/tenants/:tenant/{freeze,unfreeze,unlock},
 * GET /healthz.
 */
export const tenantryRoutes: FastifyPluginAsync<TenantryRoutesOptions> = async (app: FastifyInstance, options) => {
  const gateway = options?.gateway;
  if (gateway === undefined || gateway === null || typeof gateway.invoke !== 'function') {
    throw new GatewayError('INVALID_ARGUMENT', 'options.gateway must be a Gateway (Gateway.create)', 'options.gateway');
  }
  const bodyLimit = options.bodyLimit ?? 64 * 1024;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const c = clientError(error);
    if (c !== null) return reply.code(c.status).send({ code: c.code, message: c.message });
    request.log.error(error);
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });

  type TenantParams = { tenant: string };
  app.post('/v1/invoke', { bodyLimit }, async (req, reply) => send(reply, await gateway.invoke(req.headers.authorization, req.body)));
  app.get<{ Params: { tenant: string; index: string } }>('/v1/tenants/:tenant/audit/:index', async (req, reply) =>
    send(reply, await gateway.auditEntry(req.headers.authorization, req.params.tenant, req.params.index)));
  app.get('/v1/audit/checkpoint', async (_req, reply) => send(reply, await gateway.checkpoint()));
  app.put<{ Params: TenantParams }>('/v1/admin/tenants/:tenant/envelope', { bodyLimit }, async (req, reply) =>
    send(reply, await gateway.setEnvelope(req.headers.authorization, req.params.tenant, req.body)));
  app.post<{ Params: TenantParams }>('/v1/admin/tenants/:tenant/freeze', { bodyLimit }, async (req, reply) =>
    send(reply, await gateway.freeze(req.headers.authorization, req.params.tenant, req.body, true)));
  app.post<{ Params: TenantParams }>('/v1/admin/tenants/:tenant/unfreeze', { bodyLimit }, async (req, reply) =>
    send(reply, await gateway.freeze(req.headers.authorization, req.params.tenant, req.body, false)));
  app.post<{ Params: TenantParams }>('/v1/admin/tenants/:tenant/unlock', { bodyLimit }, async (req, reply) =>
    send(reply, await gateway.unlock(req.headers.authorization, req.params.tenant, req.body)));
  app.get('/healthz', async (_req, reply) => send(reply, gateway.health()));
  app.get('/metrics', async (_req, reply) => {
    const registry = gateway.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  app.addHook('onResponse', async (req, reply) => {
    gateway.metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
};
