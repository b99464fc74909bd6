package tenantry.validation_test

import data.tenantry.fixtures
import data.tenantry.validation

_errors(inp) := e if {
	e := validation.errors with input as inp
}

test_baseline_is_valid if {
	validation.valid with input as fixtures.base
	_errors(fixtures.base) == set()
	count(validation.reasons) == 0 with input as fixtures.base
}

test_optional_fields_accepted_when_well_typed if {
	inp := fixtures.request({
		"principal": {"roles": [], "tool_scopes": []},
		"resource": {"tool": "search", "host": "api.openai.com"},
		"context": {
			"canary_suspended": false,
			"approvals": [],
			"target_mode": "AUDIT",
		},
	})
	_errors(inp) == set()
	_errors(fixtures.request({"context": {"approvals": fixtures.two_approvals}})) == set()
}

test_unknown_fields_ignored if {
	inp := fixtures.request({"trace_id": "t-1", "principal": {"display_name": "Alice"}, "context": {"x": null}})
	_errors(inp) == set()
	fixtures.decide(inp).allow
}

# Each corruption of the baseline, named after what it does, and the one field path it must flag.
_corruptions := {
	"missing-principal": [fixtures.without(["principal"]), {"principal"}],
	"missing-principal-tenant_id": [fixtures.without(["principal/tenant_id"]), {"principal.tenant_id"}],
	"missing-principal-id": [fixtures.without(["principal/id"]), {"principal.id"}],
	"missing-principal-roles": [fixtures.without(["principal/roles"]), {"principal.roles"}],
	"missing-principal-clearance": [fixtures.without(["principal/clearance"]), {"principal.clearance"}],
	"missing-principal-tool_scopes": [fixtures.without(["principal/tool_scopes"]), {"principal.tool_scopes"}],
	"missing-action": [fixtures.without(["action"]), {"action"}],
	"missing-resource": [fixtures.without(["resource"]), {"resource"}],
	"missing-resource-tenant_id": [fixtures.without(["resource/tenant_id"]), {"resource.tenant_id"}],
	"missing-resource-layer": [fixtures.without(["resource/layer"]), {"resource.layer"}],
	"missing-resource-id": [fixtures.without(["resource/id"]), {"resource.id"}],
	"missing-resource-classification": [fixtures.without(["resource/classification"]), {"resource.classification"}],
	"missing-resource-region": [fixtures.without(["resource/region"]), {"resource.region"}],
	"missing-resource-domain": [fixtures.without(["resource/domain"]), {"resource.domain"}],
	"missing-context": [fixtures.without(["context"]), {"context"}],
	"missing-context-mode": [fixtures.without(["context/mode"]), {"context.mode"}],
	"principal-is-array": [fixtures.request({"principal": [fixtures.base.principal]}), {"principal"}],
	"resource-is-string": [fixtures.request({"resource": "doc-1"}), {"resource"}],
	"context-is-null": [fixtures.request({"context": null}), {"context"}],
	"tenant_id-is-number": [fixtures.request({"principal": {"tenant_id": 42}}), {"principal.tenant_id"}],
	"tenant_id-is-empty": [fixtures.request({"resource": {"tenant_id": ""}}), {"resource.tenant_id"}],
	"principal-id-is-null": [fixtures.request({"principal": {"id": null}}), {"principal.id"}],
	"roles-is-string": [fixtures.request({"principal": {"roles": "developer"}}), {"principal.roles"}],
	"roles-holds-number": [fixtures.request({"principal": {"roles": ["developer", 1]}}), {"principal.roles"}],
	"roles-holds-empty-string": [fixtures.request({"principal": {"roles": [""]}}), {"principal.roles"}],
	"roles-is-set-like-object": [fixtures.request({"principal": {"roles": {"developer": true}}}), {"principal.roles"}],
	"tool_scopes-is-null": [fixtures.request({"principal": {"tool_scopes": null}}), {"principal.tool_scopes"}],
	"clearance-not-in-scale": [fixtures.request({"principal": {"clearance": "secret"}}), {"principal.clearance"}],
	"clearance-is-rank-number": [fixtures.request({"principal": {"clearance": 2}}), {"principal.clearance"}],
	"action-uppercase": [fixtures.request({"action": "READ"}), {"action"}],
	"action-unknown": [fixtures.request({"action": "sudo"}), {"action"}],
	"action-is-array": [fixtures.request({"action": ["read"]}), {"action"}],
	"layer-unknown": [fixtures.request({"resource": {"layer": "database"}}), {"resource.layer"}],
	"resource-id-is-number": [fixtures.request({"resource": {"id": 7}}), {"resource.id"}],
	"classification-unknown": [fixtures.request({"resource": {"classification": "top_secret"}}), {"resource.classification"}],
	"region-is-array": [fixtures.request({"resource": {"region": ["eu-west-1"]}}), {"resource.region"}],
	"domain-lowercase": [fixtures.request({"resource": {"domain": "prod"}}), {"resource.domain"}],
	"tool-is-null": [fixtures.request({"resource": {"tool": null}}), {"resource.tool"}],
	"tool-is-empty": [fixtures.request({"resource": {"tool": ""}}), {"resource.tool"}],
	"host-is-number": [fixtures.request({"resource": {"host": 443}}), {"resource.host"}],
	"mode-lowercase": [fixtures.request({"context": {"mode": "normal"}}), {"context.mode"}],
	"canary_suspended-is-string": [fixtures.request({"context": {"canary_suspended": "true"}}), {"context.canary_suspended"}],
	"canary_suspended-is-null": [fixtures.request({"context": {"canary_suspended": null}}), {"context.canary_suspended"}],
	"approvals-is-object": [fixtures.request({"context": {"approvals": {"principal_id": "bob", "role": "approver"}}}), {"context.approvals"}],
	"approvals-holds-string": [fixtures.request({"context": {"approvals": ["bob"]}}), {"context.approvals"}],
	"approval-without-role": [fixtures.request({"context": {"approvals": [{"principal_id": "bob"}]}}), {"context.approvals"}],
	"approval-empty-principal_id": [fixtures.request({"context": {"approvals": [{"principal_id": "", "role": "approver"}]}}), {"context.approvals"}],
	"approval-role-is-number": [fixtures.request({"context": {"approvals": [{"principal_id": "bob", "role": 1}]}}), {"context.approvals"}],
	"target_mode-unknown": [fixtures.request({"context": {"target_mode": "PANIC"}}), {"context.target_mode"}],
	"switch_mode-without-target_mode": [fixtures.request({"action": "switch_mode", "context": {"approvals": fixtures.two_approvals}}), {"context.target_mode"}],
	"switch_mode-target_mode-lowercase": [fixtures.request({"action": "switch_mode", "context": {"target_mode": "audit", "approvals": fixtures.two_approvals}}), {"context.target_mode"}],
	"missing-protocol_version": [fixtures.without(["protocol_version"]), {"protocol_version"}],
}

