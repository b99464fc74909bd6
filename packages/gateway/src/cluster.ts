// The gateway in a cluster (docs/architecture.md, "@tenantry/federation": reference server cluster mode).
//
// Every node answers every route. A route that belongs to a tenant (Route.tenant: invoke by the caller's key,
// the audit and admin routes by the path) is served by the node that holds the lease of the tenant's shard;
// any other node forwards it there, one hop, over a keep-alive connection, and relays the owner's answer
// unchanged. The forwarded request is a signed cluster message (`message_type` "gateway.forward", payload
// { method, path, authorization?, body_json? }) addressed to the owner, so the owner knows which node sent it and
// refuses anything unsigned, forged, replayed, stale, misaddressed or from a revoked key (403
// CLUSTER_MESSAGE_REFUSED, counted by code). The owner never forwards again: when it does not hold the shard
// (any more) it answers 503 NOT_OWNER with Retry-After, as does a node whose shard has no holder yet (the
// previous owner's lease has not ended). An owner that cannot be reached answers 503 OWNER_UNREACHABLE.
//
// Ownership is only a routing hint here; what makes it safe is the fence at the resource: the quota's
// admissions carry the owner's token (`redisStore({ fence })`), so a node that lost the shard between routing
// and reserving admits nothing (reason NOT_OWNER, 503 from the reserve stage).
//
// The forwarded payload carries the caller's bearer key: between nodes, use https:// addresses on any network
// that is not the host's loopback.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isObject } from '@tenantry/core';
import type { Gateway } from './gateway.js';
import { reply, type GatewayReply } from './reply.js';
import { parseJsonBody } from './fastify.js';
import { matchRoute, type Route } from './routes.js';

/** The message type of a forwarded request. */
export const FORWARD_MESSAGE = 'gateway.forward';
/** The path a node receives forwarded requests on. */
export const FORWARD_PATH = '/v1/cluster/forward';
/** The path of the cluster's state. */
export const CLUSTER_PATH = '/v1/cluster';

/** A member as a cluster node reports it. */
export interface GatewayClusterMember {
  readonly node_id: string;
  readonly address: string | null;
}

/** Where a tenant is served, as a cluster node sees it now. */
export type GatewayTenantRoute =
  | { readonly self: true; readonly shard: number; readonly token: number }
  | { readonly self: false; readonly shard: number; readonly owner: GatewayClusterMember | null; readonly reason: string };

/**
 * What the gateway needs of a cluster node: `createClusterNode` of @tenantry/federation gives it (the gateway
 * does not depend on that package; any object of this shape will do).
 */
export interface GatewayCluster {
  readonly nodeId: string;
  route(tenantId: string): GatewayTenantRoute;
  /** A signed message (JSON-serialisable) to `targetNode`. */
  sign(targetNode: string, messageType: string, payload: unknown): unknown;
  /** The checked message; throws (with a string `code`) when it is refused. */
  open(envelope: unknown): { source_node: string; target_node: string; message_type: string; payload: unknown };
  /** GET /v1/cluster's answer: { node_id, role, members, shards }. */
  state(): Promise<unknown>;
  /** Counters for GET /metrics (cluster-metrics.ts); optional. */
  stats?(): GatewayClusterStats;
}

/** What a cluster node counts (the ClusterStats of @tenantry/federation). */
export interface GatewayClusterStats {
  readonly members: number;
  readonly shardsOwned: number;
  readonly coordinator: boolean;
  readonly handovers: Readonly<Record<string, number>>;
  /** Refused cluster messages by code. */
  readonly refused: Readonly<Record<string, number>>;
  readonly accepted: number;
  readonly redisUnavailable: number;
  readonly revocationsVersion: number;
}

export interface ClusterRoutingOptions {
  /** A forwarded request without an answer after this long is answered 503 OWNER_UNREACHABLE (default 30000). */
  forwardTimeoutMs?: number;
  /** Keep-alive sockets per owner (default 64). */
  maxSockets?: number;
}

