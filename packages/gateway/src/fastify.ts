// tenantry as a Fastify plugin: the routes (docs/architecture.md, "@tenantry/gateway") on a Gateway (gateway.ts), and GET /metrics. Register it in an
// existing server (`app.register(tenantryRoutes, { gateway })`); it is encapsulated, so its error handler
// (client mistakes → 4xx { code, message }, never a 500) and its JSON body parser apply to its own routes
// only and the host's handlers are left alone.
//
// Also the refusals both adapters share (the middleware imports them): `clientError`, which names the
// answer { code, message, field? } for whatever refused a request — Fastify's router and body parsers, Node's
// HTTP parser and request timeout — and `parseJsonBody`, the JSON body rule.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { GatewayError } from './errors.js';
import type { Gateway } from './gateway.js';
import type { GatewayReply } from './reply.js';
import { CLUSTER_PATH, ClusterRouting, FORWARD_PATH, type GatewayCluster } from './cluster.js';
import { observeCluster } from './cluster-metrics.js';
import { ROUTES } from './routes.js';

export interface TenantryRoutesOptions {
  gateway: Gateway;
  /**
   * This node's cluster node (cluster.ts): tenant routes are served by their shard's owner (forwarded there
   * from any other node), and GET /v1/cluster and POST /v1/cluster/forward are added. Default: one node.
   */
  cluster?: GatewayCluster;
  /** Largest request body, bytes (default 64 KiB). */
  bodyLimit?: number;
}

/** The answer to a refused request: `status`, and the body `{ code, message }` plus `field` when one is at fault. */
export interface ClientErrorAnswer {
  status: number;
  code: string;
  message: string;
  field?: string;
}

/** A request refused before it reaches a route (its body); carries its answer to the adapter's error path. */
export class RequestRefused extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
    this.name = 'RequestRefused';
  }
}

// llhttp's error codes (Node's HTTP/1.1 parser) → the part of the request at fault.
const PARSER_FIELDS = new Map([
  ['HPE_INVALID_CONTENT_LENGTH', 'content-length'],
  ['HPE_UNEXPECTED_CONTENT_LENGTH', 'content-length'],
  ['HPE_INVALID_TRANSFER_ENCODING', 'transfer-encoding'],
  ['HPE_INVALID_CHUNK_SIZE', 'transfer-encoding'],
  ['HPE_INVALID_HEADER_TOKEN', 'headers'],
  ['HPE_INVALID_URL', 'path'],
  ['HPE_INVALID_METHOD', 'method'],
  ['HPE_INVALID_VERSION', 'version'],
]);

const answer = (status: number, code: string, message: string, field?: string): ClientErrorAnswer =>
  field === undefined ? { status, code, message } : { status, code, message, field };

/** A route's path whose parameters do not decode (RFC 3986 §2.1 escapes, UTF-8). */
export const BAD_PATH: Readonly<ClientErrorAnswer> = Object.freeze(answer(400, 'INVALID_REQUEST', 'the path has a %-escape that is not hex or does not decode to UTF-8', 'path'));

/**
 * The 4xx answer for an error that refused a request: Fastify's (router: a bad %-escape, a path parameter
 * over `maxParamLength`; body parsers), Node's HTTP server (a parse error, headers over
 * `--max-http-header-size`, `ERR_HTTP_REQUEST_TIMEOUT` from `requestTimeout` / `headersTimeout`), a client gone
 * mid-body, or a `RequestRefused`. Null for anything else: a server fault, answered 500 by the caller.
 */
export function clientError(e: Error & { code?: unknown; statusCode?: unknown; reason?: unknown }): ClientErrorAnswer | null {
  if (e instanceof RequestRefused) return answer(e.status, e.code, e.message, e.field);
  const code = typeof e.code === 'string' ? e.code : '';
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return answer(408, 'REQUEST_TIMEOUT', 'the request was not received completely within the time the server allows');
    case 'HPE_HEADER_OVERFLOW':
      return answer(431, 'HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts', 'headers');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return answer(413, 'BODY_TOO_LARGE', 'the chunk extensions are larger than the server accepts', 'transfer-encoding');
    case 'FST_ERR_BAD_URL':
      return BAD_PATH;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return answer(414, 'URI_TOO_LONG', 'a path parameter is longer than the server accepts', 'path');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'BODY_TOO_LARGE', e.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answer(415, 'UNSUPPORTED_MEDIA_TYPE', e.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return answer(400, 'INVALID_JSON', e.message);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answer(400, 'INVALID_REQUEST', 'the body is not as long as Content-Length says', 'content-length');
  }
  if (code.startsWith('HPE_')) {
    // llhttp's reason is a fixed text ("Invalid header value char"), never the request's bytes.
    return answer(400, 'INVALID_REQUEST', `malformed HTTP/1.1 request: ${typeof e.reason === 'string' ? e.reason : code}`, PARSER_FIELDS.get(code));
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status < 400 || status >= 500) return null;
  // Fastify's body reader marks the stream's error 400: the client went away mid-body (nobody reads this).
  if (code === 'ECONNRESET') return answer(400, 'REQUEST_ABORTED', 'the connection closed before the request body was complete');
  return answer(status, e instanceof SyntaxError ? 'INVALID_JSON' : 'INVALID_REQUEST', e.message);
}