test_each_corruption_flags_its_field if {
	count(_corruptions) == 52
	wrong := {name: got |
		some name, [inp, want] in _corruptions
		got := _errors(inp)
		got != want
	}
	wrong == {}
}

# Through the decision every corruption is INVALID_INPUT alone and nothing else is evaluated on it, save two:
# a missing version is also PROTOCOL_VERSION, and an empty resource tenant id still differs from "acme".
_decision_exceptions := {
	"missing-protocol_version": {"allow": false, "reasons": ["INVALID_INPUT", "PROTOCOL_VERSION"], "violation": false},
	"tenant_id-is-empty": {"allow": false, "reasons": ["CROSS_TENANT", "INVALID_INPUT"], "violation": true},
}

test_each_corruption_denies_with_invalid_input_only if {
	wrong := {name: d |
		some name, [inp, _] in _corruptions
		want := object.get(_decision_exceptions, name, {"allow": false, "reasons": ["INVALID_INPUT"], "violation": false})
		d := fixtures.decide(inp)
		d != want
	}
	wrong == {}
}

test_several_corruptions_all_named if {
	_errors(fixtures.without(["principal/id", "resource/layer", "context/mode"])) == {
		"principal.id", "resource.layer", "context.mode",
	}
}

# Garbage is not evaluated: an unknown tenant, an out-of-region resource and an AUDIT-mode write would each deny,
# but the decision carries only the validation reason.
test_other_rules_not_evaluated_on_invalid_input if {
	inp := object.union(fixtures.without(["resource/id"]), {
		"principal": {"tenant_id": "nobody"}, "action": "write",
		"resource": {"tenant_id": "nobody", "region": "mars-1"},
		"context": {"mode": "AUDIT"},
	})
	fixtures.reasons(inp) == ["INVALID_INPUT"]
}

test_protocol_version_must_be_exactly_1_0 if {
	cases := {
		"two": {"input": fixtures.request({"protocol_version": "2.0"}), "want": ["PROTOCOL_VERSION"]},
		"patch-suffix": {"input": fixtures.request({"protocol_version": "1.0.0"}), "want": ["PROTOCOL_VERSION"]},
		"major-only": {"input": fixtures.request({"protocol_version": "1"}), "want": ["PROTOCOL_VERSION"]},
		"number": {"input": fixtures.request({"protocol_version": 1.0}), "want": ["PROTOCOL_VERSION"]},
		"padded": {"input": fixtures.request({"protocol_version": " 1.0"}), "want": ["PROTOCOL_VERSION"]},
		"null": {"input": fixtures.request({"protocol_version": null}), "want": ["PROTOCOL_VERSION"]},
		"empty": {"input": fixtures.request({"protocol_version": ""}), "want": ["PROTOCOL_VERSION"]},
		"missing": {"input": fixtures.without(["protocol_version"]), "want": ["INVALID_INPUT", "PROTOCOL_VERSION"]},
		"exact": {"input": fixtures.base, "want": []},
	}
	fixtures.failed(cases) == set()
}

# Another protocol's shape is not judged against 1.0: PROTOCOL_VERSION alone, not INVALID_INPUT beside it.
test_other_version_shape_not_judged if {
	fixtures.reasons({"protocol_version": "2.0", "subject": "alice"}) == ["PROTOCOL_VERSION"]
	fixtures.reasons({}) == ["INVALID_INPUT", "PROTOCOL_VERSION"]
}

test_non_object_input_is_invalid if {
	every inp in [null, "1.0", 1, true, [fixtures.base]] {
		validation.reasons == {"INVALID_INPUT"} with input as inp
		_errors(inp) == {"input"}
		not validation.valid with input as inp
	}
}

test_no_input_is_invalid if {
	validation.reasons == {"INVALID_INPUT"}
	validation.errors == {"input"}
	not validation.valid
}
