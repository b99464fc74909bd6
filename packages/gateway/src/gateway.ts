// The request path, independent of any HTTP framework (fastify.ts and middleware.ts map it to routes;
// docs/architecture.md, "@tenantry/gateway"). A Gateway composes the parts and owns no rule of its own:
//
//   stage.ts, invoke-stages.ts   POST /v1/invoke as stages: ledger → policy → reserve → settle → upstream
//   schedule-stage.ts            with a scheduler, the upstream call runs in the tenant's fair share
//   admin.ts                     the admin routes, each a control event
//   control-log.ts               the `_control_plane` chain of control events
//   control-plane.ts             control state applied to the policy and the quota, restored at start
//   settle-retry.ts              settlements retried while the quota's store is away
//
// Every decision, denial and charge is an audit entry of the tenant's log, appended before the answer
// leaves: a receipt that was returned is durable. A request can never cause a 5xx through its content.
import type { AppendResult, AuditLedger, JsonObject } from '@tenantry/audit';
import { isObject, MODES as CORE_MODES, type Mode as CoreMode } from '@tenantry/core';
import type { PolicyEngine } from '@tenantry/policy';
import type { Quota } from '@tenantry/quota';
import type { AgentSupervisor, Scheduler } from '@tenantry/scheduler';
import { AdminRoutes } from './admin.js';
import { CONTROL_PLANE, ControlLog } from './control-log.js';
import { ControlPlane, type RestoreReport } from './control-plane.js';
import { GatewayError } from './errors.js';
import { checkInvokeRequest, isReply } from './invoke-request.js';
import { defaultStages, type StageDeps } from './invoke-stages.js';
import { GatewayMetrics } from './metrics.js';
import { reply, unauthenticated, type GatewayReply } from './reply.js';
import { checkFailoverOptions, failoverStage, type FailoverOptions } from './failover.js';
import { scheduleStage } from './schedule-stage.js';
import { observeScheduler } from './scheduler-observer.js';
import { SettleRetryQueue } from './settle-retry.js';
import { rebuildUsage, type UsageRebuildReport } from './usage-rebuild.js';
import { runStages, type Stage } from './stage.js';
import { checkTenantsFile, TenantDirectory, type TenantsFile } from './tenants.js';
import { mockModel, type Upstream } from './upstream.js';

export { CONTROL_PLANE };

/** How an operator cuts a damaged control-plane chain back to its verified prefix (the damaged tail is kept aside). */
const REPAIR_HINT = (dir: string): string =>
  `\`tenantry-audit repair ${dir} ${CONTROL_PLANE}\` (with the gateway stopped) cuts it back to the entries before the damage (keeping the cut bytes beside the file), after which the gateway starts with the state those entries hold`;
export type { GatewayReply };

/** The operating modes (from @tenantry/core). */
export const MODES = CORE_MODES;
export type Mode = CoreMode;

export interface GatewayOptions {
  /** The tenants file (parsed JSON; checked here). */
  tenants: unknown;
  ledger: AuditLedger;
  /**
   * The quota. Create it with `control: controlLog.sink` (the same ControlLog given here) so that its own
   * freezes (overrun, cost limiter) are written to the control-plane log before they take effect.
   */
  quota: Quota;
  policy: PolicyEngine;
  /** Default: mockModel(). */
  upstream?: Upstream;
  /**
   * Several upstreams in order of preference, instead of `upstream`: the call goes to the first the tenant's
   * egress policy allows and whose circuit is closed, and fails over to the next (failover.ts).
   */
  failover?: FailoverOptions;
  /** The control-plane log over `ledger` (default: a new one). */
  control?: ControlLog;
  /**
   * Runs each upstream call in a slot of the tenant's fair share (schedule-stage.ts); every tenant of the
   * tenants file is set on it with weight 1. Default: no scheduler (the call runs at once).
   */
  scheduler?: Scheduler;
  /** Agents whose lifecycle transitions become audit entries of their tenant (`agent.transition`) and metrics. */
  supervisor?: AgentSupervisor;
  /**
   * The invoke path: given the default stages (ledger, policy, reserve, settle, [schedule,] upstream), the stages to run,
   * e.g. to put a scheduler in front of the upstream call. Default: the defaults.
   */
  stages?: (defaults: readonly Stage[]) => readonly Stage[];
}

/** The composed request path: one per process, shared by every request. */
export class Gateway {
  readonly tenants: TenantDirectory;
  readonly ledger: AuditLedger;
  readonly quota: Quota;
  readonly policy: PolicyEngine;
  readonly metrics: GatewayMetrics;
  readonly control: ControlPlane;
  /** What restore() found in the control-plane log at start. */
  readonly restored: RestoreReport;
  /** The quota usage rebuilt from the tenants' chains at start. */
  readonly usage: UsageRebuildReport;
  readonly #stages: readonly Stage[];
  readonly #admin: AdminRoutes;
  readonly #settleRetries: SettleRetryQueue;
  readonly #unsubscribe: () => void;
  readonly #scheduler: Scheduler | undefined;
  readonly #unobserve: () => void;

