// The request path of DESIGN.md, independent of any HTTP framework (fastify.ts maps it to routes):
//
//   authenticate (Bearer key → tenant) → policy.decide → quota.reserve(estimate) → upstream → quota.settle(actual)
//   → audit.append → receipt
//
// Every decision, denial and charge is an audit entry of the tenant's log (kinds `invoke`, `policy.deny`,
// `quota.deny`, `admin.*`), appended before the answer leaves: a receipt that was returned is durable.
// Answers are { status, body, headers? }: 200 with a receipt, 400 / 401 / 403 / 404 / 429 with
// { code, message, … }. A request can never cause a 5xx through its content; a quota store that cannot be
// reached denies (429, reason STORE_UNAVAILABLE: fail closed) and a failing upstream answers 502.
import type { AuditLedger, JsonObject } from '@tenantry/audit';
import type { PolicyEngine } from '@tenantry/policy';
import { isQuotaError, type Quota } from '@tenantry/quota';
import { GatewayError } from './errors.js';
import { GatewayMetrics } from './metrics.js';
import { checkTenantsFile, TenantDirectory, type TenantRecord, type TenantsFile } from './tenants.js';
import { mockModel, type Upstream } from './upstream.js';

export interface GatewayOptions {
  /** The tenants file (parsed JSON; checked here). */
  tenants: unknown;
  ledger: AuditLedger;
  quota: Quota;
  policy: PolicyEngine;
  /** Default: mockModel(). */
  upstream?: Upstream;
}

export interface GatewayReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const MODES = ['NORMAL', 'CONSERVATIVE', 'AUDIT', 'INCIDENT', 'RED_TEAM'] as const;
export type Mode = (typeof MODES)[number];

const INVOKE_FIELDS: ReadonlySet<string> = new Set(['action', 'resource', 'estimated_usd', 'experiment_id']);
/**
 * The gateway's own principal for governed operations (the mode switch): a tenant id no tenants file may
 * use, known to the policy as an active tenant with one region, and the audit log where mode switches go.
 */
export const CONTROL_PLANE = '_control_plane';
const MAX_ESTIMATE_USD = 1_000_000;

