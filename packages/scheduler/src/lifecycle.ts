// The agent lifecycle (docs/architecture.md, "@tenantry/scheduler"): CREATED → ACTIVE → DEGRADED → PAUSED →
// TERMINATED, driven by health checks and crashes. This file is the rule alone, with no timers and no I/O: what
// one health check or one crash does to an agent. supervisor.ts runs the agents and applies these answers.
//
// The transitions, and the only signals that cause them:
//   CREATED  → ACTIVE      STARTED           start(id)
//   ACTIVE   → DEGRADED    LATENCY           a sample with latency_ms > thresholds.latencyMs
//                          ERROR_RATE        a sample with error_rate > thresholds.errorRate (latency within)
//                          FAULT             a failed check: health() threw, rejected, returned a malformed
//                                            sample, or was still pending at the next tick (it hung past the
//                                            interval)
//                          CRASHED           the run loop rejected or threw; it restarts after a backoff
//   DEGRADED → ACTIVE      RECOVERED         a sample within both thresholds (after a restart, an agent without
//                                            health() recovers at the first tick that finds its loop running)
//   DEGRADED → PAUSED      FAULTS            thresholds.faults consecutive failed checks (any sample resets it)
//                          RECOVERY_TIMEOUT  a check that is not healthy, recoveryTimeoutMs or more (by the
//                                            clock) after the agent became DEGRADED
//   PAUSED   → ACTIVE      RESUMED           resume(id): a fresh run loop, the fault count reset
//   any      → TERMINATED  STOPPED           stop(id)
//                          CLOSED            close()
//                          QUARANTINED       a crash that makes more than restart.maxRestarts crashes within
//                                            restart.windowMs (by the clock)
//                          EXITED            the run loop fulfilled on its own (its work is done)
// Two events keep the state and are still reported, so that no crash goes unseen: CRASHED while DEGRADED
// (DEGRADED → DEGRADED) and RESTARTED (the new run loop after the backoff; the state does not change, health
// checks decide when it is ACTIVE again). A check may take two steps at once (ACTIVE → DEGRADED → PAUSED when
// the fault count or the recovery timeout is already reached); each step is its own event.
//
// PAUSED and TERMINATED agents do not run: their run loop's signal is aborted, so nothing runs without a health
// check (the lifecycle line of the design).

/** Where an agent stands. */
export type AgentState = 'CREATED' | 'ACTIVE' | 'DEGRADED' | 'PAUSED' | 'TERMINATED';

/** Why a transition happened (see the table at the top of lifecycle.ts). */
export type AgentTransitionReason =
  | 'STARTED'
  | 'LATENCY'
  | 'ERROR_RATE'
  | 'FAULT'
  | 'CRASHED'
  | 'RESTARTED'
  | 'RECOVERED'
  | 'FAULTS'
  | 'RECOVERY_TIMEOUT'
  | 'RESUMED'
  | 'STOPPED'
  | 'CLOSED'
  | 'QUARANTINED'
  | 'EXITED';

/** What an agent reports about itself: its recent latency and the fraction of its work that failed. */
export interface HealthSample {
  /** Milliseconds, ≥ 0. */
  latency_ms: number;
  /** Within [0, 1]. */
  error_rate: number;
}

/** Health thresholds: passing one degrades an agent (strictly above it; equal is healthy). */
export interface HealthThresholds {
  /** Latency above which an agent is DEGRADED, ms (≥ 0). */
  latencyMs: number;
  /** Error rate above which an agent is DEGRADED, within [0, 1]. */
  errorRate: number;
  /** Consecutive failed checks that pause a DEGRADED agent (≥ 1). */
  faults: number;
  /** How long an agent may stay DEGRADED without recovering before it is PAUSED, ms by the clock (≥ 0). */
  recoveryTimeoutMs: number;
}

/** Self-healing: a crashed run loop restarts after a backoff; more than `maxRestarts` crashes within `windowMs` quarantine the agent. */
export interface RestartOptions {
  /** Restarts allowed within the window (≥ 0; 0 quarantines at the first crash). */
  maxRestarts: number;
  /** The window over which crashes are counted, ms by the clock (≥ 1). */
  windowMs: number;
  /** The first restart's delay, ms (≥ 0); it doubles with each crash in the window. */
  backoffMs: number;
}

/** The result of one health check. */
export type HealthOutcome = { ok: true; sample: HealthSample } | { ok: false; error: unknown };

/** One step of a transition. */
export interface Step {
  to: AgentState;
  reason: AgentTransitionReason;
}

/** What a health check decides: the steps to take, in order, and the consecutive fault count after it. */
export interface CheckDecision {
  steps: Step[];
  faults: number;
}

/**
 * The transitions after one health check of an ACTIVE or DEGRADED agent. `faults` is the consecutive failed
 * checks before this one, `degradedAt` the clock reading when the agent became DEGRADED (ignored while ACTIVE).
 */
export function afterCheck(state: 'ACTIVE' | 'DEGRADED', outcome: HealthOutcome, faults: number, degradedAt: number, now: number, t: HealthThresholds): CheckDecision {
  // A check that enters DEGRADED starts the recovery timeout at 0.
  const since = state === 'ACTIVE' ? 0 : now - degradedAt;
  if (outcome.ok) {
    const { latency_ms, error_rate } = outcome.sample;
    const cause: AgentTransitionReason | undefined = latency_ms > t.latencyMs ? 'LATENCY' : error_rate > t.errorRate ? 'ERROR_RATE' : undefined;
    if (cause === undefined) return { steps: state === 'DEGRADED' ? [{ to: 'ACTIVE', reason: 'RECOVERED' }] : [], faults: 0 };
    const steps: Step[] = state === 'ACTIVE' ? [{ to: 'DEGRADED', reason: cause }] : [];
    if (since >= t.recoveryTimeoutMs) steps.push(pause('RECOVERY_TIMEOUT'));
    return { steps, faults: 0 };
  }
  const count = faults + 1;
  const steps: Step[] = state === 'ACTIVE' ? [{ to: 'DEGRADED', reason: 'FAULT' }] : [];
  if (count >= t.faults) steps.push(pause('FAULTS'));
  else if (since >= t.recoveryTimeoutMs) steps.push(pause('RECOVERY_TIMEOUT'));
  return { steps, faults: count };
}

function pause(reason: AgentTransitionReason): Step {
  return { to: 'PAUSED', reason };
}

/** What a crash decides: quarantine, or a restart after `delay_ms`. */
export type CrashDecision = { quarantine: true } | { quarantine: false; delay_ms: number };

// setTimeout fires at once for delays above 2^31 − 1 ms.
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The decision after a crash at `now`, given the clock readings of the agent's earlier crashes (`crashes`,
 * oldest first; pruned in place to the window, and `now` appended). The n-th crash in the window waits
 * backoffMs × 2^(n−1) before its restart.
 */
export function afterCrash(crashes: number[], now: number, r: RestartOptions): CrashDecision {
  while (crashes.length > 0 && now - (crashes[0] as number) >= r.windowMs) crashes.shift();
  crashes.push(now);
  if (crashes.length > r.maxRestarts) return { quarantine: true };
  return { quarantine: false, delay_ms: Math.min(r.backoffMs * 2 ** (crashes.length - 1), MAX_DELAY) };
}
