package tenantry.isolation_test

import data.tenantry.fixtures
import data.tenantry.isolation

_reasons(inp) := r if {
	r := isolation.reasons with input as inp
}

test_same_tenant_is_not_cross_tenant if {
	_reasons(fixtures.base) == set()
}

test_other_tenant_is_cross_tenant if {
	_reasons(fixtures.request({"resource": {"tenant_id": "globex"}})) == {"CROSS_TENANT"}
}

test_principal_side_differs if {
	_reasons(fixtures.request({"principal": {"tenant_id": "globex"}})) == {"CROSS_TENANT"}
}

# Ids are compared exactly: neither case nor surrounding space makes two ids the same tenant.
test_tenant_ids_compared_exactly if {
	_reasons(fixtures.request({"resource": {"tenant_id": "ACME"}})) == {"CROSS_TENANT"}
	_reasons(fixtures.request({"resource": {"tenant_id": "acme "}})) == {"CROSS_TENANT"}
	_reasons(fixtures.request({"resource": {"tenant_id": ""}})) == {"CROSS_TENANT"}
}

# Reported from the two ids alone, whatever else is wrong with the input.
test_reported_on_otherwise_garbage_input if {
	_reasons({"principal": {"tenant_id": "acme"}, "resource": {"tenant_id": "globex"}}) == {"CROSS_TENANT"}
}

test_not_reported_without_two_string_ids if {
	_reasons(fixtures.request({"resource": {"tenant_id": 7}})) == set()
	_reasons(fixtures.request({"principal": {"tenant_id": ["acme"]}})) == set()
	_reasons(fixtures.without(["resource/tenant_id"])) == set()
	_reasons(fixtures.without(["principal"])) == set()
	_reasons("acme") == set()
}

# Through the decision: violation and the validation reason side by side, other rules not evaluated.
test_cross_tenant_beside_validation_reasons if {
	fixtures.decide(object.union(fixtures.without(["context"]), {"resource": {"tenant_id": "globex"}})) == {
		"allow": false, "reasons": ["CROSS_TENANT", "INVALID_INPUT"], "violation": true,
	}
	fixtures.decide(fixtures.request({"protocol_version": "0.9", "resource": {"tenant_id": "globex"}})) == {
		"allow": false, "reasons": ["CROSS_TENANT", "PROTOCOL_VERSION"], "violation": true,
	}
}
