# Data classification: reason CLASSIFICATION.
#
# The principal's clearance must rank at least the resource's classification on the one scale
# public < internal < confidential < restricted (vocab.sensitivity_rank). Equal ranks are allowed. Applies to
# every action: writing restricted data needs restricted clearance as much as reading it does.
package tenantry.classification

import data.tenantry.vocab

reasons contains "CLASSIFICATION" if {
	vocab.rank(input.principal.clearance) < vocab.rank(input.resource.classification)
}
