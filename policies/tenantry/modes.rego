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

_mutating if vocab.is_mutating(input.action)

_in_prod if input.resource.domain == "PROD"

# Functions rather than constant sets: OPA's wasm target rebuilds a constant set on every evaluation.
_incident_allowed(a) if a == "read"

_incident_allowed(a) if a == "approve"

_incident_allowed(a) if a == "switch_mode"

_canary_or_red_team if input.context.mode == "CONSERVATIVE"

_canary_or_red_team if input.context.mode == "RED_TEAM"

reasons contains "MODE" if {
	_canary_or_red_team
	_mutating
	_in_prod
}

reasons contains "MODE" if {
	_canary_or_red_team
	input.action == "migrate_domain"
}

reasons contains "CANARY_SUSPENDED" if {
	input.context.mode == "CONSERVATIVE"
	input.context.canary_suspended == true
	_mutating
}

reasons contains "MODE" if {
	input.context.mode == "AUDIT"
	_mutating
}

reasons contains "MODE" if {
	input.context.mode == "INCIDENT"
	not _incident_allowed(input.action)
}
