// Options of createScheduler, setTenant and submit, with their defaults, validated once at the boundary
// (docs/architecture.md, "Rules every package keeps": a typed error naming the field, state untouched).
// Every function here returns a fresh copy; the caller's objects are never kept or changed.
import { DOMAINS, isDomain, isObject, describeValue, tenantIdProblem, type Domain } from '@tenantry/core';
import { invalidArgument } from './errors.js';

/** Adaptive concurrency bounds: AIMD between `min` and `max`, starting at `initial` (default `min`). */
export interface AdaptiveConcurrency {
  min: number;
  max: number;
  initial?: number;
}

/** Retries with exponential backoff for failures that `retryable` accepts; after `attempts` tries, POISONED. */
export interface RetryOptions {
  /** Tries in all, the first included (≥ 1; 1 = no retry). */
  attempts: number;
  /** First backoff, ms (default 100). */
  initialDelayMs?: number;
  /** Longest backoff, ms (default 30 000). */
  maxDelayMs?: number;
  /** Which task errors are worth another try (default: none). */
  retryable?: (error: unknown) => boolean;
}

/** Circuit breakers per (tenant, service): open after `threshold` consecutive failures, half-open after `halfOpenAfterMs`. */
export interface BreakerOptions {
  threshold?: number;
  halfOpenAfterMs?: number;
}

export type DomainShares = Record<Domain, number>;

export interface SchedulerOptions {
  /** Tasks running at once: a fixed number, or adaptive bounds. */
  concurrency: number | AdaptiveConcurrency;
  /** Each domain's share of the concurrency (≥ 0, summing to 1). Default 0.6 / 0.25 / 0.15. */
  domains?: DomainShares;
  /** Tasks waiting in all (default unbounded). */
  maxQueued?: number;
  /** Tasks waiting per tenant, unless setTenant gives the tenant its own maxQueued (default unbounded). */
  maxQueuedPerTenant?: number;
  /** Milliseconds, for latency, queue wait and drain-rate estimates and idempotency expiry (default Date.now). */
  clock?: () => number;
  /** How long a completed task's result answers a duplicate key, ms (default 60 000). */
  idempotencyTtlMs?: number;
  retry?: RetryOptions;
  breaker?: BreakerOptions;
  /** Most poisoned tasks kept; the oldest goes first (default 1 000). */
  maxPoisoned?: number;
  /** Which task errors mean "overloaded" to adaptive concurrency (default: TIMEOUT). */
  overload?: (error: unknown) => boolean;
}

export interface TenantOptions {
  /** Share of its domains, relative to other tenants (default 1). */
  weight?: number;
  /** Most of its tasks running at once, all domains together (default unbounded). */
  maxConcurrent?: number;
  /** Most of its tasks waiting (default the scheduler's maxQueuedPerTenant). */
  maxQueued?: number;
}

export interface SubmitOptions {
  tenant_id: string;
  domain?: Domain;
  /** What the task costs in the fair queue (> 0, default 1): tokens, estimated ms, anything consistent. */
  cost?: number;
  /** Idempotency key, scoped to the tenant. */
  key?: string;
  /** Deadline from submit, queue wait and run together, ms. */
  timeout_ms?: number;
  /** The upstream the task calls; breakers are per (tenant, service). */
  service?: string;
  signal?: AbortSignal;
}

export const DEFAULT_SHARES: Readonly<DomainShares> = Object.freeze({ PROD: 0.6, SHADOW: 0.25, LAB: 0.15 });

/** The options after defaults and checks. */
export interface ResolvedOptions {
  concurrency: { fixed: number } | { min: number; max: number; initial: number };
  shares: Readonly<DomainShares>;
  maxQueued: number;
  maxQueuedPerTenant: number;
  clock: () => number;
  idempotencyTtlMs: number;
  retry: { attempts: number; initialDelayMs: number; maxDelayMs: number; retryable: (error: unknown) => boolean };
  breaker: { threshold: number; halfOpenAfterMs: number };
  maxPoisoned: number;
  overload: ((error: unknown) => boolean) | undefined;
}

export interface ResolvedTenant {
  weight: number;
  maxConcurrent: number;
  /** undefined: the scheduler's maxQueuedPerTenant. */
  maxQueued: number | undefined;
}

export interface ResolvedSubmit {
  tenant_id: string;
  domain: Domain;
  cost: number;
  key: string | undefined;
  timeout_ms: number | undefined;
  service: string | undefined;
  signal: AbortSignal | undefined;
}

