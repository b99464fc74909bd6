// A differential-privacy budget ledger: each tenant has a total privacy-loss budget ε, optionally with
// budgets per dataset key, and every private query spends some ε from it. Under sequential composition
// (basic composition theorem, Dwork & Roth, "The Algorithmic Foundations of Differential Privacy", 2014,
// Thm 3.16) the ε of mechanisms run on the same data add up, so the ledger sums them and refuses a spend
// that would take the sum past a budget. Once a budget is spent, every further spend under it is refused
// (ε = 0 excepted: it loses no privacy).
//
// Accounting is exact: ε is kept as an integer number of micro-units (1e-6), where sums and comparisons
// are exact, so ten spends of 0.1 use up a budget of 1 exactly (as floats they sum to 0.9999999999999999).
// An ε with more than six decimals (1e-7, or 0.30000000000000004 from a float sum) is refused rather than
// rounded, since rounding down would under-count privacy loss.
//
// Budgets, and what a spend must fit:
//   - setBudget(tenant, ε) sets the tenant's total: it covers every spend of the tenant, with a key or not;
//   - setBudget(tenant, ε, key) sets a budget for one dataset key: it covers the spends with that key.
// A spend must fit every budget that covers it, and at least one must (fail closed: a tenant or key with no
// budget has nothing to spend). Spends are tracked per tenant and per key whether or not a budget is set
// yet, so a budget set later counts what was spent before it.
import { checkTenantId } from './envelope.js';
import { QuotaError } from './errors.js';

/** Micro-units of ε per unit: the ledger's resolution is 1e-6. */
export const EPSILON_MICROS = 1_000_000;
/** Largest ε accepted for a spend or a budget. */
export const MAX_EPSILON = 1_000_000;

/** What spend() decided; `remaining` is the ε the same call could still spend (after this spend, if ok). */
export type EpsilonSpendResult =
  | { ok: true; remaining: number }
  | { ok: false; reason: 'EPSILON_BUDGET'; remaining: number };

interface _Account {
  /** Budget in micro-ε; undefined when none is set. */
  budget: number | undefined;
  /** Spent in micro-ε. */
  spent: number;
}

interface _Tenant {
  readonly total: _Account;
  readonly keys: Map<string, _Account>;
}

const DECIMAL = /^(0|[1-9][0-9]{0,6})(?:\.([0-9]{1,6}))?$/;

/**
 * The accounting of EpsilonLedger in integer micro-ε, without input checks: the memory store keeps its
 * tenants' ε budgets in one of these (redis-lua.ts does the same arithmetic in Redis). `key` null is the
 * tenant total.
 */
export class EpsilonAccounts {
  readonly #tenants = new Map<string, _Tenant>();

  setBudget(tenantId: string, key: string | null, micros: number): void {
    this.#account(tenantId, key).budget = micros;
  }

  /** Spends if it fits every budget covering (tenant, key), at least one existing; a refusal changes nothing. */
  spend(tenantId: string, key: string | null, micros: number): { ok: boolean; remainingMicros: number } {
    const left = this.remainingMicros(tenantId, key);
    if (left === undefined || micros > left) return { ok: false, remainingMicros: left ?? 0 };
    this.#account(tenantId, null).spent += micros;
    if (key !== null) this.#account(tenantId, key).spent += micros;
    return { ok: true, remainingMicros: left - micros };
  }

  /** Micro-ε left under every budget covering (tenant, key); undefined when no budget covers it. */
  remainingMicros(tenantId: string, key: string | null): number | undefined {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return undefined;
    let left: number | undefined;
    const accounts = key === null ? [t.total] : [t.total, t.keys.get(key)];
    for (const a of accounts) {
      if (a?.budget === undefined) continue;
      const l = Math.max(0, a.budget - a.spent);
      left = left === undefined ? l : Math.min(left, l);
    }
    return left;
  }

  /** Forgets spending, keeping budgets: the tenant's (key null), or one key's (also taken off the total). */
  reset(tenantId: string, key: string | null): void {
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return;
    if (key === null) {
      t.total.spent = 0;
      for (const a of t.keys.values()) a.spent = 0;
      return;
    }
    const a = t.keys.get(key);
    if (a === undefined) return;
    t.total.spent -= a.spent;
    a.spent = 0;
  }

  #account(tenantId: string, key: string | null): _Account {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      t = { total: { budget: undefined, spent: 0 }, keys: new Map() };
      this.#tenants.set(tenantId, t);
    }
    if (key === null) return t.total;
    let a = t.keys.get(key);
    if (a === undefined) {
      a = { budget: undefined, spent: 0 };
      t.keys.set(key, a);
    }
    return a;
  }
}

