// The default stages of POST /v1/invoke (docs/architecture.md, "The request path"):
//
//   ledger → policy → reserve → settle → upstream
//
// ledger refuses a tenant whose audit chain is damaged (read-only) before anything is decided; policy
// answers 403 on a deny; reserve answers 429 on a quota deny, writes the `invoke.admit` entry (the
// reservation, durable before the call) and releases the reservation when the rest of the path ends
// without a charge; settle writes the `invoke` entry (the charge, durable) and only then settles it;
// upstream makes the call (502 when it fails). So a request is charged only together with its durable
// entry, and the log alone holds what the quota needs to rebuild its usage at start.
import type { AppendResult, JsonObject } from '@tenantry/audit';
import { isDomain } from '@tenantry/core';
import type { PolicyEngine } from '@tenantry/policy';
import { isQuotaError, type Quota } from '@tenantry/quota';
import { auditFailure, tenantLogCorrupt } from './audit-failure.js';
import type { ControlPlane } from './control-plane.js';
import { isGatewayError } from './errors.js';
import { requestFields } from './invoke-request.js';
import type { GatewayMetrics } from './metrics.js';
import { controlLogUnavailable, reply, type GatewayReply } from './reply.js';
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
  /** The damage of a tenant's audit chain, if it has any (the tenant is read-only). */
  corruption(tenantId: string): { index: number; offset: number; kind: string } | undefined;
}

/** Appends, or returns the answer for a failed append (rethrowing what is not the audit log's). */
async function append(d: StageDeps, tenantId: string, kind: string, payload: JsonObject): Promise<AppendResult | GatewayReply> {
  try {
    return await d.audit(tenantId, kind, payload);
  } catch (e) {
    const answer = auditFailure(e, tenantId);
    if (answer === null) throw e;
    return answer;
  }
}

const failed = (r: AppendResult | GatewayReply): r is GatewayReply => 'status' in r;

/** A tenant whose audit chain is damaged is read-only: 503 TENANT_LOG_CORRUPT before any decision or charge. */
export function ledgerStage(d: StageDeps): Stage {
  return {
    name: 'ledger',
    handle(ctx, next) {
      const c = d.corruption(ctx.tenant.tenant_id);
      if (c !== undefined) return Promise.resolve(tenantLogCorrupt(ctx.tenant.tenant_id, `${c.kind} at entry ${c.index}, byte ${c.offset}`));
      return next();
    },
  };
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
        context: d.control.canarySuspended(tenant.tenant_id) ? { mode: d.control.mode, canary_suspended: true } : { mode: d.control.mode },
      });
      m.stageOf('policy').observe((performance.now() - t0) / 1000);
      ctx.decision = decision;
      if (decision.allow) m.decisions.inc({ allow: 'true', reason: '' });
      else for (const reason of decision.reasons) m.decisions.inc({ allow: 'false', reason });
      if (decision.allow) return next();
      const entry = await append(d, tenant.tenant_id, 'policy.deny', { ...requestFields(b), reasons: [...decision.reasons] });
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
      if (failed(entry)) return entry;
      return reply(403, 'POLICY_DENIED', `denied by policy: ${decision.reasons.join(', ')}`, { reasons: decision.reasons });
    },
  };
}

/**
 * quota.reserve(estimate); a deny is audited and answered 429 QUOTA_DENIED with Retry-After (a store
 * that cannot be reached denies too: reason STORE_UNAVAILABLE, fail closed). In a cluster, a reservation
 * refused for a stale fencing token (NOT_OWNER) is answered 503 NOT_OWNER with Retry-After, unaudited. An admitted reservation is
 * written as an `invoke.admit` entry before the call; when that cannot be written, or the rest of the path
 * ends without its charge written, the reservation is released.
 */
