package tenantry.main_test

import data.tenantry.fixtures
import data.tenantry.main
import data.tenantry.vocab

test_baseline_read_is_allowed if {
	fixtures.decide(fixtures.base) == {"allow": true, "reasons": [], "violation": false}
}

# Every layer × action has an allow path (fixtures.allowed), and it is allowed: nothing denies by default.
test_allow_path_for_every_layer_and_action if {
	pairs := {[layer, action] | some layer in vocab.layers; some action in vocab.actions}
	count(pairs) == 77
	denied := {[layer, action, d.reasons] |
		some [layer, action] in pairs
		d := fixtures.decide(fixtures.allowed(layer, action, {}))
		d != {"allow": true, "reasons": [], "violation": false}
	}
	denied == set()
	allowed := {pair |
		some pair in pairs
		fixtures.decide(fixtures.allowed(pair[0], pair[1], {})).allow == true
	}
	count(allowed) == 77
}

# Isolation holds on all seven layers for all eleven actions: the request that is allowed within the tenant is
# denied, with CROSS_TENANT alone and violation true, once the resource belongs to another (active) tenant.
test_cross_tenant_denied_for_every_layer_and_action if {
	decisions := {[layer, action]: d |
		some layer in vocab.layers
		some action in vocab.actions
		d := fixtures.decide(fixtures.allowed(layer, action, {"resource": {"tenant_id": "globex"}}))
	}
	count(decisions) == 77
	wrong := {pair: d |
		some pair, d in decisions
		d != {"allow": false, "reasons": ["CROSS_TENANT"], "violation": true}
	}
	wrong == {}
}

# The same in every mode and from every tenant status: no mode and no state opens a cross-tenant path.
test_cross_tenant_reported_in_every_mode_and_status if {
	cases := {[mode, tenant] |
		some mode in vocab.modes
		some tenant in {"acme", "initech", "umbrella", "hooli", "nobody"}
	}
	count(cases) == 25
	missing := {c |
		some c in cases
		d := fixtures.decide(fixtures.allowed("control_plane", "read", {
			"principal": {"tenant_id": c[1]},
			"resource": {"tenant_id": "globex"},
			"context": {"mode": c[0]},
		}))
		not _violation(d)
	}
	missing == set()
}

_violation(d) if {
	d.allow == false
	d.violation == true
	"CROSS_TENANT" in d.reasons
}

test_violation_only_for_cross_tenant if {
	d := fixtures.decide(fixtures.request({"resource": {"region": "us-east-1"}}))
	d == {"allow": false, "reasons": ["REGION"], "violation": false}
}

# Reasons accumulate, sorted, each code once (here MODE is raised by two rules, PROD mutation and
# migrate_domain in CONSERVATIVE).
test_reasons_sorted_and_unique if {
	fixtures.reasons(fixtures.request({
		"action": "migrate_domain",
		"resource": {"domain": "PROD"},
		"context": {"mode": "CONSERVATIVE"},
	})) == ["CAPABILITY", "MODE"]
}

test_kitchen_sink_reports_everything_that_denies if {
	d := fixtures.decide(fixtures.request({
		"principal": {"tenant_id": "initech", "clearance": "public"},
		"action": "execute",
		"resource": {
			"tenant_id": "globex", "layer": "network", "classification": "restricted",
			"region": "ap-south-1", "domain": "PROD", "tool": "shell",
		},
		"context": {"mode": "CONSERVATIVE", "canary_suspended": true},
	}))
	d == {
		"allow": false,
		"reasons": [
			"CANARY_SUSPENDED", "CLASSIFICATION", "CROSS_TENANT", "EGRESS",
			"MODE", "REGION", "TENANT_SUSPENDED", "TOOL_SCOPE",
		],
		"violation": true,
	}
}

# One witness per reason code; together they reach every code in the contract, and each decision is well-formed.
_witnesses := {
	"CROSS_TENANT": fixtures.request({"resource": {"tenant_id": "globex"}}),
	"TENANT_UNKNOWN": fixtures.request({"principal": {"tenant_id": "nobody"}, "resource": {"tenant_id": "nobody"}}),
	"TENANT_SUSPENDED": fixtures.request({"principal": {"tenant_id": "initech"}, "resource": {"tenant_id": "initech"}}),
	"TENANT_LOCKED": fixtures.request({"principal": {"tenant_id": "umbrella"}, "resource": {"tenant_id": "umbrella"}}),
	"TENANT_DELETED": fixtures.request({"principal": {"tenant_id": "hooli"}, "resource": {"tenant_id": "hooli"}}),
	"CLASSIFICATION": fixtures.request({"resource": {"classification": "restricted"}}),
	"REGION": fixtures.request({"resource": {"region": "us-east-1"}}),
	"TOOL_SCOPE": fixtures.request({"action": "invoke", "resource": {"tool": "shell"}}),
	"EGRESS": fixtures.request({"action": "egress", "resource": {"host": "evil.example"}}),
	"MODE": fixtures.request({"action": "write", "context": {"mode": "AUDIT"}}),
	"CANARY_SUSPENDED": fixtures.request({"action": "write", "context": {"mode": "CONSERVATIVE", "canary_suspended": true}}),
	"APPROVAL_REQUIRED": fixtures.request({"action": "switch_mode", "context": {"target_mode": "AUDIT"}}),
	"CAPABILITY": fixtures.request({"action": "migrate_domain"}),
	"PROTOCOL_VERSION": fixtures.request({"protocol_version": "2.0"}),
	"INVALID_INPUT": fixtures.without(["principal/id"]),
}

test_every_reason_code_has_a_witness if {
	object.keys(_witnesses) == vocab.reason_codes
	wrong := {code: d |
		some code, inp in _witnesses
		d := fixtures.decide(inp)
		d != {"allow": false, "reasons": [code], "violation": code == "CROSS_TENANT"}
	}
	wrong == {}
}

test_decision_defined_without_input if {
	d := main.decision with data.tenants as fixtures.tenants
	d == {"allow": false, "reasons": ["INVALID_INPUT"], "violation": false}
}

test_decision_defined_without_data if {
	d := main.decision with input as fixtures.base
	d == {"allow": false, "reasons": ["TENANT_UNKNOWN"], "violation": false}
}

test_non_object_inputs_deny_well_formed if {
	inputs := [null, true, false, 0, 1.5, "", "acme", [], [fixtures.base]]
	wrong := {i: d |
		some i, inp in inputs
		d := fixtures.decide(inp)
		d != {"allow": false, "reasons": ["INVALID_INPUT"], "violation": false}
	}
	wrong == {}
}

# The default answers if the rule body ever fails to produce a decision: deny, never undefined.
test_default_decision_when_body_fails if {
	d := main.decision with main.reasons as "not a set" with input as fixtures.base
	d == {"allow": false, "reasons": ["INVALID_INPUT"], "violation": false}
}
