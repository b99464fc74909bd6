# Data residency: reason REGION.
#
# resource.region must be one of the tenant's regions (data.tenants[id].regions), compared exactly. Applies to
# every action and layer. Judged only for a known tenant: for an unknown one there is no list to judge against,
# and TENANT_UNKNOWN already denies.
package tenantry.region

# reason(req, record): the code this module raises for the request req (the input, valid) and record, the
# principal's tenant (tenant.record), undefined when it raises none; main.rego collects it. Without a record
# (an unknown tenant) it is not called.
reason(req, record) := "REGION" if not _region_allowed(req.resource.region, record)

# Iterates the record's regions rather than building tenant.regions (a set built per evaluation costs more in
# wasm); the same strings count: tenant.regions keeps only the string elements, and the region is a string.
_region_allowed(region, record) if {
	regions := record.regions
	is_array(regions)
	some r in regions
	r == region
}
