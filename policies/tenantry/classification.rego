# Data classification: reason CLASSIFICATION.
#
# The principal's clearance must rank at least the resource's classification on the one scale
# public < internal < confidential < restricted (vocab.sensitivity_rank). Equal ranks are allowed. Applies to
# every action: writing restricted data needs restricted clearance as much as reading it does.
package tenantry.classification

import data.tenantry.vocab

# reason(req): the code this module raises for the request req (the input, valid), undefined when it raises
# none; main.rego collects it.
reason(req) := "CLASSIFICATION" if {
	vocab.rank(req.principal.clearance) < vocab.rank(req.resource.classification)
}
