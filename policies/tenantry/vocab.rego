# Vocabulary of protocol 1.0 (DESIGN.md, "@tenantry/policy and policies/"): the enums every other module checks
# against. Nothing here reads input or data; changing a value here changes the wire contract.
package tenantry.vocab

protocol_version := "1.0"

actions := {
	"read", "write", "delete", "invoke", "execute", "deploy", "approve",
	"switch_mode", "migrate_domain", "egress", "use_credentials",
}

# Actions that change state. The modes restrict exactly these (plus the INCIDENT lockdown, see modes.rego).
mutating_actions := {"write", "delete", "deploy", "execute", "migrate_domain"}

layers := {
	"agent_runtime", "control_plane", "memory_graph", "risk_engine",
	"approval", "model_access", "network",
}

# Classification of a resource and clearance of a principal share one ordered scale: public < internal <
# confidential < restricted. The rank is the position on that scale.
sensitivity_rank := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

domains := {"LAB", "SHADOW", "PROD"}

modes := {"NORMAL", "CONSERVATIVE", "AUDIT", "INCIDENT", "RED_TEAM"}

tenant_statuses := {"active", "suspended", "locked", "deleted"}

# Every reason code the policy can emit (the Decision contract). The engine adds EVALUATION_ERROR on its own.
reason_codes := {
	"CROSS_TENANT", "TENANT_UNKNOWN", "TENANT_SUSPENDED", "TENANT_LOCKED", "TENANT_DELETED",
	"CLASSIFICATION", "REGION", "TOOL_SCOPE", "EGRESS", "MODE", "CANARY_SUSPENDED",
	"APPROVAL_REQUIRED", "CAPABILITY", "PROTOCOL_VERSION", "INVALID_INPUT",
}

# Function forms of the vocabularies above, for the evaluation path. OPA's wasm target builds a constant set or
# object anew on every evaluation it is referenced in (~1 µs for `x in layers`, ~1.6 µs for a sensitivity_rank
# lookup), while a function with one body per value compiles to a few string comparisons (~0.25 µs).
# vocab_test.rego checks that each function accepts exactly the members of its set.

is_action(x) if x == "read"
is_action(x) if x == "write"
is_action(x) if x == "delete"
is_action(x) if x == "invoke"
is_action(x) if x == "execute"
is_action(x) if x == "deploy"
is_action(x) if x == "approve"
is_action(x) if x == "switch_mode"
is_action(x) if x == "migrate_domain"
is_action(x) if x == "egress"
is_action(x) if x == "use_credentials"

is_mutating(x) if x == "write"
is_mutating(x) if x == "delete"
is_mutating(x) if x == "deploy"
is_mutating(x) if x == "execute"
is_mutating(x) if x == "migrate_domain"

is_layer(x) if x == "agent_runtime"
is_layer(x) if x == "control_plane"
is_layer(x) if x == "memory_graph"
is_layer(x) if x == "risk_engine"
is_layer(x) if x == "approval"
is_layer(x) if x == "model_access"
is_layer(x) if x == "network"

# rank(x): the sensitivity rank of a classification or clearance; undefined for anything else.
rank(x) := 0 if x == "public"
rank(x) := 1 if x == "internal"
rank(x) := 2 if x == "confidential"
rank(x) := 3 if x == "restricted"

is_domain(x) if x == "LAB"
is_domain(x) if x == "SHADOW"
is_domain(x) if x == "PROD"

is_mode(x) if x == "NORMAL"
is_mode(x) if x == "CONSERVATIVE"
is_mode(x) if x == "AUDIT"
is_mode(x) if x == "INCIDENT"
is_mode(x) if x == "RED_TEAM"

is_tenant_status(x) if x == "active"
is_tenant_status(x) if x == "suspended"
is_tenant_status(x) if x == "locked"
is_tenant_status(x) if x == "deleted"
