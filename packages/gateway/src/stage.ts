// The request path as a list of stages (docs/architecture.md, "The request path"). Each stage gets the
// request's context and `next`, the rest of the path: it may answer on its own (a denial), call next()
// and act on what comes back (settle after the call), or wrap next() (release a reservation when the
// rest fails; a scheduler runs next() in a slot). So a new concern joins the path as one more stage,
// without editing the others.
import type { Domain } from '@tenantry/core';
import type { Decision } from '@tenantry/policy';
import type { JsonObject } from '@tenantry/audit';
import type { GatewayReply } from './reply.js';
import type { TenantRecord } from './tenants.js';
import type { UpstreamResult } from './upstream.js';

/** A checked POST /v1/invoke body. */
export interface InvokeRequest {
  action: string;
  resource: JsonObject;
  estimated_usd: number;
  experiment_id?: string;
}

/** What the stages know about one request; each stage fills in its part. */
export interface InvokeContext {
  readonly tenant: TenantRecord;
  readonly request: InvokeRequest;
  decision?: Decision;
  /** The quota reservation, once made. */
  reservation?: { id: string };
  /** The upstream's answer, once the call has happened. */
  result?: UpstreamResult;
  /** Which upstream served it, when the route names several (failover). */
  servedBy?: string;
  /**
   * The domain the call is reserved and scheduled in: the resource's, except that a new experiment of a tenant
   * whose canary traffic is suspended runs in LAB.
   */
  domain?: Domain;
  /** True once the charge's `invoke` entry is durable: from then on the reservation is settled, never released. */
  charged?: boolean;
}

/** The rest of the path after a stage. */
export type Next = () => Promise<GatewayReply>;

export interface Stage {
  /** Stable name (metrics, errors). */
  readonly name: string;
  handle(ctx: InvokeContext, next: Next): Promise<GatewayReply>;
}

/**
 * Runs `ctx` through `stages`, first to last. The last stage's `next` answers 500: a path must end in a
 * stage that answers (the upstream call).
 */
export function runStages(stages: readonly Stage[], ctx: InvokeContext): Promise<GatewayReply> {
  const at = (i: number): Promise<GatewayReply> => {
    const stage = stages[i];
    if (stage === undefined) return Promise.resolve({ status: 500, body: { code: 'INTERNAL', message: 'the request path ended without an answer' } });
    return stage.handle(ctx, () => at(i + 1));
  };
  return at(0);
}