/**
 * What a forwarded request's payload holds. The body travels as its JSON text, not as a JSON value: the owner
 * checks it exactly as if the caller had sent it there (a lone surrogate, a value nested deeper than a signed
 * message may be, are the route's 400s to give, not a failure to forward).
 */
interface ForwardPayload {
  method: string;
  path: string;
  authorization?: string;
  body_json?: string;
}

/** Relayed from the owner's answer; everything else is the forwarding node's own. */
const RELAYED_HEADERS = ['retry-after', 'www-authenticate', 'content-type'] as const;

/** Counts of what routing did, for metrics (cluster-metrics.ts). */
export interface ClusterRoutingStats {
  /** Forwarded to the owner, by outcome: answered, unreachable. */
  forwarded: { answered: number; unreachable: number };
  /** Forwarded requests received and served here. */
  served: number;
  /** Answered 503 NOT_OWNER here (no holder yet, or a forwarded request for a shard this node does not hold). */
  notOwner: number;
}

/** The routing of one node: which node serves a request, the forwarding, and the two cluster routes. */
export class ClusterRouting {
  readonly cluster: GatewayCluster;
  readonly stats: ClusterRoutingStats = { forwarded: { answered: 0, unreachable: 0 }, served: 0, notOwner: 0 };
  readonly #gateway: Gateway;
  readonly #timeoutMs: number;
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;

