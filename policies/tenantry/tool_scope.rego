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

# One body per action rather than a constant set: OPA's wasm target rebuilds a constant set on every evaluation.
_exercising(a) if a == "invoke"

_exercising(a) if a == "execute"

_exercising(a) if a == "use_credentials"

_scoped if _exercising(input.action)

_scoped if input.resource.layer == "agent_runtime"

reasons contains "TOOL_SCOPE" if {
	tool := input.resource.tool
	_scoped
	not tool in input.principal.tool_scopes
}
