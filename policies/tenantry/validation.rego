# Input validation for protocol 1.0: reasons PROTOCOL_VERSION and INVALID_INPUT.
#
#   - Input that is not an object (including no input at all) → INVALID_INPUT.
#   - protocol_version present but not exactly the string "1.0" → PROTOCOL_VERSION only: the shape of a protocol
#     we do not speak is not judged against 1.0, so a "2.0" caller learns the one thing that matters.
#   - protocol_version absent → PROTOCOL_VERSION and INVALID_INPUT (a required field is missing).
#   - protocol_version "1.0" with any shape error → INVALID_INPUT.
#
# Shape (every string must be non-empty; "?" marks an optional field, which when present must be well-typed;
# null is a value, not an absence, and is rejected like any other wrong type; unknown fields are ignored):
#   principal  object: tenant_id string, id string, roles [string], clearance ∈ vocab.sensitivity_rank,
#              tool_scopes [string]
#   action     ∈ vocab.actions
#   resource   object: tenant_id string, layer ∈ vocab.layers, id string, classification ∈ vocab.sensitivity_rank,
#              region string, domain ∈ vocab.domains, tool? string, host? string
#   context    object: mode ∈ vocab.modes, canary_suspended? boolean, approvals? [{principal_id string, role
#              string}], target_mode? ∈ vocab.modes — required when action is switch_mode
#
# `errors` names each offending field by its dotted path, so tests (and a debugging host) can see which check
# fired; `reasons` reduces them to codes.
#
# Rego note: a ref inside a call argument is evaluated before the `not`, so `not is_string(input.x)` is
# undefined, not true, when input.x is missing. Every negated check here therefore reads fields with
# object.get(…, null) on a value already known to be an object, or tests a helper rule without arguments.
package tenantry.validation

import data.tenantry.vocab

# valid: the input is a well-formed protocol 1.0 request, so the other rules may read it.
#
# Two formulations of the same shape. _well_formed is one conjunction of positive checks: it stops at the first
# failure and builds nothing, which is what nearly every request (a well-formed one) costs. The error rules below
# (errors, _field_errors) name every offending field; they are evaluated only for input that is not well formed,
# to find the reasons. validation_test.rego checks that the two agree on every case it has.
default valid := false

valid if _well_formed

reasons contains "INVALID_INPUT" if not _input_is_object

reasons contains "PROTOCOL_VERSION" if {
	not _well_formed
	_input_is_object
	not _speaks_1_0
}

reasons contains "INVALID_INPUT" if {
	not _well_formed
	_input_is_object
	not _declares_other_version
	count(errors) > 0
}

_well_formed if {
	is_object(input)
	input.protocol_version == "1.0"
	vocab.is_action(input.action)

	p := input.principal
	is_string(p.tenant_id)
	p.tenant_id != ""
	is_string(p.id)
	p.id != ""
	_string_array(p.roles)
	vocab.rank(p.clearance)
	_string_array(p.tool_scopes)

	r := input.resource
	is_string(r.tenant_id)
	r.tenant_id != ""
	vocab.is_layer(r.layer)
	is_string(r.id)
	r.id != ""
	vocab.rank(r.classification)
	is_string(r.region)
	r.region != ""
	vocab.is_domain(r.domain)
	_nonempty_string(object.get(r, "tool", "-"))
	_nonempty_string(object.get(r, "host", "-"))

	c := input.context
	vocab.is_mode(c.mode)
	is_boolean(object.get(c, "canary_suspended", false))
	_approval_array(object.get(c, "approvals", []))
	vocab.is_mode(object.get(c, "target_mode", "NORMAL"))
	_target_mode_present
}

# target_mode is required for switch_mode.
_target_mode_present if input.action != "switch_mode"

_target_mode_present if input.context.target_mode

_input_is_object if is_object(input)

_speaks_1_0 if input.protocol_version == vocab.protocol_version

_declares_other_version if {
	"protocol_version" in object.keys(input)
	not _speaks_1_0
}

errors contains "input" if not _input_is_object

errors contains path if {
	_input_is_object
	some path in _field_errors
}

# Precondition of every _field_errors rule: input is an object (errors checks it before reading them).

_field_errors contains "protocol_version" if not "protocol_version" in object.keys(input)

_field_errors contains "action" if not _enum(object.get(input, "action", null), vocab.actions)

_field_errors contains section if {
	some section in {"principal", "resource", "context"}
	not is_object(object.get(input, section, null))
}

# principal

_field_errors contains concat(".", ["principal", key]) if {
	some key in {"tenant_id", "id"}
	not _nonempty_string(object.get(_section.principal, key, null))
}

_field_errors contains concat(".", ["principal", key]) if {
	some key in {"roles", "tool_scopes"}
	not _string_array(object.get(_section.principal, key, null))
}

_field_errors contains "principal.clearance" if {
	not _enum(object.get(_section.principal, "clearance", null), object.keys(vocab.sensitivity_rank))
}

# resource

_field_errors contains concat(".", ["resource", key]) if {
	some key in {"tenant_id", "id", "region"}
	not _nonempty_string(object.get(_section.resource, key, null))
}

_field_errors contains concat(".", ["resource", key]) if {
	some key, allowed in {
		"layer": vocab.layers,
		"classification": object.keys(vocab.sensitivity_rank),
		"domain": vocab.domains,
	}
	not _enum(object.get(_section.resource, key, null), allowed)
}

_field_errors contains concat(".", ["resource", key]) if {
	some key in {"tool", "host"}
	value := _section.resource[key]
	not _nonempty_string(value)
}

# context

_field_errors contains "context.mode" if {
	not _enum(object.get(_section.context, "mode", null), vocab.modes)
}

_field_errors contains "context.canary_suspended" if {
	value := _section.context.canary_suspended
	not is_boolean(value)
}

_field_errors contains "context.approvals" if {
	value := _section.context.approvals
	not _approval_array(value)
}

_field_errors contains "context.target_mode" if {
	value := _section.context.target_mode
	not _enum(value, vocab.modes)
}

_field_errors contains "context.target_mode" if {
	input.action == "switch_mode"
	not "target_mode" in object.keys(_section.context)
}

# _section[name]: input[name] when it is an object; undefined otherwise (its own error is reported above, and
# the checks of its fields then stay silent instead of repeating it).
_section[name] := value if {
	some name in {"principal", "resource", "context"}
	value := input[name]
	is_object(value)
}

# helpers

_nonempty_string(x) if {
	is_string(x)
	x != ""
}

_string_array(xs) if {
	is_array(xs)
	every x in xs {
		_nonempty_string(x)
	}
}

_enum(x, allowed) if {
	is_string(x)
	x in allowed
}

_approval_array(xs) if {
	is_array(xs)
	every x in xs {
		is_object(x)
		_nonempty_string(object.get(x, "principal_id", null))
		_nonempty_string(object.get(x, "role", null))
	}
}
