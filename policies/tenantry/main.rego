# tenantry policy: the one decision entrypoint, data.tenantry.main.decision (build entrypoint
# tenantry/main/decision). Contract: docs/architecture.md, "@tenantry/policy", input protocol 1.0.
#
#   decision = {"allow": bool, "reasons": [code, ...], "violation": bool}
#
#   reasons    the reason codes that deny, sorted (byte order), without duplicates;
#   allow      true iff reasons is empty;
#   violation  true iff "CROSS_TENANT" is among the reasons.
#
# decision is defined for every input, including no input at all and input that is not an object (then
# ["INVALID_INPUT"]). Evaluation order of concerns, each in its own module with its own test:
#
#   1. validation.rego   PROTOCOL_VERSION, INVALID_INPUT. While either is reported, no other concern is
#                        evaluated: rules are not run on input they cannot trust.
#   2. isolation.rego    CROSS_TENANT, always, also beside validation reasons: it needs only the two tenant ids
#                        (both strings and different), so a malformed request cannot hide an attempt.
#   3. on valid input only, every one of the following, accumulated (a request learns all that denies it):
#      tenant_status.rego   TENANT_UNKNOWN, TENANT_SUSPENDED, TENANT_LOCKED, TENANT_DELETED (principal's tenant)
#      classification.rego  CLASSIFICATION  clearance ranks below classification
#      region.rego          REGION          resource.region not in the tenant's regions
#      tool_scope.rego      TOOL_SCOPE      tool-exercising request for a tool outside principal.tool_scopes
#      egress.rego          EGRESS          egress / network-layer request to a host outside egress_allow
#      modes.rego           MODE, CANARY_SUSPENDED   operational mode × domain × action
#      governance.rego      APPROVAL_REQUIRED (switch_mode), CAPABILITY (migrate_domain)
#
# The precise rule for each code is written at the top of its module. The policy calls only builtins that
# OPA compiles into the wasm module itself (no host-provided builtins), so any opa-wasm host can run it.
#
# Shape, for cost (OPA's wasm target, where the decision runs). Every rule is memoized for the evaluation, at
# ~1–2 k wasm instructions a rule and more as their number grows, which outweighs what most of these rules
# compute; every constant set or object is built anew on every evaluation. So each concern is a function of the
# request, module.reason(input) (egress and region also take the tenant's record), that yields its code or is
# undefined; this module collects them into one set. Besides decision and reasons, the rules evaluated for a
# request are validation.valid, _request_reasons, tenant.record (read by three concerns, so memoized on
# purpose) and tenant_status.reason; the error rules of validation.rego run only on invalid input. Enums are
# compared through the function forms in vocab.rego.
package tenantry.main

import data.tenantry.classification
import data.tenantry.egress
import data.tenantry.governance
import data.tenantry.isolation
import data.tenantry.modes
import data.tenantry.region
import data.tenantry.tenant
import data.tenantry.tenant_status
import data.tenantry.tool_scope
import data.tenantry.validation

# Unreachable while the rule below holds (it is defined for every input); kept so that the entrypoint can never
# be undefined, which a host would have to treat as an error.
default decision := {"allow": false, "reasons": ["INVALID_INPUT"], "violation": false}

decision := {
	"allow": count(codes) == 0,
	"reasons": codes,
	"violation": "CROSS_TENANT" in codes,
} if {
	codes := sort(reasons)
}

# validation.reasons is empty for valid input: evaluated only when it is not.
reasons contains code if {
	not validation.valid
	some code in validation.reasons
}

reasons contains isolation.reason(input)

reasons contains code if {
	validation.valid
	some code in _request_reasons
}

# Each body adds the concern's code when it raises one; an undefined reason (or an undefined record, for an
# unknown tenant, which tenant_status reports) adds nothing.
_request_reasons contains tenant_status.reason

_request_reasons contains classification.reason(input)

_request_reasons contains region.reason(input, tenant.record)

_request_reasons contains tool_scope.reason(input)

_request_reasons contains egress.reason(input, tenant.record)

_request_reasons contains modes.reason(input)

_request_reasons contains modes.canary_reason(input)

_request_reasons contains governance.reason(input)