function reply(status: number, code: string, message: string, extra: Record<string, unknown> = {}): GatewayReply {
  return { status, body: { code, message, ...extra } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const UNAUTHENTICATED = (): GatewayReply => ({
  ...reply(401, 'UNAUTHENTICATED', 'an Authorization: Bearer <api key> header with a known key is required'),
  headers: { 'www-authenticate': 'Bearer' },
});

/** The composed request path: one per process, shared by every request. */
export class Gateway {
  readonly tenants: TenantDirectory;
  readonly ledger: AuditLedger;
  readonly quota: Quota;
  readonly policy: PolicyEngine;
  readonly metrics: GatewayMetrics;
  readonly #upstream: Upstream;
  #mode: Mode = 'NORMAL';

  private constructor(tenants: TenantDirectory, o: GatewayOptions) {
    this.tenants = tenants;
    this.ledger = o.ledger;
    this.quota = o.quota;
    this.policy = o.policy;
    this.#upstream = o.upstream ?? mockModel();
    this.metrics = new GatewayMetrics(() => tenants.file.tenants.map((t) => [t.tenant_id, o.ledger.log.size(t.tenant_id)]));
    // The quota's cost defense (when it has one) decides too: its alerts and limiter actions are audit
    // entries of the tenant (`defense.<type>`, with the numbers that triggered them) and counted.
    this.#unsubscribe = o.quota.on((e) => {
      if (e.type === 'overrun' || e.type === 'fail_open' || e.type === 'defense_error' || this.tenants.tenant(e.tenant_id) === undefined) return;
      this.metrics.defenseEvents.inc({ type: e.type });
      const { tenant_id: tenantId, ...numbers } = e;
      void this.#audit(tenantId, `defense.${e.type}`, JSON.parse(JSON.stringify(numbers)) as JsonObject).catch(() => {});
    });
  }

  readonly #unsubscribe: () => void;

  /** Appends an audit entry (resolves once durable), counted by kind. */
  async #audit(tenantId: string, kind: string, payload: JsonObject) {
    const r = await this.metrics.time('audit', () => this.ledger.append(tenantId, { kind, payload }));
    this.metrics.auditEntries.inc({ kind });
    return r;
  }

  /**
   * Checks the tenants file, loads the tenants into the policy engine's data and their envelopes into
   * the quota.
   * @throws GatewayError INVALID_TENANTS naming the field, INVALID_ARGUMENT for a missing part.
   */
  static async create(o: GatewayOptions): Promise<Gateway> {
    if (!isObject(o)) throw new GatewayError('INVALID_ARGUMENT', 'options must be an object { tenants, ledger, quota, policy }', 'options');
    for (const part of ['ledger', 'quota', 'policy'] as const) {
      if (!isObject(o[part])) throw new GatewayError('INVALID_ARGUMENT', `options.${part} is required`, `options.${part}`);
    }
    if (o.upstream !== undefined && typeof o.upstream !== 'function') throw new GatewayError('INVALID_ARGUMENT', 'options.upstream must be a function', 'options.upstream');
    const file: TenantsFile = checkTenantsFile(o.tenants);
    if (file.tenants.some((t) => t.tenant_id === CONTROL_PLANE)) {
      throw new GatewayError('INVALID_TENANTS', `tenants: the id ${CONTROL_PLANE} is the gateway's own`, 'tenants');
    }
    const tenants = new TenantDirectory(file);
    const data = tenants.policyData();
    data.tenants[CONTROL_PLANE] = { status: 'active', regions: ['global'], egress_allow: [] };
    o.policy.setData(data);
    for (const t of file.tenants) await o.quota.setEnvelope(t.envelope);
    const gateway = new Gateway(tenants, o);
    await gateway.#replayControlPlane();
    // From now on, a lockdown the policy engine decides is control-plane state too.
    gateway.#onLockdown = (lock: { tenantId: string; by: string; reason: string; violations: number }) => {
      if (gateway.tenants.tenant(lock.tenantId) === undefined) return;
      void gateway.#audit(CONTROL_PLANE, 'policy.lockdown', { tenant_id: lock.tenantId, by: lock.by, reason: lock.reason, violations: lock.violations }).catch(() => {});
    };
    o.policy.on('lockdown', gateway.#onLockdown);
    return gateway;
  }

  #onLockdown: ((lock: { tenantId: string; by: string; reason: string; violations: number }) => void) | null = null;

  /**
   * Restores what operators and the policy decided before a restart, from the control plane's audit log
   * (a short log: admin actions and lockdowns only): the mode, envelopes set through the admin route (they
   * win over the tenants file), freezes, and lockdowns not lifted. So a restart never unlocks a tenant that
   * reached into another, nor unfreezes one.
   */
  async #replayControlPlane(): Promise<void> {
    const envelopes = new Map<string, JsonObject>();
    const frozen = new Map<string, string | null>();
    const locked = new Map<string, { by: string; reason: string } | null>();
    const log = this.ledger.log;
    for (let i = 0; i < log.size(CONTROL_PLANE); i++) {
      const { entry } = await log.entry(CONTROL_PLANE, i);
      const p = entry.payload as Record<string, unknown>;
      const tenantId = typeof p.tenant_id === 'string' ? p.tenant_id : '';
      if (entry.kind === 'admin.mode') this.#mode = p.to as Mode;
      else if (entry.kind === 'admin.envelope') envelopes.set(tenantId, p.envelope as JsonObject);
      else if (entry.kind === 'admin.freeze') frozen.set(tenantId, p.reason as string);
      else if (entry.kind === 'admin.unfreeze') frozen.set(tenantId, null);
      else if (entry.kind === 'policy.lockdown') locked.set(tenantId, { by: p.by as string, reason: p.reason as string });
      else if (entry.kind === 'admin.unlock') locked.set(tenantId, null);
    }
    for (const [tenantId, env] of envelopes) if (this.tenants.tenant(tenantId)) await this.quota.setEnvelope(env as never);
    for (const [tenantId, reason] of frozen) {
      if (!this.tenants.tenant(tenantId)) continue;
      if (reason === null) await this.quota.unfreeze(tenantId);
      else await this.quota.freeze(tenantId, reason);
    }
    for (const [tenantId, lock] of locked) if (lock !== null && this.tenants.tenant(tenantId)) this.policy.lock(tenantId, lock);
  }

  get mode(): Mode {
    return this.#mode;
  }

  /** POST /v1/invoke. */
  async invoke(authorization: unknown, body: unknown): Promise<GatewayReply> {
    const caller = this.tenants.caller(authorization);
    if (caller === null || caller.kind !== 'tenant') return UNAUTHENTICATED();
    const tenant = caller.tenant;
    const bad = this.#checkInvoke(body);
    if (bad !== null) return bad;
    const b = body as { action: string; resource: JsonObject; estimated_usd: number; experiment_id?: string };

    const m = this.metrics;
    const t0 = performance.now();
    const decision = this.policy.decide({
      protocol_version: '1.0',
      principal: { tenant_id: tenant.tenant_id, ...tenant.principal },
      action: b.action,
      resource: b.resource,
      context: { mode: this.#mode },
    });
    m.stageOf('policy').observe((performance.now() - t0) / 1000);
    if (decision.allow) m.decisions.inc({ allow: 'true', reason: '' });
    else for (const reason of decision.reasons) m.decisions.inc({ allow: 'false', reason });
    if (!decision.allow) {
      await this.#audit(tenant.tenant_id, 'policy.deny', { action: b.action, resource: b.resource, reasons: [...decision.reasons] });
      return reply(403, 'POLICY_DENIED', `denied by policy: ${decision.reasons.join(', ')}`, { reasons: decision.reasons });
    }

    const domain = b.resource.domain;
    let reservation;
    try {
      reservation = await m.time('quota_reserve', () => this.quota.reserve({
        tenant_id: tenant.tenant_id, usd: b.estimated_usd,
        ...(domain === 'LAB' || domain === 'SHADOW' || domain === 'PROD' ? { domain } : {}),
        ...(b.experiment_id === undefined ? {} : { experiment_id: b.experiment_id }),
      }));
    } catch (e) {
      if (isQuotaError(e)) return reply(400, 'INVALID_REQUEST', e.message, { field: e.field });
      throw e;
    }
    if (!reservation.ok) {
      const retryAfterMs = reservation.retry_after_ms ?? 1000;
      m.quotaDenials.inc({ reason: reservation.reason });
      await this.#audit(tenant.tenant_id, 'quota.deny', { action: b.action, estimated_usd: b.estimated_usd, reason: reservation.reason });
      // Every quota denial is the DESIGN.md contract's 429 QUOTA_DENIED; a store that cannot be reached
      // denies too (fail closed), with reason STORE_UNAVAILABLE.
      const r = reply(429, 'QUOTA_DENIED', `denied by quota: ${reservation.reason}`, { reason: reservation.reason });
      return { ...r, headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
    }

    let result;
    try {
      result = await m.time('upstream', () => this.#upstream({ tenant_id: tenant.tenant_id, action: b.action, resource: b.resource, estimated_usd: b.estimated_usd }));
    } catch (e) {
      await this.quota.release(reservation.id);
      return reply(502, 'UPSTREAM_FAILED', `the upstream call failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The call happened: its cost is charged even when the quota's store cannot take the settlement now
    // (settle is idempotent by reservation id, so it is retried in the background until it lands).
    let settle: string;
    try {
      settle = (await m.time('quota_settle', () => this.quota.settle(reservation.id, result.usd))).status;
    } catch (e) {
      if (!isQuotaError(e) || e.code !== 'STORE_UNAVAILABLE') throw e;
      settle = 'pending';
      this.#retrySettle(tenant.tenant_id, reservation.id, result.usd);
    }
    m.spend.inc({ tenant: tenant.tenant_id }, result.usd);
    const { index, leaf_hash } = await this.#audit(tenant.tenant_id, 'invoke', {
      action: b.action, resource: b.resource, estimated_usd: b.estimated_usd, charged_usd: result.usd, reservation: reservation.id, settle,
    });
    return { status: 200, body: { receipt: { tenant_id: tenant.tenant_id, index, leaf_hash }, charged_usd: result.usd, output: result.output } };
  }

  /** Settlements waiting for the quota's store, by reservation id. */
  readonly #pending = new Map<string, { tenantId: string; usd: number; attempts: number; timer: ReturnType<typeof setTimeout> | null }>();

  /** Settlements not yet taken by the quota's store. */
  get pendingSettlements(): number {
    return this.#pending.size;
  }

  /**
   * Retries a settlement with backoff (0.25 s doubling to 30 s) until the store takes it; after 20 attempts
   * (about 8 minutes, past the quota's default retention) it gives up with a `settle.failed` audit entry.
   */
  #retrySettle(tenantId: string, id: string, usd: number): void {
    const p = { tenantId, usd, attempts: 0, timer: null as ReturnType<typeof setTimeout> | null };
    this.#pending.set(id, p);
    const attempt = (): void => {
      p.timer = null;
      p.attempts++;
      this.quota.settle(id, usd).then(
        () => this.#pending.delete(id),
        () => {
          if (!this.#pending.has(id)) return;
          if (p.attempts >= 20) {
            this.#pending.delete(id);
            void this.#audit(tenantId, 'settle.failed', { reservation: id, charged_usd: usd, attempts: p.attempts }).catch(() => {});
            return;
          }
          p.timer = setTimeout(attempt, Math.min(30_000, 250 * 2 ** (p.attempts - 1)));
          p.timer.unref();
        },
      );
    };
    p.timer = setTimeout(attempt, 250);
    p.timer.unref();
  }

  #checkInvoke(body: unknown): GatewayReply | null {
    const bad = (field: string, message: string): GatewayReply => reply(400, 'INVALID_REQUEST', `${field} ${message}`, { field });
    if (!isObject(body)) return bad('body', 'must be a JSON object { action, resource, estimated_usd, experiment_id? }');
    for (const k of Object.keys(body)) if (!INVOKE_FIELDS.has(k)) return bad(k, 'is not a field of an invoke request');
    if (typeof body.action !== 'string' || body.action.length === 0) return bad('action', 'must be a non-empty string');
    if (!isObject(body.resource)) return bad('resource', 'must be an object (the policy resource)');
    const usd = body.estimated_usd;
    if (typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0 || usd > MAX_ESTIMATE_USD) return bad('estimated_usd', `must be a number of USD from 0 to ${MAX_ESTIMATE_USD}`);
    if (body.experiment_id !== undefined && (typeof body.experiment_id !== 'string' || body.experiment_id.length === 0)) return bad('experiment_id', 'must be a non-empty string');
    return null;
  }

  /** GET /v1/tenants/:tenant/audit/:index — the tenant's own key only. */
  async auditEntry(authorization: unknown, tenantId: string, indexText: string): Promise<GatewayReply> {
    const caller = this.tenants.caller(authorization);
    if (caller === null) return UNAUTHENTICATED();
    if (caller.kind !== 'tenant' || caller.tenant.tenant_id !== tenantId) {
      return reply(403, 'FORBIDDEN', 'a tenant reads only its own audit log, with its own key');
    }
    if (!/^(0|[1-9][0-9]{0,14})$/.test(indexText)) return reply(400, 'INVALID_REQUEST', 'index must be a non-negative integer', { field: 'index' });
    const index = Number(indexText);
    const size = this.ledger.log.size(tenantId);
    if (index >= size) return reply(404, 'NOT_FOUND', `tenant ${tenantId} has ${size} audit entries`);
    const { entry } = await this.ledger.log.entry(tenantId, index);
    const receipt = await this.ledger.receipt(tenantId, index);
    return { status: 200, body: { entry, receipt, verifier_keys: [this.ledger.verifierKey] } };
  }

  /** GET /v1/audit/checkpoint — the latest signed checkpoint note (one is made when there is none). */
  async checkpoint(): Promise<GatewayReply> {
    const cp = this.ledger.latestCheckpoint ?? (await this.ledger.checkpoint());
    return { status: 200, body: cp.note, headers: { 'content-type': 'text/plain; charset=utf-8' } };
  }

  #admin(authorization: unknown): GatewayReply | null {
    const caller = this.tenants.caller(authorization);
    if (caller === null) return UNAUTHENTICATED();
    return caller.kind === 'admin' ? null : reply(403, 'FORBIDDEN', 'this needs the admin key');
  }

  #known(tenantId: string): TenantRecord | GatewayReply {
    return this.tenants.tenant(tenantId) ?? reply(404, 'NOT_FOUND', `no tenant ${JSON.stringify(tenantId)}`);
  }

  /** PUT /v1/admin/tenants/:tenant/envelope. */
  async setEnvelope(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    if (!isObject(body) || body.tenant_id !== tenantId) return reply(400, 'INVALID_REQUEST', 'the body must be a budget envelope of this tenant', { field: 'tenant_id' });
    try {
      await this.quota.setEnvelope(body as never);
    } catch (e) {
      if (isQuotaError(e)) return reply(400, 'INVALID_REQUEST', e.message, { field: e.field });
      throw e;
    }
    await this.#audit(tenantId, 'admin.envelope', { envelope: body as JsonObject });
    await this.#audit(CONTROL_PLANE, 'admin.envelope', { tenant_id: tenantId, envelope: body as JsonObject });
    return { status: 200, body: { tenant_id: tenantId, envelope: body } };
  }

  /** POST /v1/admin/tenants/:tenant/freeze and /unfreeze. */
  async freeze(authorization: unknown, tenantId: string, body: unknown, frozen: boolean): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    const reason = isObject(body) && typeof body.reason === 'string' && body.reason.length > 0 ? body.reason : null;
    if (frozen && reason === null) return reply(400, 'INVALID_REQUEST', 'reason must be a non-empty string', { field: 'reason' });
    if (frozen) await this.quota.freeze(tenantId, reason!);
    else await this.quota.unfreeze(tenantId);
    await this.#audit(tenantId, frozen ? 'admin.freeze' : 'admin.unfreeze', { reason });
    await this.#audit(CONTROL_PLANE, frozen ? 'admin.freeze' : 'admin.unfreeze', { tenant_id: tenantId, reason });
    return { status: 200, body: { tenant_id: tenantId, frozen: frozen ? reason : null } };
  }

  /** POST /v1/admin/tenants/:tenant/unlock — lifts a policy lockdown. */
  async unlock(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    if (!isObject(body) || typeof body.by !== 'string' || body.by.length === 0 || typeof body.reason !== 'string' || body.reason.length === 0) {
      return reply(400, 'INVALID_REQUEST', 'the body must be { by, reason } (non-empty strings)', { field: typeof body === 'object' && body !== null && typeof (body as { by?: unknown }).by === 'string' ? 'reason' : 'by' });
    }
    if (this.policy.lockOf(tenantId) === undefined) return reply(409, 'NOT_LOCKED', `tenant ${tenantId} is not locked`);
    const lock = this.policy.unlock(tenantId, { by: body.by, reason: body.reason });
    await this.#audit(tenantId, 'admin.unlock', { by: body.by, reason: body.reason, since: lock.since });
    await this.#audit(CONTROL_PLANE, 'admin.unlock', { tenant_id: tenantId, by: body.by, reason: body.reason });
    return { status: 200, body: { tenant_id: tenantId, unlocked: true } };
  }

  /**
   * POST /v1/admin/mode (admin key): `{ requested_by, target_mode, approvals: [{ principal_id, role }], reason }`.
   * Governed by the policy's switch_mode rule (two distinct approvers with role "approver", the requester not
   * one of them); every attempt, allowed or not, is an entry of the `_control_plane` audit log.
   */
  async setMode(authorization: unknown, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    if (!isObject(body)) return reply(400, 'INVALID_REQUEST', 'body must be { requested_by, target_mode, approvals, reason }', { field: 'body' });
    const { requested_by: by, target_mode: target, approvals, reason: why } = body;
    if (typeof by !== 'string' || by.length === 0) return reply(400, 'INVALID_REQUEST', 'requested_by must be a non-empty string', { field: 'requested_by' });
    if (typeof target !== 'string' || !(MODES as readonly string[]).includes(target)) return reply(400, 'INVALID_REQUEST', `target_mode must be one of ${MODES.join(', ')}`, { field: 'target_mode' });
    if (typeof why !== 'string' || why.length === 0) return reply(400, 'INVALID_REQUEST', 'reason must be a non-empty string', { field: 'reason' });
    if (!Array.isArray(approvals) || approvals.some((a) => !isObject(a) || typeof a.principal_id !== 'string' || a.principal_id.length === 0 || typeof a.role !== 'string' || a.role.length === 0)) {
      return reply(400, 'INVALID_REQUEST', 'approvals must be an array of { principal_id, role } (non-empty strings)', { field: 'approvals' });
    }
    const list = (approvals as Array<{ principal_id: string; role: string }>).map((a) => ({ principal_id: a.principal_id, role: a.role }));
    const decision = this.policy.decide({
      protocol_version: '1.0',
      principal: { tenant_id: CONTROL_PLANE, id: by, roles: ['operator'], clearance: 'restricted', tool_scopes: [] },
      action: 'switch_mode',
      resource: { tenant_id: CONTROL_PLANE, layer: 'control_plane', id: 'mode', classification: 'internal', region: 'global', domain: 'PROD' },
      context: { mode: this.#mode, approvals: list, target_mode: target },
    });
    const from = this.#mode;
    await this.#audit(CONTROL_PLANE, decision.allow ? 'admin.mode' : 'admin.mode.denied', {
      from, to: target, requested_by: by, approvals: list, reason: why, reasons: [...decision.reasons],
    });
    if (!decision.allow) return reply(403, 'POLICY_DENIED', `mode switch denied: ${decision.reasons.join(', ')}`, { reasons: decision.reasons });
    this.#mode = target as Mode;
    return { status: 200, body: { mode: this.#mode, previous: from } };
  }

  /** GET /metrics (Prometheus text format). */
  async metricsReply(): Promise<GatewayReply> {
    const registry = this.metrics.registry;
    return { status: 200, body: await registry.metrics(), headers: { 'content-type': registry.contentType } };
  }

  /** GET /healthz. */
  health(): GatewayReply {
    return { status: 200, body: { status: 'ok', mode: this.#mode, tenants: this.tenants.file.tenants.length } };
  }

  /** Flushes what the audit log holds and closes it (graceful shutdown). */
  async close(): Promise<void> {
    this.#unsubscribe();
    if (this.#onLockdown !== null) this.policy.off('lockdown', this.#onLockdown);
    // One last attempt for settlements still waiting on the store.
    await Promise.all([...this.#pending].map(async ([id, p]) => {
      if (p.timer !== null) clearTimeout(p.timer);
      await this.quota.settle(id, p.usd).then(
        () => this.#pending.delete(id),
        () => this.#audit(p.tenantId, 'settle.failed', { reservation: id, charged_usd: p.usd, attempts: p.attempts + 1 }).catch(() => {}),
      );
    }));
    await this.ledger.close();
    await this.quota.close();
  }
}

