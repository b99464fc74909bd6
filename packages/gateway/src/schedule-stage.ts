// The scheduler's place in the request path (docs/architecture.md, "The request path"): between the
// quota's reservation and the upstream call, the call runs in a slot of the tenant's fair share of its
// domain. A refusal answers 503 with Retry-After, and since no charge was written the reserve stage
// releases the reservation.
import { isDomain } from '@tenantry/core';
import { isSchedulerError, type Scheduler } from '@tenantry/scheduler';
import { reply, type GatewayReply } from './reply.js';
import type { Stage } from './stage.js';

const STATUS: Record<string, number> = {
  QUEUE_FULL: 503, TENANT_PAUSED: 503, DOMAIN_PAUSED: 503, CIRCUIT_OPEN: 503, CLOSED: 503, TIMEOUT: 504, ABORTED: 503, POISONED: 502,
};

/** Runs the rest of the path (the upstream call) through `scheduler`, as the request's tenant and domain. */
export function scheduleStage(scheduler: Scheduler): Stage {
  return {
    name: 'schedule',
    async handle(ctx, next) {
      const domain = ctx.domain ?? ctx.request.resource.domain;
      try {
        return await scheduler.submit(() => next(), { tenant_id: ctx.tenant.tenant_id, ...(isDomain(domain) ? { domain } : {}) });
      } catch (e) {
        if (!isSchedulerError(e) || STATUS[e.code] === undefined) throw e;
        const retryAfterMs = (e as { retry_after_ms?: number }).retry_after_ms;
        const answer: GatewayReply = reply(STATUS[e.code]!, e.code, `not run: ${e.message}`, retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs });
        return { ...answer, headers: { 'retry-after': String(Math.max(1, Math.ceil((retryAfterMs ?? 1000) / 1000))) } };
      }
    },
  };
}
