# The principal's tenant record, data.tenants[principal.tenant_id], read fail-closed.
#
# All tenant-scoped rules (status, regions, egress) read the principal's tenant. When the resource belongs to
# another tenant, isolation.rego has already denied with CROSS_TENANT.
#
# A record is `known` only when it is an object whose status is one of vocab.tenant_statuses; anything else
# (absent, wrong type, unknown status) is TENANT_UNKNOWN. regions and egress_allow keep only the string entries
# of an array; a missing or malformed list is empty, which denies (REGION, EGRESS) instead of erroring.
#
# The evaluation path reads only record (tenant_status.rego, and main.rego passes it to region.rego and
# egress.rego, which iterate record.regions and record.egress_allow themselves with the same filter: a set built
# per evaluation costs more in wasm than a scan of the array). known, regions and egress_allow say the same for
# tests and readers.
package tenantry.tenant

import data.tenantry.vocab

record := r if {
	r := data.tenants[input.principal.tenant_id]
	is_object(r)
	vocab.is_tenant_status(r.status)
}

known if is_object(record)

regions := {r | is_array(record.regions); some r in record.regions; is_string(r)}

egress_allow := {h | is_array(record.egress_allow); some h in record.egress_allow; is_string(h)}
