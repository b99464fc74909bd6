package tenantry.vocab_test

import data.tenantry.vocab

test_enum_sizes_match_the_contract if {
	count(vocab.actions) == 11
	count(vocab.layers) == 7
	count(vocab.domains) == 3
	count(vocab.modes) == 5
	count(vocab.tenant_statuses) == 4
	count(vocab.reason_codes) == 15
}

test_mutating_actions_are_actions if {
	vocab.mutating_actions == {"write", "delete", "deploy", "execute", "migrate_domain"}
	vocab.mutating_actions - vocab.actions == set()
}

test_sensitivity_scale_is_strictly_ordered if {
	scale := ["public", "internal", "confidential", "restricted"]
	object.keys(vocab.sensitivity_rank) == {s | some s in scale}
	every i, s in scale {
		vocab.sensitivity_rank[s] == i
	}
}

# The function forms accept exactly the members of their sets (and the rank function is sensitivity_rank).
_probes := {
	"read", "write", "delete", "invoke", "execute", "deploy", "approve", "switch_mode", "migrate_domain", "egress",
	"use_credentials", "agent_runtime", "control_plane", "memory_graph", "risk_engine", "approval", "model_access",
	"network", "public", "internal", "confidential", "restricted", "LAB", "SHADOW", "PROD", "NORMAL",
	"CONSERVATIVE", "AUDIT", "INCIDENT", "RED_TEAM", "active", "suspended", "locked", "deleted", "", "Read",
	"lab", "normal", " read", "PUBLIC", "fly", 1, null, true,
}

test_function_forms_match_the_sets if {
	{x | some x in _probes; vocab.is_action(x)} == vocab.actions
	{x | some x in _probes; vocab.is_mutating(x)} == vocab.mutating_actions
	{x | some x in _probes; vocab.is_layer(x)} == vocab.layers
	{x | some x in _probes; vocab.is_domain(x)} == vocab.domains
	{x | some x in _probes; vocab.is_mode(x)} == vocab.modes
	{x | some x in _probes; vocab.is_tenant_status(x)} == vocab.tenant_statuses
	{x: vocab.rank(x) | some x in _probes; vocab.rank(x)} == vocab.sensitivity_rank
}
