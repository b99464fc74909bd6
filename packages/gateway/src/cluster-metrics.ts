// Cluster metrics of a gateway node (prom-client, in the gateway's registry), read from the cluster node and
// the routing at every scrape:
//
//   tenantry_cluster_members                          live members this node saw at its last tick
//   tenantry_cluster_shards_owned                     shards whose lease this node holds
//   tenantry_cluster_coordinator                      1 while this node holds the coordinator lease
//   tenantry_cluster_handovers_total{type}            shard leases acquired, released (handed over), stepped_down
//   tenantry_cluster_messages_refused_total{code}     signed messages refused, by code (FORGED, REPLAYED, STALE, REVOKED…)
//   tenantry_cluster_messages_accepted_total
//   tenantry_cluster_redis_unavailable_total          heartbeats, ticks and polls that could not reach Redis
//   tenantry_cluster_revocations_version              version of the operator's revocation list in force
//   tenantry_cluster_forwarded_total{outcome}         requests forwarded to their owner: answered, unreachable
//   tenantry_cluster_forward_served_total             forwarded requests served here
//   tenantry_cluster_not_owner_total                  requests answered 503 NOT_OWNER here
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClusterRouting } from './cluster.js';

/** Registers the cluster metrics of `routing` in `registry` (once per registry). */
export function observeCluster(registry: Registry, routing: ClusterRouting): void {
  if (registry.getSingleMetric('tenantry_cluster_forwarded_total') !== undefined) return;
  const stats = () => routing.cluster.stats?.();
  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    new Gauge({
      name, help, registers: [registry],
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
  };
  /** A counter whose values are read from a map of totals at scrape time. */
  const counter = (name: string, help: string, label: string, read: () => Readonly<Record<string, number>> | undefined): void => {
    new Counter({
      name, help, labelNames: [label], registers: [registry],
      collect() {
        const totals = read();
        if (totals === undefined) return;
        this.reset();
        for (const [k, v] of Object.entries(totals)) this.inc({ [label]: k }, v);
      },
    });
  };
  /** A counter without labels whose value is read at scrape time. */
  const total = (name: string, help: string, read: () => number | undefined): void => {
    new Counter({
      name, help, registers: [registry],
      collect() {
        const v = read();
        if (v === undefined) return;
        this.reset();
        this.inc(v);
      },
    });
  };
  gauge('tenantry_cluster_members', 'Live cluster members seen at the last tick.', () => stats()?.members);
  gauge('tenantry_cluster_shards_owned', 'Shards whose lease this node holds.', () => stats()?.shardsOwned);
  gauge('tenantry_cluster_coordinator', '1 while this node holds the coordinator lease.', () => (stats() === undefined ? undefined : stats()!.coordinator ? 1 : 0));
  gauge('tenantry_cluster_revocations_version', 'Version of the revocation list in force.', () => stats()?.revocationsVersion);
  counter('tenantry_cluster_handovers_total', 'Shard leases acquired, released and stepped down.', 'type', () => stats()?.handovers);
  counter('tenantry_cluster_messages_refused_total', 'Signed cluster messages refused, by code.', 'code', () => stats()?.refused);
  total('tenantry_cluster_messages_accepted_total', 'Signed cluster messages accepted.', () => stats()?.accepted);
  total('tenantry_cluster_redis_unavailable_total', 'Heartbeats, ticks and polls that could not reach Redis.', () => stats()?.redisUnavailable);
  counter('tenantry_cluster_forwarded_total', 'Requests forwarded to their owner, by outcome.', 'outcome', () => routing.stats.forwarded);
  total('tenantry_cluster_forward_served_total', 'Forwarded requests served here.', () => routing.stats.served);
  total('tenantry_cluster_not_owner_total', 'Requests answered 503 NOT_OWNER here.', () => routing.stats.notOwner);
}
