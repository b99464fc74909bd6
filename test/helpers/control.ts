// Generated control events (fast-check) for the fold and restart properties.
import fc from 'fast-check';
import { DOMAINS, FREEZE_SOURCES, MODES, type ControlEvent } from '@tenantry/core';

/** A budget envelope of `tenantId` with the given daily cap (USD). */
export const envelopeOf = (tenantId: string, daily: number) => ({
  tenant_id: tenantId, monthly_budget_usd: 100, daily_budget_usd: daily, experiment_budget_cap_usd: 1, max_parallel_experiments: 1, max_prod_traffic_pct: 10,
});

/** Any well-formed control event over the given tenants. */
export const arbitraryControlEvent = (tenants: readonly string[]): fc.Arbitrary<ControlEvent> => {
  const tenant = fc.constantFrom(...tenants);
  const text = fc.constantFrom('ops', 'policy', 'alice', 'a reason', 'OVERRUN', 'ünïcode ✓');
  return fc.oneof(
    fc.record({ type: fc.constant('lockdown' as const), tenant_id: tenant, by: text, reason: text, violations: fc.nat(5) }),
    fc.record({ type: fc.constant('unlock' as const), tenant_id: tenant, by: text, reason: text }),
    fc.record({ type: fc.constant('freeze' as const), tenant_id: tenant, source: fc.constantFrom(...FREEZE_SOURCES), reason: text }),
    fc.record({ type: fc.constant('unfreeze' as const), tenant_id: tenant, by: text }),
    fc.tuple(tenant, fc.integer({ min: 1, max: 99 })).map(([id, daily]) => ({ type: 'envelope' as const, tenant_id: id, envelope: envelopeOf(id, daily) })),
    fc.record({ type: fc.constant('mode' as const), mode: fc.constantFrom(...MODES), requested_by: text }),
    fc.record({ type: fc.constant('pause' as const), scope: fc.constant('tenant' as const), id: tenant, by: text, reason: text }),
    fc.record({ type: fc.constant('resume' as const), scope: fc.constant('tenant' as const), id: tenant, by: text }),
    fc.record({ type: fc.constant('pause' as const), scope: fc.constant('domain' as const), id: fc.constantFrom(...DOMAINS), by: text, reason: text }),
    fc.record({ type: fc.constant('resume' as const), scope: fc.constant('domain' as const), id: fc.constantFrom(...DOMAINS), by: text }),
    fc.record({ type: fc.constant('canary' as const), tenant_id: tenant, suspended: fc.boolean(), by: text, reason: text }),
  );
};
