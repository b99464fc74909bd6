// The routes of the gateway (docs/architecture.md, "@tenantry/gateway"), one table for every framework adapter: the Fastify plugin
// (fastify.ts) registers them, the connect/Express middleware (middleware.ts) matches them.
import type { Gateway } from './gateway.js';
import type { GatewayReply } from './reply.js';

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  /** Fastify's path syntax: `:name` is a parameter (one path segment). */
  path: string;
  /** Whether the route reads a JSON body. */
  body: boolean;
  handle(gateway: Gateway, params: Record<string, string>, authorization: unknown, body: unknown): Promise<GatewayReply> | GatewayReply;
  /**
   * In a cluster (cluster.ts): the tenant whose shard owner serves the request, or null when the caller names
   * none that this node knows (answered here: 401, 403 or 404 need no owner). Absent: any node answers.
   */
  tenant?(gateway: Gateway, params: Record<string, string>, authorization: unknown): string | null;
}

/** The tenant of a tenant's own key (invoke): the key decides, never the body. */
const callerTenant = (g: Gateway, _p: Record<string, string>, a: unknown): string | null => {
  const c = g.tenants.caller(a);
  return c !== null && c.kind === 'tenant' ? c.tenant.tenant_id : null;
};
/** The tenant named in the path, when the tenants file has it. */
const pathTenant = (g: Gateway, p: Record<string, string>): string | null => (g.tenants.tenant(p.tenant!) === undefined ? null : p.tenant!);

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/v1/invoke', body: true, handle: (g, _p, a, b) => g.invoke(a, b), tenant: callerTenant },
  { method: 'GET', path: '/v1/tenants/:tenant/audit/:index', body: false, handle: (g, p, a) => g.auditEntry(a, p.tenant!, p.index!), tenant: pathTenant },
  { method: 'GET', path: '/v1/audit/checkpoint', body: false, handle: (g) => g.checkpoint() },
  { method: 'PUT', path: '/v1/admin/tenants/:tenant/envelope', body: true, handle: (g, p, a, b) => g.setEnvelope(a, p.tenant!, b), tenant: pathTenant },
  { method: 'POST', path: '/v1/admin/tenants/:tenant/freeze', body: true, handle: (g, p, a, b) => g.freeze(a, p.tenant!, b, true), tenant: pathTenant },
  { method: 'POST', path: '/v1/admin/tenants/:tenant/unfreeze', body: true, handle: (g, p, a, b) => g.freeze(a, p.tenant!, b, false), tenant: pathTenant },
  { method: 'POST', path: '/v1/admin/tenants/:tenant/unlock', body: true, handle: (g, p, a, b) => g.unlock(a, p.tenant!, b), tenant: pathTenant },
  { method: 'POST', path: '/v1/admin/mode', body: true, handle: (g, _p, a, b) => g.setMode(a, b) },
  { method: 'GET', path: '/healthz', body: false, handle: (g) => g.health() },
  { method: 'GET', path: '/metrics', body: false, handle: (g) => g.metricsReply() },
];

const compiled = ROUTES.map((route) => {
  const names: string[] = [];
  const source = route.path.replace(/:([a-z]+)/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, names, re: new RegExp(`^${source}$`) };
});

/** The route of a method and path (without the query), with its decoded parameters; null when none. */
export function matchRoute(method: string, pathname: string): { route: Route; params: Record<string, string> } | null {
  for (const { route, names, re } of compiled) {
    if (route.method !== method) continue;
    const m = re.exec(pathname);
    if (m === null) continue;
    const params: Record<string, string> = {};
    try {
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1]!)));
    } catch {
      return null;
    }
    return { route, params };
  }
  return null;
}
