// Control state (docs/architecture.md, "Control state"): what is in force for each tenant and for the
// node — the mode, freezes, lockdowns and envelopes set at run time — as typed events and one pure fold.
//
// Whoever changes control state (a policy lockdown, a quota freeze of any kind, an admin route, a
// scheduler pause, a federation handover) describes the change as a ControlEvent. The host appends the
// event to its control-plane log and awaits the append before the change takes effect; a restart folds
// the log with controlState() and restores exactly what was in force. Because the fold is pure and
// takes nothing but the events, every node that reads the same log arrives at the same state.
//
// Events are protocol 1.0 JSON (snake_case), small and self-contained, so that the log entry is the
// whole truth: the fold never needs a second source.
import { CoreError } from './errors.js';
import { isObject } from './object.js';
import { tenantIdProblem } from './tenant-id.js';
import { DOMAINS, isDomain, isMode, MODES, type Domain, type Mode } from './vocabulary.js';

/**
 * Who froze a tenant: an operator (`admin`), the quota's overrun rule (`OVERRUN`: a settlement above
 * its reservation), the cost-derivative limiter (`COST_LIMITER`), or another defense (`defense`:
 * backpressure, a burn-rate action).
 */
export const FREEZE_SOURCES = ['admin', 'OVERRUN', 'COST_LIMITER', 'defense'] as const;
export type FreezeSource = (typeof FREEZE_SOURCES)[number];

/** Longest free-text field (`by`, `reason`, `requested_by`) of a control event, in UTF-16 units. */
export const MAX_CONTROL_TEXT = 1024;

/** A tenant is locked down: every decision for its principals denies (TENANT_LOCKED) until an unlock. */
export interface LockdownEvent {
  type: 'lockdown';
  tenant_id: string;
  /** 'policy' for the automatic lockdown after cross-tenant violations, else who locked it. */
  by: string;
  reason: string;
  /** Violations counted when the lock was set (0 for a manual lock). */
  violations: number;
}

/** A lockdown is lifted (always by someone, with a reason). */
export interface UnlockEvent {
  type: 'unlock';
  tenant_id: string;
  by: string;
  reason: string;
}

/** A tenant is frozen: every reservation denies (FROZEN) until an unfreeze. A later freeze replaces the reason. */
export interface FreezeEvent {
  type: 'freeze';
  tenant_id: string;
  source: FreezeSource;
  reason: string;
}

/** A freeze, of whatever source, is lifted. */
export interface UnfreezeEvent {
  type: 'unfreeze';
  tenant_id: string;
  by: string;
}

/** A budget envelope set at run time; it wins over the tenants file until the next envelope event. */
export interface EnvelopeEvent {
  type: 'envelope';
  tenant_id: string;
  /** The budget envelope (checked by @tenantry/quota; its tenant_id is the event's). */
  envelope: Readonly<Record<string, unknown>>;
}

/** The node's mode changes (a governed switch: the approvals were checked before the event was written). */
export interface ModeEvent {
  type: 'mode';
  mode: Mode;
  requested_by: string;
}

/** What a pause holds back: one tenant's work, or one domain's (PROD, SHADOW, LAB). */
export type PauseScope = 'tenant' | 'domain';

/**
 * New work of a tenant or a domain is held back (the scheduler refuses it with TENANT_PAUSED / DOMAIN_PAUSED;
 * queued work waits) until a resume: a backpressure stage's action, or an operator's.
 */
export interface PauseEvent {
  type: 'pause';
  scope: PauseScope;
  /** A tenant id (scope tenant) or a domain (scope domain). */
  id: string;
  by: string;
  reason: string;
}

/** A pause is lifted. */
export interface ResumeEvent {
  type: 'resume';
  scope: PauseScope;
  id: string;
  by: string;
}

/**
 * A tenant's canary traffic is suspended (`suspended: true`: the policy sees context.canary_suspended and
 * denies canary work with CANARY_SUSPENDED; new experiments run in LAB) or restored (`suspended: false`).
 */
