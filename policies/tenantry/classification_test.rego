package tenantry.classification_test

import data.tenantry.fixtures

_scale := ["public", "internal", "confidential", "restricted"]

# The six [clearance, classification] pairs that must be denied, written out rather than derived from ranks.
_denied := {
	["public", "internal"], ["public", "confidential"], ["public", "restricted"],
	["internal", "confidential"], ["internal", "restricted"],
	["confidential", "restricted"],
}

test_clearance_against_classification_all_pairs if {
	results := {[clearance, classification]: fixtures.reasons(fixtures.request({
		"principal": {"clearance": clearance},
		"resource": {"classification": classification},
	})) |
		some clearance in _scale
		some classification in _scale
	}
	count(results) == 16
	{pair | some pair, r in results; r == ["CLASSIFICATION"]} == _denied
	{pair | some pair, r in results; r == []} == {pair | some pair, _ in results} - _denied
}

# Clearance is required for every action, not only reads.
test_applies_to_writes_and_invocations if {
	cases := {action: {
		"input": fixtures.allowed("memory_graph", action, {
			"principal": {"clearance": "internal"},
			"resource": {"classification": "restricted"},
		}),
		"want": ["CLASSIFICATION"],
	} |
		some action in data.tenantry.vocab.actions
	}
	count(cases) == 11
	fixtures.failed(cases) == set()
}
