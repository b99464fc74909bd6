// The quota's foundations: money as integer micros (cap boundaries exact, charges never rounded down),
// calendar days and months in IANA zones across DST changes, envelope validation that names the field,
// core's one tenant id rule, and errors that only this package's guard recognises.
import { describe, expect, it } from 'vitest';
import { CoreError, checkTenantId as coreCheckTenantId, MAX_TENANT_ID_BYTES as CORE_MAX_TENANT_ID_BYTES, TenantryError } from '@tenantry/core';
import {
  chargeToMicros, checkEnvelope, checkTenantId, checkTimeZone, dayOf, formatMicros, isQuotaError, MAX_TENANT_ID_BYTES, MAX_USD, monthOf,
  QuotaError, usdToMicros, type QuotaErrorCode,
} from '@tenantry/quota';
import { expectCodedError } from '../helpers/errors.js';

function expectQuotaError(fn: () => unknown, code: QuotaErrorCode, field: string): void {
  expectCodedError(fn, isQuotaError, code, field);
}

describe('money in micros', () => {
  it('makes 199.99 then 0.01 reach a 200 cap exactly, and 0.02 more exceed it', () => {
    const cap = usdToMicros(200, 'cap');
    const spent = chargeToMicros(199.99, 'usd') + chargeToMicros(0.01, 'usd');
    expect(spent).toBe(cap);
    expect(spent + chargeToMicros(0.02, 'usd')).toBeGreaterThan(cap);
    // The float sum is not: this is why money is not kept as floats.
    expect(199.99 + 0.01 + 0.02 > 200).toBe(true);
  });

  it.each([
    [0, 0], [199.99, 199_990_000], ['199.99', 199_990_000], [0.000001, 1], ['0.000001', 1], [1e6, 1e12], ['12.5', 12_500_000],
    [-0, 0], [MAX_USD, MAX_USD * 1e6],
  ])('converts the cap %j to %d micros exactly', (usd, micros) => {
    expect(usdToMicros(usd, 'cap')).toBe(micros);
  });

  it.each([
    [-1, 'must not be negative'], ['-1', 'must not be negative'], [Number.NaN, 'finite'], [Infinity, 'finite'], ['abc', 'decimal amount'],
    ['1e3', 'decimal amount'], [0.0000001, 'more than 6 decimal places'], ['0.0000001', 'more than 6 decimal places'],
    [0.1 + 0.2, 'more than 6 decimal places'], [MAX_USD + 1, 'at most'], [null, 'must be a number'], [true, 'must be a number'], ['', 'decimal amount'],
  ])('refuses the cap %j (%s)', (usd, why) => {
    expectQuotaError(() => usdToMicros(usd, 'monthly_budget_usd'), 'INVALID_AMOUNT', 'monthly_budget_usd');
    expect(() => usdToMicros(usd, 'x')).toThrow(why);
  });

  it('rounds charges to the nearest micro within float noise, and up otherwise', () => {
    expect(chargeToMicros(0.1 + 0.2, 'usd')).toBe(300_000);
    expect(chargeToMicros(0.0000001, 'usd')).toBe(1); // a tenth of a micro is charged as one
    expect(chargeToMicros(1.0000004, 'usd')).toBe(1_000_001);
    expect(chargeToMicros(3 * 0.000015, 'usd')).toBe(45); // 1.5e-5 per token × 3 tokens
    expectQuotaError(() => chargeToMicros(-0.5, 'usd'), 'INVALID_AMOUNT', 'usd');
    expectQuotaError(() => chargeToMicros('1', 'usd'), 'INVALID_AMOUNT', 'usd');
  });

  it('formats micros exactly', () => {
    expect(formatMicros(199_990_000)).toBe('199.990000');
    expect(formatMicros(1)).toBe('0.000001');
  });
});