export interface CanaryEvent {
  type: 'canary';
  tenant_id: string;
  suspended: boolean;
  by: string;
  reason: string;
}

export type ControlEvent = LockdownEvent | UnlockEvent | FreezeEvent | UnfreezeEvent | EnvelopeEvent | ModeEvent | PauseEvent | ResumeEvent | CanaryEvent;
export type ControlEventType = ControlEvent['type'];
export const CONTROL_EVENT_TYPES = [
  'lockdown', 'unlock', 'freeze', 'unfreeze', 'envelope', 'mode', 'pause', 'resume', 'canary',
] as const satisfies readonly ControlEventType[];

/**
 * Hands a control event to the host, which makes it durable (appends it to its control-plane log) and
 * resolves when it is. A package that changes control state on its own (a lockdown, an automatic
 * freeze) calls its sink and awaits it before the change takes effect.
 */
export type ControlSink = (event: ControlEvent) => Promise<void>;

export interface TenantLockState {
  by: string;
  reason: string;
  violations: number;
}

export interface TenantFreezeState {
  source: FreezeSource;
  reason: string;
}

export interface PauseState {
  by: string;
  reason: string;
}

/** What is in force. Maps are keyed by tenant id (any valid id, "__proto__" included) or domain. */
export interface ControlState {
  mode: Mode;
  frozen: ReadonlyMap<string, TenantFreezeState>;
  locked: ReadonlyMap<string, TenantLockState>;
  envelopes: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** Paused tenants and domains. */
  paused: { readonly tenants: ReadonlyMap<string, PauseState>; readonly domains: ReadonlyMap<Domain, PauseState> };
  /** Tenants whose canary traffic is suspended. */
  canarySuspended: ReadonlyMap<string, PauseState>;
}

/** The state before any event: NORMAL mode, nobody frozen or locked, no run-time envelope. */
export const INITIAL_CONTROL_STATE: ControlState = Object.freeze({
  mode: 'NORMAL' as Mode,
  frozen: new Map<string, TenantFreezeState>(),
  locked: new Map<string, TenantLockState>(),
  envelopes: new Map<string, Readonly<Record<string, unknown>>>(),
  paused: { tenants: new Map<string, PauseState>(), domains: new Map<Domain, PauseState>() },
  canarySuspended: new Map<string, PauseState>(),
});

const LONE_SURROGATE = /\p{Cs}/u;

const FIELDS: Record<ControlEventType, readonly string[]> = {
  lockdown: ['type', 'tenant_id', 'by', 'reason', 'violations'],
  unlock: ['type', 'tenant_id', 'by', 'reason'],
  freeze: ['type', 'tenant_id', 'source', 'reason'],
  unfreeze: ['type', 'tenant_id', 'by'],
  envelope: ['type', 'tenant_id', 'envelope'],
  mode: ['type', 'mode', 'requested_by'],
  pause: ['type', 'scope', 'id', 'by', 'reason'],
  resume: ['type', 'scope', 'id', 'by'],
  canary: ['type', 'tenant_id', 'suspended', 'by', 'reason'],
};

function invalid(field: string, message: string): CoreError {
  return new CoreError('INVALID_CONTROL_EVENT', `${field} ${message}`, { field });
}

/**
 * What is wrong with `v` as a free-text field of a control event (`by`, `reason`, `requested_by`), as the
 * end of a sentence that starts with the field's name, or undefined when it is fine: a non-empty string of
 * at most MAX_CONTROL_TEXT characters, well-formed UTF-16 (an audit entry cannot hold a lone surrogate).
 */
export function controlTextProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_CONTROL_TEXT) return `must be a non-empty string of at most ${MAX_CONTROL_TEXT} characters`;
  if (LONE_SURROGATE.test(v)) return 'must be well-formed UTF-16 (it contains a lone surrogate)';
  return undefined;
}

function text(v: unknown, field: string): string {
  const problem = controlTextProblem(v);
  if (problem !== undefined) throw invalid(field, problem);
  return v as string;
}

function tenant(v: unknown, field: string): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw new CoreError('INVALID_TENANT_ID', `${field} ${problem}`, { field });
  return v as string;
}

