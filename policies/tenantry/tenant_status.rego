# Tenant lifecycle: reasons TENANT_UNKNOWN, TENANT_SUSPENDED, TENANT_LOCKED, TENANT_DELETED.
#
# Only an `active` tenant may act. Suspended (billing, abuse), locked (emergency lockdown after a cross-tenant
# violation; lifted only by an explicit, audited call) and deleted tenants are denied every action, reads
# included: forensic access to a locked tenant goes through the operator, not through the tenant's principals.
package tenantry.tenant_status

import data.tenantry.tenant

# One body per status (a constant object would be rebuilt on every wasm evaluation).
_status_reason("suspended") := "TENANT_SUSPENDED"

_status_reason("locked") := "TENANT_LOCKED"

_status_reason("deleted") := "TENANT_DELETED"

reasons contains "TENANT_UNKNOWN" if not tenant.known

reasons contains _status_reason(tenant.status)