describe('calendar periods in IANA zones', () => {
  const at = (iso: string): number => Date.parse(iso);

  it('names days and months in the zone, not in UTC', () => {
    // 2025-01-31T23:30Z is already February 1st in Berlin, still January 31st in New York.
    expect(dayOf(at('2025-01-31T23:30:00Z'), 'Europe/Berlin').key).toBe('2025-02-01');
    expect(monthOf(at('2025-01-31T23:30:00Z'), 'Europe/Berlin').key).toBe('2025-02');
    expect(dayOf(at('2025-01-31T23:30:00Z'), 'America/New_York').key).toBe('2025-01-31');
    expect(dayOf(at('2025-01-31T23:30:00Z'), 'UTC')).toEqual({ key: '2025-01-31', start: at('2025-01-31T00:00:00Z'), end: at('2025-02-01T00:00:00Z') });
    // Half-hour and +14 zones.
    expect(dayOf(at('2025-06-30T18:45:00Z'), 'Asia/Kolkata')).toEqual({ key: '2025-07-01', start: at('2025-06-30T18:30:00Z'), end: at('2025-07-01T18:30:00Z') });
    expect(dayOf(at('2025-06-30T10:00:00Z'), 'Pacific/Kiritimati').key).toBe('2025-07-01');
  });

  it('makes the spring-forward day 23 hours and the fall-back day 25 hours long', () => {
    const spring = dayOf(at('2025-03-09T12:00:00Z'), 'America/New_York');
    expect(spring).toEqual({ key: '2025-03-09', start: at('2025-03-09T05:00:00Z'), end: at('2025-03-10T04:00:00Z') });
    expect((spring.end - spring.start) / 3_600_000).toBe(23);
    const fall = dayOf(at('2025-11-02T12:00:00Z'), 'America/New_York');
    expect((fall.end - fall.start) / 3_600_000).toBe(25);
    const berlin = dayOf(at('2025-03-30T12:00:00Z'), 'Europe/Berlin');
    expect((berlin.end - berlin.start) / 3_600_000).toBe(23);
    // Lord Howe moves its clocks by 30 minutes.
    const lordHowe = dayOf(at('2025-04-05T20:00:00Z'), 'Australia/Lord_Howe');
    expect(lordHowe.key).toBe('2025-04-06');
    expect((lordHowe.end - lordHowe.start) / 60_000).toBe(24 * 60 + 30);
  });

  it('rolls days and months over exactly at local midnight, across a DST change', () => {
    const tz = 'Europe/Berlin';
    const march = monthOf(at('2025-03-15T12:00:00Z'), tz);
    expect(march).toEqual({ key: '2025-03', start: at('2025-02-28T23:00:00Z'), end: at('2025-03-31T22:00:00Z') });
    expect(monthOf(march.end - 1, tz).key).toBe('2025-03');
    expect(monthOf(march.end, tz).key).toBe('2025-04');
    expect(dayOf(march.end - 1, tz).key).toBe('2025-03-31');
    // Consecutive days tile time with no gap and no overlap for a whole year, in several zones.
    for (const zone of ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC']) {
      let d = dayOf(at('2025-01-01T12:00:00Z'), zone);
      for (let i = 0; i < 366; i++) {
        const next = dayOf(d.end, zone);
        expect(next.start, `${zone} ${d.key}`).toBe(d.end);
        expect(next.key > d.key).toBe(true);
        d = next;
      }
    }
  });

  it('accepts IANA zones and refuses anything else with INVALID_TIMEZONE', () => {
    expect(checkTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(checkTimeZone('UTC')).toBe('UTC');
    for (const bad of ['Mars/Olympus_Mons', '', '+02:00', 'Europe/Berlin ', 42, null]) {
      expectQuotaError(() => checkTimeZone(bad, 'timezone'), 'INVALID_TIMEZONE', 'timezone');
    }
  });
});

describe('budget envelopes', () => {
  const good = {
    tenant_id: 'acme', monthly_budget_usd: 1000, daily_budget_usd: '200.50', experiment_budget_cap_usd: 50,
    max_parallel_experiments: 3, max_prod_traffic_pct: 5, timezone: 'America/New_York',
  };

  it('converts a valid envelope to micros with its zone, simulation budget 0 unless granted', () => {
    expect(checkEnvelope(good)).toEqual({
      tenantId: 'acme', monthlyMicros: 1_000_000_000, dailyMicros: 200_500_000, experimentCapMicros: 50_000_000,
      maxParallelExperiments: 3, maxProdTrafficPct: 5, timeZone: 'America/New_York', simulationMicros: 0,
    });
    const { timezone: _, ...noZone } = good;
    expect(checkEnvelope({ ...noZone, simulation_budget_usd: 10 })).toMatchObject({ timeZone: 'UTC', simulationMicros: 10_000_000 });
  });

  it.each([
    [{ tenant_id: '' }, 'INVALID_TENANT_ID', 'tenant_id'],
    [{ tenant_id: 7 }, 'INVALID_TENANT_ID', 'tenant_id'],
    [{ tenant_id: 'a\nb' }, 'INVALID_TENANT_ID', 'tenant_id'],
    [{ monthly_budget_usd: -1 }, 'INVALID_AMOUNT', 'monthly_budget_usd'],
    [{ monthly_budget_usd: 'lots' }, 'INVALID_AMOUNT', 'monthly_budget_usd'],
    [{ daily_budget_usd: undefined }, 'INVALID_AMOUNT', 'daily_budget_usd'],
    [{ experiment_budget_cap_usd: Number.NaN }, 'INVALID_AMOUNT', 'experiment_budget_cap_usd'],
    [{ max_parallel_experiments: 1.5 }, 'INVALID_ARGUMENT', 'max_parallel_experiments'],
    [{ max_parallel_experiments: -1 }, 'INVALID_ARGUMENT', 'max_parallel_experiments'],
    [{ max_prod_traffic_pct: 101 }, 'INVALID_ARGUMENT', 'max_prod_traffic_pct'],
    [{ max_prod_traffic_pct: -0.5 }, 'INVALID_ARGUMENT', 'max_prod_traffic_pct'],
    [{ max_prod_traffic_pct: '5' }, 'INVALID_ARGUMENT', 'max_prod_traffic_pct'],
    [{ timezone: 'Europe/Atlantis' }, 'INVALID_TIMEZONE', 'timezone'],
    [{ simulation_budget_usd: -3 }, 'INVALID_AMOUNT', 'simulation_budget_usd'],
    [{ montly_budget_usd: 10 }, 'INVALID_ARGUMENT', 'montly_budget_usd'],
  ] as const)('refuses %j with %s naming %s', (patch, code, field) => {
    expectQuotaError(() => checkEnvelope({ ...good, ...patch }), code, field);
  });

  it('refuses a non-object envelope', () => {
    for (const bad of [null, 42, 'acme', [good]]) expectQuotaError(() => checkEnvelope(bad), 'INVALID_ARGUMENT', 'envelope');
  });
});

describe('tenant ids', () => {
  it('follow core\'s one rule: at most 120 UTF-8 bytes, counted in bytes, not characters', () => {
    expect(MAX_TENANT_ID_BYTES).toBe(120);
    expect(MAX_TENANT_ID_BYTES).toBe(CORE_MAX_TENANT_ID_BYTES);
    for (const ok of ['a'.repeat(120), '€'.repeat(40), 'é'.repeat(60), '../etc', 'e\u0301']) {
      expect(checkTenantId(ok)).toBe(ok);
      expect(coreCheckTenantId(ok)).toBe(ok);
    }
    // 121 bytes: 121 ASCII characters, or 41 three-byte characters (123 bytes in 41 characters).
    for (const bad of ['a'.repeat(121), '€'.repeat(41), 'é'.repeat(60) + 'x', '\ud800', 'a\u0085b', '']) {
      expectQuotaError(() => checkTenantId(bad), 'INVALID_TENANT_ID', 'tenant_id');
      expect(() => coreCheckTenantId(bad)).toThrow(CoreError);
    }
    expectQuotaError(() => checkTenantId('a'.repeat(256), 'tenantId'), 'INVALID_TENANT_ID', 'tenantId');
  });

  it('refuses an envelope whose tenant id is over 120 bytes', () => {
    const env = {
      monthly_budget_usd: 1, daily_budget_usd: 1, experiment_budget_cap_usd: 0, max_parallel_experiments: 0, max_prod_traffic_pct: 0,
    };
    expect(checkEnvelope({ ...env, tenant_id: 'ü'.repeat(60) }).tenantId).toBe('ü'.repeat(60));
    expectQuotaError(() => checkEnvelope({ ...env, tenant_id: 'ü'.repeat(61) }), 'INVALID_TENANT_ID', 'tenant_id');
  });
});

describe('QuotaError', () => {
  it('is a TenantryError of package quota, and isQuotaError matches no other package\'s errors', () => {
    const e = new QuotaError('UNKNOWN_TENANT', 'tenant_id "x" has no envelope', { field: 'tenant_id' });
    expect(e).toBeInstanceOf(TenantryError);
    expect(e).toMatchObject({ name: 'QuotaError', code: 'UNKNOWN_TENANT', field: 'tenant_id', package: 'quota' });
    expect(isQuotaError(e)).toBe(true);
    expect(isQuotaError(new CoreError('INVALID_TENANT_ID', 'tenant_id must not be empty'))).toBe(false);
    expect(isQuotaError(new TenantryError('audit', 'UNKNOWN_TENANT', 'not a quota error'))).toBe(false);
    // Shaped like a quota error, but not branded as one.
    expect(isQuotaError(Object.assign(new Error('x'), { name: 'QuotaError', code: 'UNKNOWN_TENANT' }))).toBe(false);
  });
});
