// A freeze the quota decides on its own (docs/architecture.md, "Control state"): the overrun rule
// (freezeOnOverrun, source and reason "OVERRUN") and the cost limiter's freeze_tenant ("COST_LIMITER").
// Control state is durable before it takes effect, so the freeze is first described as a control event and
// handed to the host's sink (createQuota({ control })), which makes it durable; only when the sink has
// answered is it applied in the store. A sink that rejects does not stop the freeze: an unrecorded freeze
// is the restrictive side to err on (fail closed), and the caller reports the sink's failure. Host calls
// (freeze, unfreeze, setEnvelope) are recorded by the host itself and never come here.
import type { ControlSink, FreezeEvent } from '@tenantry/core';
import type { QuotaStore } from './store.js';

export type AutoFreezeSource = 'OVERRUN' | 'COST_LIMITER';

export interface AutoFreezeOutcome {
  /** The store applied the freeze (false: the tenant has no envelope there). */
  applied: boolean;
  /** The sink rejected the event (with `cause`); the freeze was applied all the same. */
  sinkFailure: { cause: unknown } | null;
}

/**
 * Freezes `tenantId` for `source`: the control event to `control` (awaited), then the store.
 * @throws whatever the store's setFrozen throws (the freeze is then not applied).
 */
export async function autoFreeze(store: QuotaStore, control: ControlSink | null, tenantId: string, source: AutoFreezeSource): Promise<AutoFreezeOutcome> {
  let sinkFailure: AutoFreezeOutcome['sinkFailure'] = null;
  if (control !== null) {
    const event: FreezeEvent = { type: 'freeze', tenant_id: tenantId, source, reason: source };
    try {
      await control(event);
    } catch (cause) {
      sinkFailure = { cause };
    }
  }
  const applied = await store.setFrozen(tenantId, source);
  return { applied, sinkFailure };
}
