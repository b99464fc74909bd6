// The fail-open allowance (docs/architecture.md, "Rules every package keeps": a quota that cannot be
// checked denies, configurably). Fail closed is the default: a store that cannot be reached denies with
// STORE_UNAVAILABLE. With createQuota({ failOpen: { usd } }) each tenant this quota has loaded may instead
// reserve up to `usd` per outage from this process. Those reservations live here, not in the store; a
// settle charges them to the store once it is back (its SettleOp carries them as `fallback`), and settle
// is idempotent by id, so a retry never charges twice. A tenant's outage ends when the store answers one
// of its reservations again; local reservations are forgotten `retainMs` past their expiry, as stores
// forget closed ones.
import type { SettleOp } from './store.js';

/** A reservation admitted from the allowance while the store was unreachable. */
export interface LocalReservation {
  tenantId: string;
  micros: number;
  day: string;
  month: string;
  simulation: boolean;
  experimentId: string | null;
  expiresAt: number;
}

export class FailOpenAllowance {
  /** Micros each tenant may reserve per outage; null: fail closed. */
  readonly #limitMicros: number | null;
  readonly #retainMs: number;
  /** Micros admitted per tenant during its current outage. */
  readonly #used = new Map<string, number>();
  readonly #local = new Map<string, LocalReservation>();

  constructor(limitMicros: number | null, retainMs: number) {
    this.#limitMicros = limitMicros;
    this.#retainMs = retainMs;
  }

  /** The store answered a reservation of `tenantId`: its outage, if any, is over. */
  storeAnswered(tenantId: string, now: number): void {
    if (this.#used.size > 0) this.#used.delete(tenantId);
    if (this.#local.size > 0) {
      for (const [id, l] of this.#local) if (l.expiresAt + this.#retainMs <= now) this.#local.delete(id);
    }
  }

  /**
   * Takes `micros` of the tenant's allowance for this outage; the micros left after it, or null when the
   * allowance (or fail-open itself) does not cover it.
   */
  admit(tenantId: string, micros: number): number | null {
    const limit = this.#limitMicros;
    if (limit === null) return null;
    const used = this.#used.get(tenantId) ?? 0;
    if (used + micros > limit) return null;
    this.#used.set(tenantId, used + micros);
    return limit - used - micros;
  }

  /** Keeps an admitted reservation under its id until it is settled, released or forgotten. */
  hold(id: string, r: LocalReservation): void {
    this.#local.set(id, r);
  }

  /** The store's fallback for settling `id` (a reservation it never saw), or undefined for another id. */
  fallback(id: string): SettleOp['fallback'] {
    const l = this.#local.size === 0 ? undefined : this.#local.get(id);
    return l === undefined ? undefined : { micros: l.micros, day: l.day, month: l.month, simulation: l.simulation, experimentId: l.experimentId };
  }

  /** Forgets `id` (settled or released); true when it was held here. */
  close(id: string): boolean {
    return this.#local.size > 0 && this.#local.delete(id);
  }

  /** Reservations of `tenantId` held here. */
  openCount(tenantId: string): number {
    let n = 0;
    for (const l of this.#local.values()) if (l.tenantId === tenantId) n++;
    return n;
  }
}