/**
 * Checks a control event (one read back from a log, or one about to be written) and returns a copy
 * holding exactly its fields.
 * @throws CoreError INVALID_CONTROL_EVENT or INVALID_TENANT_ID, naming the field (`event.reason`).
 */
export function checkControlEvent(v: unknown, field = 'event'): ControlEvent {
  if (!isObject(v)) throw invalid(field, 'must be an object { type, … }');
  const type = v.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) throw invalid(`${field}.type`, `must be one of ${CONTROL_EVENT_TYPES.join(', ')}`);
  const allowed = FIELDS[type as ControlEventType];
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw invalid(`${field}.${k}`, `is not a field of a ${type} event`);
  switch (type as ControlEventType) {
    case 'lockdown': {
      const n = v.violations;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalid(`${field}.violations`, 'must be a non-negative integer');
      return { type: 'lockdown', tenant_id: tenant(v.tenant_id, `${field}.tenant_id`), by: text(v.by, `${field}.by`), reason: text(v.reason, `${field}.reason`), violations: n };
    }
    case 'unlock':
      return { type: 'unlock', tenant_id: tenant(v.tenant_id, `${field}.tenant_id`), by: text(v.by, `${field}.by`), reason: text(v.reason, `${field}.reason`) };
    case 'freeze': {
      const source = v.source;
      if (typeof source !== 'string' || !(FREEZE_SOURCES as readonly string[]).includes(source)) throw invalid(`${field}.source`, `must be one of ${FREEZE_SOURCES.join(', ')}`);
      return { type: 'freeze', tenant_id: tenant(v.tenant_id, `${field}.tenant_id`), source: source as FreezeSource, reason: text(v.reason, `${field}.reason`) };
    }
    case 'unfreeze':
      return { type: 'unfreeze', tenant_id: tenant(v.tenant_id, `${field}.tenant_id`), by: text(v.by, `${field}.by`) };
    case 'envelope': {
      const id = tenant(v.tenant_id, `${field}.tenant_id`);
      if (!isObject(v.envelope)) throw invalid(`${field}.envelope`, 'must be a budget envelope object');
      if (v.envelope.tenant_id !== id) throw invalid(`${field}.envelope.tenant_id`, "must be the event's tenant_id");
      return { type: 'envelope', tenant_id: id, envelope: { ...v.envelope } };
    }
    case 'mode':
      if (!isMode(v.mode)) throw invalid(`${field}.mode`, `must be one of ${MODES.join(', ')}`);
      return { type: 'mode', mode: v.mode, requested_by: text(v.requested_by, `${field}.requested_by`) };
    case 'pause':
    case 'resume': {
      const scope = v.scope;
      if (scope !== 'tenant' && scope !== 'domain') throw invalid(`${field}.scope`, 'must be tenant or domain');
      let id: string;
      if (scope === 'tenant') id = tenant(v.id, `${field}.id`);
      else if (isDomain(v.id)) id = v.id;
      else throw invalid(`${field}.id`, `must be one of ${DOMAINS.join(', ')} for a domain pause`);
      const by = text(v.by, `${field}.by`);
      return type === 'pause' ? { type: 'pause', scope, id, by, reason: text(v.reason, `${field}.reason`) } : { type: 'resume', scope, id, by };
    }
    case 'canary':
      if (typeof v.suspended !== 'boolean') throw invalid(`${field}.suspended`, 'must be a boolean');
      return { type: 'canary', tenant_id: tenant(v.tenant_id, `${field}.tenant_id`), suspended: v.suspended, by: text(v.by, `${field}.by`), reason: text(v.reason, `${field}.reason`) };
  }
}

function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V | undefined): ReadonlyMap<K, V> {
  const next = new Map(map);
  if (value === undefined) next.delete(key);
  else next.set(key, value);
  return next;
}

/**
 * The state after `event` (pure: `state` is not changed). A lockdown of a tenant that is locked already
 * keeps the first lock (its `by`, reason and count), as the policy engine does; a freeze of a frozen
 * tenant replaces the reason, as the quota does.
 */
