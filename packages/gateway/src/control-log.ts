// The control-plane log (docs/architecture.md, "Control state"): every control event of this node — a
// lockdown, an unlock, a freeze of any source, an unfreeze, a run-time envelope, a mode switch — as an
// entry of the audit ledger's `_control_plane` chain (kind `control.<type>`, payload the event), so it is
// as tamper-evident and as durable as any tenant's entries.
//
// Both ways in resolve once the entry is on disk, and run one after another in the order they were
// asked for, so the log's order is the order in which the changes were decided:
//   append(event)  a change not yet made (an operator's): if the write fails, the caller does not make it.
//   record(event)  a restrictive change already in force in this process (a policy lockdown, the quota's
//                  own freeze: fail closed). If the write fails it is kept and written again, with
//                  backoff, before any later event, so a restart never forgets it.
import type { AuditLedger, JsonObject } from '@tenantry/audit';
import { checkControlEvent, type ControlEvent, type ControlSink } from '@tenantry/core';
import { GatewayError } from './errors.js';

/**
 * The gateway's own tenant id: the control-plane chain of the ledger, and the principal of governed
 * operations (the mode switch). No tenants file may use it.
 */
export const CONTROL_PLANE = '_control_plane';

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

/**
 * Control events written before control events existed, by entry kind: the admin routes and policy
 * lockdowns of earlier versions, so that a data directory from then restores the same state.
 */
function legacyEvent(kind: string, p: Record<string, unknown>): unknown {
  switch (kind) {
    case 'admin.mode': return { type: 'mode', mode: p.to, requested_by: p.requested_by };
    case 'admin.envelope': return { type: 'envelope', tenant_id: p.tenant_id, envelope: p.envelope };
    case 'admin.freeze': return { type: 'freeze', tenant_id: p.tenant_id, source: 'admin', reason: p.reason };
    case 'admin.unfreeze': return { type: 'unfreeze', tenant_id: p.tenant_id, by: 'admin' };
    case 'policy.lockdown': return { type: 'lockdown', tenant_id: p.tenant_id, by: p.by, reason: p.reason, violations: p.violations ?? 0 };
    case 'admin.unlock': return { type: 'unlock', tenant_id: p.tenant_id, by: p.by, reason: p.reason };
    default: return undefined;
  }
}

export class ControlLog {
  readonly ledger: AuditLedger;
  #tail: Promise<unknown> = Promise.resolve();
  /** Restrictive events in force whose entries are not yet on disk, oldest first. */
  readonly #unwritten: ControlEvent[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #retryDelay = RETRY_FIRST_MS;
  #closed = false;

  constructor(ledger: AuditLedger) {
    this.ledger = ledger;
  }

  /**
   * The sink to give createQuota({ control }): the quota's own freezes are written before they apply (and
   * apply even when the write fails, fail closed: so they are recorded, kept until written).
   */
  readonly sink: ControlSink = (event) => this.record(event);

  /** Restrictive events in force that are still waiting to be written. */
  get unwritten(): number {
    return this.#unwritten.length;
  }

  /**
   * Writes `event` as an entry of the control-plane chain; resolves once it is durable.
   * @throws CoreError INVALID_CONTROL_EVENT / INVALID_TENANT_ID for a malformed event (nothing written);
   *   GatewayError CONTROL_LOG_UNAVAILABLE when the entry could not be written (a restrictive event is
   *   kept and written later).
   */
  append(event: ControlEvent): Promise<void> {
    return this.#enqueue(checkControlEvent(event), false);
  }

  /**
   * Writes a restrictive event (lockdown or freeze) that is in force already; resolves once durable.
   * @throws as append(), but a failed write is kept and written again until the log takes it.
   */
  record(event: ControlEvent): Promise<void> {
    const checked = checkControlEvent(event);
    if (checked.type !== 'lockdown' && checked.type !== 'freeze') {
      return Promise.reject(new GatewayError('INVALID_ARGUMENT', `record() takes a lockdown or a freeze, got a ${checked.type} event: use append()`, 'event.type'));
    }
    return this.#enqueue(checked, true);
  }

  #enqueue(event: ControlEvent, keep: boolean): Promise<void> {
    const run = this.#tail.then(() => this.#write(event, keep));
    this.#tail = run.then(undefined, () => undefined);
    return run;
  }

  async #write(event: ControlEvent, keep: boolean): Promise<void> {
    try {
      await this.#drain();
      await this.#entry(event);
    } catch (e) {
      if (keep) {
        this.#unwritten.push(event);
        this.#scheduleRetry();
      }
      throw new GatewayError('CONTROL_LOG_UNAVAILABLE', `the control-plane log could not take a ${event.type} event: ${e instanceof Error ? e.message : String(e)}`, undefined, e);
    }
  }

  async #entry(event: ControlEvent): Promise<void> {
    await this.ledger.append(CONTROL_PLANE, { kind: `control.${event.type}`, payload: event as unknown as JsonObject });
  }

  /** Writes the unwritten restrictive events, oldest first; stops at the first failure. */
  async #drain(): Promise<void> {
    while (this.#unwritten.length > 0) {
      await this.#entry(this.#unwritten[0]!);
      this.#unwritten.shift();
    }
    this.#retryDelay = RETRY_FIRST_MS;
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== null || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      const run = this.#tail.then(() => this.#drain());
      this.#tail = run.then(undefined, () => {
        this.#retryDelay = Math.min(RETRY_MAX_MS, this.#retryDelay * 2);
        this.#scheduleRetry();
      });
    }, this.#retryDelay);
    this.#retryTimer.unref();
  }

  /** Waits for every append asked for so far, and tries once more to write what is unwritten. */
  async flush(): Promise<void> {
    await this.#tail;
    if (this.#unwritten.length > 0) await (this.#tail = this.#drain().then(undefined, () => undefined));
  }

  /** Stops retrying (after a last flush). */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /**
   * Every control event of the chain, oldest first (entries of other kinds, such as denied mode
   * switches, are skipped).
   * @throws GatewayError CONTROL_LOG_INVALID naming the entry index when an entry of a control kind is
   *   not a valid control event; whatever the audit log throws for a chain it cannot read.
   */
  async events(): Promise<ControlEvent[]> {
    const log = this.ledger.log;
    const out: ControlEvent[] = [];
    const size = log.size(CONTROL_PLANE);
    for (let i = 0; i < size; i++) {
      const { entry } = await log.entry(CONTROL_PLANE, i);
      const payload = entry.payload as Record<string, unknown>;
      const raw = entry.kind.startsWith('control.') ? payload : legacyEvent(entry.kind, payload);
      if (raw === undefined) continue;
      try {
        const event = checkControlEvent(raw, `${CONTROL_PLANE}[${i}]`);
        if (entry.kind.startsWith('control.') && entry.kind !== `control.${event.type}`) throw new Error(`kind ${entry.kind} holds a ${event.type} event`);
        out.push(event);
      } catch (e) {
        throw new GatewayError('CONTROL_LOG_INVALID', `control-plane entry ${i} (${entry.kind}) is not a valid control event: ${e instanceof Error ? e.message : String(e)}`, `${CONTROL_PLANE}[${i}]`, e, i);
      }
    }
    return out;
  }
}
