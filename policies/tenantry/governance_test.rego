package tenantry.governance_test

import data.tenantry.fixtures
import data.tenantry.governance

# alice (the requester) asks to switch to AUDIT with the given approvals.
_switch(approvals) := fixtures.request({"action": "switch_mode", "context": {"target_mode": "AUDIT", "approvals": approvals}})

_a(id, role) := {"principal_id": id, "role": role}

test_switch_mode_approvals if {
	cases := {
		"two-distinct-approvers": {"input": _switch([_a("bob", "approver"), _a("carol", "approver")]), "want": []},
		"three-approvers": {"input": _switch([_a("bob", "approver"), _a("carol", "approver"), _a("dave", "approver")]), "want": []},
		"requester-plus-two-others": {
			"input": _switch([_a("alice", "approver"), _a("bob", "approver"), _a("carol", "approver")]),
			"want": [],
		},
		"extra-non-approver-entries": {
			"input": _switch([_a("bob", "approver"), _a("bob", "viewer"), _a("carol", "approver")]),
			"want": [],
		},
		"no-approvals-field": {
			"input": fixtures.request({"action": "switch_mode", "context": {"target_mode": "AUDIT"}}),
			"want": ["APPROVAL_REQUIRED"],
		},
		"empty-approvals": {"input": _switch([]), "want": ["APPROVAL_REQUIRED"]},
		"one-approver": {"input": _switch([_a("bob", "approver")]), "want": ["APPROVAL_REQUIRED"]},
		"requester-approves-own-switch": {
			"input": _switch([_a("alice", "approver"), _a("bob", "approver")]),
			"want": ["APPROVAL_REQUIRED"],
		},
		"requester-approves-twice": {
			"input": _switch([_a("alice", "approver"), _a("alice", "approver")]),
			"want": ["APPROVAL_REQUIRED"],
		},
		"one-approver-twice": {
			"input": _switch([_a("bob", "approver"), _a("bob", "approver")]),
			"want": ["APPROVAL_REQUIRED"],
		},
		"non-approver-role": {
			"input": _switch([_a("bob", "approver"), _a("carol", "reviewer")]),
			"want": ["APPROVAL_REQUIRED"],
		},
		"role-case-differs": {
			"input": _switch([_a("bob", "approver"), _a("carol", "Approver")]),
			"want": ["APPROVAL_REQUIRED"],
		},
		"requester-role-is-irrelevant": {
			"input": object.union(_switch([_a("bob", "approver")]), {"principal": {"roles": ["approver"]}}),
			"want": ["APPROVAL_REQUIRED"],
		},
	}
	fixtures.failed(cases) == set()
}

test_switch_mode_target_mode if {
	cases := {
		"missing-target": {
			"input": fixtures.request({"action": "switch_mode", "context": {"approvals": fixtures.two_approvals}}),
			"want": ["INVALID_INPUT"],
		},
		"invalid-target": {
			"input": fixtures.request({"action": "switch_mode", "context": {"target_mode": "PANIC", "approvals": fixtures.two_approvals}}),
			"want": ["INVALID_INPUT"],
		},
		"same-as-current": {
			"input": fixtures.request({"action": "switch_mode", "context": {"target_mode": "NORMAL", "approvals": fixtures.two_approvals}}),
			"want": [],
		},
	}
	fixtures.failed(cases) == set()
}

# Every target mode is reachable from every mode (INCIDENT included, so the lockdown can be lifted), always
# behind two approvers.
test_switch_between_every_pair_of_modes if {
	modes := data.tenantry.vocab.modes
	wrong := {[from, to]: [ok, denied] |
		some from in modes
		some to in modes
		ok := fixtures.reasons(fixtures.request({
			"action": "switch_mode",
			"context": {"mode": from, "target_mode": to, "approvals": fixtures.two_approvals},
		}))
		denied := fixtures.reasons(fixtures.request({"action": "switch_mode", "context": {"mode": from, "target_mode": to}}))
		[ok, denied] != [[], ["APPROVAL_REQUIRED"]]
	}
	wrong == {}
}

test_approvals_ignored_on_other_actions if {
	inp := fixtures.request({"action": "write", "context": {"approvals": [_a("alice", "approver")]}})
	fixtures.reasons(inp) == []
}

test_migrate_domain_capability if {
	cases := {
		"with-capability": {
			"input": fixtures.request({"action": "migrate_domain", "principal": {"roles": ["developer", "domain_migrator"]}}),
			"want": [],
		},
		"without-capability": {"input": fixtures.request({"action": "migrate_domain"}), "want": ["CAPABILITY"]},
		"no-roles": {"input": fixtures.request({"action": "migrate_domain", "principal": {"roles": []}}), "want": ["CAPABILITY"]},
		"case-differs": {
			"input": fixtures.request({"action": "migrate_domain", "principal": {"roles": ["Domain_Migrator"]}}),
			"want": ["CAPABILITY"],
		},
		"approver-is-not-a-capability": {
			"input": fixtures.request({
				"action": "migrate_domain",
				"context": {"approvals": [_a("bob", "domain_migrator"), _a("carol", "domain_migrator")]},
			}),
			"want": ["CAPABILITY"],
		},
		"without-capability-in-audit": {
			"input": fixtures.request({"action": "migrate_domain", "context": {"mode": "AUDIT"}}),
			"want": ["CAPABILITY", "MODE"],
		},
		"capability-for-write-not-needed": {"input": fixtures.request({"action": "write"}), "want": []},
	}
	fixtures.failed(cases) == set()
}

test_approvers_set if {
	a := governance.approvers with input as _switch([
		_a("alice", "approver"), _a("bob", "approver"), _a("bob", "approver"), _a("carol", "viewer"),
	])
	a == {"bob"}
}