/**
 * The JSON path of the first key that Fastify's secure parser (secure-json-parse with `protoAction` and
 * `constructorAction` "error") refuses: `__proto__`, or `constructor` holding an object with a `prototype`
 * key. Merged into another object, either would replace that object's prototype (prototype poisoning).
 * Iterative: a 64 KiB body can nest deeper than the call stack.
 */
function forbiddenKey(root: unknown): string | null {
  const stack: Array<[unknown, string]> = [[root, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    const array = Array.isArray(value);
    for (const key of Object.keys(value)) {
      // JSON.parse defines `__proto__` as an own data property, so this reads it, not the prototype.
      const child = (value as Record<string, unknown>)[key];
      const at = array ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
      if (key === '__proto__') return at;
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return `${at}.prototype`;
      stack.push([child, at]);
    }
  }
  return null;
}

/**
 * Parses a request body sent as `application/json`.
 * @throws RequestRefused 400 `INVALID_JSON` (empty, or not JSON: the parser's reason), or 400
 * `FORBIDDEN_KEY` whose `field` is the path of a `__proto__` or `constructor.prototype` key.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new RequestRefused(400, 'INVALID_JSON', 'the body is empty but its content-type is application/json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new RequestRefused(400, 'INVALID_JSON', `the body is not valid JSON: ${(e as Error).message}`);
  }
  const key = forbiddenKey(value);
  if (key !== null) {
    throw new RequestRefused(400, 'FORBIDDEN_KEY', `${key} is refused: a key that would set an object's prototype when merged (prototype poisoning)`, key);
  }
  return value;
}

/** The JSON body of an answer: `{ code, message }`, and `field` when one is named. */
export function clientErrorBody(c: ClientErrorAnswer): { code: string; message: string; field?: string } {
  return c.field === undefined ? { code: c.code, message: c.message } : { code: c.code, message: c.message, field: c.field };
}

const isObjectLike = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function send(reply: FastifyReply, r: GatewayReply): FastifyReply {
  if (r.headers !== undefined) void reply.headers(r.headers);
  return reply.code(r.status).send(r.body);
}

/** The tenantry routes (routes.ts) in a Fastify server. */
export const tenantryRoutes: FastifyPluginAsync<TenantryRoutesOptions> = async (app: FastifyInstance, options) => {
  const gateway = options?.gateway;
  if (gateway === undefined || gateway === null || typeof gateway.invoke !== 'function') {
    throw new GatewayError('INVALID_ARGUMENT', 'options.gateway must be a Gateway (Gateway.create)', 'options.gateway');
  }
  const bodyLimit = options.bodyLimit ?? 64 * 1024;

  // Only JSON bodies, through parseJsonBody (the reason of a refusal named, as the middleware does);
  // any other media type is 415. In this encapsulated context only: the host keeps its parsers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    try {
      done(null, parseJsonBody(text as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setErrorHandler((error: Error, request, reply) => {
    const c = clientError(error);
    if (c !== null) return reply.code(c.status).send(clientErrorBody(c));
    request.log.error(error);
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });

  const cluster = options.cluster;
  if (cluster !== undefined && (!isObjectLike(cluster) || typeof cluster.route !== 'function' || typeof cluster.open !== 'function')) {
    throw new GatewayError('INVALID_ARGUMENT', 'options.cluster must be a cluster node (createClusterNode of @tenantry/federation)', 'options.cluster');
  }
  const routing = cluster === undefined ? undefined : new ClusterRouting(gateway, cluster);
  if (routing !== undefined) {
    observeCluster(gateway.metrics.registry, routing);
    app.addHook('onClose', async () => routing.close());
    app.get<{ Querystring: { tenant?: string } }>(CLUSTER_PATH, async (req, reply) => send(reply, await routing.state(req.query.tenant)));
    // A signed message carries the forwarded request and a certificate: up to 4 times the body limit.
    app.post(FORWARD_PATH, { bodyLimit: bodyLimit * 4 + 16 * 1024 }, async (req, reply) => send(reply, await routing.forwarded(req.body)));
  }
  for (const route of ROUTES) {
    app.route<{ Params: Record<string, string> }>({
      method: route.method, url: route.path, ...(route.body ? { bodyLimit } : {}),
      handler: async (req, reply) => send(reply, routing === undefined
        ? await route.handle(gateway, req.params, req.headers.authorization, req.body)
        : await routing.serve(route, req.params, req.headers.authorization, req.body, req.url.split('?')[0]!)),
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    gateway.metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });
};
