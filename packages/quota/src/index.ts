export { QuotaError, isQuotaError } from './errors.js';
export type { QuotaErrorCode, QuotaErrorDetails } from './errors.js';
export { usdToMicros, chargeToMicros, formatMicros, MICROS_PER_USD, MAX_USD } from './money.js';
export { checkTimeZone, dayOf, monthOf } from './calendar.js';
export type { CalendarPeriod } from './calendar.js';
export { MAX_TENANT_ID_BYTES } from '@tenantry/core';
export type { Domain } from '@tenantry/core';
export { checkEnvelope, checkTenantId, MAX_PARALLEL_EXPERIMENTS } from './envelope.js';
export type { BudgetEnvelope, CheckedEnvelope } from './envelope.js';
export { GcraMeter, checkRateLimit } from './gcra.js';
export type { RateLimit, RateDecision, CheckedRateLimit } from './gcra.js';
export { createQuota } from './quota.js';
export type { QuotaOptions, QuotaRateLimits } from './quota-options.js';
export type {
  Quota, QuotaEvent, ReserveRequest, ReserveResult, SettleResult, ReleaseResult, Usage, PeriodUsage, RestoreRecord, RestoreCharge, RestoreOpen,
  RestoreReport,
} from './quota-types.js';
export { memoryStore } from './memory-store.js';
export type { QuotaStore, DenyReason } from './store.js';
export { redisStore } from './redis-store.js';
export type { RedisStoreOptions, RedisConnection, RedisClusterNode } from './redis-store.js';
export type { FenceOf } from './fence.js';
export type { Fence } from '@tenantry/core';
export { CostDefense } from './defense.js';
export type { CostDefenseEvent, BurnRateAlertEvent, LimiterActionEvent, BurnRateSample, CostDefenseListener } from './defense.js';
export { DEFAULT_BURN_RATE_WINDOWS, DEFAULT_BUDGET_PERIOD_MS, DEFAULT_BUCKETS_PER_WINDOW, DEFAULT_TAU_MS } from './defense-options.js';
export type {
  BurnRateWindow, CostLimiterOptions, CostDefenseOptions, CheckedCostDefenseOptions, AlertSeverity, LimiterAction,
} from './defense-options.js';
export { EpsilonLedger, EPSILON_MICROS, MAX_EPSILON, epsilonToMicros } from './epsilon.js';
export type { EpsilonSpendResult } from './epsilon.js';
