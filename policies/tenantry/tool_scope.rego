# Tool scopes: reason TOOL_SCOPE.
#
# A request that names a tool (resource.tool) is tool-scoped when
#   - the action exercises the tool: invoke, execute or use_credentials (on any layer), or
#   - the resource is on the agent_runtime layer (where tools run, every action naming one goes through it).
# A tool-scoped request needs resource.tool in principal.tool_scopes, by exact match: no wildcards, no
# prefixes, no case folding. A request that names no tool is not tool-scoped (an invoke without a tool is a
# model or service call, governed by the other rules); one that names a tool for another action on another
# layer (e.g. approve on the approval layer, read on memory_graph) only refers to it.
package tenantry.tool_scope

# reason(req): the code this module raises for the request req (the input, valid), undefined when it raises
# none; main.rego collects it.
reason(req) := "TOOL_SCOPE" if {
	r := req.resource
	tool := r.tool
	_scoped(req.action, r.layer)
	not tool in req.principal.tool_scopes
}

# A function rather than constant sets, which OPA's wasm target would rebuild on every evaluation.
_scoped(action, layer) if {
	action == "invoke"
} else if {
	action == "execute"
} else if {
	action == "use_credentials"
} else if {
	layer == "agent_runtime"
}
