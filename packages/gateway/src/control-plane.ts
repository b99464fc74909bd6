// Control state of a gateway (docs/architecture.md, "Control state"): what is in force — the mode,
// lockdowns, freezes, run-time envelopes — applied to the policy engine and the quota, always through
// the control-plane log.
//
//   commit(event)  an operator's change: written (durable) first, then applied. If the write fails,
//                  nothing changes.
//   the policy's own lockdowns (decided synchronously inside decide(), in force at once: fail closed)
//                  are written as they happen; settled(tenant) lets the request that caused one wait
//                  for its entry, and fail if it cannot be written.
//   the quota's own freezes go through ControlLog.sink, which the quota awaits before freezing.
//   restore()      at start: folds the log (controlState) and applies exactly what was in force.
import { controlState, type ControlEvent, type ControlState, type Domain, type Mode } from '@tenantry/core';
import type { PolicyEngine } from '@tenantry/policy';
import type { BudgetEnvelope, Quota } from '@tenantry/quota';
import type { Scheduler } from '@tenantry/scheduler';
import type { ControlLog } from './control-log.js';

/** What a lockdown listener of the policy engine receives. */
interface LockNotice {
  tenantId: string;
  by: string;
  reason: string;
  violations: number;
}

export interface RestoreReport {
  /** Control events folded. */
  events: number;
  mode: Mode;
  frozen: number;
  locked: number;
  envelopes: number;
  /** Paused tenants and domains, and tenants whose canary traffic is suspended. */
  paused: number;
  canarySuspended: number;
}

export class ControlPlane {
  readonly log: ControlLog;
  readonly #quota: Quota;
  readonly #policy: PolicyEngine;
  readonly #known: (tenantId: string) => boolean;
  #mode: Mode = 'NORMAL';
  /** The write of the latest lockdown each tenant caused, until it settles. */
  readonly #lockWrites = new Map<string, Promise<void>>();
  /** True while this plane itself locks a tenant (the engine's 'lockdown' event is then not a new decision). */
  #applying = false;
  readonly #onLockdown = (lock: LockNotice): void => {
    if (!this.#applying) this.#recordLockdown(lock);
  };

  readonly #scheduler: Scheduler | undefined;
  /** Tenants whose canary traffic is suspended (the policy sees context.canary_suspended). */
  readonly #canary = new Set<string>();
  /** Tenants and domains paused (kept here too, so they are in force before a scheduler sees work). */
  readonly #pausedTenants = new Set<string>();
  readonly #pausedDomains = new Set<Domain>();

  constructor(log: ControlLog, quota: Quota, policy: PolicyEngine, known: (tenantId: string) => boolean, scheduler?: Scheduler) {
    this.log = log;
    this.#quota = quota;
    this.#policy = policy;
    this.#known = known;
    this.#scheduler = scheduler;
  }

  get mode(): Mode {
    return this.#mode;
  }

  /** Whether `tenantId`'s canary traffic is suspended. */
  canarySuspended(tenantId: string): boolean {
    return this.#canary.has(tenantId);
  }

  /** Whether new work of `tenantId`, or of `domain`, is held back. */
  paused(tenantId: string, domain?: Domain): boolean {
    return this.#pausedTenants.has(tenantId) || (domain !== undefined && this.#pausedDomains.has(domain));
  }

  /**
   * Folds the control-plane log and applies what it leaves in force (for tenants of the tenants file):
   * the mode, run-time envelopes (they win over the file), freezes and lockdowns. A tenant that the log
   * shows unfrozen is unfrozen in the quota, so a shared store's stale freeze does not outlive its
   * lifting. Then starts recording the policy's lockdowns.
   */
  async restore(): Promise<RestoreReport> {
    const events = await this.log.events();
    const state = controlState(events);
    await this.#applyState(state, events);
    this.#policy.on('lockdown', this.#onLockdown);
    return {
      events: events.length, mode: state.mode, frozen: state.frozen.size, locked: state.locked.size, envelopes: state.envelopes.size,
      paused: state.paused.tenants.size + state.paused.domains.size, canarySuspended: state.canarySuspended.size,
    };
  }

