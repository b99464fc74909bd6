export { ERROR_BRAND, TenantryError, CoreError, brandError, errorGuard, errorPackage, isTenantryError, isCoreError } from './errors.js';
export type { CoreErrorCode, ErrorPackage, TenantryErrorDetails, TenantryErrorLike } from './errors.js';
export { isObject, describeValue } from './object.js';
export { MAX_TENANT_ID_BYTES, checkTenantId, isTenantId, tenantIdProblem, compareTenantIds } from './tenant-id.js';
export {
  PROTOCOL_VERSION, DOMAINS, MODES, TENANT_STATUSES, CLEARANCES, LAYERS, ACTIONS, MUTATING_ACTIONS,
  isDomain, isMode, isTenantStatus, isClearance, isLayer, isAction,
} from './vocabulary.js';
export type { Domain, Mode, TenantStatus, Clearance, Layer, Action } from './vocabulary.js';
export {
  FREEZE_SOURCES, MAX_CONTROL_TEXT, CONTROL_EVENT_TYPES, INITIAL_CONTROL_STATE, checkControlEvent, nextControlState, controlState,
  controlEventTenant, controlTextProblem,
} from './control.js';
export type {
  ControlEvent, ControlEventType, ControlSink, ControlState, EnvelopeEvent, FreezeEvent, FreezeSource, LockdownEvent, ModeEvent,
  TenantFreezeState, TenantLockState, UnfreezeEvent, UnlockEvent, PauseEvent, ResumeEvent, CanaryEvent, PauseScope, PauseState,
} from './control.js';
export { FENCE_GUARD_LUA } from './fence-guard.js';
export type { Fence } from './fence-guard.js';
export { untilReady } from './ready.js';
export type { ReadyEmitter } from './ready.js';
