// Budget envelopes (docs/architecture.md, "@tenantry/quota"; protocol 1.0 JSON, snake_case as is):
//   { tenant_id, monthly_budget_usd, daily_budget_usd, experiment_budget_cap_usd, max_parallel_experiments,
//     max_prod_traffic_pct, timezone?, simulation_budget_usd? }
// checked once, completely, into the form the quota keeps: integer micros, a canonical IANA zone. Every
// field is required except timezone (default "UTC") and simulation_budget_usd (default 0: no simulation
// spend until one is granted, since simulation has its own budget). Unknown fields are refused, so that a
// misspelt cap ("montly_budget_usd") is an error rather than no cap.
import { describeValue, isObject, tenantIdProblem } from '@tenantry/core';
import { checkTimeZone } from './calendar.js';
import { QuotaError } from './errors.js';
import { usdToMicros } from './money.js';

/** An envelope as a host writes it. Amounts are USD (numbers, or decimal strings). */
export interface BudgetEnvelope {
  tenant_id: string;
  monthly_budget_usd: number | string;
  daily_budget_usd: number | string;
  experiment_budget_cap_usd: number | string;
  max_parallel_experiments: number;
  max_prod_traffic_pct: number;
  timezone?: string;
  simulation_budget_usd?: number | string;
}

/** A checked envelope: amounts in micros. */
export interface CheckedEnvelope {
  tenantId: string;
  monthlyMicros: number;
  dailyMicros: number;
  experimentCapMicros: number;
  maxParallelExperiments: number;
  maxProdTrafficPct: number;
  timeZone: string;
  simulationMicros: number;
}

/** Most parallel experiments an envelope may allow. */
export const MAX_PARALLEL_EXPERIMENTS = 10_000;

const FIELDS: ReadonlySet<string> = new Set([
  'tenant_id', 'monthly_budget_usd', 'daily_budget_usd', 'experiment_budget_cap_usd', 'max_parallel_experiments',
  'max_prod_traffic_pct', 'timezone', 'simulation_budget_usd',
]);

/**
 * Checks a tenant id by core's one rule (docs/architecture.md, "The tenant id": 1 to MAX_TENANT_ID_BYTES
 * UTF-8 bytes, well-formed, no control characters), as a QuotaError.
 * @throws QuotaError INVALID_TENANT_ID naming `field`.
 */
export function checkTenantId(v: unknown, field = 'tenant_id'): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw new QuotaError('INVALID_TENANT_ID', `${field} ${problem}`, { field });
  return v as string;
}

function argument(field: string, message: string): QuotaError {
  return new QuotaError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

/**
 * Checks an envelope and converts it (see the file comment).
 * @throws QuotaError INVALID_ARGUMENT (envelope, unknown fields, counts and percents), INVALID_TENANT_ID,
 *   INVALID_AMOUNT (each *_usd field), INVALID_TIMEZONE — each naming the field.
 */
export function checkEnvelope(env: unknown): CheckedEnvelope {
  if (!isObject(env)) throw argument('envelope', `must be an object { tenant_id, monthly_budget_usd, … }, got ${describeValue(env)}`);
  const e = env;
  for (const key of Object.keys(e)) if (!FIELDS.has(key)) throw argument(key, 'is not a field of a budget envelope');
  const tenantId = checkTenantId(e.tenant_id);
  const monthlyMicros = usdToMicros(e.monthly_budget_usd, 'monthly_budget_usd');
  const dailyMicros = usdToMicros(e.daily_budget_usd, 'daily_budget_usd');
  const experimentCapMicros = usdToMicros(e.experiment_budget_cap_usd, 'experiment_budget_cap_usd');
  const parallel = e.max_parallel_experiments;
  if (typeof parallel !== 'number' || !Number.isInteger(parallel) || parallel < 0 || parallel > MAX_PARALLEL_EXPERIMENTS) {
    throw argument('max_parallel_experiments', `must be an integer from 0 to ${MAX_PARALLEL_EXPERIMENTS}, got ${String(parallel)}`);
  }
  const pct = e.max_prod_traffic_pct;
  if (typeof pct !== 'number' || !Number.isFinite(pct) || pct < 0 || pct > 100) {
    throw argument('max_prod_traffic_pct', `must be a percent from 0 to 100, got ${String(pct)}`);
  }
  const timeZone = e.timezone === undefined ? 'UTC' : checkTimeZone(e.timezone, 'timezone');
  const simulationMicros = e.simulation_budget_usd === undefined ? 0 : usdToMicros(e.simulation_budget_usd, 'simulation_budget_usd');
  return { tenantId, monthlyMicros, dailyMicros, experimentCapMicros, maxParallelExperiments: parallel, maxProdTrafficPct: pct, timeZone, simulationMicros };
}
