// Settlements the quota's store could not take when the call finished (a store outage). The call
// happened, so its cost must land: settle is idempotent by reservation id, so it is retried with
// backoff until the store takes it, and a retry never charges twice.
import type { Quota } from '@tenantry/quota';

const FIRST_MS = 250;
const MAX_MS = 30_000;
/** About 8 minutes of backoff: past the quota's default retention of closed reservations. */
const MAX_ATTEMPTS = 20;

interface Pending {
  tenantId: string;
  usd: number;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | null;
}

export class SettleRetryQueue {
  readonly #quota: Quota;
  /** Called once when a settlement is given up (after MAX_ATTEMPTS, or at close): the host records it. */
  readonly #gaveUp: (tenantId: string, reservation: string, usd: number, attempts: number) => Promise<void>;
  readonly #pending = new Map<string, Pending>();

  constructor(quota: Quota, gaveUp: (tenantId: string, reservation: string, usd: number, attempts: number) => Promise<void>) {
    this.#quota = quota;
    this.#gaveUp = gaveUp;
  }

  /** Settlements not yet taken by the store. */
  get size(): number {
    return this.#pending.size;
  }

  /** Retries settle(id, usd) with backoff (0.25 s doubling to 30 s) until the store takes it. */
  add(tenantId: string, id: string, usd: number): void {
    const p: Pending = { tenantId, usd, attempts: 0, timer: null };
    this.#pending.set(id, p);
    const attempt = (): void => {
      p.timer = null;
      p.attempts++;
      this.#quota.settle(id, usd).then(
        () => this.#pending.delete(id),
        () => {
          if (!this.#pending.has(id)) return;
          if (p.attempts >= MAX_ATTEMPTS) {
            this.#pending.delete(id);
            this.#report(p, id);
            return;
          }
          p.timer = setTimeout(attempt, Math.min(MAX_MS, FIRST_MS * 2 ** (p.attempts - 1)));
          p.timer.unref();
        },
      );
    };
    p.timer = setTimeout(attempt, FIRST_MS);
    p.timer.unref();
  }

  #report(p: Pending, id: string): void {
    this.#gaveUp(p.tenantId, id, p.usd, p.attempts).then(undefined, (e: unknown) => {
      process.emitWarning(`@tenantry/gateway: a settlement given up (${id}) could not be recorded: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  /** One last attempt for every pending settlement; those the store still refuses are reported given up. */
  async close(): Promise<void> {
    await Promise.all([...this.#pending].map(async ([id, p]) => {
      if (p.timer !== null) clearTimeout(p.timer);
      try {
        await this.#quota.settle(id, p.usd);
      } catch {
        p.attempts++;
        await this.#gaveUp(p.tenantId, id, p.usd, p.attempts).catch(() => undefined);
      }
      this.#pending.delete(id);
    }));
  }
}
