package tenantry.region_test

import data.tenantry.fixtures

test_region_residency if {
	cases := {
		"home-region": {"input": fixtures.base, "want": []},
		"second-region": {"input": fixtures.request({"resource": {"region": "eu-central-1"}}), "want": []},
		"foreign-region": {"input": fixtures.request({"resource": {"region": "us-east-1"}}), "want": ["REGION"]},
		"case-differs": {"input": fixtures.request({"resource": {"region": "EU-WEST-1"}}), "want": ["REGION"]},
		"prefix-only": {"input": fixtures.request({"resource": {"region": "eu-west"}}), "want": ["REGION"]},
		"write-abroad": {"input": fixtures.request({"action": "write", "resource": {"region": "us-east-1"}}), "want": ["REGION"]},
	}
	fixtures.failed(cases) == set()
}

test_tenant_without_regions_is_denied_everywhere if {
	inp := fixtures.request({"principal": {"tenant_id": "bare"}, "resource": {"tenant_id": "bare"}})
	fixtures.reasons(inp) == ["REGION"]
}

# Regions are the principal's tenant's: globex's us-east-1 does not help acme (and is cross-tenant anyway).
test_regions_read_from_principal_tenant if {
	inp := fixtures.request({"resource": {"tenant_id": "globex", "region": "us-east-1"}})
	fixtures.reasons(inp) == ["CROSS_TENANT", "REGION"]
}
