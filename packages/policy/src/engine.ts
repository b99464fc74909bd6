// The policy engine (docs/architecture.md, "@tenantry/policy"): `await createPolicyEngine(options?)`,
// then a synchronous `decide(input)` that never throws and fails closed.
//
// decide(input):
//   1. input → JSON text (JSON.stringify). Anything that cannot be serialised (cycles, BigInt, a
//      throwing getter, nesting deeper than the stack) or is larger than maxInputBytes is denied
//      with INVALID_INPUT without reaching the policy.
//   2. the compiled policy evaluates it (compiled-policy.ts): the Rego in policies/ validates the
//      input (INVALID_INPUT, PROTOCOL_VERSION) and returns the contract decision.
//   3. the result is checked (decision.ts): anything but a contract decision, or any error during
//      evaluation, denies with EVALUATION_ERROR.
//   4. lockdown: a decision with violation = true counts against the principal's tenant and locks it
//      after `lockdownAfter` violations; decisions for a locked tenant deny with TENANT_LOCKED.
//   CROSS_TENANT is always reported, also on the fail-closed paths: when both tenant ids can be read
//   as strings and differ, the denial carries CROSS_TENANT and violation = true.
//
// Events (node:events): 'violation', 'lockdown', 'unlock', 'data', 'swap'. A listener that throws
// does not change the decision: the error is re-emitted as 'listenerError' (or a process warning).
// Hot swap: loadBundle() verifies and instantiates the new bundle with the current data beside the
// old one and switches between two decisions, so no decision fails or waits during a swap; every
// decision carries the revision that made it.
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tenantIdProblem } from '@tenantry/core';
import { readBundle, type BundleVerificationOptions, type PolicyBundle } from './bundle.js';
import { CompiledPolicy, InputTooLarge } from './compiled-policy.js';
import { _checkData, type PolicyData } from './data.js';
import { PolicyDecision, _checkPolicyDecision, _withReason, type ReasonCode } from './decision.js';
import { PolicyError } from './errors.js';
import { Lockdown, type TenantLock } from './lockdown.js';

/** The entrypoint of the bundled policy (policies/tenantry/main.rego, rule `decision`). */
export const DEFAULT_ENTRYPOINT = 'tenantry/main/decision';
/** Default and largest maxInputBytes. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024;
export const MAX_INPUT_BYTES_LIMIT = 16 * 1024 * 1024;
/** Largest decision cache. */
export const MAX_CACHE_ENTRIES = 1_000_000;

export interface PolicyEngineOptions {
  /**
   * A bundle as `opa build -t wasm` writes it (.tar.gz bytes). Default: the policy bundled with
   * this package (policies/ compiled by `npm run policy:build`).
   */
  bundle?: Uint8Array;
  /** When set, every bundle (this one and any loadBundle) must carry a signature by one of these keys. */
  verification?: BundleVerificationOptions;
  /** The entrypoint to evaluate. Default DEFAULT_ENTRYPOINT. */
  entrypoint?: string;
  /** Initial data (as setData takes). Default: no tenants (every decision is TENANT_UNKNOWN). */
  data?: PolicyData;
  /** Violations by one tenant before it is locked down. Default 1. */
  lockdownAfter?: number;
  /** Largest serialised input in UTF-8 bytes; larger inputs deny with INVALID_INPUT. Default 64 KiB. */
  maxInputBytes?: number;
  /**
   * Entries of an exact-input decision cache (keyed by the input's JSON text, emptied by setData,
   * loadBundle, lock and unlock). Default 0: off.
   */
  cacheEntries?: number;
  /** Milliseconds since the epoch, for lock times. Default Date.now. */
  clock?: () => number;
}

/** Event payloads. */
export interface ViolationEvent {
  tenantId: string;
  targetTenantId: string | undefined;
  action: unknown;
  layer: unknown;
  reasons: string[];
  /** Violations by tenantId so far (since its last unlock). */
  count: number;
  revision: string;
}
export interface LockEvent extends TenantLock {}
export interface UnlockEvent {
  tenantId: string;
  by: string;
  reason: string;
  /** The lock that was lifted. */
  lock: TenantLock;
}
export interface SwapEvent {
  revision: string;
  previousRevision: string;
  signed: boolean;
}
export interface DataEvent {
  tenants: number;
}

export interface PolicyEngineEvents {
  violation: [ViolationEvent];
  lockdown: [LockEvent];
  unlock: [UnlockEvent];
  swap: [SwapEvent];
  data: [DataEvent];
  listenerError: [unknown];
}

