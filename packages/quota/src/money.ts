// Money as integer micro-units (1 USD = 1 000 000 micros), never as summed floats (docs/architecture.md,
// "@tenantry/quota"): sums and comparisons of safe integers are exact, so 199.99 + 0.01 reaches a 200 cap
// exactly.
//
// Two conversions, because the two kinds of amount deserve different treatment:
//   - caps (usdToMicros): exact or refused. "199.99" or 199.99 is 199 990 000 micros; an amount with more
//     than six decimals (0.0000001, or 0.30000000000000004 from a float sum) is refused rather than silently
//     rounded, because a cap is a promise.
//   - charges (chargeToMicros): what a host computed (tokens × price) may carry float noise; it is rounded to
//     the nearest micro when within that noise of one, and up otherwise, so that a charge is never smaller
//     than what was spent.
import { QuotaError } from './errors.js';

export const MICROS_PER_USD = 1_000_000;
/** Largest amount, in USD: its micros are a safe integer. */
export const MAX_USD = Math.floor(Number.MAX_SAFE_INTEGER / MICROS_PER_USD);

const DECIMAL = /^(0|[1-9][0-9]{0,15})(?:\.([0-9]{1,6}))?$/;

function invalid(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_AMOUNT', `${field} ${message}`, { field });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

/**
 * A cap in USD (a number, or a decimal string such as "199.99") as micros, exactly.
 * @throws QuotaError INVALID_AMOUNT naming `field` for anything negative, non-finite, non-numeric, above
 *   MAX_USD or with more than six decimal places.
 * @example usdToMicros(199.99, 'daily_budget_usd') // 199990000
 */
export function usdToMicros(v: unknown, field: string): number {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalid(field, `must be a finite number of USD, got ${describe(v)}`);
    if (v < 0) throw invalid(field, `must not be negative, got ${describe(v)}`);
    if (v > MAX_USD) throw invalid(field, `must be at most ${MAX_USD} USD, got ${describe(v)}`);
    // The shortest decimal that round-trips (ECMAScript Number::toString) is what the caller wrote.
    text = Object.is(v, -0) ? '0' : String(v);
  } else if (typeof v === 'string') {
    text = v;
  } else {
    throw invalid(field, `must be a number of USD (or a decimal string), got ${describe(v)}`);
  }
  const m = DECIMAL.exec(text);
  if (m === null) {
    if (/^-/.test(text)) throw invalid(field, `must not be negative, got ${describe(v)}`);
    if (/^[0-9]+\.[0-9]{7,}$/.test(text) || /e-/i.test(text)) throw invalid(field, `has more than 6 decimal places (micro-USD), got ${describe(v)}`);
    throw invalid(field, `must be a decimal amount of USD such as 199.99, got ${describe(v)}`);
  }
  const micros = Number(m[1]) * MICROS_PER_USD + Number((m[2] ?? '').padEnd(6, '0'));
  if (!Number.isSafeInteger(micros) || micros > MAX_USD * MICROS_PER_USD) throw invalid(field, `must be at most ${MAX_USD} USD, got ${describe(v)}`);
  return micros;
}

/**
 * A charge in USD as micros: rounded to the nearest micro when within float noise of it, else up.
 * @throws QuotaError INVALID_AMOUNT naming `field` for anything negative, non-finite, non-numeric or above MAX_USD.
 * @example chargeToMicros(0.1 + 0.2, 'usd') // 300000
 */
export function chargeToMicros(v: unknown, field: string): number {
  if (typeof v !== 'number') throw invalid(field, `must be a number of USD, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw invalid(field, `must be a finite number of USD, got ${describe(v)}`);
  if (v < 0) throw invalid(field, `must not be negative, got ${describe(v)}`);
  if (v > MAX_USD) throw invalid(field, `must be at most ${MAX_USD} USD, got ${describe(v)}`);
  const scaled = v * MICROS_PER_USD;
  const nearest = Math.round(scaled);
  // v × 10^6 is off from the true product by at most a few ulps; closer than that to an integer is that integer.
  const noise = Math.max(Number.EPSILON * scaled * 4, 1e-9);
  return Math.abs(scaled - nearest) <= noise ? nearest : Math.ceil(scaled);
}

/** Micros as USD with six decimals, e.g. "199.990000" (for messages and reports; exact). */
export function formatMicros(micros: number): string {
  const whole = Math.floor(micros / MICROS_PER_USD);
  const frac = micros - whole * MICROS_PER_USD;
  return `${whole}.${String(frac).padStart(6, '0')}`;
}
