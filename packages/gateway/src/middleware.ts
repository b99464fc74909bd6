// tenantry as connect/Express-style middleware: `(req, res, next)` answering the routes of routes.ts and
// passing everything else to `next()`. Works on a bare node:http server too. A JSON body already parsed by
// the host (express.json(): `req.body` set) is used as is; otherwise the body is read here, up to
// `bodyLimit` bytes, and must be `application/json`. Client mistakes get the same 4xx { code, message }
// (`field` where one is at fault) as the Fastify plugin, from the same rules (fastify.ts: `clientError`,
// `parseJsonBody`). What Node's own HTTP parser refuses, and the request timeouts, belong to the host's
// server (its `clientError` event, `requestTimeout`, `headersTimeout`): the reference server shows how.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from './errors.js';
import { BAD_PATH, clientError, clientErrorBody, parseJsonBody, RequestRefused } from './fastify.js';
import type { Gateway } from './gateway.js';
import type { GatewayReply } from './reply.js';
import { matchRoute } from './routes.js';
import { CLUSTER_PATH, ClusterRouting, FORWARD_PATH, type GatewayCluster } from './cluster.js';
import { observeCluster } from './cluster-metrics.js';

export interface TenantryMiddlewareOptions {
  /** Largest request body, bytes (default 64 KiB). */
  bodyLimit?: number;
  /** This node's cluster node: as the Fastify plugin's `cluster` option (cluster.ts). */
  cluster?: GatewayCluster;
}

type Next = (err?: unknown) => void;

function readJson(req: IncomingMessage & { body?: unknown }, limit: number): Promise<unknown> {
  if (req.body !== undefined) return Promise.resolve(req.body);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new RequestRefused(413, 'BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => {
      // The client went away mid-body (or the host's server timed the request out and closed it): nobody
      // reads this answer, but it is the client's doing, not a server fault for the host's next(err).
      if (!failed) reject(new RequestRefused(400, 'REQUEST_ABORTED', 'the connection closed before the request body was complete'));
    });
    req.on('end', () => {
      if (failed) return;
      // As Fastify: no body and no JSON content-type is no body; an empty JSON body is INVALID_JSON.
      if (size === 0 && type !== 'application/json') return resolve(undefined);
      if (type !== 'application/json') return reject(new RequestRefused(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${JSON.stringify(type)}`));
      try {
        resolve(parseJsonBody(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(e);
      }
    });
  });
}

function write(res: ServerResponse, r: GatewayReply): void {
  const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  res.statusCode = r.status;
  if (r.headers?.['content-type'] === undefined) res.setHeader('content-type', typeof r.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8');
  for (const [k, v] of Object.entries(r.headers ?? {})) res.setHeader(k, v);
  res.end(text);
}

/**
 * The tenantry routes as `(req, res, next)` middleware.
 * @throws GatewayError INVALID_ARGUMENT naming the option at fault.
 */
export function tenantryMiddleware(gateway: Gateway, options: TenantryMiddlewareOptions = {}): (req: IncomingMessage, res: ServerResponse, next?: Next) => void {
  if (gateway === null || typeof gateway !== 'object' || typeof gateway.invoke !== 'function') {
    throw new GatewayError('INVALID_ARGUMENT', 'gateway must be a Gateway (Gateway.create)', 'gateway');
  }
  const bodyLimit = options.bodyLimit ?? 64 * 1024;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit <= 0) throw new GatewayError('INVALID_ARGUMENT', 'options.bodyLimit must be a positive integer', 'options.bodyLimit');
  const cluster = options.cluster;
  if (cluster !== undefined && (cluster === null || typeof cluster !== 'object' || typeof cluster.route !== 'function' || typeof cluster.open !== 'function')) {
    throw new GatewayError('INVALID_ARGUMENT', 'options.cluster must be a cluster node (createClusterNode of @tenantry/federation)', 'options.cluster');
  }
  const routing = cluster === undefined ? undefined : new ClusterRouting(gateway, cluster);
  if (routing !== undefined) observeCluster(gateway.metrics.registry, routing);
  const fail = (res: ServerResponse, next: Next | undefined) => (e: unknown): void => {
    const c = e instanceof RequestRefused ? clientError(e) : null;
    if (c !== null) write(res, { status: c.status, body: clientErrorBody(c) });
    else if (next) next(e);
    else write(res, { status: 500, body: { code: 'INTERNAL', message: 'internal error' } });
  };
  return (req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const method = req.method ?? 'GET';
    const pathname = q < 0 ? url : url.slice(0, q);
    if (routing !== undefined && ((method === 'GET' && pathname === CLUSTER_PATH) || (method === 'POST' && pathname === FORWARD_PATH))) {
      const answer = method === 'GET' ? routing.state(new URLSearchParams(q < 0 ? '' : url.slice(q + 1)).get('tenant') ?? undefined) : readJson(req, bodyLimit * 4 + 16 * 1024).then((b) => routing.forwarded(b));
      answer.then((reply) => write(res, reply)).catch(fail(res, next));
      return;
    }
    const match = matchRoute(method, pathname);
    if (match === null) {
      // One of ours whose parameters do not decode (`%zz`, `%ff`): with every `%` taken literally it matches.
      // Fastify answers it 400; so does this.
      if (matchRoute(method, pathname.replaceAll('%', '%25')) !== null) {
        write(res, { status: BAD_PATH.status, body: clientErrorBody(BAD_PATH) });
      } else if (next) next();
      else write(res, { status: 404, body: { code: 'NOT_FOUND', message: `no route ${req.method} ${url}` } });
      return;
    }
    const { route, params } = match;
    (route.body ? readJson(req, bodyLimit) : Promise.resolve(undefined))
      .then((body) => (routing === undefined
        ? route.handle(gateway, params, req.headers.authorization, body)
        : routing.serve(route, params, req.headers.authorization, body, pathname)))
      .then((reply) => {
        gateway.metrics.requests.inc({ route: route.path, status: String(reply.status) });
        write(res, reply);
      })
      .catch(fail(res, next));
  };
}