  private constructor(tenants: TenantDirectory, o: GatewayOptions, control: ControlPlane, restored: RestoreReport, usage: UsageRebuildReport) {
    const failover = o.failover === undefined ? undefined : checkFailoverOptions(o.failover);
    this.tenants = tenants;
    this.ledger = o.ledger;
    this.quota = o.quota;
    this.policy = o.policy;
    this.control = control;
    this.restored = restored;
    this.#scheduler = o.scheduler;
    this.usage = usage;
    this.metrics = new GatewayMetrics(() => tenants.file.tenants.map((t) => [t.tenant_id, o.ledger.log.size(t.tenant_id)]));
    const audit = (tenantId: string, kind: string, payload: JsonObject) => this.#audit(tenantId, kind, payload);
    this.#settleRetries = new SettleRetryQueue(o.quota, async (tenantId, reservation, usd, attempts) => {
      await audit(tenantId, 'settle.failed', { reservation, charged_usd: usd, attempts });
    });
    const deps: StageDeps = {
      policy: o.policy, quota: o.quota, control, metrics: this.metrics, upstream: o.upstream ?? mockModel(), settleRetries: this.#settleRetries, audit,
      corruption: (tenantId) => o.ledger.log.corruption(tenantId),
    };
    const defaults = defaultStages(deps);
    if (failover !== undefined) defaults[defaults.length - 1] = failoverStage(failover, { policy: o.policy, control, metrics: this.metrics });
    if (o.scheduler !== undefined) defaults.splice(defaults.length - 1, 0, scheduleStage(o.scheduler));
    this.#stages = o.stages === undefined ? defaults : [...o.stages(defaults)];
    this.#unobserve = observeScheduler(this.metrics.registry, o.scheduler, o.supervisor, (tenantId, kind, payload) => this.#audit(tenantId, kind, payload));
    this.#admin = new AdminRoutes({ tenants, policy: o.policy, control, audit, readOnly: (id) => o.ledger.log.corruption(id) !== undefined });
    // The quota's cost-defense alerts and limiter actions are audit entries of the tenant, and counted.
    // (The freezes among them reach the control-plane log through the quota's control sink.)
    this.#unsubscribe = o.quota.on((e) => {
      if (e.type === 'overrun' || e.type === 'fail_open' || e.type === 'defense_error' || this.tenants.tenant(e.tenant_id) === undefined) return;
      this.metrics.defenseEvents.inc({ type: e.type });
      const { tenant_id: tenantId, ...numbers } = e;
      this.#audit(tenantId, `defense.${e.type}`, JSON.parse(JSON.stringify(numbers)) as JsonObject).then(undefined, (err: unknown) => {
        process.emitWarning(`@tenantry/gateway: the defense entry ${e.type} of ${tenantId} could not be appended: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
  }

  /** Appends an audit entry (resolves once durable), counted by kind. */
  async #audit(tenantId: string, kind: string, payload: JsonObject): Promise<AppendResult> {
    const r = await this.metrics.time('audit', () => this.ledger.append(tenantId, { kind, payload }));
    this.metrics.auditEntries.inc({ kind });
    return r;
  }

  /**
   * Checks the tenants file, loads the tenants into the policy engine's data and their envelopes into
   * the quota, restores the control state the control-plane log holds and the quota usage the tenants'
   * chains hold (usage-rebuild.ts).
   * @throws GatewayError INVALID_TENANTS naming the field, INVALID_ARGUMENT for a missing part,
   *   CONTROL_LOG_CORRUPT for a damaged control-plane chain, CONTROL_LOG_INVALID for a control-plane entry
   *   that is not a control event.
   */
  static async create(o: GatewayOptions): Promise<Gateway> {
    if (!isObject(o)) throw new GatewayError('INVALID_ARGUMENT', 'options must be an object { tenants, ledger, quota, policy }', 'options');
    for (const part of ['ledger', 'quota', 'policy'] as const) {
      if (!isObject(o[part])) throw new GatewayError('INVALID_ARGUMENT', `options.${part} is required`, `options.${part}`);
    }
    if (o.upstream !== undefined && typeof o.upstream !== 'function') throw new GatewayError('INVALID_ARGUMENT', 'options.upstream must be a function', 'options.upstream');
    if (o.scheduler !== undefined && (!isObject(o.scheduler) || typeof o.scheduler.submit !== 'function')) {
      throw new GatewayError('INVALID_ARGUMENT', 'options.scheduler must be a Scheduler (createScheduler)', 'options.scheduler');
    }
    if (o.failover !== undefined && o.upstream !== undefined) throw new GatewayError('INVALID_ARGUMENT', 'options.failover and options.upstream exclude each other', 'options.failover');
    if (o.failover !== undefined) checkFailoverOptions(o.failover);
    if (o.stages !== undefined && typeof o.stages !== 'function') throw new GatewayError('INVALID_ARGUMENT', 'options.stages must be a function (defaults) => stages', 'options.stages');
    if (o.control !== undefined && !(o.control instanceof ControlLog && o.control.ledger === o.ledger)) {
      throw new GatewayError('INVALID_ARGUMENT', 'options.control must be a ControlLog over options.ledger', 'options.control');
    }
    const file: TenantsFile = checkTenantsFile(o.tenants);
    // A damaged control-plane chain would restore less than was in force (a lockdown lost, a freeze
    // lifted): refuse to start, naming where the damage is and how to repair it.
    const damage = o.ledger.log.corruption(CONTROL_PLANE);
    if (damage !== undefined) {
      throw new GatewayError(
        'CONTROL_LOG_CORRUPT',
        `the control-plane chain (${CONTROL_PLANE}) of ${o.ledger.log.dir} is damaged: ${damage.kind} at entry ${damage.index}, byte ${damage.offset}. ` +
          `It holds the lockdowns, freezes and mode in force, so the gateway does not start without it. Inspect it with ` +
          `\`tenantry-audit verify ${o.ledger.log.dir}\`; ${REPAIR_HINT(o.ledger.log.dir)}`,
        CONTROL_PLANE, undefined, damage.index,
      );
    }
    if (file.tenants.some((t) => t.tenant_id === CONTROL_PLANE)) {
      throw new GatewayError('INVALID_TENANTS', `tenants: the id ${CONTROL_PLANE} is the gateway's own`, 'tenants');
    }
    const tenants = new TenantDirectory(file);
    const data = tenants.policyData();
    data.tenants[CONTROL_PLANE] = { status: 'active', regions: ['global'], egress_allow: [] };
    o.policy.setData(data);
    for (const t of file.tenants) await o.quota.setEnvelope(t.envelope);
    if (o.scheduler !== undefined) for (const t of file.tenants) o.scheduler.setTenant(t.tenant_id);
    const control = new ControlPlane(o.control ?? new ControlLog(o.ledger), o.quota, o.policy, (id) => tenants.tenant(id) !== undefined, o.scheduler);
    const restored = await control.restore();
    const usage = await rebuildUsage(o.ledger.log, o.quota, file.tenants.map((t) => t.tenant_id));
    return new Gateway(tenants, o, control, restored, usage);
  }

  get mode(): Mode {
    return this.control.mode;
  }

  /** Settlements not yet taken by the quota's store. */
  get pendingSettlements(): number {
    return this.#settleRetries.size;
  }

  /** POST /v1/invoke. */
  async invoke(authorization: unknown, body: unknown): Promise<GatewayReply> {
    const caller = this.tenants.caller(authorization);
    if (caller === null || caller.kind !== 'tenant') return unauthenticated();
    const request = checkInvokeRequest(body);
    if (isReply(request)) return request;
    return runStages(this.#stages, { tenant: caller.tenant, request });
  }

  /** GET /v1/tenants/:tenant/audit/:index — the tenant's own key only. */
  async auditEntry(authorization: unknown, tenantId: string, indexText: string): Promise<GatewayReply> {
    const caller = this.tenants.caller(authorization);
    if (caller === null) return unauthenticated();
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

  /** PUT /v1/admin/tenants/:tenant/envelope. */
  setEnvelope(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    return this.#admin.setEnvelope(authorization, tenantId, body);
  }

  /** POST /v1/admin/tenants/:tenant/freeze and /unfreeze. */
  freeze(authorization: unknown, tenantId: string, body: unknown, frozen: boolean): Promise<GatewayReply> {
    return this.#admin.freeze(authorization, tenantId, body, frozen);
  }

  /** POST /v1/admin/tenants/:tenant/unlock — lifts a policy lockdown. */
  unlock(authorization: unknown, tenantId: string, body: unknown): Promise<GatewayReply> {
    return this.#admin.unlock(authorization, tenantId, body);
  }

  /** POST /v1/admin/mode — the governed mode switch (admin.ts). */
  setMode(authorization: unknown, body: unknown): Promise<GatewayReply> {
    return this.#admin.setMode(authorization, body);
  }

  /** GET /metrics (Prometheus text format). */
  async metricsReply(): Promise<GatewayReply> {
    const registry = this.metrics.registry;
    return { status: 200, body: await registry.metrics(), headers: { 'content-type': registry.contentType } };
  }

  /** GET /healthz. */
  health(): GatewayReply {
    return { status: 200, body: { status: 'ok', mode: this.mode, tenants: this.tenants.file.tenants.length } };
  }

  /** Settles what can be settled, writes unwritten control events, flushes the audit log and closes it. */
  async close(): Promise<void> {
    this.#unsubscribe();
    this.#unobserve();
    await this.#scheduler?.close();
    await this.#settleRetries.close();
    await this.control.close();
    await this.ledger.close();
    await this.quota.close();
  }
}
