package tenantry.tenant_test

import data.tenantry.fixtures
import data.tenantry.tenant

_as(tenants) := {"known": known, "regions": regions, "egress_allow": egress_allow} if {
	known := tenant.known with input as fixtures.base with data.tenants as tenants
	regions := tenant.regions with input as fixtures.base with data.tenants as tenants
	egress_allow := tenant.egress_allow with input as fixtures.base with data.tenants as tenants
}

_known(status) if {
	tenant.known with input as fixtures.base with data.tenants as {"acme": {"status": status}}
}

test_active_record_read if {
	_as(fixtures.tenants).known
	_as(fixtures.tenants).regions == {"eu-west-1", "eu-central-1"}
	_as(fixtures.tenants).egress_allow == {"api.openai.com", "*.acme.example", "Mixed.Case.Example"}
}

test_every_status_is_known if {
	every status in ["active", "suspended", "locked", "deleted"] {
		_known(status)
	}
}

# Read fail-closed: anything but an object with a known status is no tenant at all.
test_malformed_records_are_unknown if {
	not tenant.known with input as fixtures.base
	not _known("frozen")
	not _known("ACTIVE")
	not _known(true)
	not tenant.known with input as fixtures.base with data.tenants as {"acme": {"regions": ["eu-west-1"]}}
	not tenant.known with input as fixtures.base with data.tenants as {"acme": "active"}
	not tenant.known with input as fixtures.base with data.tenants as [{"status": "active"}]
	not tenant.known with input as fixtures.base with data.tenants as {"globex": {"status": "active"}}
}

test_malformed_lists_read_as_empty if {
	_as({"acme": {"status": "active"}}) == {"known": true, "regions": set(), "egress_allow": set()}
	_as({"acme": {"status": "active", "regions": "eu-west-1", "egress_allow": {"api.openai.com": true}}}) == {
		"known": true, "regions": set(), "egress_allow": set(),
	}
	_as({"acme": {"status": "active", "regions": ["eu-west-1", 1, null], "egress_allow": [["x"], "api.openai.com"]}}) == {
		"known": true, "regions": {"eu-west-1"}, "egress_allow": {"api.openai.com"},
	}
}

test_unknown_tenant_has_no_lists if {
	regions := tenant.regions with input as fixtures.request({"principal": {"tenant_id": "nobody"}})
		with data.tenants as fixtures.tenants
	regions == set()
}
