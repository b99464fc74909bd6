// tenantry as a Fastify plugin: the routes (docs/architecture.md, "@tenantry/gateway") on a Gateway (gateway.ts), and GET /metrics. Register it in an
// existing server (`app.register(tenantryRoutes, { gateway })`); it is encapsulated, so its error handler
// (client mistakes → 4xx { code, message }, never a 500) applies to its own routes only and the host's
// handlers are left alone.
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { GatewayError } from './errors.js';
import type { Gateway } from './gateway.js';
import type { GatewayReply } from './reply.js';
import { ROUTES } from './routes.js';

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

/** The tenantry routes (routes.ts) in a Fastify server. */
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

  for (const route of ROUTES) {
    app.route<{ Params: Record<string, string> }>({
      method: route.method, url: route.path, ...(route.body ? { bodyLimit } : {}),
      handler: async (req, reply) => send(reply, await route.handle(gateway, req.params, req.headers.authorization, req.body)),
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    gateway.metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
};
