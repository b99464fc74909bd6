// @tenantry/scheduler: when does admitted work run (docs/architecture.md, "@tenantry/scheduler").
export { createScheduler } from './scheduler.js';
export type { Scheduler, SchedulerStats, TenantStats, DomainStats, Task } from './scheduler.js';
export { SchedulerError, isSchedulerError } from './errors.js';
export type { SchedulerErrorCode, SchedulerErrorDetails } from './errors.js';
export { DEFAULT_SHARES } from './options.js';
export type { SchedulerOptions, TenantOptions, SubmitOptions, AdaptiveConcurrency, RetryOptions, BreakerOptions, DomainShares } from './options.js';
export type { SchedulerEvent, SchedulerEventType, SchedulerListener } from './events.js';
export type { PoisonedTask } from './poison.js';
export type { BreakerState } from './breakers.js';
