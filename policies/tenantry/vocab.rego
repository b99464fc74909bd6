# Vocabulary of protocol 1.0 (docs/architecture.md, "Vocabularies" and "@tenantry/policy"): the enums every
# other module checks against, the same lists @tenantry/core declares for the TypeScript packages. Nothing here
# reads input or data; changing a value here changes the wire contract.
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
# lookup), while a function compiles to a few string comparisons. Each is one `else` chain: a chain stops at the
# first value that matches (separate bodies would all be evaluated, to detect conflicting outputs), so the
# values a request most often carries come first. Undefined for anything that is not a member, non-strings
# included. vocab_test.rego checks that each function accepts exactly the members of its set.

is_action(x) if {
	x == "read"
} else if {
	x == "write"
} else if {
	x == "invoke"
} else if {
	x == "execute"
} else if {
	x == "egress"
} else if {
	x == "use_credentials"
} else if {
	x == "delete"
} else if {
	x == "deploy"
} else if {
	x == "approve"
} else if {
	x == "switch_mode"
} else if {
	x == "migrate_domain"
}

is_mutating(x) if {
	x == "write"
} else if {
	x == "delete"
} else if {
	x == "deploy"
} else if {
	x == "execute"
} else if {
	x == "migrate_domain"
}

is_layer(x) if {
	x == "memory_graph"
} else if {
	x == "agent_runtime"
} else if {
	x == "model_access"
} else if {
	x == "network"
} else if {
	x == "control_plane"
} else if {
	x == "risk_engine"
} else if {
	x == "approval"
}

# rank(x): the sensitivity rank of a classification or clearance; undefined for anything else.
rank(x) := 0 if {
	x == "public"
} else := 1 if {
	x == "internal"
} else := 2 if {
	x == "confidential"
} else := 3 if {
	x == "restricted"
}

is_domain(x) if {
	x == "LAB"
} else if {
	x == "SHADOW"
} else if {
	x == "PROD"
}

is_mode(x) if {
	x == "NORMAL"
} else if {
	x == "CONSERVATIVE"
} else if {
	x == "AUDIT"
} else if {
	x == "INCIDENT"
} else if {
	x == "RED_TEAM"
}

is_tenant_status(x) if {
	x == "active"
} else if {
	x == "suspended"
} else if {
	x == "locked"
} else if {
	x == "deleted"
}
