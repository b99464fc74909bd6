package tenantry.tenant_status_test

import data.tenantry.fixtures
import data.tenantry.tenant_status

_own(tenant_id) := fixtures.request({"principal": {"tenant_id": tenant_id}, "resource": {"tenant_id": tenant_id}})

test_status_reasons if {
	cases := {
		"active": {"input": _own("acme"), "want": []},
		"suspended": {"input": _own("initech"), "want": ["TENANT_SUSPENDED"]},
		"locked": {"input": _own("umbrella"), "want": ["TENANT_LOCKED"]},
		"deleted": {"input": _own("hooli"), "want": ["TENANT_DELETED"]},
		"unknown": {"input": _own("nobody"), "want": ["TENANT_UNKNOWN"]},
		"unknown-case": {"input": _own("Acme"), "want": ["TENANT_UNKNOWN"]},
	}
	fixtures.failed(cases) == set()
}

# A non-active tenant is denied every action, reads included.
test_locked_tenant_denied_every_action if {
	wrong := {action: d |
		some action in data.tenantry.vocab.actions
		d := fixtures.decide(fixtures.allowed("control_plane", action, {
			"principal": {"tenant_id": "umbrella"},
			"resource": {"tenant_id": "umbrella"},
		}))
		d != {"allow": false, "reasons": ["TENANT_LOCKED"], "violation": false}
	}
	wrong == {}
}

# An unknown tenant has no regions or egress list to judge against: TENANT_UNKNOWN alone, not REGION or EGRESS.
test_unknown_tenant_reports_only_unknown if {
	inp := fixtures.allowed("network", "egress", {
		"principal": {"tenant_id": "nobody"},
		"resource": {"tenant_id": "nobody", "host": "evil.example"},
	})
	fixtures.reasons(inp) == ["TENANT_UNKNOWN"]
}

test_module_reasons_direct if {
	r := tenant_status.reasons with input as _own("hooli") with data.tenants as fixtures.tenants
	r == {"TENANT_DELETED"}
	u := tenant_status.reasons with input as fixtures.base
	u == {"TENANT_UNKNOWN"}
}
