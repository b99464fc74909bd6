# Operational modes and domains: reasons MODE and CANARY_SUSPENDED.
#
# context.mode is the gateway's current operational mode; resource.domain is where the resource lives.
# "Mutating" is vocab.mutating_actions: write, delete, deploy, execute, migrate_domain.
#
#   NORMAL        full autonomy: nothing denied here.
#   CONSERVATIVE  canary only: a mutation in PROD → MODE; LAB/SHADOW mutations (the canary) are allowed unless
#                 context.canary_suspended is true, which denies every mutation with CANARY_SUSPENDED (a PROD
#                 mutation then carries both codes).
#   AUDIT         observation only: every mutation → MODE; non-mutating actions stay allowed.
#   INCIDENT      lockdown plus forensic reads: every action except read → MODE, save the two governance
#                 actions approve and switch_mode, so that the lockdown can be lifted (switch_mode still needs
#                 its two approvers, governance.rego). Tool calls, egress and credential use are denied.
#   RED_TEAM      destructive simulation in LAB/SHADOW only: a mutation in PROD → MODE.
#
# migrate_domain is denied (MODE) in CONSERVATIVE and RED_TEAM whatever resource.domain says: the input names
# the source domain only, and a migration out of LAB or SHADOW may land in PROD.
# canary_suspended matters only in CONSERVATIVE, the one mode whose mutations run as a canary; elsewhere it is
# ignored (NORMAL has no canary gate, AUDIT and INCIDENT deny mutations anyway, RED_TEAM simulates off PROD).
package tenantry.modes

import data.tenantry.vocab

# reason(req), canary_reason(req): the codes this module raises for the request req (the input, valid), each
# undefined when not raised; main.rego collects them. NORMAL denies nothing, so it is settled by one comparison.
reason(req) := "MODE" if {
	mode := req.context.mode
	mode != "NORMAL"
	_denies(mode, req.action, req.resource.domain)
}

canary_reason(req) := "CANARY_SUSPENDED" if {
	c := req.context
	c.mode == "CONSERVATIVE"
	c.canary_suspended == true
	vocab.is_mutating(req.action)
}

# _denies(mode, action, domain): the mode denies the action on the domain (MODE). Functions rather than
# constant sets, which OPA's wasm target would rebuild on every evaluation.
_denies("CONSERVATIVE", action, domain) if _canary_or_red_team_denies(action, domain)

_denies("RED_TEAM", action, domain) if _canary_or_red_team_denies(action, domain)

_denies("AUDIT", action, _) if vocab.is_mutating(action)

_denies("INCIDENT", action, _) if not _incident_allowed(action)

# CONSERVATIVE and RED_TEAM: no mutation in PROD, no migration from anywhere.
_canary_or_red_team_denies(action, domain) if {
	action == "migrate_domain"
} else if {
	domain == "PROD"
	vocab.is_mutating(action)
}

_incident_allowed(a) if {
	a == "read"
} else if {
	a == "approve"
} else if {
	a == "switch_mode"
}
