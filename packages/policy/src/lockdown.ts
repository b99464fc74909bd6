// Emergency lockdown (docs/architecture.md, "@tenantry/policy"): a violation — a cross-tenant attempt —
// counts against the tenant that made it (the principal's tenant); after `after` violations that tenant
// alone is locked, and every later decision for its principals denies with TENANT_LOCKED until an
// explicit unlock. The engine raises the events; this file only keeps the counts and the locks.

/** A lock in force. */
export interface TenantLock {
  tenantId: string;
  /** Date.now() when the lock was set. */
  since: number;
  /** Violations counted when it was set (0 for a manual lock). */
  violations: number;
  /** Who set it: 'policy' for an automatic lockdown, else the caller's `by`. */
  by: string;
  reason: string;
}

export class Lockdown {
  readonly #after: number;
  readonly #counts = new Map<string, number>();
  readonly #locks = new Map<string, TenantLock>();

  constructor(after: number) {
    this.#after = after;
  }

  /** Whether any tenant is locked (the common answer, no, costs one comparison). */
  anyLocked(): boolean {
    return this.#locks.size > 0;
  }

  /** Whether `tenantId` is locked. */
  isLocked(tenantId: string): boolean {
    return this.#locks.has(tenantId);
  }

  get(tenantId: string): TenantLock | undefined {
    return this.#locks.get(tenantId);
  }

  list(): TenantLock[] {
    return [...this.#locks.values()].map((l) => ({ ...l }));
  }

  /** Violations counted for `tenantId` since its last unlock. */
  violations(tenantId: string): number {
    return this.#counts.get(tenantId) ?? 0;
  }

  /**
   * Counts one violation by `tenantId`; returns the new lock when this one reaches the threshold
   * (and the tenant was not locked already), else undefined.
   */
  countViolation(tenantId: string, now: number): { count: number; lock: TenantLock | undefined } {
    const count = (this.#counts.get(tenantId) ?? 0) + 1;
    this.#counts.set(tenantId, count);
    if (count < this.#after || this.#locks.has(tenantId)) return { count, lock: undefined };
    const lock: TenantLock = { tenantId, since: now, violations: count, by: 'policy', reason: `${count} cross-tenant violation${count === 1 ? '' : 's'}` };
    this.#locks.set(tenantId, lock);
    return { count, lock };
  }

  /** Locks `tenantId` by hand; returns false when it already was. */
  lock(tenantId: string, by: string, reason: string, now: number): TenantLock | undefined {
    if (this.#locks.has(tenantId)) return undefined;
    const lock: TenantLock = { tenantId, since: now, violations: this.violations(tenantId), by, reason };
    this.#locks.set(tenantId, lock);
    return lock;
  }

  /** Lifts the lock and resets the count; returns the lock lifted, or undefined when there was none. */
  unlock(tenantId: string): TenantLock | undefined {
    const lock = this.#locks.get(tenantId);
    if (lock === undefined) return undefined;
    this.#locks.delete(tenantId);
    this.#counts.delete(tenantId);
    return lock;
  }
}
