// Rate limits by the generic cell rate algorithm (GCRA, ITU-T I.371 "virtual scheduling"; the form
// redis-cell and throttled use): `limit` units per `windowMs`, with bursts of up to `burst` units.
//
// Each key keeps one number, its theoretical arrival time (TAT): when the key would be back to an
// empty bucket. With emission interval T = windowMs / limit and tolerance τ = burst × T, a request of
// `cost` units at `now` is allowed when now ≥ max(TAT, now) + cost × T − τ, and then TAT becomes
// max(TAT, now) + cost × T. A denial changes nothing. So at most `burst` units pass at once and, in
// the long run, `limit` per window; there is no window edge at which twice the limit can pass (the
// flaw of fixed windows). Requests (cost 1) and tokens (cost = tokens) are the same meter with
// different costs.
//
// Pure arithmetic on numbers from the caller's clock: the same calls give the same answers on every
// node. A key whose TAT has passed holds nothing and is dropped by sweep().
//
// This is the one GCRA of the package: memoryStore() keeps a GcraMeter per rate key, and the Lua of
// redisStore (redis-lua.ts) does the same arithmetic in the same order of operations on the same doubles;
// test/quota/gcra-lua.test.ts drives both with one random sequence and requires identical answers.
// Waits are whole milliseconds, rounded up, so that a caller who waits that long is admitted.
import { isObject } from '@tenantry/core';
import { QuotaError } from './errors.js';

export interface RateLimit {
  /** Units allowed per window, long run (> 0). */
  limit: number;
  /** Window length in milliseconds (> 0). */
  windowMs: number;
  /** Most units that may pass at once (default: limit). */
  burst?: number;
}

/** What a take() found. */
export interface RateDecision {
  ok: boolean;
  /** Whole milliseconds until the same request could pass, rounded up (0 when ok; Infinity when cost > burst). */
  retryAfterMs: number;
  /** Whole units that could still pass right now after this decision. */
  remaining: number;
  /** Milliseconds until the key is back to a full burst. */
  resetMs: number;
}

/** A checked rate limit: emission interval and tolerance in milliseconds. */
export interface CheckedRateLimit {
  limit: number;
  windowMs: number;
  burst: number;
  intervalMs: number;
  toleranceMs: number;
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new QuotaError('INVALID_ARGUMENT', `${field} must be a positive finite number, got ${String(v)}`, { field });
  }
  return v;
}

/**
 * Checks a rate limit once.
 * @throws QuotaError INVALID_ARGUMENT naming `${field}.limit`, `.windowMs`, `.burst` or the object.
 */
export function checkRateLimit(v: unknown, field = 'rateLimit'): CheckedRateLimit {
  if (!isObject(v)) throw new QuotaError('INVALID_ARGUMENT', `${field} must be an object { limit, windowMs, burst? }`, { field });
  for (const key of Object.keys(v)) {
    if (key !== 'limit' && key !== 'windowMs' && key !== 'burst') {
      throw new QuotaError('INVALID_ARGUMENT', `${field}.${key} is not a field of a rate limit`, { field: `${field}.${key}` });
    }
  }
  const limit = positive(v.limit, `${field}.limit`);
  const windowMs = positive(v.windowMs, `${field}.windowMs`);
  const burst = v.burst === undefined ? limit : positive(v.burst, `${field}.burst`);
  const intervalMs = windowMs / limit;
  return { limit, windowMs, burst, intervalMs, toleranceMs: burst * intervalMs };
}

function checkTake(key: unknown, now: unknown, cost: unknown): void {
  if (typeof key !== 'string') throw new QuotaError('INVALID_ARGUMENT', `key must be a string, got ${typeof key}`, { field: 'key' });
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new QuotaError('INVALID_ARGUMENT', `now must be finite milliseconds, got ${String(now)}`, { field: 'now' });
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw new QuotaError('INVALID_ARGUMENT', `cost must be a non-negative finite number, got ${String(cost)}`, { field: 'cost' });
  }
}

/** One GCRA per key (tenant, or tenant and route) under one rate limit. */
export class GcraMeter {
  #limit: CheckedRateLimit;
  readonly #tat = new Map<string, number>();

  constructor(limit: RateLimit) {
    this.#limit = checkRateLimit(limit);
  }

  /** The limit in force, checked. */
  get limit(): CheckedRateLimit {
    return this.#limit;
  }

  /**
   * Puts another limit in force. Every key keeps its TAT, so units already taken still count (as in
   * redisStore, where the TAT is kept and each operation brings its limit).
   * @throws QuotaError INVALID_ARGUMENT naming the field of `limit` at fault.
   */
  setLimit(limit: RateLimit): void {
    this.#limit = checkRateLimit(limit);
  }

  /**
   * Whole milliseconds (rounded up) until `cost` units for `key` could pass at `now`: 0 when they could
   * now, Infinity when they never could (cost above the burst). Takes nothing.
   * @throws QuotaError INVALID_ARGUMENT naming `key`, `now` or `cost`, as take().
   */
  wait(key: string, now: number, cost = 1): number {
    checkTake(key, now, cost);
    const { intervalMs, toleranceMs } = this.#limit;
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    const allowAt = tat + cost * intervalMs - toleranceMs;
    if (now >= allowAt) return 0;
    return cost * intervalMs <= toleranceMs ? Math.ceil(allowAt - now) : Infinity;
  }

  /**
   * Takes `cost` units for `key` at `now` (milliseconds) if the limit allows; a denial takes nothing.
   * @throws QuotaError INVALID_ARGUMENT naming `key` (not a string), `now` (not finite) or `cost`
   *   (negative or not finite).
   */
  take(key: string, now: number, cost = 1): RateDecision {
    const retryAfterMs = this.wait(key, now, cost);
    const { intervalMs, toleranceMs } = this.#limit;
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    if (retryAfterMs > 0) {
      return { ok: false, retryAfterMs, remaining: Math.max(0, Math.floor((now - (tat - toleranceMs)) / intervalMs)), resetMs: tat - now };
    }
    const next = tat + cost * intervalMs;
    this.#tat.set(key, next);
    return { ok: true, retryAfterMs: 0, remaining: Math.floor((now - (next - toleranceMs)) / intervalMs), resetMs: next - now };
  }

  /** Drops keys that hold nothing at `now` (their TAT has passed); returns how many remain. */
  sweep(now: number): number {
    for (const [key, tat] of this.#tat) if (tat <= now) this.#tat.delete(key);
    return this.#tat.size;
  }

  /** Keys currently held (for memory accounting and tests). */
  get size(): number {
    return this.#tat.size;
  }
}
