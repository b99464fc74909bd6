// tenantry as connect/Express-style middleware: `(req, res, next)` answering the routes of routes.ts and
// passing everything else to `next()`. Works on a bare node:http server too. A JSON body already parsed by
// the host (express.json(): `req.body` set) is used as is; otherwise the body is read here, up to
// `bodyLimit` bytes, and must be `application/json`. Client mistakes get the same 4xx { code, message } as
// the Fastify plugin.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from './errors.js';
import type { Gateway } from './gateway.js';
import type { GatewayReply } from './reply.js';
import { matchRoute } from './routes.js';

export interface TenantryMiddlewareOptions {
  /** Largest request body, bytes (default 64 KiB). */
  bodyLimit?: number;
}

type Next = (err?: unknown) => void;

class ClientError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

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
        reject(new ClientError(413, 'BODY_TOO_LARGE', `the request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
    req.on('end', () => {
      if (failed) return;
      if (size === 0) return resolve(undefined);
      if (type !== 'application/json') return reject(new ClientError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-type must be application/json, got ${JSON.stringify(type)}`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        reject(new ClientError(400, 'INVALID_JSON', `the body is not valid JSON: ${(e as Error).message}`));
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
  return (req, res, next) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const match = matchRoute(req.method ?? 'GET', q < 0 ? url : url.slice(0, q));
    if (match === null) {
      if (next) next();
      else write(res, { status: 404, body: { code: 'NOT_FOUND', message: `no route ${req.method} ${url}` } });
      return;
    }
    const { route, params } = match;
    (route.body ? readJson(req, bodyLimit) : Promise.resolve(undefined))
      .then((body) => route.handle(gateway, params, req.headers.authorization, body))
      .then((reply) => {
        gateway.metrics.requests.inc({ route: route.path, status: String(reply.status) });
        write(res, reply);
      })
      .catch((e: unknown) => {
        if (e instanceof ClientError) write(res, { status: e.status, body: { code: e.code, message: e.message } });
        else if (next) next(e);
        else write(res, { status: 500, body: { code: 'INTERNAL', message: 'internal error' } });
      });
  };
}
