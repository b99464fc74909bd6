// GCRA rate limits: exact burst and steady-rate boundaries, costs (tokens), no double limit at a window
// edge, nothing taken on denial, sweeping idle keys, and bad limits refused naming the field.
import { describe, expect, it } from 'vitest';
import { GcraMeter, checkRateLimit, isQuotaError } from '@tenantry/quota';
import { expectCodedError } from '../helpers/errors.js';

describe('GCRA', () => {
  it('lets a full burst through at once, then one unit per emission interval', () => {
    const m = new GcraMeter({ limit: 10, windowMs: 1000 });
    for (let i = 0; i < 10; i++) expect(m.take('acme', 0)).toMatchObject({ ok: true, remaining: 9 - i });
    expect(m.take('acme', 0)).toEqual({ ok: false, retryAfterMs: 100, remaining: 0, resetMs: 1000 });
    expect(m.take('acme', 99).ok).toBe(false);
    expect(m.take('acme', 100)).toMatchObject({ ok: true, remaining: 0 });
    expect(m.take('acme', 150)).toMatchObject({ ok: false, retryAfterMs: 50 });
    // Other keys are independent.
    expect(m.take('globex', 0).ok).toBe(true);
  });

  it('never passes more than burst + limit × elapsed / window, across window edges', () => {
    const m = new GcraMeter({ limit: 5, windowMs: 1000, burst: 5 });
    let passed = 0;
    for (let t = 0; t <= 3000; t += 7) while (m.take('k', t).ok) passed++;
    // 5 at once, then one every 200 ms up to t = 2996.
    expect(passed).toBe(5 + Math.floor(2996 / 200));
  });

  it('charges costs (tokens) and denies, forever, a cost above the burst', () => {
    const m = new GcraMeter({ limit: 1000, windowMs: 60_000, burst: 500 });
    expect(m.take('t', 0, 400)).toMatchObject({ ok: true, remaining: 100 });
    const denied = m.take('t', 0, 200);
    expect(denied.ok).toBe(false);
    expect(denied.retryAfterMs).toBeCloseTo(100 * 60, 6);
    expect(m.take('t', 0, 100)).toMatchObject({ ok: true, remaining: 0 });
    expect(m.take('t', 1e9, 501)).toMatchObject({ ok: false, retryAfterMs: Infinity });
    expect(m.take('t', 1e9, 500).ok).toBe(true);
  });

  it('takes nothing on a denial and forgets keys whose bucket is full again', () => {
    const m = new GcraMeter({ limit: 2, windowMs: 100 });
    expect(m.take('a', 0).ok && m.take('a', 0).ok).toBe(true);
    for (let i = 0; i < 50; i++) expect(m.take('a', 10).ok).toBe(false);
    expect(m.take('a', 50).ok).toBe(true);
    // TATs now: a 150 (full again at 150), b 50.
    m.take('b', 0);
    expect(m.sweep(60)).toBe(1);
    expect(m.sweep(150)).toBe(0);
    expect(m.size).toBe(0);
    expect(m.take('a', 150)).toMatchObject({ ok: true, remaining: 1 });
  });

  it('refuses bad limits with INVALID_ARGUMENT naming the field', () => {
    const bad: [unknown, string][] = [
      [null, 'rateLimit'], [[], 'rateLimit'], [{ limit: 0, windowMs: 1 }, 'rateLimit.limit'],
      [{ limit: 1, windowMs: -5 }, 'rateLimit.windowMs'], [{ limit: 1, windowMs: Infinity }, 'rateLimit.windowMs'],
      [{ limit: '10', windowMs: 1 }, 'rateLimit.limit'], [{ limit: 1, windowMs: 1, burst: NaN }, 'rateLimit.burst'],
      [{ limit: 1, windowMs: 1, per: 'minute' }, 'rateLimit.per'],
    ];
    for (const [v, field] of bad) expectCodedError(() => checkRateLimit(v), isQuotaError, 'INVALID_ARGUMENT', field);
    expectCodedError(() => new GcraMeter({ limit: 1, windowMs: 0 }), isQuotaError, 'INVALID_ARGUMENT', 'rateLimit.windowMs');
  });

  it('refuses a bad key, time or cost with INVALID_ARGUMENT naming it, taking nothing', () => {
    const m = new GcraMeter({ limit: 1, windowMs: 1000 });
    const bad: [() => unknown, string][] = [
      [() => m.take(7 as unknown as string, 0), 'key'], [() => m.take('a', NaN), 'now'], [() => m.take('a', Infinity), 'now'],
      [() => m.take('a', 0, -1), 'cost'], [() => m.take('a', 0, NaN), 'cost'], [() => m.take('a', 0, '1' as unknown as number), 'cost'],
    ];
    for (const [fn, field] of bad) expectCodedError(fn, isQuotaError, 'INVALID_ARGUMENT', field);
    expect(m.size).toBe(0);
    expect(m.take('a', 0).ok).toBe(true);
  });
});
