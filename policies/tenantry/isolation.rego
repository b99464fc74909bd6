# Tenant isolation: reason CROSS_TENANT.
#
# A principal may touch only resources of its own tenant, on every layer and for every action; there is no
# exception, no role and no mode that opens a cross-tenant path. Tenant ids are compared exactly (no case
# folding, no trimming): "acme" and "ACME" are two tenants.
#
# This rule reads only the two tenant ids and fires whenever both are strings and differ, even when the rest of
# the input is malformed or speaks another protocol version (main.rego always includes it), so that an attempt
# is never hidden behind a validation error.
package tenantry.isolation

# reason(req): the code this module raises for the request req (the input), undefined when it raises none;
# main.rego collects it. reasons: the same for the input, as a set.
reason(req) := "CROSS_TENANT" if {
	p := req.principal.tenant_id
	r := req.resource.tenant_id
	is_string(p)
	is_string(r)
	p != r
}

reasons contains reason(input)
