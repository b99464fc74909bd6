// What the scheduler and the agent supervisor do, made visible (docs/architecture.md, "@tenantry/gateway"):
// Prometheus series for queue depth, queue wait, the concurrency limit, breaker states and agent states per
// tenant, and an audit entry of the agent's tenant for every lifecycle transition (`agent.transition`), so a
// tenant's chain shows when its agents degraded, paused, restarted or were quarantined.
import type { AgentEvent, AgentSupervisor, Scheduler, SchedulerEvent } from '@tenantry/scheduler';
import { Gauge, Histogram, type Registry } from 'prom-client';

const WAIT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const AGENT_STATES = ['CREATED', 'ACTIVE', 'DEGRADED', 'PAUSED', 'TERMINATED'] as const;
const BREAKER_VALUE: Record<string, number> = { closed: 0, halfOpen: 1, half_open: 1, open: 2, isolated: 3 };

/** Registers the series in `registry` and subscribes; returns the unsubscribe. */
export function observeScheduler(
  registry: Registry,
  scheduler: Scheduler | undefined,
  supervisor: AgentSupervisor | undefined,
  audit: (tenantId: string, kind: string, payload: Record<string, string | number>) => Promise<unknown>,
): () => void {
  const stops: Array<() => void> = [];
  if (scheduler !== undefined) {
    new Gauge({
      name: 'tenantry_scheduler_queued', help: 'Tasks waiting, per tenant.', labelNames: ['tenant'], registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, t] of Object.entries(scheduler.stats().tenants)) this.set({ tenant }, t.queued);
      },
    });
    new Gauge({
      name: 'tenantry_scheduler_running', help: 'Tasks running, per tenant.', labelNames: ['tenant'], registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, t] of Object.entries(scheduler.stats().tenants)) this.set({ tenant }, t.running);
      },
    });
    new Gauge({
      name: 'tenantry_scheduler_concurrency', help: 'The concurrency limit in force.', registers: [registry],
      collect() {
        this.set(scheduler.stats().concurrency);
      },
    });
    const wait = new Histogram({ name: 'tenantry_scheduler_wait_seconds', help: 'Queue wait before a task started, per domain.', labelNames: ['domain'], buckets: WAIT_BUCKETS, registers: [registry] });
    const breaker = new Gauge({ name: 'tenantry_scheduler_breaker_state', help: 'Circuit state per tenant and service: 0 closed, 1 half-open, 2 open, 3 isolated.', labelNames: ['tenant', 'service'], registers: [registry] });
    stops.push(scheduler.on((e: SchedulerEvent) => {
      if (e.type === 'started') wait.observe({ domain: e.domain }, e.waited_ms / 1000);
      else if (e.type === 'circuit') breaker.set({ tenant: e.tenant_id, service: e.service }, BREAKER_VALUE[String(e.state)] ?? -1);
    }));
  }
  if (supervisor !== undefined) {
    new Gauge({
      name: 'tenantry_agents', help: 'Agents per tenant and lifecycle state.', labelNames: ['tenant', 'state'], registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const a of supervisor.list()) counts.set(`${a.tenant_id}\u0000${a.state}`, (counts.get(`${a.tenant_id}\u0000${a.state}`) ?? 0) + 1);
        for (const [key, n] of counts) {
          const [tenant, state] = key.split('\u0000') as [string, (typeof AGENT_STATES)[number]];
          this.set({ tenant, state }, n);
        }
      },
    });
    stops.push(supervisor.on((e: AgentEvent) => {
      const payload: Record<string, string | number> = { agent_id: e.agent_id, from: e.from, to: e.to, reason: e.reason, at: e.at };
      if (e.error !== undefined) payload.error = e.error instanceof Error ? e.error.message : String(e.error);
      audit(e.tenant_id, 'agent.transition', payload).then(undefined, (err: unknown) => {
        process.emitWarning(`@tenantry/gateway: the lifecycle entry of agent ${e.agent_id} could not be appended: ${err instanceof Error ? err.message : String(err)}`);
      });
    }));
  }
  return () => {
    for (const stop of stops) stop();
  };
}