export interface PolicyEngineStats {
  decisions: number;
  allowed: number;
  denied: number;
  violations: number;
  invalidInputs: number;
  evaluationErrors: number;
  cacheHits: number;
  /** Bytes of wasm memory of the instance in use. */
  memoryBytes: number;
}

/**
 * @internal The key of an engine's compiled policy, for the testing entry (testing.ts). Registered
 * (Symbol.for) because that entry is a separate bundle with its own copy of this module.
 */
export const _COMPILED_POLICY: unique symbol = Symbol.for('@tenantry/policy:compiled-policy') as never;

/** The result set of an allow, as OPA writes it (keys sorted, no spaces), and its decision. */
const ALLOW_RESULT = '[{"result":{"allow":true,"reasons":[],"violation":false}}]';
const ALLOWED: { allow: boolean; reasons: string[]; violation: boolean } = Object.freeze({ allow: true, reasons: Object.freeze([]) as unknown as string[], violation: false });

function optionError(field: string, message: string): PolicyError {
  return new PolicyError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

function checkCount(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw optionError(field, `must be an integer from ${min} to ${max}, got ${String(v)}`);
  return v;
}

function checkLabel(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw optionError(field, 'must be a string of 1..256 characters');
  return v;
}

/** Core's tenant id rule (docs/architecture.md, "The tenant id"), as a PolicyError INVALID_ARGUMENT. */
function checkTenant(v: unknown, field: string): string {
  const problem = tenantIdProblem(v);
  if (problem !== undefined) throw optionError(field, problem);
  return v as string;
}

/** Both tenant ids of an input, when they can be read as strings (never throws). */
function tenantsOf(input: unknown): { principal: string | undefined; resource: string | undefined } {
  try {
    if (typeof input !== 'object' || input === null) return { principal: undefined, resource: undefined };
    const i = input as { principal?: { tenant_id?: unknown }; resource?: { tenant_id?: unknown } };
    const p = typeof i.principal === 'object' && i.principal !== null ? i.principal.tenant_id : undefined;
    const r = typeof i.resource === 'object' && i.resource !== null ? i.resource.tenant_id : undefined;
    return { principal: typeof p === 'string' ? p : undefined, resource: typeof r === 'string' ? r : undefined };
  } catch {
    return { principal: undefined, resource: undefined };
  }
}

/** JSON.parse that gives undefined instead of throwing (the text is JSON.stringify's, so it parses). */
function parseOrUndefined(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** One field of the input for an event, read without throwing. */
function fieldOf(input: unknown, a: string, b?: string): unknown {
  try {
    let v = (input as Record<string, unknown>)[a];
    if (b !== undefined) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[b] : undefined;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Loaded {
  policy: CompiledPolicy;
  revision: string;
  signed: boolean;
}

async function defaultBundle(): Promise<Uint8Array> {
  const file = fileURLToPath(new URL('../bundle/policy.tar.gz', import.meta.url));
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    throw new PolicyError('POLICY_LOAD_FAILED', `bundle: the bundled policy ${file} cannot be read: ${(e as Error).message}`, { field: 'bundle', cause: e });
  }
}

/**
 * The engine. Create with createPolicyEngine; decide() is synchronous from then on.
 */
export class PolicyEngine extends EventEmitter<PolicyEngineEvents> {
  readonly #entrypoint: string;
  readonly #verification: BundleVerificationOptions | undefined;
  readonly #maxInputBytes: number;
  readonly #cacheEntries: number;
  readonly #clock: () => number;
  readonly #lockdown: Lockdown;
  readonly #cache = new Map<string, { allow: boolean; reasons: string[]; violation: boolean }>();
  #loaded: Loaded;
  #dataJson: string;
  #closed = false;
  #swapping: Promise<unknown> = Promise.resolve();
  readonly #stats = { decisions: 0, allowed: 0, denied: 0, violations: 0, invalidInputs: 0, evaluationErrors: 0, cacheHits: 0 };

  /** @internal use createPolicyEngine */
  constructor(internal: {
    loaded: Loaded; entrypoint: string; verification: BundleVerificationOptions | undefined; maxInputBytes: number;
    cacheEntries: number; clock: () => number; lockdownAfter: number; dataJson: string;
  }) {
    super();
    this.#loaded = internal.loaded;
    this.#entrypoint = internal.entrypoint;
    this.#verification = internal.verification;
    this.#maxInputBytes = internal.maxInputBytes;
    this.#cacheEntries = internal.cacheEntries;
    this.#clock = internal.clock;
    this.#lockdown = new Lockdown(internal.lockdownAfter);
    this.#dataJson = internal.dataJson;
  }

  /** The revision of the bundle deciding now ('' when its manifest has none). */
  get revision(): string {
    return this.#loaded.revision;
  }

  /** Whether the bundle deciding now had its signature verified. */
  get signed(): boolean {
    return this.#loaded.signed;
  }

  /**
   * Decides. Never throws: input that cannot be evaluated denies with INVALID_INPUT, a failure
   * inside the evaluation with EVALUATION_ERROR (fail closed), and after close() every decision
   * denies with EVALUATION_ERROR.
   */
  decide(input: unknown): PolicyDecision {
    this.#stats.decisions++;
    const loaded = this.#loaded;
    let json: string | undefined;
    try {
      json = JSON.stringify(input);
    } catch {
      json = undefined;
    }
    if (json === undefined || this.#closed) {
      return this.#finish(input, undefined, { allow: false, reasons: [this.#closed ? 'EVALUATION_ERROR' : 'INVALID_INPUT'], violation: false }, loaded.revision);
    }
    if (this.#cacheEntries > 0) {
      const hit = this.#cache.get(json);
      if (hit !== undefined) {
        this.#stats.cacheHits++;
        return this.#finish(input, json, hit, loaded.revision, true);
      }
    }
    let decided: { allow: boolean; reasons: string[]; violation: boolean } | undefined;
    try {
      const text = loaded.policy.evaluateText(json);
      if (text === ALLOW_RESULT) {
        // The most common answer, recognised by its exact text (what the contract policy writes for an
        // allow), which saves parsing and checking it.
        decided = ALLOWED;
      } else {
        const rs: unknown = JSON.parse(text);
        decided = Array.isArray(rs) && rs.length === 1 ? _checkPolicyDecision((rs[0] as { result?: unknown }).result) : undefined;
      }
      decided ??= { allow: false, reasons: ['EVALUATION_ERROR'], violation: false };
    } catch (e) {
      decided = { allow: false, reasons: [e instanceof InputTooLarge ? 'INVALID_INPUT' : 'EVALUATION_ERROR'], violation: false };
    }
    if (this.#cacheEntries > 0) {
      if (this.#cache.size >= this.#cacheEntries) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(json, decided);
    }
    return this.#finish(input, json, decided, loaded.revision);
  }

  /**
   * Cross-tenant on fail-closed paths, lockdown, counters and events; returns a fresh decision.
   * `json` is the text the policy evaluated (undefined when the input could not be serialised): the
   * tenant ids for lockdown are read from it, so that they are the ids the policy judged, whatever a
   * getter on the caller's object would answer when read again.
   */
  #finish(input: unknown, json: string | undefined, d: { allow: boolean; reasons: string[]; violation: boolean }, revision: string, cached = false): PolicyDecision {
    let reasons = d.reasons;
    let violation = d.violation;
    const failed = reasons.length === 1 && (reasons[0] === 'INVALID_INPUT' || reasons[0] === 'EVALUATION_ERROR');
    let tenants: { principal: string | undefined; resource: string | undefined } | undefined;
    // The input as the policy saw it, read only when needed (violations, locks, fail-closed paths).
    let seen: unknown;
    const view = (): unknown => (seen ??= json === undefined ? input : parseOrUndefined(json));
    if (failed) {
      tenants = tenantsOf(view());
      if (tenants.principal !== undefined && tenants.resource !== undefined && tenants.principal !== tenants.resource) {
        reasons = _withReason(reasons, 'CROSS_TENANT');
        violation = true;
      }
    }
    if (!d.allow) {
      if (reasons.includes('INVALID_INPUT')) this.#stats.invalidInputs++;
      else if (reasons.includes('EVALUATION_ERROR')) this.#stats.evaluationErrors++;
    }
    if (violation || this.#lockdown.anyLocked()) {
      tenants ??= tenantsOf(view());
      const principal = tenants.principal;
      if (principal !== undefined) {
        if (this.#lockdown.isLocked(principal)) reasons = _withReason(reasons, 'TENANT_LOCKED');
        if (violation) this.#violation(view(), principal, tenants.resource, reasons, revision);
      }
    }
    const allow = reasons.length === 0;
    this.#stats[allow ? 'allowed' : 'denied']++;
    // A cached decision's reasons are shared: hand out a copy.
    return new PolicyDecision(allow, cached || reasons === d.reasons ? reasons.slice() : reasons, violation, revision);
  }

  #violation(input: unknown, tenantId: string, target: string | undefined, reasons: string[], revision: string): void {
    this.#stats.violations++;
    const { count, lock } = this.#lockdown.countViolation(tenantId, this.#clock());
    this.#emitSafely('violation', { tenantId, targetTenantId: target, action: fieldOf(input, 'action'), layer: fieldOf(input, 'resource', 'layer'), reasons: reasons.slice(), count, revision });
    if (lock !== undefined) {
      this.#cache.clear();
      this.#emitSafely('lockdown', { ...lock });
    }
  }

  #emitSafely<K extends keyof PolicyEngineEvents>(event: K, ...args: PolicyEngineEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: PolicyEngineEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      if (event !== 'listenerError' && this.listenerCount('listenerError') > 0) this.#emitSafely('listenerError', e);
      else process.emitWarning(`@tenantry/policy: a '${String(event)}' listener threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /**
   * Replaces the data document. Validated completely first; on any error nothing changes.
   * @throws PolicyError INVALID_DATA naming the field; ENGINE_CLOSED.
   */
  setData(data: PolicyData): void {
    this.#checkOpen();
    const checked = _checkData(data);
    const json = JSON.stringify(checked);
    this.#loaded.policy.setData(json);
    this.#dataJson = json;
    this.#cache.clear();
    this.#emitSafely('data', { tenants: Object.keys(checked.tenants).length });
  }

  /** A copy of the data document in use. */
  getData(): PolicyData {
    return JSON.parse(this.#dataJson) as PolicyData;
  }

  /**
   * Verifies (when the engine has `verification`) and instantiates a new bundle with the current
   * data, then switches to it between two decisions. Swaps run one at a time, in call order.
   * @throws PolicyError BUNDLE_* from verification, POLICY_LOAD_FAILED; the old bundle stays.
   */
  loadBundle(bundle: Uint8Array): Promise<{ revision: string; previousRevision: string }> {
    const run = this.#swapping.then(async () => {
      this.#checkOpen();
      const loaded = await loadCompiled(bundle, this.#verification, this.#entrypoint, this.#maxInputBytes, 'bundle');
      loaded.policy.setData(this.#dataJson);
      this.#checkOpen();
      const previousRevision = this.#loaded.revision;
      this.#loaded = loaded;
      this.#cache.clear();
      this.#emitSafely('swap', { revision: loaded.revision, previousRevision, signed: loaded.signed });
      return { revision: loaded.revision, previousRevision };
    });
    this.#swapping = run.catch(() => undefined);
    return run;
  }

  /** Whether `tenantId` is locked down, and the lock. */
  lockOf(tenantId: string): TenantLock | undefined {
    const l = this.#lockdown.get(tenantId);
    return l === undefined ? undefined : { ...l };
  }

  /** Every lock in force. */
  locks(): TenantLock[] {
    return this.#lockdown.list();
  }

  /** Violations counted for `tenantId` since its last unlock. */
  violations(tenantId: string): number {
    return this.#lockdown.violations(tenantId);
  }

  /**
   * Locks a tenant by hand (an operator's emergency stop). Emits 'lockdown'. Returns false when it
   * was locked already.
   * @throws PolicyError INVALID_ARGUMENT (tenantId, by, reason); ENGINE_CLOSED.
   */
  lock(tenantId: string, by: { by: string; reason: string }): boolean {
    this.#checkOpen();
    checkTenant(tenantId, 'tenantId');
    const { who, why } = this.#checkActor(by);
    const lock = this.#lockdown.lock(tenantId, who, why, this.#clock());
    if (lock === undefined) return false;
    this.#cache.clear();
    this.#emitSafely('lockdown', { ...lock });
    return true;
  }

  /**
   * Lifts a tenant's lockdown and resets its violation count. Explicit and evented: `by` and
   * `reason` are required and reach the 'unlock' event (for the audit log).
   * @throws PolicyError NOT_LOCKED (tenantId) when it is not locked; INVALID_ARGUMENT; ENGINE_CLOSED.
   */
  unlock(tenantId: string, by: { by: string; reason: string }): TenantLock {
    this.#checkOpen();
    checkTenant(tenantId, 'tenantId');
    const { who, why } = this.#checkActor(by);
    const lock = this.#lockdown.unlock(tenantId);
    if (lock === undefined) throw new PolicyError('NOT_LOCKED', `tenantId ${JSON.stringify(tenantId)} is not locked`, { field: 'tenantId' });
    this.#cache.clear();
    this.#emitSafely('unlock', { tenantId, by: who, reason: why, lock: { ...lock } });
    return { ...lock };
  }

  #checkActor(v: unknown): { who: string; why: string } {
    if (typeof v !== 'object' || v === null) throw optionError('options', 'must be an object { by, reason }');
    const o = v as { by?: unknown; reason?: unknown };
    return { who: checkLabel(o.by, 'options.by'), why: checkLabel(o.reason, 'options.reason') };
  }

  stats(): PolicyEngineStats {
    return { ...this.#stats, memoryBytes: this.#loaded.policy.memoryBytes() };
  }

  /** Stops the engine: later decisions deny with EVALUATION_ERROR; later calls fail with ENGINE_CLOSED. */
  close(): void {
    this.#closed = true;
    this.#cache.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new PolicyError('ENGINE_CLOSED', 'the policy engine is closed');
  }

  /** @internal the compiled policy in use (the testing entry compares the SDK's evaluate on it). */
  get [_COMPILED_POLICY](): CompiledPolicy {
    return this.#loaded.policy;
  }
}

async function loadCompiled(bytes: Uint8Array, verification: BundleVerificationOptions | undefined, entrypoint: string, maxInputBytes: number, field: string): Promise<Loaded> {
  if (!(bytes instanceof Uint8Array)) throw optionError(field, 'must be the bytes of a bundle (.tar.gz) as a Uint8Array');
  const bundle: PolicyBundle = await readBundle(bytes, verification === undefined ? {} : { verification });
  const policy = await CompiledPolicy.load(bundle.wasm, entrypoint, maxInputBytes);
  return { policy, revision: bundle.revision, signed: bundle.signed };
}

/**
 * Loads a policy engine: the bundled policy unless `options.bundle` is given, verified when
 * `options.verification` is, with `options.data` loaded.
 * @throws PolicyError INVALID_ARGUMENT (the option at fault), INVALID_DATA, BUNDLE_*, POLICY_LOAD_FAILED.
 * @example
 * const engine = await createPolicyEngine({ data: { tenants: { acme: { status: 'active', regions: ['eu'], egress_allow: [] } } } });
 * engine.decide(input) // { allow, reasons, violation }
 */
export async function createPolicyEngine(options: PolicyEngineOptions = {}): Promise<PolicyEngine> {
  if (typeof options !== 'object' || options === null) throw optionError('options', 'must be an object');
  const known = ['bundle', 'verification', 'entrypoint', 'data', 'lockdownAfter', 'maxInputBytes', 'cacheEntries', 'clock'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw optionError(`options.${key}`, 'is not an option of createPolicyEngine');
  const entrypoint = options.entrypoint === undefined ? DEFAULT_ENTRYPOINT : checkLabel(options.entrypoint, 'options.entrypoint');
  const lockdownAfter = options.lockdownAfter === undefined ? 1 : checkCount(options.lockdownAfter, 'options.lockdownAfter', 1, 1_000_000);
  const maxInputBytes = options.maxInputBytes === undefined ? DEFAULT_MAX_INPUT_BYTES : checkCount(options.maxInputBytes, 'options.maxInputBytes', 256, MAX_INPUT_BYTES_LIMIT);
  const cacheEntries = options.cacheEntries === undefined ? 0 : checkCount(options.cacheEntries, 'options.cacheEntries', 0, MAX_CACHE_ENTRIES);
  if (options.clock !== undefined && typeof options.clock !== 'function') throw optionError('options.clock', 'must be a function returning milliseconds');
  const clock = options.clock ?? Date.now;
  const data = _checkData(options.data ?? { tenants: {} });
  const dataJson = JSON.stringify(data);
  const bytes = options.bundle ?? (await defaultBundle());
  const loaded = await loadCompiled(bytes, options.verification, entrypoint, maxInputBytes, 'options.bundle');
  loaded.policy.setData(dataJson);
  return new PolicyEngine({ loaded, entrypoint, verification: options.verification, maxInputBytes, cacheEntries, clock, lockdownAfter, dataJson });
}

export type { ReasonCode };