const OPTION_NAMES = ['concurrency', 'domains', 'maxQueued', 'maxQueuedPerTenant', 'clock', 'idempotencyTtlMs', 'retry', 'breaker', 'maxPoisoned', 'overload'];
const TENANT_NAMES = ['weight', 'maxConcurrent', 'maxQueued'];
const SUBMIT_NAMES = ['tenant_id', 'domain', 'cost', 'key', 'timeout_ms', 'service', 'signal'];
// Beyond this an id or key is a mistake, not a name (and every duplicate lookup hashes it).
const MAX_NAME = 1024;
const MAX_TIMEOUT = 2 ** 31 - 1;

function onlyKnown(v: Record<string, unknown>, names: readonly string[], prefix: string): void {
  for (const k of Object.keys(v)) if (!names.includes(k)) throw invalidArgument(`${prefix}${k}`, `is not an option (known: ${names.join(', ')})`);
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalidArgument(field, `must be an integer ≥ 1, got ${typeof v === 'number' ? v : describeValue(v)}`);
  return v;
}

function nonNegative(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidArgument(field, `must be a finite number ≥ 0, got ${typeof v === 'number' ? v : describeValue(v)}`);
  return v;
}

function fn<F>(v: unknown, field: string): F {
  if (typeof v !== 'function') throw invalidArgument(field, `must be a function, got ${describeValue(v)}`);
  return v as F;
}

function optional<T>(v: unknown, check: (v: unknown) => T, fallback: T): T {
  return v === undefined ? fallback : check(v);
}

function name(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME) throw invalidArgument(field, `must be a non-empty string of at most ${MAX_NAME} characters`);
  return v;
}

function concurrency(v: unknown): ResolvedOptions['concurrency'] {
  if (typeof v === 'number') return { fixed: positiveInt(v, 'concurrency') };
  if (!isObject(v)) throw invalidArgument('concurrency', `must be an integer ≥ 1 or { min, max, initial? }, got ${describeValue(v)}`);
  onlyKnown(v, ['min', 'max', 'initial'], 'concurrency.');
  const min = positiveInt(v.min, 'concurrency.min');
  const max = positiveInt(v.max, 'concurrency.max');
  if (max < min) throw invalidArgument('concurrency.max', `must be ≥ concurrency.min (${min}), got ${max}`);
  const initial = optional(v.initial, (x) => positiveInt(x, 'concurrency.initial'), min);
  if (initial < min || initial > max) throw invalidArgument('concurrency.initial', `must be within [${min}, ${max}], got ${initial}`);
  return { min, max, initial };
}

function shares(v: unknown): Readonly<DomainShares> {
  if (!isObject(v)) throw invalidArgument('domains', `must be { PROD, SHADOW, LAB } shares, got ${describeValue(v)}`);
  onlyKnown(v, DOMAINS, 'domains.');
  const out = {} as DomainShares;
  let sum = 0;
  for (const d of DOMAINS) {
    const s = v[d];
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 1) throw invalidArgument(`domains.${d}`, `must be a share within [0, 1], got ${typeof s === 'number' ? s : describeValue(s)}`);
    out[d] = s;
    sum += s;
  }
  if (Math.abs(sum - 1) > 1e-9) throw invalidArgument('domains', `shares must sum to 1, got ${sum}`);
  return Object.freeze(out);
}

