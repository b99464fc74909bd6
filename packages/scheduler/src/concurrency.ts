// How many tasks may run at once: a fixed number, or AIMD on measured latency (docs/architecture.md,
// "@tenantry/scheduler"), in the manner of TCP congestion avoidance (Jacobson, SIGCOMM 1988) and Netflix's
// concurrency-limits.
//
// The adaptive limit keeps a latency baseline (the lowest latency seen, rising at most 1 % per completion so that a lasting
// change of the workload becomes the new normal). A completion whose latency stays within `tolerance` × the
// baseline adds 1 / limit (about +1 per round of `limit` completions: additive increase); a slower one, or a
// failure the host calls overload, multiplies the limit by `backoff` (multiplicative decrease), at most
// once per round so that one burst of slow completions counts as one signal. The limit is clamped to
// [min, max] on every change; the scheduler starts a task only while running < floor(limit), in one
// synchronous step, so the running count never exceeds max.

/** The limit the scheduler reads before starting a task, and what it reports after each one. */
export interface ConcurrencyLimit {
  /** Tasks that may run at once now (an integer within [min, max]). */
  readonly limit: number;
  /** Reports a finished task: its latency in ms and whether it failed from overload. */
  record(latencyMs: number, overload: boolean): void;
}

export function fixedLimit(n: number): ConcurrencyLimit {
  return { limit: n, record() {} };
}

/** Latency within TOLERANCE × baseline counts as normal. */
const TOLERANCE = 2;
/** Multiplicative decrease. */
const BACKOFF = 0.75;
/** How fast the baseline may rise toward latencies above it: at most this fraction per completion. */
const DRIFT = 0.01;
/** Below this, latency differences are timer noise, ms. */
const FLOOR_MS = 1;

export class AimdLimit implements ConcurrencyLimit {
  private current: number;
  private baseline = Infinity;
  private sinceDecrease = 0;

  constructor(private readonly min: number, private readonly max: number, initial: number) {
    this.current = initial;
  }

  get limit(): number {
    return Math.floor(this.current);
  }

  record(latencyMs: number, overload: boolean): void {
    const latency = Math.max(0, latencyMs);
    // Upward drift is multiplicative and capped, so one outlier (a task that started just before a burst
    // of submits) cannot lift the baseline in one step.
    if (latency < this.baseline) this.baseline = latency;
    else this.baseline = Math.min(latency, Math.max(this.baseline, FLOOR_MS) * (1 + DRIFT));
    this.sinceDecrease++;
    const slow = latency > Math.max(this.baseline, FLOOR_MS) * TOLERANCE;
    if (overload || slow) {
      if (this.sinceDecrease >= this.current) {
        this.current = Math.max(this.min, this.current * BACKOFF);
        this.sinceDecrease = 0;
      }
    } else {
      this.current = Math.min(this.max, this.current + 1 / this.current);
    }
  }
}
