// Upstream failover (docs/architecture.md, "The request path"): a route names several upstreams in order of
// preference. The call goes to the first one that the tenant's policy allows (an `egress` decision for that
// upstream's host) and whose circuit is closed; when it fails or times out, to the next. The reservation
// made before stays the one reservation — it is settled once, for the upstream that served — and the
// `invoke` entry names that upstream. Circuit breakers and timeouts are cockatiel's, one breaker per
// (tenant, upstream), so one tenant's failures never open another tenant's circuit.
import { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, timeout, TimeoutStrategy, wrap, type CircuitBreakerPolicy, type IPolicy } from 'cockatiel';
import { isObject } from '@tenantry/core';
import type { PolicyEngine } from '@tenantry/policy';
import type { ControlPlane } from './control-plane.js';
import { GatewayError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { reply } from './reply.js';
import type { Stage } from './stage.js';
import type { Upstream } from './upstream.js';

export interface UpstreamTarget {
  /** Stable name, in the audit entry (`upstream`) and the answer. */
  name: string;
  /** The host it reaches, judged by the tenant's egress policy. */
  host: string;
  call: Upstream;
  /** Longest wait for an answer, ms (default 30 000). */
  timeoutMs?: number;
}

export interface FailoverOptions {
  upstreams: readonly UpstreamTarget[];
  /** Consecutive failures that open a (tenant, upstream) circuit (default 3), and how long it stays open (default 10 000 ms). */
  breaker?: { threshold?: number; halfOpenAfterMs?: number };
}

interface Checked {
  upstreams: Array<Required<UpstreamTarget>>;
  threshold: number;
  halfOpenAfterMs: number;
}

function invalid(field: string, message: string): GatewayError {
  return new GatewayError('INVALID_ARGUMENT', `${field} ${message}`, field);
}

/** @throws GatewayError INVALID_ARGUMENT naming the option at fault. */
export function checkFailoverOptions(o: unknown): Checked {
  if (!isObject(o) || !Array.isArray(o.upstreams) || o.upstreams.length === 0) throw invalid('options.failover.upstreams', 'must be a non-empty array of { name, host, call, timeoutMs? }');
  const names = new Set<string>();
  const upstreams = o.upstreams.map((u: unknown, i: number) => {
    const at = `options.failover.upstreams[${i}]`;
    if (!isObject(u)) throw invalid(at, 'must be an object { name, host, call, timeoutMs? }');
    if (typeof u.name !== 'string' || u.name.length === 0 || names.has(u.name)) throw invalid(`${at}.name`, 'must be a non-empty string, unique in the route');
    names.add(u.name);
    if (typeof u.host !== 'string' || u.host.length === 0) throw invalid(`${at}.host`, 'must be a host name');
    if (typeof u.call !== 'function') throw invalid(`${at}.call`, 'must be a function');
    const t = u.timeoutMs ?? 30_000;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) throw invalid(`${at}.timeoutMs`, 'must be a positive number');
    return { name: u.name, host: u.host, call: u.call as Upstream, timeoutMs: t };
  });
  const b = o.breaker ?? {};
  if (!isObject(b)) throw invalid('options.failover.breaker', 'must be an object { threshold?, halfOpenAfterMs? }');
  const threshold = b.threshold ?? 3;
  const halfOpenAfterMs = b.halfOpenAfterMs ?? 10_000;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1) throw invalid('options.failover.breaker.threshold', 'must be a positive integer');
  if (typeof halfOpenAfterMs !== 'number' || !Number.isFinite(halfOpenAfterMs) || halfOpenAfterMs <= 0) throw invalid('options.failover.breaker.halfOpenAfterMs', 'must be a positive number');
  return { upstreams, threshold, halfOpenAfterMs };
}

/** The upstream stage with failover: it replaces the single-upstream stage at the end of the path. */
export function failoverStage(o: Checked, d: { policy: PolicyEngine; control: ControlPlane; metrics: GatewayMetrics }): Stage {
  const guards = new Map<string, { breaker: CircuitBreakerPolicy; policy: IPolicy }>();
  const guardOf = (tenantId: string, u: Required<UpstreamTarget>) => {
    const key = `${tenantId}\u0000${u.name}`;
    let g = guards.get(key);
    if (g === undefined) {
      const breaker = circuitBreaker(handleAll, { halfOpenAfter: o.halfOpenAfterMs, breaker: new ConsecutiveBreaker(o.threshold) });
      guards.set(key, (g = { breaker, policy: wrap(breaker, timeout(u.timeoutMs, TimeoutStrategy.Aggressive)) }));
    }
    return g;
  };
  return {
    name: 'upstream',
    async handle(ctx) {
      const { tenant, request: b } = ctx;
      const tried: Array<{ upstream: string; outcome: string }> = [];
      for (const u of o.upstreams) {
        const allowed = d.policy.decide({
          protocol_version: '1.0',
          principal: { tenant_id: tenant.tenant_id, ...tenant.principal },
          action: 'egress',
          resource: { ...b.resource, layer: 'network', host: u.host },
          context: { mode: d.control.mode },
        });
        if (!allowed.allow) {
          tried.push({ upstream: u.name, outcome: `not allowed (${allowed.reasons.join(', ')})` });
          continue;
        }
        const guard = guardOf(tenant.tenant_id, u);
        if (guard.breaker.state === CircuitState.Open) {
          tried.push({ upstream: u.name, outcome: 'circuit open' });
          continue;
        }
        try {
          const result = await d.metrics.time('upstream', () => guard.policy.execute(({ signal }) =>
            u.call({ tenant_id: tenant.tenant_id, action: b.action, resource: b.resource, estimated_usd: b.estimated_usd, signal })));
          ctx.result = result;
          ctx.servedBy = u.name;
          return { status: 200, body: result.output };
        } catch (e) {
          tried.push({ upstream: u.name, outcome: e instanceof Error ? e.message : String(e) });
        }
      }
      return reply(502, 'UPSTREAM_FAILED', `no upstream served the call: ${tried.map((t) => `${t.upstream}: ${t.outcome}`).join('; ')}`, { tried });
    },
  };
}
