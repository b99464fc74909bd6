// Idempotency keys (docs/architecture.md, "@tenantry/scheduler"): a duplicate submit with the same
// (tenant, key) joins the task that is queued or running, or, for `ttlMs` after that task succeeded, gets its
// stored result. Keys are scoped per tenant: "k" of tenant a and "k" of tenant b are two tasks, never one.
// A task that failed leaves no entry, so a retry by the caller runs again.
//
// The map key is tenant_id, U+0000, key: a tenant id never holds a control character (core's tenant id
// rule), so the first U+0000 ends the tenant id and the pair → string mapping is injective.
//
// No timers: results expire lazily. Every stored result lives exactly ttlMs, so insertion order is expiry
// order; each call first drops the expired entries from the front of the (insertion-ordered) map, which is
// O(1) amortised.

export type IdempotencyEntry<T> =
  | { readonly state: 'pending'; readonly promise: Promise<T> }
  | { readonly state: 'done'; readonly value: T; readonly expires: number };

export class IdempotencyStore {
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly done = new Map<string, { value: unknown; expires: number }>();

  constructor(private readonly ttlMs: number, private readonly clock: () => number) {}

  private static id(tenant: string, key: string): string {
    return `${tenant}\u0000${key}`;
  }

  /** The task or result a duplicate of (tenant, key) gets, or undefined when it must run. */
  lookup(tenant: string, key: string): IdempotencyEntry<unknown> | undefined {
    this.expire();
    const id = IdempotencyStore.id(tenant, key);
    const promise = this.pending.get(id);
    if (promise !== undefined) return { state: 'pending', promise };
    const done = this.done.get(id);
    return done === undefined ? undefined : { state: 'done', value: done.value, expires: done.expires };
  }

  /** Registers the task now answering (tenant, key). */
  begin(tenant: string, key: string, promise: Promise<unknown>): void {
    this.pending.set(IdempotencyStore.id(tenant, key), promise);
  }

  /** The task of (tenant, key) succeeded: its value answers duplicates for ttlMs. */
  succeed(tenant: string, key: string, value: unknown): void {
    const id = IdempotencyStore.id(tenant, key);
    this.pending.delete(id);
    if (this.ttlMs > 0) {
      this.done.delete(id);
      this.done.set(id, { value, expires: this.clock() + this.ttlMs });
    }
    this.expire();
  }

  /** The task of (tenant, key) failed or was cancelled: the next submit runs again. */
  fail(tenant: string, key: string): void {
    this.pending.delete(IdempotencyStore.id(tenant, key));
  }

  /** Keys with a task or a stored result. */
  get size(): number {
    return this.pending.size + this.done.size;
  }

  private expire(): void {
    const now = this.clock();
    for (const [id, entry] of this.done) {
      if (entry.expires > now) break;
      this.done.delete(id);
    }
  }
}