/**
 * Per-tenant (and per dataset key) ε budgets under sequential composition, in this process; see the file
 * comment. A quota's setEpsilonBudget / spendEpsilon keep the same accounts in its store (shared by every
 * node on Redis).
 * @example
 * const ledger = new EpsilonLedger();
 * ledger.setBudget('acme', 1);
 * ledger.setBudget('acme', 0.5, 'patients');
 * ledger.spend('acme', 0.4, 'patients') // { ok: true, remaining: 0.1 }
 * ledger.spend('acme', 0.2, 'patients') // { ok: false, reason: 'EPSILON_BUDGET', remaining: 0.1 }
 * ledger.spend('acme', 0.5, 'visits')   // { ok: true, remaining: 0.1 } (the tenant total: 1 − 0.9)
 */
export class EpsilonLedger {
  readonly #accounts = new EpsilonAccounts();

  /**
   * Sets the tenant's total budget, or the budget of dataset `key`. A budget below what was already spent
   * leaves nothing to spend.
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_AMOUNT naming `budget`, INVALID_ARGUMENT
   *   naming `key`.
   */
  setBudget(tenantId: string, budget: number, key?: string): void {
    checkTenantId(tenantId, 'tenantId');
    const micros = epsilonToMicros(budget, 'budget');
    this.#accounts.setBudget(tenantId, checkEpsilonKey(key), micros);
  }

  /**
   * Spends `epsilon` of the tenant's budget (and of `key`'s, when given) if it fits every budget that covers
   * it; a refusal changes nothing.
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_AMOUNT naming `epsilon`, INVALID_ARGUMENT
   *   naming `key`.
   */
  spend(tenantId: string, epsilon: number, key?: string): EpsilonSpendResult {
    checkTenantId(tenantId, 'tenantId');
    const micros = epsilonToMicros(epsilon, 'epsilon');
    return epsilonResult(this.#accounts.spend(tenantId, checkEpsilonKey(key), micros));
  }

  /**
   * The largest ε that spend(tenantId, ε, key) would accept now: the least remaining of the budgets that
   * cover it, or 0 when none does.
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_ARGUMENT naming `key`.
   */
  remaining(tenantId: string, key?: string): number {
    checkTenantId(tenantId, 'tenantId');
    return (this.#accounts.remainingMicros(tenantId, checkEpsilonKey(key)) ?? 0) / EPSILON_MICROS;
  }

  /**
   * Forgets spending, keeping the budgets: without `key`, all of the tenant's (a new accounting period);
   * with `key`, that key's, which also leaves the tenant total (as if those spends had not happened).
   * @throws QuotaError INVALID_TENANT_ID naming `tenantId`, INVALID_ARGUMENT naming `key`.
   */
  reset(tenantId: string, key?: string): void {
    checkTenantId(tenantId, 'tenantId');
    this.#accounts.reset(tenantId, checkEpsilonKey(key));
  }
}

/** The answer of a spend from its micro-ε outcome. */
export function epsilonResult(out: { ok: boolean; remainingMicros: number }): EpsilonSpendResult {
  const remaining = out.remainingMicros / EPSILON_MICROS;
  return out.ok ? { ok: true, remaining } : { ok: false, reason: 'EPSILON_BUDGET', remaining };
}

// ---- Internal helpers. ----

function _invalidAmount(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_AMOUNT', `${field} ${message}`, { field });
}

/** ε as integer micro-units, exactly, or a typed error (INVALID_AMOUNT) naming `field`. */
export function epsilonToMicros(v: unknown, field: string): number {
  if (typeof v !== 'number') throw _invalidAmount(field, `must be a number, got ${v === null ? 'null' : typeof v}`);
  if (!Number.isFinite(v)) throw _invalidAmount(field, `must be finite, got ${v}`);
  if (v < 0) throw _invalidAmount(field, `must not be negative, got ${v}`);
  if (v > MAX_EPSILON) throw _invalidAmount(field, `must be at most ${MAX_EPSILON}, got ${v}`);
  // The shortest decimal that round-trips (ECMAScript Number::toString) is what the caller wrote.
  const m = DECIMAL.exec(Object.is(v, -0) ? '0' : String(v));
  if (m === null) throw _invalidAmount(field, `has more than 6 decimal places (resolution 1e-6), got ${v}`);
  return Number(m[1]) * EPSILON_MICROS + Number((m[2] ?? '').padEnd(6, '0'));
}

/** A dataset key (a non-empty string), or null for none; INVALID_ARGUMENT naming `key` otherwise. */
export function checkEpsilonKey(key: unknown): string | null {
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
    throw new QuotaError('INVALID_ARGUMENT', `key must be a non-empty string of at most 256 characters or undefined, got ${key === '' ? 'an empty string' : typeof key}`, { field: 'key' });
  }
  return key === undefined ? null : (key as string);
}
