// The vocabularies of protocol 1.0, declared once (docs/architecture.md, "Vocabularies"). Every package
// that checks or branches on one of these imports it from here.

/** The protocol version every tenantry document carries. */
export const PROTOCOL_VERSION = '1.0';

/** Deployment domains, in the order of their default scheduler shares (0.6 / 0.25 / 0.15). */
export const DOMAINS = ['PROD', 'SHADOW', 'LAB'] as const;
export type Domain = (typeof DOMAINS)[number];

/**
 * Operating modes: NORMAL full autonomy; CONSERVATIVE canary only, no PROD mutation; AUDIT no mutation,
 * observation only; INCIDENT lockdown plus forensic reads; RED_TEAM destructive simulation in LAB and
 * SHADOW only.
 */
export const MODES = ['NORMAL', 'CONSERVATIVE', 'AUDIT', 'INCIDENT', 'RED_TEAM'] as const;
export type Mode = (typeof MODES)[number];

/** A tenant's status in the policy's data. */
export const TENANT_STATUSES = ['active', 'suspended', 'locked', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** Classifications and clearances, lowest first: public < internal < confidential < restricted. */
export const CLEARANCES = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Clearance = (typeof CLEARANCES)[number];

/** Resource layers. */
export const LAYERS = ['agent_runtime', 'control_plane', 'memory_graph', 'risk_engine', 'approval', 'model_access', 'network'] as const;
export type Layer = (typeof LAYERS)[number];

/** Policy actions. */
export const ACTIONS = [
  'read', 'write', 'delete', 'invoke', 'execute', 'deploy', 'approve', 'switch_mode', 'migrate_domain', 'egress', 'use_credentials',
] as const;
export type Action = (typeof ACTIONS)[number];

/** The actions that change something (no mutation in AUDIT mode, none in PROD in CONSERVATIVE mode). */
export const MUTATING_ACTIONS = ['write', 'delete', 'deploy', 'execute', 'migrate_domain'] as const satisfies readonly Action[];

const member = <T extends string>(list: readonly T[]) => {
  const set: ReadonlySet<string> = new Set(list);
  return (v: unknown): v is T => typeof v === 'string' && set.has(v);
};

export const isDomain = member(DOMAINS);
export const isMode = member(MODES);
export const isTenantStatus = member(TENANT_STATUSES);
export const isClearance = member(CLEARANCES);
export const isLayer = member(LAYERS);
export const isAction = member(ACTIONS);
