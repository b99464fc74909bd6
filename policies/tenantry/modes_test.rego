package tenantry.modes_test

import data.tenantry.fixtures
import data.tenantry.vocab

_all := vocab.actions

_mutating := {"write", "delete", "deploy", "execute", "migrate_domain"}

# The specification in table form, written out rather than derived: the actions each mode allows per domain
# (with canary_suspended absent). Everything else is denied with MODE.
_allowed_actions := {
	"NORMAL": {"LAB": _all, "SHADOW": _all, "PROD": _all},
	"CONSERVATIVE": {
		"LAB": _all - {"migrate_domain"},
		"SHADOW": _all - {"migrate_domain"},
		"PROD": _all - _mutating,
	},
	"AUDIT": {"LAB": _all - _mutating, "SHADOW": _all - _mutating, "PROD": _all - _mutating},
	"INCIDENT": {
		"LAB": {"read", "approve", "switch_mode"},
		"SHADOW": {"read", "approve", "switch_mode"},
		"PROD": {"read", "approve", "switch_mode"},
	},
	"RED_TEAM": {
		"LAB": _all - {"migrate_domain"},
		"SHADOW": _all - {"migrate_domain"},
		"PROD": _all - _mutating,
	},
}

_in(mode, domain, action, extra) := fixtures.allowed("control_plane", action, object.union(
	{"resource": {"domain": domain}, "context": {"mode": mode}},
	extra,
))

test_mode_domain_action_matrix if {
	results := {[mode, domain, action]: fixtures.reasons(_in(mode, domain, action, {})) |
		some mode in vocab.modes
		some domain in vocab.domains
		some action in vocab.actions
	}
	count(results) == 165
	wrong := {key: got |
		some key, got in results
		[mode, domain, action] := key
		want := _want(action in _allowed_actions[mode][domain])
		got != want
	}
	wrong == {}
}

_want(true) := []

_want(false) := ["MODE"]

test_canary_suspended_in_conservative if {
	s := {"context": {"canary_suspended": true}}
	cases := {
		"lab-write": {"input": _in("CONSERVATIVE", "LAB", "write", s), "want": ["CANARY_SUSPENDED"]},
		"shadow-deploy": {"input": _in("CONSERVATIVE", "SHADOW", "deploy", s), "want": ["CANARY_SUSPENDED"]},
		"lab-execute": {"input": _in("CONSERVATIVE", "LAB", "execute", s), "want": ["CANARY_SUSPENDED"]},
		"lab-delete": {"input": _in("CONSERVATIVE", "LAB", "delete", s), "want": ["CANARY_SUSPENDED"]},
		"lab-migrate": {"input": _in("CONSERVATIVE", "LAB", "migrate_domain", s), "want": ["CANARY_SUSPENDED", "MODE"]},
		"prod-deploy": {"input": _in("CONSERVATIVE", "PROD", "deploy", s), "want": ["CANARY_SUSPENDED", "MODE"]},
		"lab-read": {"input": _in("CONSERVATIVE", "LAB", "read", s), "want": []},
		"prod-invoke": {"input": _in("CONSERVATIVE", "PROD", "invoke", s), "want": []},
		"not-suspended": {"input": _in("CONSERVATIVE", "LAB", "deploy", {"context": {"canary_suspended": false}}), "want": []},
	}
	fixtures.failed(cases) == set()
}

# Outside CONSERVATIVE the flag changes nothing: the same 165-cell matrix, with canary_suspended true, is
# unchanged for the other four modes.
test_canary_suspended_ignored_in_other_modes if {
	s := {"context": {"canary_suspended": true}}
	wrong := {[mode, domain, action]: got |
		some mode in (vocab.modes - {"CONSERVATIVE"})
		some domain in vocab.domains
		some action in vocab.actions
		got := fixtures.reasons(_in(mode, domain, action, s))
		got != _want(action in _allowed_actions[mode][domain])
	}
	wrong == {}
}
