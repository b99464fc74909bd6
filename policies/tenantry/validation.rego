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
# undefined, not true, when input.x is missing (`==` is not a call: `not input.x == "1.0"` is true then). Every
# negated check here therefore reads fields with object.get(…, null) on a value known to be an object (through
# _field and _optional, which are undefined, so that the check stays silent, when the section is not one), or
# tests a helper rule without arguments.
#
# Cost note (OPA's wasm target, where the decision runs): constant sets and objects are rebuilt on every
# evaluation, so enums are checked with the function forms of vocab.rego (is_action, rank, …) and field names
# are spelled out one rule each rather than iterated from a constant set.
package tenantry.validation

import data.tenantry.vocab

# valid: the input is a well-formed protocol 1.0 request, so the other rules may read it.
#
# Two formulations of the same shape. valid is one conjunction of positive checks: it stops at the first failure
# and builds nothing, which is what nearly every request (a well-formed one) costs. The error rules below
# (errors) name every offending field; they are evaluated only for input that is not valid, to find the
# reasons. validation_test.rego checks that the two agree on every case it has.
default valid := false

valid if {
	is_object(input)
	input.protocol_version == "1.0"
	a := input.action
	vocab.is_action(a)

	p := input.principal
	_nonempty_string(p.tenant_id)
	_nonempty_string(p.id)
	_string_array(p.roles)
	vocab.rank(p.clearance)
	_string_array(p.tool_scopes)

	r := input.resource
	_nonempty_string(r.tenant_id)
	vocab.is_layer(r.layer)
	_nonempty_string(r.id)
	vocab.rank(r.classification)
	_nonempty_string(r.region)
	vocab.is_domain(r.domain)
	_nonempty_string(object.get(r, "tool", "-"))
	_nonempty_string(object.get(r, "host", "-"))

	c := input.context
	vocab.is_mode(c.mode)
	is_boolean(object.get(c, "canary_suspended", false))
	_approval_array(object.get(c, "approvals", []))
	vocab.is_mode(object.get(c, "target_mode", "NORMAL"))
	_target_mode_present(a, c)
}

# target_mode is required for switch_mode (when present it is a mode, checked above).
_target_mode_present(action, ctx) if {
	action != "switch_mode"
} else if {
	_ = ctx.target_mode
}

reasons contains "INVALID_INPUT" if not _input_is_object

reasons contains "PROTOCOL_VERSION" if {
	not valid
	is_object(input)
	not input.protocol_version == vocab.protocol_version
}

reasons contains "INVALID_INPUT" if {
	not valid
	is_object(input)
	not _declares_other_version
	count(errors) > 0
}

# No input at all is not an object either: a helper rule, because `not is_object(input)` would be undefined then.
_input_is_object if is_object(input)

# The key is present (with whatever value, null included).
_has_version if _ = input.protocol_version

_declares_other_version if {
	_has_version
	not input.protocol_version == vocab.protocol_version
}

errors contains "input" if not _input_is_object

# The fields of input: those read from input itself check that it is an object first; those read from a section
# are undefined, and so silent, when input is not an object.

errors contains "protocol_version" if {
	is_object(input)
	not _has_version
}

errors contains "action" if {
	is_object(input)
	not vocab.is_action(object.get(input, "action", null))
}

errors contains "principal" if {
	is_object(input)
	not is_object(object.get(input, "principal", null))
}

errors contains "resource" if {
	is_object(input)
	not is_object(object.get(input, "resource", null))
}

errors contains "context" if {
	is_object(input)
	not is_object(object.get(input, "context", null))
}

# principal

errors contains "principal.tenant_id" if not _nonempty_string(_field(input.principal, "tenant_id"))

errors contains "principal.id" if not _nonempty_string(_field(input.principal, "id"))

errors contains "principal.roles" if not _string_array(_field(input.principal, "roles"))

errors contains "principal.clearance" if not vocab.rank(_field(input.principal, "clearance"))

errors contains "principal.tool_scopes" if not _string_array(_field(input.principal, "tool_scopes"))

# resource

errors contains "resource.tenant_id" if not _nonempty_string(_field(input.resource, "tenant_id"))

errors contains "resource.layer" if not vocab.is_layer(_field(input.resource, "layer"))

errors contains "resource.id" if not _nonempty_string(_field(input.resource, "id"))

errors contains "resource.classification" if not vocab.rank(_field(input.resource, "classification"))

errors contains "resource.region" if not _nonempty_string(_field(input.resource, "region"))

errors contains "resource.domain" if not vocab.is_domain(_field(input.resource, "domain"))

errors contains "resource.tool" if not _nonempty_string(_optional(input.resource, "tool", "-"))

errors contains "resource.host" if not _nonempty_string(_optional(input.resource, "host", "-"))

# context

errors contains "context.mode" if not vocab.is_mode(_field(input.context, "mode"))

errors contains "context.canary_suspended" if not is_boolean(_optional(input.context, "canary_suspended", false))

errors contains "context.approvals" if not _approval_array(_optional(input.context, "approvals", []))

errors contains "context.target_mode" if not vocab.is_mode(_optional(input.context, "target_mode", "NORMAL"))

errors contains "context.target_mode" if not _target_mode_present(input.action, _section(input.context))

# _field(section, key): section[key], null when absent; _optional(section, key, absent): section[key], absent
# when absent; _section(section): section. Each is undefined when section is not an object (its own error is
# reported above, and the checks of its fields then stay silent instead of repeating it).
_field(section, key) := object.get(section, key, null) if is_object(section)

_optional(section, key, absent) := object.get(section, key, absent) if is_object(section)

_section(section) := section if is_object(section)

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

_approval_array(xs) if {
	is_array(xs)
	every x in xs {
		is_object(x)
		_nonempty_string(object.get(x, "principal_id", null))
		_nonempty_string(object.get(x, "role", null))
	}
}
