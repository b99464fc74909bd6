// Circuit breakers per (tenant, service) (docs/architecture.md, "@tenantry/scheduler"), built on cockatiel's
// CircuitBreakerPolicy with a ConsecutiveBreaker: `threshold` consecutive failures open the circuit; after
// `halfOpenAfterMs` one call is let through as a test; its success closes the circuit, its failure opens it
// again. One tenant's failing upstream opens only that tenant's breaker for that service.
//
// Two departures from calling cockatiel's execute() bare, both so that no slot is held waiting:
// - a submit while the circuit is open is refused at once (CIRCUIT_OPEN with retry_after_ms) instead of
//   being queued only to fail;
// - while the half-open test runs, other tasks are refused (CIRCUIT_OPEN) instead of waiting for the test
//   inside a slot, as cockatiel would have them do.
// Cockatiel measures the open period with Date.now(), so retry_after_ms does too (not the scheduler's clock).
// A task cancelled by its caller (ABORTED) does not count as a failure of the service.
import { BrokenCircuitError, CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';

/** What a breaker says about a call now. */
export type BreakerVerdict = { ok: true } | { ok: false; retry_after_ms: number };

export type BreakerState = 'closed' | 'open' | 'half_open';

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

/** Marks a failure that is the caller's cancellation, not the service's fault. */
export class Cancelled extends Error {
  constructor(readonly original: unknown) {
    super('cancelled by the caller');
  }
}

class Breaker {
  readonly policy: CircuitBreakerPolicy;
  openedAt = 0;

  constructor(threshold: number, readonly halfOpenAfterMs: number, onState: (state: BreakerState) => void) {
    this.policy = circuitBreaker(handleWhen((e) => !(e instanceof Cancelled)), {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(threshold),
    });
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.policy.onStateChange((s) => onState(STATES[s]));
  }

  verdict(): BreakerVerdict {
    const state = this.policy.state;
    if (state === CircuitState.Closed) return { ok: true };
    if (state === CircuitState.HalfOpen) return { ok: false, retry_after_ms: Math.max(1, this.halfOpenAfterMs) };
    const left = this.openedAt + this.halfOpenAfterMs - Date.now();
    return left > 0 ? { ok: false, retry_after_ms: Math.ceil(left) } : { ok: true };
  }
}

export class Breakers {
  private readonly map = new Map<string, Breaker>();

  constructor(
    private readonly threshold: number,
    private readonly halfOpenAfterMs: number,
    private readonly onState: (tenant: string, service: string, state: BreakerState) => void,
  ) {}

  // tenant_id, U+0000, service: injective, as in idempotency.ts.
  private get(tenant: string, service: string): Breaker {
    const id = `${tenant}\u0000${service}`;
    let b = this.map.get(id);
    if (b === undefined) {
      b = new Breaker(this.threshold, this.halfOpenAfterMs, (s) => this.onState(tenant, service, s));
      this.map.set(id, b);
    }
    return b;
  }

  /** Whether a call to (tenant, service) may go ahead now. */
  verdict(tenant: string, service: string): BreakerVerdict {
    return this.map.get(`${tenant}\u0000${service}`)?.verdict() ?? { ok: true };
  }

  /** The state of (tenant, service): 'closed' for one never used. */
  state(tenant: string, service: string): BreakerState {
    const b = this.map.get(`${tenant}\u0000${service}`);
    return b === undefined ? 'closed' : STATES[b.policy.state];
  }

  /**
   * Runs `call` through the breaker of (tenant, service). Rejects with a BrokenCircuitError when the circuit
   * refuses it; a Cancelled rejection of `call` is passed through uncounted.
   */
  execute<T>(tenant: string, service: string, call: () => Promise<T>): Promise<T> {
    const b = this.get(tenant, service);
    const v = b.verdict();
    if (!v.ok) return Promise.reject(new BrokenCircuitError());
    return b.policy.execute(call);
  }

  /** retry_after_ms when `e` is the breaker's refusal, else undefined. */
  refusal(e: unknown, tenant: string, service: string): number | undefined {
    if (!(e instanceof BrokenCircuitError)) return undefined;
    const v = this.verdict(tenant, service);
    return v.ok ? 1 : v.retry_after_ms;
  }
}
