// Differential-privacy ε ledger: sequential composition (Dwork & Roth 2014, Thm 3.16: ε add up) with exact
// micro-unit accounting, refusal once a budget is spent (changing nothing), tenant totals over per-dataset
// budgets, fail closed without a budget, resets, and bad input refused naming the field.
import { describe, expect, it } from 'vitest';
import * as quota from '@tenantry/quota';
import { EpsilonLedger } from '@tenantry/quota';
import { isQuotaError, type QuotaErrorCode } from '@tenantry/quota';
import { expectCodedError } from '../helpers/errors.js';

function expectQuotaError(fn: () => unknown, code: QuotaErrorCode, field: string): void {
  expectCodedError(fn, isQuotaError, code, field);
}

describe('EpsilonLedger', () => {
  it('adds spends exactly: ten spends of 0.1 use up a budget of 1, and the eleventh is refused', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 1);
    let floatSum = 0;
    for (let i = 1; i <= 10; i++) {
      floatSum += 0.1;
      expect(l.spend('acme', 0.1)).toEqual({ ok: true, remaining: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0][i - 1] });
    }
    expect(floatSum).not.toBe(1); // what summed floats would have allowed
    expect(l.remaining('acme')).toBe(0);
    expect(l.spend('acme', 0.000001)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    // ε = 0 loses no privacy and is always affordable under a budget.
    expect(l.spend('acme', 0)).toEqual({ ok: true, remaining: 0 });
  });

  it('refuses a spend that does not fit, changing nothing, and accepts one that fits exactly', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 2.5);
    expect(l.spend('acme', 1.75)).toEqual({ ok: true, remaining: 0.75 });
    expect(l.spend('acme', 0.750001)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0.75 });
    expect(l.remaining('acme')).toBe(0.75);
    expect(l.spend('acme', 0.75)).toEqual({ ok: true, remaining: 0 });
    // Tenants are independent.
    expect(l.spend('globex', 0.1)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    l.setBudget('globex', 0.1);
    expect(l.spend('globex', 0.1)).toEqual({ ok: true, remaining: 0 });
  });

  it('holds a spend with a key to the key budget and the tenant total alike', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 1);
    l.setBudget('acme', 0.5, 'patients');
    expect(l.remaining('acme', 'patients')).toBe(0.5);
    expect(l.spend('acme', 0.4, 'patients')).toEqual({ ok: true, remaining: 0.1 });
    expect(l.spend('acme', 0.2, 'patients')).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0.1 });
    // A key without its own budget is held to the tenant total only.
    expect(l.remaining('acme', 'visits')).toBe(0.6);
    expect(l.spend('acme', 0.5, 'visits')).toEqual({ ok: true, remaining: 0.1 });
    expect(l.remaining('acme')).toBe(0.1);
    expect(l.remaining('acme', 'patients')).toBe(0.1);
    expect(l.spend('acme', 0.2)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0.1 });
    // A budget set later for a key counts what the key spent before it.
    l.setBudget('acme', 0.45, 'visits');
    expect(l.remaining('acme', 'visits')).toBe(0);
  });

  it('fails closed: nothing is spendable without a budget covering the spend', () => {
    const l = new EpsilonLedger();
    expect(l.remaining('acme')).toBe(0);
    expect(l.spend('acme', 0)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    // Only key budgets: spends under those keys, and nothing else.
    l.setBudget('acme', 0.3, 'patients');
    expect(l.spend('acme', 0.3, 'patients')).toEqual({ ok: true, remaining: 0 });
    expect(l.spend('acme', 0.1, 'visits')).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    expect(l.spend('acme', 0.1)).toEqual({ ok: false, reason: 'EPSILON_BUDGET', remaining: 0 });
    // A tenant total set now counts the spends made under the key budget.
    l.setBudget('acme', 1);
    expect(l.remaining('acme')).toBe(0.7);
  });

  it('lowers and raises budgets against what was spent', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 1);
    l.spend('acme', 0.6);
    l.setBudget('acme', 0.5);
    expect(l.remaining('acme')).toBe(0);
    expect(l.spend('acme', 0.1).ok).toBe(false);
    l.setBudget('acme', 3);
    expect(l.remaining('acme')).toBe(2.4);
  });

  it('resets a key (leaving the tenant total too) or the whole tenant, keeping the budgets', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 1);
    l.setBudget('acme', 0.5, 'patients');
    l.spend('acme', 0.5, 'patients');
    l.spend('acme', 0.3, 'visits');
    l.spend('acme', 0.1);
    expect(l.remaining('acme')).toBe(0.1);
    l.reset('acme', 'patients');
    expect(l.remaining('acme', 'patients')).toBe(0.5);
    expect(l.remaining('acme')).toBe(0.6);
    l.reset('acme', 'unknown');
    l.reset('globex');
    expect(l.remaining('acme')).toBe(0.6);
    l.reset('acme');
    expect(l.remaining('acme')).toBe(1);
    expect(l.remaining('acme', 'patients')).toBe(0.5);
    expect(l.spend('acme', 1, 'visits')).toEqual({ ok: true, remaining: 0 });
  });

  it('refuses bad tenants, ε, budgets and keys naming the field, changing nothing', () => {
    const l = new EpsilonLedger();
    l.setBudget('acme', 1);
    const bad: [() => unknown, QuotaErrorCode, string][] = [
      [() => l.spend('acme', -0.1), 'INVALID_AMOUNT', 'epsilon'], [() => l.spend('acme', NaN), 'INVALID_AMOUNT', 'epsilon'],
      [() => l.spend('acme', Infinity), 'INVALID_AMOUNT', 'epsilon'], [() => l.spend('acme', 1e-7), 'INVALID_AMOUNT', 'epsilon'],
      [() => l.spend('acme', 0.1 + 0.2), 'INVALID_AMOUNT', 'epsilon'], [() => l.spend('acme', 0.0000015), 'INVALID_AMOUNT', 'epsilon'],
      [() => l.spend('acme', '0.1' as unknown as number), 'INVALID_AMOUNT', 'epsilon'], [() => l.spend('acme', 1e7), 'INVALID_AMOUNT', 'epsilon'],
      [() => l.setBudget('acme', -1), 'INVALID_AMOUNT', 'budget'], [() => l.setBudget('acme', 0.12345678), 'INVALID_AMOUNT', 'budget'],
      [() => l.setBudget('acme', null as unknown as number), 'INVALID_AMOUNT', 'budget'],
      [() => l.spend('acme', 0.1, ''), 'INVALID_ARGUMENT', 'key'], [() => l.setBudget('acme', 1, 5 as unknown as string), 'INVALID_ARGUMENT', 'key'],
      [() => l.remaining('acme', ''), 'INVALID_ARGUMENT', 'key'], [() => l.reset('acme', [] as unknown as string), 'INVALID_ARGUMENT', 'key'],
      [() => l.spend('', 0.1), 'INVALID_TENANT_ID', 'tenantId'], [() => l.setBudget('a\u0000', 1), 'INVALID_TENANT_ID', 'tenantId'],
      [() => l.remaining(3 as unknown as string), 'INVALID_TENANT_ID', 'tenantId'], [() => l.reset(undefined as unknown as string), 'INVALID_TENANT_ID', 'tenantId'],
    ];
    for (const [fn, code, field] of bad) expectQuotaError(fn, code, field);
    expect(l.remaining('acme')).toBe(1);
    // The resolution and range limits themselves are accepted.
    expect(l.spend('acme', 0.000001)).toEqual({ ok: true, remaining: 0.999999 });
    l.setBudget('big', 1_000_000);
    expect(l.spend('big', 999_999.999999)).toEqual({ ok: true, remaining: 0.000001 });
  });

  it('is the public face of the accounting: the unchecked accounts behind it are not exported', () => {
    expect(Object.keys(quota)).toContain('EpsilonLedger');
    expect(Object.keys(quota)).not.toContain('EpsilonAccounts');
    // Bad input never reaches the accounts: a refused call leaves them as they were.
    const l = new EpsilonLedger();
    l.setBudget('acme', 1, 'patients');
    expectQuotaError(() => l.spend('acme', -1, 'patients'), 'INVALID_AMOUNT', 'epsilon');
    expect(l.remaining('acme', 'patients')).toBe(1);
  });
});
