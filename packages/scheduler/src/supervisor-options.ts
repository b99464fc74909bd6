// Options of createAgentSupervisor and the agents it registers, checked once at the boundary
// (docs/architecture.md, "Rules every package keeps": a typed error naming the field, state untouched). The
// returned options are fresh copies; the caller's objects are never kept or changed. An agent object is kept
// (its methods are called on it), but its id and tenant are copied at registration.
import { describeValue, isObject } from '@tenantry/core';
import { invalidArgument } from './errors.js';
import type { HealthSample, HealthThresholds, RestartOptions } from './lifecycle.js';
import { checkTenant } from './options.js';

export interface AgentSupervisorOptions {
  /** Milliseconds, for event times, the recovery timeout and the crash window (default Date.now). */
  clock?: () => number;
  /** How often every running ACTIVE or DEGRADED agent is checked, ms (default 1 000); a check still pending at the next tick is a fault. */
  healthIntervalMs?: number;
  thresholds: HealthThresholds;
  restart: RestartOptions;
}

/** An agent: a long-running loop for one tenant. */
export interface Agent {
  /** Unique within the supervisor (a non-empty string of at most 1 024 characters). */
  id: string;
  /** By @tenantry/core's tenant id rule. */
  tenant_id: string;
  /**
   * The run loop. It runs until `signal` aborts (pause, stop, close); a rejection or throw is a crash (it
   * restarts), fulfilment ends the agent (TERMINATED, EXITED).
   */
  start(signal: AbortSignal): Promise<void> | void;
  /** How the agent is doing; without it, an agent is healthy while its run loop runs. */
  health?(): HealthSample | Promise<HealthSample>;
}

export interface ResolvedSupervisorOptions {
  clock: () => number;
  healthIntervalMs: number;
  thresholds: Readonly<HealthThresholds>;
  restart: Readonly<RestartOptions>;
}

const OPTION_NAMES = ['clock', 'healthIntervalMs', 'thresholds', 'restart'];
const THRESHOLD_NAMES = ['latencyMs', 'errorRate', 'faults', 'recoveryTimeoutMs'];
const RESTART_NAMES = ['maxRestarts', 'windowMs', 'backoffMs'];
// setTimeout and setInterval fire at once for delays above 2^31 − 1 ms (about 24.8 days).
const MAX_TIMER = 2 ** 31 - 1;
const MAX_ID = 1024;

function shown(v: unknown): string {
  return typeof v === 'number' ? String(v) : describeValue(v);
}

function onlyKnown(v: Record<string, unknown>, names: readonly string[], prefix: string): void {
  for (const k of Object.keys(v)) if (!names.includes(k)) throw invalidArgument(`${prefix}${k}`, `is not an option (known: ${names.join(', ')})`);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw invalidArgument(field, `must be an integer within [${min}, ${max}], got ${shown(v)}`);
  return v;
}

function num(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw invalidArgument(field, `must be a finite number within [${min}, ${max}], got ${shown(v)}`);
  return v;
}

function section(v: unknown, field: string, names: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) throw invalidArgument(field, `must be an object { ${names.join(', ')} }, got ${describeValue(v)}`);
  onlyKnown(v, names, `${field}.`);
  return v;
}

/** createAgentSupervisor's options with defaults, checked. @throws SchedulerError INVALID_ARGUMENT naming the field. */
export function resolveSupervisorOptions(v: unknown): ResolvedSupervisorOptions {
  if (!isObject(v)) throw invalidArgument('options', `must be an object { thresholds, restart, … }, got ${describeValue(v)}`);
  onlyKnown(v, OPTION_NAMES, '');
  const t = section(v.thresholds, 'thresholds', THRESHOLD_NAMES);
  const r = section(v.restart, 'restart', RESTART_NAMES);
  if (v.clock !== undefined && typeof v.clock !== 'function') throw invalidArgument('clock', `must be a function () => number, got ${describeValue(v.clock)}`);
  return {
    clock: (v.clock as (() => number) | undefined) ?? Date.now,
    healthIntervalMs: v.healthIntervalMs === undefined ? 1000 : int(v.healthIntervalMs, 'healthIntervalMs', 1, MAX_TIMER),
    thresholds: Object.freeze({
      latencyMs: num(t.latencyMs, 'thresholds.latencyMs', 0, Number.MAX_VALUE),
      errorRate: num(t.errorRate, 'thresholds.errorRate', 0, 1),
      faults: int(t.faults, 'thresholds.faults', 1, Number.MAX_SAFE_INTEGER),
      recoveryTimeoutMs: num(t.recoveryTimeoutMs, 'thresholds.recoveryTimeoutMs', 0, Number.MAX_VALUE),
    }),
    restart: Object.freeze({
      maxRestarts: int(r.maxRestarts, 'restart.maxRestarts', 0, Number.MAX_SAFE_INTEGER),
      windowMs: num(r.windowMs, 'restart.windowMs', 1, Number.MAX_VALUE),
      backoffMs: num(r.backoffMs, 'restart.backoffMs', 0, MAX_TIMER),
    }),
  };
}

/** An agent's id and tenant, checked; its methods checked for type. @throws SchedulerError INVALID_ARGUMENT naming the field. */
export function checkAgent(v: unknown): { id: string; tenant_id: string } {
  if (!isObject(v)) throw invalidArgument('agent', `must be an object { id, tenant_id, start, health? }, got ${describeValue(v)}`);
  if (typeof v.id !== 'string' || v.id.length === 0 || v.id.length > MAX_ID) throw invalidArgument('agent.id', `must be a non-empty string of at most ${MAX_ID} characters, got ${describeValue(v.id)}`);
  const tenant_id = checkTenant(v.tenant_id, 'agent.tenant_id');
  if (typeof v.start !== 'function') throw invalidArgument('agent.start', `must be a function (signal) => Promise<void> | void, got ${describeValue(v.start)}`);
  if (v.health !== undefined && typeof v.health !== 'function') throw invalidArgument('agent.health', `must be a function () => { latency_ms, error_rate }, got ${describeValue(v.health)}`);
  return { id: v.id, tenant_id };
}

/** A health() answer as a sample, or undefined when it is malformed (a fault). */
export function asSample(v: unknown): HealthSample | undefined {
  if (!isObject(v)) return undefined;
  const { latency_ms, error_rate } = v;
  if (typeof latency_ms !== 'number' || !(latency_ms >= 0) || !Number.isFinite(latency_ms)) return undefined;
  if (typeof error_rate !== 'number' || !(error_rate >= 0 && error_rate <= 1)) return undefined;
  return { latency_ms, error_rate };
}