  constructor(gateway: Gateway, cluster: GatewayCluster, options: ClusterRoutingOptions = {}) {
    this.#gateway = gateway;
    this.cluster = cluster;
    this.#timeoutMs = options.forwardTimeoutMs ?? 30_000;
    const maxSockets = options.maxSockets ?? 64;
    this.#http = new HttpAgent({ keepAlive: true, maxSockets });
    this.#https = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  /**
   * A route's answer in the cluster: served here when this node owns the route's tenant (or the route has
   * none), else forwarded to the owner, or 503 when there is none to forward to.
   */
  async serve(route: Route, params: Record<string, string>, authorization: unknown, body: unknown, path: string): Promise<GatewayReply> {
    const tenant = route.tenant?.(this.#gateway, params, authorization) ?? null;
    if (tenant === null) return route.handle(this.#gateway, params, authorization, body);
    const where = this.cluster.route(tenant);
    if (where.self) return route.handle(this.#gateway, params, authorization, body);
    if (where.owner === null || where.owner.address === null || where.owner.node_id === this.cluster.nodeId) return this.#notOwner(where.shard);
    const payload: ForwardPayload = {
      method: route.method, path, ...(typeof authorization === 'string' ? { authorization } : {}), ...(body === undefined ? {} : { body_json: JSON.stringify(body) }),
    };
    return this.#forward(where.owner as GatewayClusterMember & { address: string }, payload);
  }

  #notOwner(shard: number): GatewayReply {
    this.stats.notOwner++;
    return {
      ...reply(503, 'NOT_OWNER', `the owner of shard ${shard} is changing (its previous owner's lease has not ended, or this node no longer holds it): retry`),
      headers: { 'retry-after': '1' },
    };
  }

  /** One hop to the owner; its answer relayed (status, body, and the headers a client acts on). */
  #forward(owner: GatewayClusterMember & { address: string }, payload: ForwardPayload): Promise<GatewayReply> {
    const message = JSON.stringify(this.cluster.sign(owner.node_id, FORWARD_MESSAGE, payload));
    const url = new URL(FORWARD_PATH, owner.address);
    const secure = url.protocol === 'https:';
    return new Promise((resolve) => {
      const unreachable = (why: string): void => {
        this.stats.forwarded.unreachable++;
        resolve({ ...reply(503, 'OWNER_UNREACHABLE', `the owner of this tenant's shard (${owner.node_id}) could not be reached: ${why}`), headers: { 'retry-after': '1' } });
      };
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: 'POST', agent: secure ? this.#https : this.#http, timeout: this.#timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(message) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => unreachable(e.message));
        res.on('end', () => {
          this.stats.forwarded.answered++;
          resolve(relayed(res.statusCode ?? 502, res.headers, Buffer.concat(chunks).toString('utf8')));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (e) => unreachable(e.message));
      req.end(message);
    });
  }

  /** POST /v1/cluster/forward: a request another node forwarded here, checked, then served (never forwarded again). */
  async forwarded(envelope: unknown): Promise<GatewayReply> {
    let opened;
    try {
      opened = this.cluster.open(envelope);
    } catch (e) {
      const code = isObject(e) && typeof e.code === 'string' ? e.code : 'MALFORMED';
      return reply(403, 'CLUSTER_MESSAGE_REFUSED', `the forwarded request was refused: ${code}`, { reason: code });
    }
    if (opened.message_type !== FORWARD_MESSAGE) return reply(400, 'INVALID_REQUEST', `message_type must be ${FORWARD_MESSAGE}`, { field: 'message_type' });
    const p = opened.payload;
    if (!isObject(p) || typeof p.method !== 'string' || typeof p.path !== 'string' || (p.authorization !== undefined && typeof p.authorization !== 'string')
      || (p.body_json !== undefined && typeof p.body_json !== 'string')) {
      return reply(400, 'INVALID_REQUEST', 'payload must be { method, path, authorization?, body_json? }', { field: 'payload' });
    }
    // The same body rule as a request received directly (invalid JSON, prototype-poisoning keys).
    const body = p.body_json === undefined ? undefined : parseJsonBody(p.body_json);
    const match = matchRoute(p.method, p.path);
    if (match === null || match.route.tenant === undefined) return reply(400, 'INVALID_REQUEST', `${p.method} ${p.path} is not a tenant's route`, { field: 'payload.path' });
    const { route, params } = match;
    const tenant = route.tenant!(this.#gateway, params, p.authorization);
    if (tenant !== null) {
      const where = this.cluster.route(tenant);
      if (!where.self) return this.#notOwner(where.shard);
    }
    this.stats.served++;
    return route.handle(this.#gateway, params, p.authorization, body);
  }

  /**
   * GET /v1/cluster; with `?tenant=<id>` also `tenant: { tenant_id, shard, primary, secondary }`, where that
   * tenant is served.
   */
  async state(tenantId?: unknown): Promise<GatewayReply> {
    let shard: number | undefined;
    if (tenantId !== undefined) {
      try {
        shard = this.cluster.route(tenantId as string).shard;
      } catch (e) {
        return reply(400, 'INVALID_REQUEST', `tenant ${e instanceof Error ? e.message : 'is not a tenant id'}`, { field: 'tenant' });
      }
    }
    try {
      const state = await this.cluster.state();
      if (shard === undefined || !isObject(state) || !Array.isArray(state.shards)) return { status: 200, body: state };
      const s = (state.shards as Array<{ primary?: unknown; secondary?: unknown }>)[shard];
      return { status: 200, body: { ...state, tenant: { tenant_id: tenantId, shard, primary: s?.primary ?? null, secondary: s?.secondary ?? null } } };
    } catch (e) {
      return { ...reply(503, 'CLUSTER_UNAVAILABLE', `the cluster state could not be read: ${e instanceof Error ? e.message : String(e)}`), headers: { 'retry-after': '1' } };
    }
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/** The owner's answer as this node's: JSON bodies parsed again (so every adapter sends them alike). */
function relayed(status: number, headers: IncomingHttpHeaders, text: string): GatewayReply {
  const out: Record<string, string> = {};
  for (const h of RELAYED_HEADERS) {
    const v = headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  let body: unknown = text;
  if ((out['content-type'] ?? '').startsWith('application/json')) {
    try {
      body = JSON.parse(text);
      delete out['content-type'];
    } catch {
      body = text;
    }
  }
  return Object.keys(out).length === 0 ? { status, body } : { status, body, headers: out };
}
