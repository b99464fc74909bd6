# Tenant lifecycle: reasons TENANT_UNKNOWN, TENANT_SUSPENDED, TENANT_LOCKED, TENANT_DELETED.
#
# Only an `active` tenant may act. Suspended (billing, abuse), locked (emergency lockdown after a cross-tenant
# violation; lifted only by an explicit, audited call) and deleted tenants are denied every action, reads
# included: forensic access to a locked tenant goes through the operator, not through the tenant's principals.
package tenantry.tenant_status

import data.tenantry.tenant

# reason: the one code this module raises for the input, undefined for an active tenant (main.rego collects it);
# reasons: the same as a set. The two bodies exclude each other: tenant.record is defined only for a known tenant.
reason := "TENANT_UNKNOWN" if not tenant.record

reason := _status_reason(tenant.record.status)

# A function rather than a constant object, which would be rebuilt on every wasm evaluation.
_status_reason(s) := "TENANT_SUSPENDED" if {
	s == "suspended"
} else := "TENANT_LOCKED" if {
	s == "locked"
} else := "TENANT_DELETED" if {
	s == "deleted"
}

reasons contains reason
