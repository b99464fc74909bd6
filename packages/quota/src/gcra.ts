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
  /** Milliseconds until the same request could pass (0 when ok; Infinity when cost > burst). */
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
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new QuotaError('INVALID_ARGUMENT', `${field} must be an object { limit, windowMs, burst? }`, { field });
  }
  const r = v as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (key !== 'limit' && key !== 'windowMs' && key !== 'burst') {
      throw new QuotaError('INVALID_ARGUMENT', `${field}.${key} is not a field of a rate limit`, { field: `${field}.${key}` });
    }
  }
  const limit = positive(r.limit, `${field}.limit`);
  const windowMs = positive(r.windowMs, `${field}.windowMs`);
  const burst = r.burst === undefined ? limit : positive(r.burst, `${field}.burst`);
  const intervalMs = windowMs / limit;
  return { limit, windowMs, burst, intervalMs, toleranceMs: burst * intervalMs };
}

/** One GCRA per key (tenant, or tenant and route) under one rate limit. */
export class GcraMeter {
  readonly limit: CheckedRateLimit;
  readonly #tat = new Map<string, number>();

  constructor(limit: RateLimit) {
    this.limit = checkRateLimit(limit);
  }

  /**
   * Takes `cost` units for `key` at `now` (milliseconds) if the limit allows; a denial takes nothing.
   * @throws QuotaError INVALID_ARGUMENT naming `key` (not a string), `now` (not finite) or `cost`
   *   (negative or not finite).
   */
  take(key: string, now: number, cost = 1): RateDecision {
    if (typeof key !== 'string') throw new QuotaError('INVALID_ARGUMENT', `key must be a string, got ${typeof key}`, { field: 'key' });
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new QuotaError('INVALID_ARGUMENT', `now must be finite milliseconds, got ${String(now)}`, { field: 'now' });
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
      throw new QuotaError('INVALID_ARGUMENT', `cost must be a non-negative finite number, got ${String(cost)}`, { field: 'cost' });
    }
    const { intervalMs, toleranceMs } = this.limit;
    const tat = Math.max(this.#tat.get(key) ?? now, now);
    const next = tat + cost * intervalMs;
    const allowAt = next - toleranceMs;
    if (now < allowAt) {
      const fits = cost * intervalMs <= toleranceMs;
      return { ok: false, retryAfterMs: fits ? allowAt - now : Infinity, remaining: Math.max(0, Math.floor((now - (tat - toleranceMs)) / intervalMs)), resetMs: tat - now };
    }
    this.#tat.set(key, next);
    return { ok: true, retryAfterMs: 0, remaining: Math.floor((now - allowAt) / intervalMs), resetMs: next - now };
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
