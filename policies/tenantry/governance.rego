# Governed actions: reasons APPROVAL_REQUIRED and CAPABILITY.
#
# switch_mode needs approvals from at least two distinct principals holding role "approver", the requester
# (principal.id) never being one of them. Approvals are context.approvals entries {principal_id, role}: an
# entry with another role does not count, the same principal_id listed twice counts once, and the requester's
# own entries are ignored. Every switch is governed alike, into INCIDENT as much as out of it, and a switch to
# the current mode too. Whether target_mode is a valid mode is input validation (validation.rego).
#
# migrate_domain needs the capability role "domain_migrator" in principal.roles (exact match).
#
# Approvals on other actions are ignored: they neither help nor hurt.
package tenantry.governance

approvers := _approvers(input)

_approvers(req) := {a.principal_id |
	some a in req.context.approvals
	a.role == "approver"
	a.principal_id != req.principal.id
}

# reason(req): the code this module raises for the request req (the input, valid), undefined when it raises
# none; main.rego collects it.
reason(req) := _reason(req.action, req)

_reason("switch_mode", req) := "APPROVAL_REQUIRED" if count(_approvers(req)) < 2

_reason("migrate_domain", req) := "CAPABILITY" if not "domain_migrator" in req.principal.roles
