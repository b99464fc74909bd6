// The default stages of POST /v1/invoke (docs/architecture.md, "The request path"):
//
//   policy → reserve → settle → upstream
//
// policy answers 403 on a deny; reserve answers 429 on a quota deny and releases its reservation when
// the rest of the path ends without a call; settle charges what the call cost and appends the `invoke`
// entry whose receipt is the answer; upstream makes the call (502 when it fails). Every decision, denial
// and charge is an audit entry of the tenant, appended before the answer leaves.
import { isDomain } from '@tenantry/core';
import type { AppendResult, JsonObject } from '@tenantry/audit';
import type { PolicyEngine } from '@tenantry/policy';
import { isQuotaError, type Quota } from '@tenantry/quota';
import { isGatewayError } from './errors.js';
import type { ControlPlane } from './control-plane.js';
import type { GatewayMetrics } from './metrics.js';
import { controlLogUnavailable, reply } from './reply.js';
import type { SettleRetryQueue } from './settle-retry.js';
import type { Stage } from './stage.js';
import type { Upstream } from './upstream.js';

/** What the default stages work with. */
export interface StageDeps {
  policy: PolicyEngine;
  quota: Quota;
  control: ControlPlane;
  metrics: GatewayMetrics;
  upstream: Upstream;
  settleRetries: SettleRetryQueue;
  /** Appends an entry to a tenant's audit log; resolves once durable. */
  audit(tenantId: string, kind: string, payload: JsonObject): Promise<AppendResult>;
}

/** policy.decide on the request; a deny is audited and answered 403 POLICY_DENIED. */
export function policyStage(d: StageDeps): Stage {
  return {
    name: 'policy',
    async handle(ctx, next) {
      const { tenant, request: b } = ctx;
      const m = d.metrics;
      const t0 = performance.now();
      const decision = d.policy.decide({
        protocol_version: '1.0',
        principal: { tenant_id: tenant.tenant_id, ...tenant.principal },
        action: b.action,
        resource: b.resource,
        context: { mode: d.control.mode },
      });
      m.stageOf('policy').observe((performance.now() - t0) / 1000);
      ctx.decision = decision;
      if (decision.allow) m.decisions.inc({ allow: 'true', reason: '' });
      else for (const reason of decision.reasons) m.decisions.inc({ allow: 'false', reason });
      if (decision.allow) return next();
      await d.audit(tenant.tenant_id, 'policy.deny', { action: b.action, resource: b.resource, reasons: [...decision.reasons] });
      // A violation may have locked the tenant down: that lock is in force already, and this answer
      // waits until its control-plane entry is durable (or fails, rather than the lock being forgotten).
      if (decision.violation) {
        try {
          await d.control.settled(tenant.tenant_id);
        } catch (e) {
          if (isGatewayError(e) && e.code === 'CONTROL_LOG_UNAVAILABLE') return controlLogUnavailable(`the tenant is locked down, but its lockdown is not yet durable: ${e.message}`);
          throw e;
        }
      }
      return reply(403, 'POLICY_DENIED', `denied by policy: ${decision.reasons.join(', ')}`, { reasons: decision.reasons });
    },
  };
}

/**
 * quota.reserve(estimate); a deny is audited and answered 429 QUOTA_DENIED with Retry-After (a store
 * that cannot be reached denies too: reason STORE_UNAVAILABLE, fail closed). When the rest of the path
 * ends without a call, the reservation is released.
 */
