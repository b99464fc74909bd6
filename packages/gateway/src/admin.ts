// The admin routes (admin key): envelope, freeze / unfreeze, unlock and the governed mode switch. Each
// change is a control event, committed through the control plane: durable in the `_control_plane` log
// before it takes effect, so a restart restores it (docs/architecture.md, "Control state"). The tenant's
// own log gets an `admin.*` entry too, so a tenant's history shows what was done to it.
import { controlTextProblem, isMode, isObject, MODES, type ControlEvent } from '@tenantry/core';
import type { AppendResult, JsonObject } from '@tenantry/audit';
import type { PolicyEngine } from '@tenantry/policy';
import { checkEnvelope, isQuotaError } from '@tenantry/quota';
import { CONTROL_PLANE } from './control-log.js';
import type { ControlPlane } from './control-plane.js';
import { isGatewayError } from './errors.js';
import { badRequest, reply, unauthenticated, type GatewayReply } from './reply.js';
import type { TenantDirectory, TenantRecord } from './tenants.js';

export interface AdminDeps {
  tenants: TenantDirectory;
  policy: PolicyEngine;
  control: ControlPlane;
  audit(tenantId: string, kind: string, payload: JsonObject): Promise<AppendResult>;
  /** True when the tenant's own chain is damaged (read-only): its `admin.*` copy is then not written. */
  readOnly(tenantId: string): boolean;
}

export class AdminRoutes {
  readonly #d: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#d = deps;
  }

  #admin(authorization: unknown): GatewayReply | null {
    const caller = this.#d.tenants.caller(authorization);
    if (caller === null) return unauthenticated();
    return caller.kind === 'admin' ? null : reply(403, 'FORBIDDEN', 'this needs the admin key');
  }

