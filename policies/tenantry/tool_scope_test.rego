package tenantry.tool_scope_test

import data.tenantry.fixtures

_req(layer, action, tool) := fixtures.allowed(layer, action, {"resource": {"tool": tool}})

test_tool_scope_rule if {
	cases := {
		"invoke-in-scope": {"input": _req("model_access", "invoke", "search"), "want": []},
		"invoke-out-of-scope": {"input": _req("model_access", "invoke", "shell"), "want": ["TOOL_SCOPE"]},
		"execute-out-of-scope": {"input": _req("risk_engine", "execute", "shell"), "want": ["TOOL_SCOPE"]},
		"execute-in-scope": {"input": _req("risk_engine", "execute", "code_exec"), "want": []},
		"use_credentials-out-of-scope": {"input": _req("model_access", "use_credentials", "shell"), "want": ["TOOL_SCOPE"]},
		"agent_runtime-read-out-of-scope": {"input": _req("agent_runtime", "read", "shell"), "want": ["TOOL_SCOPE"]},
		"agent_runtime-write-out-of-scope": {"input": _req("agent_runtime", "write", "shell"), "want": ["TOOL_SCOPE"]},
		"agent_runtime-write-in-scope": {"input": _req("agent_runtime", "write", "search"), "want": []},
		"case-differs": {"input": _req("agent_runtime", "invoke", "Search"), "want": ["TOOL_SCOPE"]},
		"prefix-of-scope": {"input": _req("agent_runtime", "invoke", "sea"), "want": ["TOOL_SCOPE"]},
		# Naming a tool without exercising it, off agent_runtime, only refers to it.
		"approve-refers-to-tool": {"input": _req("approval", "approve", "shell"), "want": []},
		"read-refers-to-tool": {"input": _req("memory_graph", "read", "shell"), "want": []},
		# No tool named: not tool-scoped, even for invoke on agent_runtime.
		"invoke-without-tool": {"input": fixtures.request({"action": "invoke", "resource": {"layer": "agent_runtime"}}), "want": []},
		"no-scopes-at-all": {
			"input": fixtures.allowed("agent_runtime", "invoke", {"principal": {"tool_scopes": []}}),
			"want": ["TOOL_SCOPE"],
		},
	}
	fixtures.failed(cases) == set()
}

test_scope_is_checked_on_every_layer_for_invoke if {
	cases := {layer: {"input": _req(layer, "invoke", "shell"), "want": want} |
		some layer in data.tenantry.vocab.layers
		want := ["TOOL_SCOPE"]
	}
	count(cases) == 7
	fixtures.failed(cases) == set()
}
