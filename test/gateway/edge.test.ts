// The edge of the reference server, over raw sockets (node:net) against its own process
// (examples/reference-server/main.mjs): every answer, the framework's and Node's HTTP parser's included, is
// JSON { code, message } with a 4xx status — malformed request lines and headers, bad Content-Length, NUL and
// bad %-escapes in the path, an over-long path parameter, headers too large, prototype keys in a body — and
// a request that does not arrive within the timeouts (set low here through HEADERS_TIMEOUT_MS and
// REQUEST_TIMEOUT_MS) is answered 408 and its connection closed. Then the connect-style middleware gives the
// same answers for what it handles.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { Gateway, tenantryMiddleware } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';
import { rng } from '../helpers/random.js';
import { call, startServer, type Server } from '../helpers/server.js';

const ACME = 'Bearer acme-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const INVOKE = JSON.stringify({ action: 'invoke', resource: acmeDoc, estimated_usd: 0.01 });

interface RawAnswer {
  /** Null when the connection closed without a complete answer. */
  status: number | null;
  headers: Record<string, string>;
  body: Record<string, unknown> | null;
  /** Whether the server closed the connection (always true once `status` is null). */
  closed: boolean;
}

/** The first complete HTTP/1.1 response in `buf` (Content-Length or chunked), or null. */
function parseResponse(buf: Buffer): Omit<RawAnswer, 'closed'> | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  let rest = buf.subarray(end + 4);
  let text: string;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) return null;
      const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
      if (rest.length < eol + 2 + size + 2) return null;
      if (size === 0) break;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      rest = rest.subarray(eol + 2 + size + 2);
    }
    text = Buffer.concat(parts).toString('utf8');
  } else {
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < length) return null;
    text = rest.subarray(0, length).toString('utf8');
  }
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: left null, which the assertions report
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3}) /.exec(statusLine!)?.[1]), headers, body };
}

/**
 * Writes `chunks` to a new connection (a number is a pause in ms before the next chunk: a slow client),
 * then reads the first answer. With `untilClosed`, waits for the server to close the connection as well.
 */