export function reserveStage(d: StageDeps): Stage {
  return {
    name: 'reserve',
    async handle(ctx, next) {
      const { tenant, request: b } = ctx;
      const m = d.metrics;
      const domain = b.resource.domain;
      let reservation;
      try {
        reservation = await m.time('quota_reserve', () => d.quota.reserve({
          tenant_id: tenant.tenant_id, usd: b.estimated_usd,
          ...(isDomain(domain) ? { domain } : {}),
          ...(b.experiment_id === undefined ? {} : { experiment_id: b.experiment_id }),
        }));
      } catch (e) {
        if (isQuotaError(e)) return reply(400, 'INVALID_REQUEST', e.message, { field: e.field });
        throw e;
      }
      if (!reservation.ok) {
        const retryAfterMs = reservation.retry_after_ms ?? 1000;
        m.quotaDenials.inc({ reason: reservation.reason });
        await d.audit(tenant.tenant_id, 'quota.deny', { action: b.action, estimated_usd: b.estimated_usd, reason: reservation.reason });
        const r = reply(429, 'QUOTA_DENIED', `denied by quota: ${reservation.reason}`, { reason: reservation.reason });
        return { ...r, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
      }
      ctx.reservation = { id: reservation.id };
      let answer;
      try {
        answer = await next();
      } catch (e) {
        if (ctx.result === undefined) await d.quota.release(reservation.id);
        throw e;
      }
      if (ctx.result === undefined) await d.quota.release(reservation.id);
      return answer;
    },
  };
}

/**
 * After the call: quota.settle(actual) and the `invoke` audit entry, whose receipt is the answer. The
 * call happened, so its cost is charged even when the store cannot take the settlement now (retried in
 * the background; settle is idempotent by reservation id).
 */
export function settleStage(d: StageDeps): Stage {
  return {
    name: 'settle',
    async handle(ctx, next) {
      const answer = await next();
      const result = ctx.result;
      const reservation = ctx.reservation;
      if (result === undefined || reservation === undefined) return answer;
      const { tenant, request: b } = ctx;
      const m = d.metrics;
      let settle: string;
      let controlFailure: Error | undefined;
      try {
        settle = (await m.time('quota_settle', () => d.quota.settle(reservation.id, result.usd))).status;
      } catch (e) {
        if (isQuotaError(e) && e.code === 'STORE_UNAVAILABLE') {
          settle = 'pending';
          d.settleRetries.add(tenant.tenant_id, reservation.id, result.usd);
        } else if (isQuotaError(e) && (e.code as string) === 'CONTROL_FAILED') {
          // Charged, and the tenant frozen in this process, but the freeze is not yet durable.
          settle = 'settled';
          controlFailure = e;
        } else {
          throw e;
        }
      }
      m.spend.inc({ tenant: tenant.tenant_id }, result.usd);
      const { index, leaf_hash } = await d.audit(tenant.tenant_id, 'invoke', {
        action: b.action, resource: b.resource, estimated_usd: b.estimated_usd, charged_usd: result.usd, reservation: reservation.id, settle,
      });
      const receipt = { tenant_id: tenant.tenant_id, index, leaf_hash };
      if (controlFailure !== undefined) {
        const r = controlLogUnavailable(`charged (receipt given), and the tenant is frozen, but its freeze is not yet durable: ${controlFailure.message}`);
        return { ...r, body: { ...(r.body as object), receipt } };
      }
      return { status: 200, body: { receipt, charged_usd: result.usd, output: answer.body } };
    },
  };
}

/** The upstream call; its failure answers 502 UPSTREAM_FAILED (and the reservation is released). */
export function upstreamStage(d: StageDeps): Stage {
  return {
    name: 'upstream',
    async handle(ctx) {
      const { tenant, request: b } = ctx;
      try {
        ctx.result = await d.metrics.time('upstream', () => d.upstream({ tenant_id: tenant.tenant_id, action: b.action, resource: b.resource, estimated_usd: b.estimated_usd }));
      } catch (e) {
        return reply(502, 'UPSTREAM_FAILED', `the upstream call failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      return { status: 200, body: ctx.result.output };
    },
  };
}

/** The default path. */
export function defaultStages(d: StageDeps): Stage[] {
  return [policyStage(d), reserveStage(d), settleStage(d), upstreamStage(d)];
}
