// The contract Decision (docs/architecture.md, "@tenantry/policy") and its reason codes.
//
// A decision is `{ allow, reasons, violation }`: allow is true only when reasons is empty; reasons
// are the sorted, distinct codes below; violation is true exactly when CROSS_TENANT is among them.
// The policy (policies/tenantry/main.rego) computes all of them; the engine adds TENANT_LOCKED for
// tenants it locked down, and the two engine-only codes INVALID_INPUT (input it cannot hand to the
// policy) and EVALUATION_ERROR (anything failing inside the evaluation). Every such decision denies.

/** Every reason code the policy or the engine gives, in sorted order. */
export const REASON_CODES = [
  'APPROVAL_REQUIRED',
  'CANARY_SUSPENDED',
  'CAPABILITY',
  'CLASSIFICATION',
  'CROSS_TENANT',
  'EGRESS',
  'EVALUATION_ERROR',
  'INVALID_INPUT',
  'MODE',
  'PROTOCOL_VERSION',
  'REGION',
  'TENANT_DELETED',
  'TENANT_LOCKED',
  'TENANT_SUSPENDED',
  'TENANT_UNKNOWN',
  'TOOL_SCOPE',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(REASON_CODES);

/** The contract decision. */
export interface Decision {
  allow: boolean;
  reasons: string[];
  violation: boolean;
}

/**
 * A decision as decide() returns it: the three contract fields as own enumerable properties (so it
 * compares and serialises as exactly a contract Decision), plus the revision of the policy bundle
 * that made it, readable as `decision.revision` but not enumerable.
 */
export class PolicyDecision implements Decision {
  allow: boolean;
  reasons: string[];
  violation: boolean;
  readonly #revision: string;

  constructor(allow: boolean, reasons: string[], violation: boolean, revision: string) {
    this.allow = allow;
    this.reasons = reasons;
    this.violation = violation;
    this.#revision = revision;
  }

  /** The revision of the bundle that decided (its manifest revision; '' when it has none). */
  get revision(): string {
    return this.#revision;
  }

  toJSON(): Decision {
    return { allow: this.allow, reasons: this.reasons, violation: this.violation };
  }
}

/**
 * Checks what the policy returned and normalises it, or returns undefined when it is not a
 * contract decision (the engine then denies with EVALUATION_ERROR). Unknown codes are refused too:
 * a policy that invents reasons is not the policy this engine was built for.
 */
export function _checkPolicyDecision(v: unknown): Decision | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const d = v as Record<string, unknown>;
  if (typeof d.allow !== 'boolean' || typeof d.violation !== 'boolean' || !Array.isArray(d.reasons)) return undefined;
  const reasons = d.reasons as unknown[];
  for (let i = 0; i < reasons.length; i++) {
    const r = reasons[i];
    if (typeof r !== 'string' || !KNOWN.has(r) || (i > 0 && (reasons[i - 1] as string) >= r)) return undefined;
  }
  // allow exactly when no reason; violation exactly when CROSS_TENANT.
  if (d.allow !== (reasons.length === 0)) return undefined;
  if (d.violation !== reasons.includes('CROSS_TENANT')) return undefined;
  return { allow: d.allow, reasons: reasons as string[], violation: d.violation };
}

/** `reasons` plus `code`, still sorted and distinct. */
export function _withReason(reasons: readonly string[], code: ReasonCode): string[] {
  if (reasons.includes(code)) return reasons.slice();
  const out = [...reasons, code];
  out.sort();
  return out;
}