function raw(url: string, chunks: Array<string | Buffer | number>, untilClosed = false): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let answer: Omit<RawAnswer, 'closed'> | null = null;
    const finish = (closed: boolean): void => {
      socket.destroy();
      resolve({ ...(answer ?? { status: null, headers: {}, body: null }), closed });
    };
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (typeof c === 'number') await new Promise((r) => setTimeout(r, c));
        else if (!socket.destroyed) socket.write(c);
      }
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      answer ??= parseResponse(received);
      if (answer !== null && !untilClosed) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? finish(true) : reject(e)));
  });
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: edge.test\r\nAuthorization: ${ACME}\r\n${extra}\r\n`;
const post = (body: string, extra = '', contentLength = Buffer.byteLength(body)): string =>
  `POST /v1/invoke HTTP/1.1\r\nHost: edge.test\r\nAuthorization: ${ACME}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n${extra}\r\n${body}`;

/** The answer is `status` with a JSON body { code, message } (and `field` when given). */
function expectAnswer(r: RawAnswer, status: number, code: string, field?: string): void {
  expect([r.status, r.body?.code], JSON.stringify(r)).toEqual([status, code]);
  expect(typeof r.body?.message).toBe('string');
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  if (field !== undefined) expect(r.body?.field).toBe(field);
}

describe('reference server edge', () => {
  let dataDir: string;
  let server: Server;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantry-edge-'));
    server = await startServer({ DATA_DIR: dataDir, HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '600' });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  // What Node's HTTP parser refuses before Fastify sees a request: answered on the socket, which is closed.
  it.each([
    ['bad-content-length', post('{}', '', 0).replace('Content-Length: 0', 'Content-Length: 12a'), 400, 'INVALID_REQUEST', 'content-length'],
    ['two-content-lengths', post('{}').replace('\r\n\r\n', '\r\nContent-Length: 3\r\n\r\n'), 400, 'INVALID_REQUEST', 'content-length'],
    ['nul-in-header', get('/healthz', 'X-Trace: a\0b\r\n'), 400, 'INVALID_REQUEST', 'headers'],
    ['nul-in-path', get('/heal\0thz'), 400, 'INVALID_REQUEST', 'path'],
    ['space-in-header-name', get('/healthz', 'X Trace: 1\r\n'), 400, 'INVALID_REQUEST', 'headers'],
    ['no-request-line', 'HELLO\r\n\r\n', 400, 'INVALID_REQUEST', 'method'],
    ['unknown-version', 'GET /healthz HTTP/7.1\r\nHost: edge.test\r\n\r\n', 400, 'INVALID_REQUEST', 'version'],
    ['bad-chunk-size', post('').replace(/Content-Length: 0/, 'Transfer-Encoding: chunked') + 'zz\r\n{}\r\n0\r\n\r\n', 400, 'INVALID_REQUEST', 'transfer-encoding'],
    ['content-length-and-chunked', post('2\r\n{}\r\n0\r\n\r\n', 'Transfer-Encoding: chunked\r\n'), 400, 'INVALID_REQUEST', 'transfer-encoding'],
    ['headers-too-large', get('/healthz', `X-Big: ${'a'.repeat(20_000)}\r\n`), 431, 'HEADERS_TOO_LARGE', 'headers'],
  ])('%s: answered with a JSON body, then the connection is closed', async (_name, request, status, code, field) => {
    const r = await raw(server.url, [request], true);
    expectAnswer(r, status, code, field);
    expect(r.headers.connection).toBe('close');
    expect(r.closed).toBe(true);
  });

  // What Fastify's router and body parser refuse, and what Node answers on its own with an empty body.
  it.each([
    ['bad-percent-escape', get('/v1/tenants/%zz/audit/0'), 400, 'INVALID_REQUEST', 'path'],
    ['percent-escape-not-utf8', get('/v1/tenants/acme/audit/%ff'), 400, 'INVALID_REQUEST', 'path'],
    ['5000-digit-index', get(`/v1/tenants/acme/audit/${'9'.repeat(5000)}`), 414, 'URI_TOO_LONG', 'path'],
    ['proto-key', post('{"__proto__":{"admin":true},"action":"invoke"}'), 400, 'FORBIDDEN_KEY', '__proto__'],
    ['nested-proto-key', post(`{"action":"invoke","resource":{"__proto__":{"tenant_id":"globex"}},"estimated_usd":1}`), 400, 'FORBIDDEN_KEY', 'resource.__proto__'],
    ['escaped-proto-key', post('{"\\u005f_proto__":{}}'), 400, 'FORBIDDEN_KEY', '__proto__'],
    ['proto-key-in-array', post('{"action":[{},{"__proto__":1}]}'), 400, 'FORBIDDEN_KEY', 'action[1].__proto__'],
    ['constructor-prototype', post('{"constructor":{"prototype":{"admin":true}}}'), 400, 'FORBIDDEN_KEY', 'constructor.prototype'],
    ['truncated-json', post('{"action":'), 400, 'INVALID_JSON', undefined],
    ['empty-json-body', post(''), 400, 'INVALID_JSON', undefined],
    ['text-body', post('action=invoke').replace('application/json', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE', undefined],
    ['no-host', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'INVALID_REQUEST', 'host'],
    ['unmet-expectation', get('/healthz', 'Expect: a-miracle\r\n'), 417, 'EXPECTATION_FAILED', 'expect'],
    ['connect-method', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'METHOD_NOT_ALLOWED', 'method'],
    ['no-such-route', get('/v2/nothing'), 404, 'NOT_FOUND', undefined],
  ])('%s: answered with a JSON body', async (_name, request, status, code, field) => {
    expectAnswer(await raw(server.url, [request]), status, code, field);
  });

  it('tells a constructor key that sets no prototype from one that does', async () => {
    // Allowed through the parser, then refused by the body check as an unknown field: not FORBIDDEN_KEY.
    const r = await raw(server.url, [post(JSON.stringify({ action: 'invoke', resource: acmeDoc, estimated_usd: 0.01, constructor: { name: 'x' } }))]);
    expectAnswer(r, 400, 'INVALID_REQUEST');
  });

  it('serves a tenant id of the longest length the tenant id rule allows (the router does not refuse it)', async () => {
    // 120 bytes (MAX_TENANT_ID_BYTES): past the router's default limit of 100, under the server's.
    const r = await raw(server.url, [get(`/v1/tenants/${'t'.repeat(120)}/audit/0`)]);
    expectAnswer(r, 403, 'FORBIDDEN');
  });

  // A request that does not arrive in time: 408 REQUEST_TIMEOUT where nothing was answered yet, and the
  // connection closed. The test's own timeout is the bound: a connection never closed fails it.
  it.each([
    ['body-shorter-than-content-length', [post('{"action":', '', 100)]],
    ['body-stops-mid-chunk', [post('', 'Transfer-Encoding: chunked\r\n').replace('Content-Length: 0\r\n', ''), '20\r\n{"action":"in']],
    ['headers-never-finished', ['GET /healthz HTTP/1.1\r\nHost: edge.test\r\n']],
    ['slow-headers', ['GET /healthz HTTP/1.1\r\n', 100, 'Host: edge.test\r\n', 100, 'X-A: 1\r\n', 100, 'X-B: 1\r\n', 100, 'X-C: 1\r\n', 100, 'X-D: 1\r\n']],
    ['nothing-sent', []],
  ] as Array<[string, Array<string | number>]>)('%s: answered 408 REQUEST_TIMEOUT and closed', async (_name, chunks) => {
    const r = await raw(server.url, chunks, true);
    expectAnswer(r, 408, 'REQUEST_TIMEOUT');
    expect(r.closed).toBe(true);
  }, 20_000);

  it('answers no mutation of a valid request with a 5xx, and every refusal with { code, message }', async () => {
    const next = rng(14);
    const bases = [post(INVOKE), get('/v1/tenants/acme/audit/0'), post('{"action":"invoke","resource":{"tenant_id":"acme"}}')];
    const bytes = [0x00, 0x0a, 0x0d, 0x20, 0x25, 0x3a, 0x22, 0x7f, 0xff, 0x7b, 0x5f];
    const answers = await Promise.all(Array.from({ length: 120 }, async () => {
      const request = Buffer.from(bases[next() % bases.length]!, 'latin1');
      let mutated = request;
      for (let m = 1 + (next() % 3); m > 0; m--) {
        const at = next() % mutated.length;
        const b = Buffer.from([bytes[next() % bytes.length]!]);
        const kind = next() % 3;
        mutated = Buffer.concat([mutated.subarray(0, at), ...(kind === 2 ? [] : [b]), mutated.subarray(kind === 1 ? at : at + 1)]);
      }
      return { request: mutated.toString('latin1'), answer: await raw(server.url, [mutated]) };
    }));
    for (const { request, answer } of answers) {
      const why = JSON.stringify({ request, answer });
      // Every connection is answered: even a request left incomplete by the mutation gets its 408.
      expect(answer.status, why).not.toBeNull();
      expect(answer.status!, why).toBeLessThan(500);
      if (answer.status! >= 400) {
        expect(typeof answer.body?.code, why).toBe('string');
        expect(typeof answer.body?.message, why).toBe('string');
      }
    }
  }, 60_000);

  it('still serves after all of the above', async () => {
    expect((await call(server.url, 'GET', '/healthz', null)).status).toBe(200);
    const r = await call(server.url, 'POST', '/v1/invoke', ACME, INVOKE);
    expect(r.status).toBe(200);
  });
});

describe('tenantryMiddleware edge', () => {
  let dir: string;
  let gateway: Gateway;
  let server: HttpServer;
  let url: string;
  const hostErrors: unknown[] = [];
  const answered: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenantry-mw-edge-'));
    const tenants = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
    const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('mw-edge.test').signerKey });
    gateway = await Gateway.create({ tenants, ledger, quota: createQuota(), policy: await createPolicyEngine() });
    const mw = tenantryMiddleware(gateway);
    server = createServer((req: IncomingMessage, res) => {
      // The host records every status it sends, even into a connection the client has closed.
      const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
      res.end = ((...args: unknown[]) => {
        answered.push(res.statusCode);
        return end(...args);
      }) as typeof res.end;
      mw(req, res, (err?: unknown) => {
        if (err !== undefined) hostErrors.push(err);
        res.statusCode = err === undefined ? 404 : 500;
        res.end(err === undefined ? 'host 404' : 'host error');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['proto-key', post('{"__proto__":{"admin":true},"action":"invoke"}'), 400, 'FORBIDDEN_KEY', '__proto__'],
    ['nested-proto-key', post('{"action":"invoke","resource":{"__proto__":{}}}'), 400, 'FORBIDDEN_KEY', 'resource.__proto__'],
    ['constructor-prototype', post('{"constructor":{"prototype":{}}}'), 400, 'FORBIDDEN_KEY', 'constructor.prototype'],
    ['empty-json-body', post(''), 400, 'INVALID_JSON', undefined],
    ['bad-percent-escape', get('/v1/tenants/%zz/audit/0'), 400, 'INVALID_REQUEST', 'path'],
    ['percent-escape-not-utf8', get('/v1/tenants/acme/audit/%ff'), 400, 'INVALID_REQUEST', 'path'],
  ])('%s: the same answer as the Fastify plugin', async (_name, request, status, code, field) => {
    expectAnswer(await raw(url, [request]), status, code, field);
  });

  it('passes a path that is not its own to next(), bad escapes and all', async () => {
    const r = await fetch(`${url}/elsewhere/%zz`);
    expect([r.status, await r.text()]).toEqual([404, 'host 404']);
  });

  it('answers a body cut off by the client 400 REQUEST_ABORTED, not as a host error', async () => {
    const before = answered.length;
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname, () => socket.end(post('{"action":', '', 100)));
    socket.resume();
    // Not a timing: waits for the server to have answered (into the closed connection) before looking.
    while (answered.length === before) await new Promise((r) => setTimeout(r, 10));
    expect(answered.at(-1)).toBe(400);
    expect(hostErrors).toEqual([]);
  });
});
