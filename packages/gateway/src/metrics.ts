// Prometheus metrics of the request path (prom-client), in a registry of the gateway's own so that a host
// application's default registry is left alone. GET /metrics serves them in the text exposition format.
//
//   tenantry_policy_decisions_total{allow, reason}   one per decision; a denial counts once per reason
//   tenantry_quota_denials_total{reason}
//   tenantry_spend_usd_total{tenant}                  settled spend
//   tenantry_audit_entries_total{kind}                entries appended by the gateway
//   tenantry_audit_log_entries{tenant}                size of each tenant's log (read at scrape time)
//   tenantry_stage_seconds{stage}                     latency per stage: policy, quota_reserve, upstream,
//                                                     quota_settle, audit
//   tenantry_requests_total{route, status}
//   tenantry_defense_events_total{type}               the quota's cost-defense alerts and limiter actions
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type MetricStage = 'policy' | 'quota_reserve' | 'upstream' | 'quota_settle' | 'audit';

const STAGE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class GatewayMetrics {
  readonly registry: Registry;
  readonly decisions: Counter<'allow' | 'reason'>;
  readonly quotaDenials: Counter<'reason'>;
  readonly spend: Counter<'tenant'>;
  readonly auditEntries: Counter<'kind'>;
  readonly stage: Histogram<'stage'>;
  readonly requests: Counter<'route' | 'status'>;
  readonly defenseEvents: Counter<'type'>;

  /** @param logSizes the size of each tenant's audit log, read at every scrape. */
  constructor(logSizes: () => Array<[string, number]>, registry = new Registry()) {
    this.registry = registry;
    this.decisions = new Counter({ name: 'tenantry_policy_decisions_total', help: 'Policy decisions; a denial counts once per reason.', labelNames: ['allow', 'reason'], registers: [registry] });
    this.quotaDenials = new Counter({ name: 'tenantry_quota_denials_total', help: 'Quota denials by reason.', labelNames: ['reason'], registers: [registry] });
    this.spend = new Counter({ name: 'tenantry_spend_usd_total', help: 'Settled spend in USD.', labelNames: ['tenant'], registers: [registry] });
    this.auditEntries = new Counter({ name: 'tenantry_audit_entries_total', help: 'Audit entries appended by the gateway, by kind.', labelNames: ['kind'], registers: [registry] });
    this.stage = new Histogram({ name: 'tenantry_stage_seconds', help: 'Latency of each stage of the request path.', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers: [registry] });
    this.defenseEvents = new Counter({ name: 'tenantry_defense_events_total', help: 'Cost-defense alerts and limiter actions, by type.', labelNames: ['type'], registers: [registry] });
    this.requests = new Counter({ name: 'tenantry_requests_total', help: 'Requests answered, by route and status.', labelNames: ['route', 'status'], registers: [registry] });
    new Gauge({
      name: 'tenantry_audit_log_entries', help: 'Entries in each tenant\'s audit log.', labelNames: ['tenant'], registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, size] of logSizes()) this.set({ tenant }, size);
      },
    });
  }

  readonly #stages = new Map<MetricStage, { observe(v: number): void }>();

  /** The histogram child of a stage (bound once: no label lookup per request). */
  stageOf(stage: MetricStage): { observe(v: number): void } {
    let child = this.#stages.get(stage);
    if (child === undefined) this.#stages.set(stage, (child = this.stage.labels({ stage })));
    return child;
  }

  /** Times `fn` as `stage`. */
  async time<T>(stage: MetricStage, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.stageOf(stage).observe((performance.now() - t0) / 1000);
    }
  }
}
