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