export function nextControlState(state: ControlState, event: ControlEvent): ControlState {
  switch (event.type) {
    case 'lockdown':
      if (state.locked.has(event.tenant_id)) return state;
      return { ...state, locked: withEntry(state.locked, event.tenant_id, { by: event.by, reason: event.reason, violations: event.violations }) };
    case 'unlock':
      return state.locked.has(event.tenant_id) ? { ...state, locked: withEntry(state.locked, event.tenant_id, undefined) } : state;
    case 'freeze':
      return { ...state, frozen: withEntry(state.frozen, event.tenant_id, { source: event.source, reason: event.reason }) };
    case 'unfreeze':
      return state.frozen.has(event.tenant_id) ? { ...state, frozen: withEntry(state.frozen, event.tenant_id, undefined) } : state;
    case 'envelope':
      return { ...state, envelopes: withEntry(state.envelopes, event.tenant_id, event.envelope) };
    case 'mode':
      return { ...state, mode: event.mode };
    case 'pause':
    case 'resume': {
      const entry = event.type === 'pause' ? { by: event.by, reason: event.reason } : undefined;
      if (event.scope === 'tenant') return { ...state, paused: { ...state.paused, tenants: withEntry(state.paused.tenants, event.id, entry) } };
      return { ...state, paused: { ...state.paused, domains: withEntry(state.paused.domains, event.id as Domain, entry) } };
    }
    case 'canary':
      return { ...state, canarySuspended: withEntry(state.canarySuspended, event.tenant_id, event.suspended ? { by: event.by, reason: event.reason } : undefined) };
  }
}

/**
 * Folds control events, oldest first, into the state they leave in force.
 * @example controlState([{ type: 'freeze', tenant_id: 'acme', source: 'OVERRUN', reason: 'OVERRUN' }]).frozen.get('acme')
 */
export function controlState(events: Iterable<ControlEvent>, initial: ControlState = INITIAL_CONTROL_STATE): ControlState {
  // One private copy of each map, changed in place: folding a long log stays linear.
  const frozen = new Map(initial.frozen);
  const locked = new Map(initial.locked);
  const envelopes = new Map(initial.envelopes);
  const pausedTenants = new Map(initial.paused.tenants);
  const pausedDomains = new Map(initial.paused.domains);
  const canary = new Map(initial.canarySuspended);
  let mode = initial.mode;
  for (const e of events) {
    switch (e.type) {
      case 'lockdown':
        if (!locked.has(e.tenant_id)) locked.set(e.tenant_id, { by: e.by, reason: e.reason, violations: e.violations });
        break;
      case 'unlock':
        locked.delete(e.tenant_id);
        break;
      case 'freeze':
        frozen.set(e.tenant_id, { source: e.source, reason: e.reason });
        break;
      case 'unfreeze':
        frozen.delete(e.tenant_id);
        break;
      case 'envelope':
        envelopes.set(e.tenant_id, e.envelope);
        break;
      case 'mode':
        mode = e.mode;
        break;
      case 'pause':
        if (e.scope === 'tenant') pausedTenants.set(e.id, { by: e.by, reason: e.reason });
        else pausedDomains.set(e.id as Domain, { by: e.by, reason: e.reason });
        break;
      case 'resume':
        if (e.scope === 'tenant') pausedTenants.delete(e.id);
        else pausedDomains.delete(e.id as Domain);
        break;
      case 'canary':
        if (e.suspended) canary.set(e.tenant_id, { by: e.by, reason: e.reason });
        else canary.delete(e.tenant_id);
        break;
    }
  }
  return { mode, frozen, locked, envelopes, paused: { tenants: pausedTenants, domains: pausedDomains }, canarySuspended: canary };
}

/** The tenant a control event concerns, or undefined for a node-wide one (a mode switch, a domain pause). */
export function controlEventTenant(event: ControlEvent): string | undefined {
  if (event.type === 'mode') return undefined;
  if (event.type === 'pause' || event.type === 'resume') return event.scope === 'tenant' ? event.id : undefined;
  return event.tenant_id;
}