export function reserveStage(d: StageDeps): Stage {
  return {
    name: 'reserve',
    async handle(ctx, next) {
      const { tenant, request: b } = ctx;
      const m = d.metrics;
      const domain = b.resource.domain;
      // A paused tenant or domain (a backpressure action or an operator's) takes no new work: refused before
      // anything is reserved.
      if (d.control.paused(tenant.tenant_id, isDomain(domain) ? domain : undefined)) {
        const code = d.control.paused(tenant.tenant_id) ? 'TENANT_PAUSED' : 'DOMAIN_PAUSED';
        return { ...reply(503, code, `not admitted: ${code === 'TENANT_PAUSED' ? `tenant ${tenant.tenant_id}` : `domain ${String(domain)}`} is paused`), headers: { 'retry-after': '5' } };
      }
      // A new experiment of a tenant whose canary traffic is suspended (a backpressure action at its budget
      // boundary) is downgraded to LAB.
      const runIn = b.experiment_id !== undefined && d.control.canarySuspended(tenant.tenant_id) ? 'LAB' : isDomain(domain) ? domain : undefined;
      if (runIn !== undefined) ctx.domain = runIn;
      let reservation;
      try {
        reservation = await m.time('quota_reserve', () => d.quota.reserve({
          tenant_id: tenant.tenant_id, usd: b.estimated_usd,
          ...(runIn === undefined ? {} : { domain: runIn }),
          ...(b.experiment_id === undefined ? {} : { experiment_id: b.experiment_id }),
        }));
      } catch (e) {
        // The request's fault (400); a misconfigured quota (`options.*`, such as a cluster's fence) is the server's.
        if (isQuotaError(e) && !(e.field ?? '').startsWith('options.')) return reply(400, 'INVALID_REQUEST', e.message, { field: e.field });
        throw e;
      }
      if (!reservation.ok && (reservation.reason as string) === 'NOT_OWNER') {
        // In a cluster: this node no longer holds the tenant's shard (its fencing token was refused at the
        // store). Not the tenant's doing and nothing was decided about it: no entry, retry at the new owner.
        m.quotaDenials.inc({ reason: reservation.reason });
        return { ...reply(503, 'NOT_OWNER', 'not admitted: this node does not hold the tenant\'s shard (it moved): retry'), headers: { 'retry-after': '1' } };
      }
      if (!reservation.ok) {
        const retryAfterMs = reservation.retry_after_ms ?? 1000;
        m.quotaDenials.inc({ reason: reservation.reason });
        const entry = await append(d, tenant.tenant_id, 'quota.deny', { ...requestFields(b), reason: reservation.reason });
        if (failed(entry)) return entry;
        const r = reply(429, 'QUOTA_DENIED', `denied by quota: ${reservation.reason}`, { reason: reservation.reason });
        return { ...r, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
      }
      const id = reservation.id;
      const admitted = await append(d, tenant.tenant_id, 'invoke.admit', {
        ...requestFields(b), reservation: id, expires_at: reservation.expires_at, ...(runIn === undefined ? {} : { domain: runIn }),
      });
      if (failed(admitted)) {
        await d.quota.release(id);
        return admitted;
      }
      ctx.reservation = { id };
      let answer;
      try {
        answer = await next();
      } catch (e) {
        if (ctx.charged !== true) await d.quota.release(id);
        throw e;
      }
      if (ctx.charged !== true) await d.quota.release(id);
      return answer;
    },
  };
}

/**
 * After the call: the `invoke` entry (what it cost, durable), whose receipt is the answer, and then
 * quota.settle(actual). The call happened, so once its entry is written its cost is charged even when
 * the store cannot take the settlement now (retried in the background; settle is idempotent by id). When
 * the entry cannot be written, nothing is charged and the reservation is released.
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
      const written = await append(d, tenant.tenant_id, 'invoke', {
        ...requestFields(b), charged_usd: result.usd, reservation: reservation.id, ...(ctx.servedBy === undefined ? {} : { upstream: ctx.servedBy }),
      });
      if (failed(written)) return written;
      ctx.charged = true;
      const receipt = { tenant_id: tenant.tenant_id, index: written.index, leaf_hash: written.leaf_hash };
      try {
        await m.time('quota_settle', () => d.quota.settle(reservation.id, result.usd));
      } catch (e) {
        if (isQuotaError(e) && e.code === 'STORE_UNAVAILABLE') {
          d.settleRetries.add(tenant.tenant_id, reservation.id, result.usd);
        } else if (isQuotaError(e) && e.code === 'CONTROL_FAILED') {
          // Charged, and the tenant frozen in this process, but the freeze is not yet durable.
          m.spend.inc({ tenant: tenant.tenant_id }, result.usd);
          const r = controlLogUnavailable(`charged (receipt given), and the tenant is frozen, but its freeze is not yet durable: ${e.message}`);
          return { ...r, body: { ...(r.body as object), receipt } };
        } else {
          throw e;
        }
      }
      m.spend.inc({ tenant: tenant.tenant_id }, result.usd);
      return { status: 200, body: { receipt, charged_usd: result.usd, output: answer.body, ...(ctx.servedBy === undefined ? {} : { upstream: ctx.servedBy }) } };
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
  return [ledgerStage(d), policyStage(d), reserveStage(d), settleStage(d), upstreamStage(d)];
}
