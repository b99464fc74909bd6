# Data residency: reason REGION.
#
# resource.region must be one of the tenant's regions (data.tenants[id].regions), compared exactly. Applies to
# every action and layer. Judged only for a known tenant: for an unknown one there is no list to judge against,
# and TENANT_UNKNOWN already denies.
package tenantry.region

import data.tenantry.tenant

reasons contains "REGION" if {
	tenant.known
	not _region_allowed
}

# Iterates the record's regions rather than building tenant.regions (a set built per evaluation costs more in
# wasm); the same strings count: tenant.regions keeps only the string elements, and the region is a string.
_region_allowed if {
	is_array(tenant.record.regions)
	some r in tenant.record.regions
	r == input.resource.region
}