/** createScheduler's options with defaults, checked. @throws SchedulerError INVALID_ARGUMENT naming the field. */
export function resolveOptions(v: unknown): ResolvedOptions {
  if (!isObject(v)) throw invalidArgument('options', `must be an object { concurrency, … }, got ${describeValue(v)}`);
  onlyKnown(v, OPTION_NAMES, '');
  if (v.concurrency === undefined) throw invalidArgument('concurrency', 'is required');
  const retry = optional(v.retry, (r) => {
    if (!isObject(r)) throw invalidArgument('retry', `must be { attempts, initialDelayMs?, maxDelayMs?, retryable? }, got ${describeValue(r)}`);
    onlyKnown(r, ['attempts', 'initialDelayMs', 'maxDelayMs', 'retryable'], 'retry.');
    const initialDelayMs = optional(r.initialDelayMs, (x) => nonNegative(x, 'retry.initialDelayMs'), 100);
    const maxDelayMs = optional(r.maxDelayMs, (x) => nonNegative(x, 'retry.maxDelayMs'), 30_000);
    if (maxDelayMs < initialDelayMs) throw invalidArgument('retry.maxDelayMs', `must be ≥ retry.initialDelayMs (${initialDelayMs})`);
    return {
      attempts: positiveInt(r.attempts, 'retry.attempts'), initialDelayMs, maxDelayMs,
      retryable: optional(r.retryable, (x) => fn<(e: unknown) => boolean>(x, 'retry.retryable'), () => false),
    };
  }, { attempts: 1, initialDelayMs: 100, maxDelayMs: 30_000, retryable: () => false });
  const breaker = optional(v.breaker, (b) => {
    if (!isObject(b)) throw invalidArgument('breaker', `must be { threshold?, halfOpenAfterMs? }, got ${describeValue(b)}`);
    onlyKnown(b, ['threshold', 'halfOpenAfterMs'], 'breaker.');
    return {
      threshold: optional(b.threshold, (x) => positiveInt(x, 'breaker.threshold'), 5),
      halfOpenAfterMs: optional(b.halfOpenAfterMs, (x) => nonNegative(x, 'breaker.halfOpenAfterMs'), 10_000),
    };
  }, { threshold: 5, halfOpenAfterMs: 10_000 });
  return {
    concurrency: concurrency(v.concurrency),
    shares: optional(v.domains, shares, DEFAULT_SHARES),
    maxQueued: optional(v.maxQueued, (x) => positiveInt(x, 'maxQueued'), Infinity),
    maxQueuedPerTenant: optional(v.maxQueuedPerTenant, (x) => positiveInt(x, 'maxQueuedPerTenant'), Infinity),
    clock: optional(v.clock, (x) => fn<() => number>(x, 'clock'), Date.now),
    idempotencyTtlMs: optional(v.idempotencyTtlMs, (x) => nonNegative(x, 'idempotencyTtlMs'), 60_000),
    retry,
    breaker,
    maxPoisoned: optional(v.maxPoisoned, (x) => positiveInt(x, 'maxPoisoned'), 1000),
    overload: optional(v.overload, (x) => fn<(e: unknown) => boolean>(x, 'overload'), undefined),
  };
}

/** A tenant id, checked by core's rule. */
export function checkTenant(v: unknown, field = 'tenant_id'): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw invalidArgument(field, problem);
  return v as string;
}

/** setTenant's options with defaults. */
export function resolveTenant(v: unknown): ResolvedTenant {
  if (v === undefined) return { weight: 1, maxConcurrent: Infinity, maxQueued: undefined };
  if (!isObject(v)) throw invalidArgument('options', `must be an object { weight?, maxConcurrent?, maxQueued? }, got ${describeValue(v)}`);
  onlyKnown(v, TENANT_NAMES, '');
  const weight = optional(v.weight, (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw invalidArgument('weight', `must be a finite number > 0, got ${typeof x === 'number' ? x : describeValue(x)}`);
    return x;
  }, 1);
  return {
    weight,
    maxConcurrent: optional(v.maxConcurrent, (x) => positiveInt(x, 'maxConcurrent'), Infinity),
    maxQueued: optional(v.maxQueued, (x): number | undefined => positiveInt(x, 'maxQueued'), undefined),
  };
}

/** submit's options with defaults (the tenant is only checked for shape here). */
export function resolveSubmit(v: unknown): ResolvedSubmit {
  if (!isObject(v)) throw invalidArgument('options', `must be an object { tenant_id, … }, got ${describeValue(v)}`);
  onlyKnown(v, SUBMIT_NAMES, '');
  const domain = optional(v.domain, (x) => {
    if (!isDomain(x)) throw invalidArgument('domain', `must be one of ${DOMAINS.join(', ')}`);
    return x;
  }, 'PROD' as Domain);
  const cost = optional(v.cost, (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) throw invalidArgument('cost', `must be a finite number > 0, got ${typeof x === 'number' ? x : describeValue(x)}`);
    return x;
  }, 1);
  const signal = optional(v.signal, (x): AbortSignal | undefined => {
    if (!(x instanceof AbortSignal)) throw invalidArgument('signal', `must be an AbortSignal, got ${describeValue(x)}`);
    return x;
  }, undefined);
  return {
    tenant_id: checkTenant(v.tenant_id),
    domain,
    cost,
    key: optional(v.key, (x): string | undefined => name(x, 'key'), undefined),
    timeout_ms: optional(v.timeout_ms, (x): number | undefined => {
      // setTimeout fires at once for delays above 2^31 − 1 ms (about 24.8 days).
      if (positiveInt(x, 'timeout_ms') > MAX_TIMEOUT) throw invalidArgument('timeout_ms', `must be at most ${MAX_TIMEOUT}`);
      return x as number;
    }, undefined),
    service: optional(v.service, (x): string | undefined => name(x, 'service'), undefined),
    signal,
  };
}