/** The 400 for a free-text field that a control event or an entry cannot hold; null when it is fine. */
  #text(v: unknown, field: string): GatewayReply | null {
    const problem = controlTextProblem(v);
    return problem === undefined ? null : badRequest(field, problem);
  }

  #known(tenantId: string): TenantRecord | GatewayReply {
    return this.#d.tenants.tenant(tenantId) ?? reply(404, 'NOT_FOUND', `no tenant ${JSON.stringify(tenantId)}`);
  }

  /**
   * The tenant's own copy of an admin change. The change itself is already durable in the control-plane
   * chain (which is what a restart restores), so a tenant chain that is read-only or cannot take the copy
   * does not undo it; the answer says whether the copy was written.
   */
  async #tenantCopy(tenantId: string, kind: string, payload: JsonObject): Promise<boolean> {
    if (this.#d.readOnly(tenantId)) return false;
    try {
      await this.#d.audit(tenantId, kind, payload);
      return true;
    } catch {
      return false;
    }
  }

  /** Commits `event`; a log that cannot take it answers 503 and nothing changes. */
  async #commit(event: ControlEvent): Promise<GatewayReply | null> {
    try {
      await this.#d.control.commit(event);
      return null;
    } catch (e) {
      if (isGatewayError(e) && e.code === 'CONTROL_LOG_UNAVAILABLE') {
        return { ...reply(503, 'CONTROL_LOG_UNAVAILABLE', `not applied: ${e.message}`), headers: { 'retry-after': '1' } };
      }
      throw e;
    }
  }

  /** PUT /v1/admin/tenants/:tenant/envelope. */
  async setEnvelope(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    if (!isObject(body) || body.tenant_id !== tenantId) return badRequest('tenant_id', 'the body must be a budget envelope of this tenant');
    try {
      checkEnvelope(body);
    } catch (e) {
      if (isQuotaError(e)) return reply(400, 'INVALID_REQUEST', e.message, { field: e.field });
      throw e;
    }
    const failed = await this.#commit({ type: 'envelope', tenant_id: tenantId, envelope: body });
    if (failed !== null) return failed;
    const copied = await this.#tenantCopy(tenantId, 'admin.envelope', { envelope: body as JsonObject });
    return { status: 200, body: { tenant_id: tenantId, envelope: body, tenant_log: copied } };
  }

  /** POST /v1/admin/tenants/:tenant/freeze and /unfreeze. */
  async freeze(authorization: unknown, tenantId: string, body: unknown, frozen: boolean): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    const reason = isObject(body) && body.reason !== undefined ? body.reason : null;
    if (frozen || reason !== null) {
      const bad = this.#text(reason, 'reason');
      if (bad !== null) return bad;
    }
    const failed = await this.#commit(frozen ? { type: 'freeze', tenant_id: tenantId, source: 'admin', reason: reason as string } : { type: 'unfreeze', tenant_id: tenantId, by: 'admin' });
    if (failed !== null) return failed;
    const copied = await this.#tenantCopy(tenantId, frozen ? 'admin.freeze' : 'admin.unfreeze', { reason: reason as string | null });
    return { status: 200, body: { tenant_id: tenantId, frozen: frozen ? reason : null, tenant_log: copied } };
  }

  /** POST /v1/admin/tenants/:tenant/unlock — lifts a policy lockdown. */
  async unlock(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    const t = this.#known(tenantId);
    if (!('tenant_id' in t)) return t;
    if (!isObject(body)) return badRequest('body', 'must be { by, reason }');
    const bad = this.#text(body.by, 'by') ?? this.#text(body.reason, 'reason');
    if (bad !== null) return bad;
    if (typeof body.by !== 'string' || typeof body.reason !== 'string') return badRequest('by', 'must be a string');
    const lock = this.#d.policy.lockOf(tenantId);
    if (lock === undefined) return reply(409, 'NOT_LOCKED', `tenant ${tenantId} is not locked`);
    const failed = await this.#commit({ type: 'unlock', tenant_id: tenantId, by: body.by, reason: body.reason });
    if (failed !== null) return failed;
    const copied = await this.#tenantCopy(tenantId, 'admin.unlock', { by: body.by, reason: body.reason, since: lock.since });
    return { status: 200, body: { tenant_id: tenantId, unlocked: true, tenant_log: copied } };
  }

  /**
   * POST /v1/admin/mode: `{ requested_by, target_mode, approvals: [{ principal_id, role }], reason }`.
   * Governed by the policy's switch_mode rule (two distinct approvers with role "approver", the requester
   * not one of them); a denied attempt is an entry of the `_control_plane` log too (`admin.mode.denied`).
   */
  async setMode(authorization: unknown, body: unknown): Promise<GatewayReply> {
    const denied = this.#admin(authorization);
    if (denied !== null) return denied;
    if (!isObject(body)) return badRequest('body', 'must be { requested_by, target_mode, approvals, reason }');
    const { requested_by: by, target_mode: target, approvals, reason: why } = body;
    const badBy = this.#text(by, 'requested_by');
    if (badBy !== null) return badBy;
    if (!isMode(target)) return badRequest('target_mode', `must be one of ${MODES.join(', ')}`);
    const badWhy = this.#text(why, 'reason');
    if (badWhy !== null) return badWhy;
    if (!Array.isArray(approvals) || approvals.length > 64 || approvals.some((a) => !isObject(a) || controlTextProblem(a.principal_id) !== undefined || controlTextProblem(a.role) !== undefined)) {
      return badRequest('approvals', 'must be an array of at most 64 { principal_id, role } (non-empty, well-formed strings)');
    }
    if (typeof by !== 'string' || typeof why !== 'string') return badRequest('requested_by', 'must be a string');
    const list = (approvals as Array<{ principal_id: string; role: string }>).map((a) => ({ principal_id: a.principal_id, role: a.role }));
    const from = this.#d.control.mode;
    const decision = this.#d.policy.decide({
      protocol_version: '1.0',
      principal: { tenant_id: CONTROL_PLANE, id: by, roles: ['operator'], clearance: 'restricted', tool_scopes: [] },
      action: 'switch_mode',
      resource: { tenant_id: CONTROL_PLANE, layer: 'control_plane', id: 'mode', classification: 'internal', region: 'global', domain: 'PROD' },
      context: { mode: from, approvals: list, target_mode: target },
    });
    if (!decision.allow) {
      await this.#d.audit(CONTROL_PLANE, 'admin.mode.denied', { from, to: target, requested_by: by, approvals: list, reason: why, reasons: [...decision.reasons] });
      return reply(403, 'POLICY_DENIED', `mode switch denied: ${decision.reasons.join(', ')}`, { reasons: decision.reasons });
    }
    const failed = await this.#commit({ type: 'mode', mode: target, requested_by: by });
    if (failed !== null) return failed;
    return { status: 200, body: { mode: target, previous: from } };
  }
}
