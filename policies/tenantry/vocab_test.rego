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