  async #applyState(state: ControlState, events: readonly ControlEvent[]): Promise<void> {
    this.#mode = state.mode;
    for (const [tenantId, env] of state.envelopes) if (this.#known(tenantId)) await this.#quota.setEnvelope(env as unknown as BudgetEnvelope);
    const touched = new Set<string>();
    for (const e of events) if (e.type === 'freeze' || e.type === 'unfreeze') touched.add(e.tenant_id);
    for (const tenantId of touched) {
      if (!this.#known(tenantId)) continue;
      const f = state.frozen.get(tenantId);
      if (f === undefined) await this.#quota.unfreeze(tenantId);
      else await this.#quota.freeze(tenantId, f.reason);
    }
    for (const [tenantId, lock] of state.locked) {
      if (this.#known(tenantId) && this.#policy.lockOf(tenantId) === undefined) this.#policy.lock(tenantId, { by: lock.by, reason: lock.reason });
    }
    for (const tenantId of state.paused.tenants.keys()) if (this.#known(tenantId)) this.#pause('tenant', tenantId, true);
    for (const domain of state.paused.domains.keys()) this.#pause('domain', domain, true);
    for (const tenantId of state.canarySuspended.keys()) if (this.#known(tenantId)) this.#canary.add(tenantId);
  }

  #pause(scope: 'tenant' | 'domain', id: string, on: boolean): void {
    if (scope === 'tenant') {
      if (on) this.#pausedTenants.add(id);
      else this.#pausedTenants.delete(id);
      if (this.#scheduler !== undefined) (on ? this.#scheduler.pauseTenant(id) : this.#scheduler.resumeTenant(id));
    } else {
      if (on) this.#pausedDomains.add(id as Domain);
      else this.#pausedDomains.delete(id as Domain);
      if (this.#scheduler !== undefined) (on ? this.#scheduler.pauseDomain(id as Domain) : this.#scheduler.resumeDomain(id as Domain));
    }
  }

  /**
   * Writes `event` to the control-plane log and, once it is durable, applies it.
   * @throws GatewayError CONTROL_LOG_UNAVAILABLE (nothing applied), CoreError for a malformed event,
   *   QuotaError / PolicyError from applying it.
   */
  async commit(event: ControlEvent): Promise<void> {
    await this.log.append(event);
    await this.apply(event);
  }

  /** Applies an event that is already durable. */
  async apply(event: ControlEvent): Promise<void> {
    switch (event.type) {
      case 'mode':
        this.#mode = event.mode;
        return;
      case 'envelope':
        await this.#quota.setEnvelope(event.envelope as unknown as BudgetEnvelope);
        return;
      case 'freeze':
        await this.#quota.freeze(event.tenant_id, event.reason);
        return;
      case 'unfreeze':
        await this.#quota.unfreeze(event.tenant_id);
        return;
      case 'lockdown':
        if (this.#policy.lockOf(event.tenant_id) !== undefined) return;
        this.#applying = true;
        try {
          this.#policy.lock(event.tenant_id, { by: event.by, reason: event.reason });
        } finally {
          this.#applying = false;
        }
        return;
      case 'unlock':
        if (this.#policy.lockOf(event.tenant_id) !== undefined) this.#policy.unlock(event.tenant_id, { by: event.by, reason: event.reason });
        return;
      case 'pause':
      case 'resume':
        this.#pause(event.scope, event.id, event.type === 'pause');
        return;
      case 'canary':
        if (event.suspended) this.#canary.add(event.tenant_id);
        else this.#canary.delete(event.tenant_id);
        return;
    }
  }

  #recordLockdown(lock: LockNotice): void {
    if (!this.#known(lock.tenantId)) return;
    const write = this.log.record({ type: 'lockdown', tenant_id: lock.tenantId, by: lock.by, reason: lock.reason, violations: lock.violations });
    this.#lockWrites.set(lock.tenantId, write);
    // The request that caused the lockdown awaits settled(); this only forgets the promise once it has
    // settled either way (a failed write stays in the log's retry queue).
    write.then(
      () => { if (this.#lockWrites.get(lock.tenantId) === write) this.#lockWrites.delete(lock.tenantId); },
      () => { if (this.#lockWrites.get(lock.tenantId) === write) this.#lockWrites.delete(lock.tenantId); },
    );
  }

  /**
   * Resolves when the lockdown `tenantId` caused last (if any is being written) is durable.
   * @throws GatewayError CONTROL_LOG_UNAVAILABLE when it could not be written.
   */
  async settled(tenantId: string): Promise<void> {
    const write = this.#lockWrites.get(tenantId);
    if (write !== undefined) await write;
  }

  /** Stops recording lockdowns; writes what is still unwritten. */
  async close(): Promise<void> {
    this.#policy.off('lockdown', this.#onLockdown);
    await this.log.close();
  }
}
