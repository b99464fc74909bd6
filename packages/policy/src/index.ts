export { PolicyError, isPolicyError } from './errors.js';
export type { PolicyErrorCode, PolicyErrorDetails } from './errors.js';
export { createPolicyEngine, PolicyEngine, DEFAULT_ENTRYPOINT, DEFAULT_MAX_INPUT_BYTES, MAX_INPUT_BYTES_LIMIT, MAX_CACHE_ENTRIES } from './engine.js';
export type {
  DataEvent, LockEvent, PolicyEngineEvents, PolicyEngineOptions, PolicyEngineStats, SwapEvent, UnlockEvent, ViolationEvent,
} from './engine.js';
export { PolicyDecision, REASON_CODES } from './decision.js';
export type { Decision, ReasonCode } from './decision.js';
export { TENANT_STATUSES, MAX_DATA_STRING } from './data.js';
export type { PolicyData, TenantRecord, TenantStatus } from './data.js';
export type { TenantLock } from './lockdown.js';
export { readBundle, DEFAULT_BUNDLE_MAX_BYTES } from './bundle.js';
export type { BundleKey, BundleVerificationOptions, PolicyBundle, ReadBundleOptions } from './bundle.js';
