# Data residency: reason REGION.
#
# resource.region must be one of the tenant's regions (data.tenants[id].regions), compared exactly. Applies to
# every action and layer. Judged only for a known tenant: for an unknown one there is no list to judge against,
# and TENANT_UNKNOWN already denies.
package tenantry.region

import data.tenantry.tenant

reasons contains "REGION" if {
	tenant.known
	not input.resource.region in tenant.regions
}
