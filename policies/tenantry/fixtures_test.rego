# Shared test fixtures: tenants, a baseline request and builders. Named *_test.rego so that `opa build
# --ignore '*_test.rego'` keeps it out of the bundle; it holds no tests itself.
package tenantry.fixtures

import data.tenantry.main

tenants := {
	"acme": {
		"status": "active",
		"regions": ["eu-west-1", "eu-central-1"],
		"egress_allow": ["api.openai.com", "*.acme.example", "Mixed.Case.Example"],
	},
	"globex": {"status": "active", "regions": ["us-east-1"], "egress_allow": ["api.globex.example"]},
	"initech": {"status": "suspended", "regions": ["eu-west-1"], "egress_allow": ["api.openai.com"]},
	"umbrella": {"status": "locked", "regions": ["eu-west-1"], "egress_allow": ["api.openai.com"]},
	"hooli": {"status": "deleted", "regions": ["eu-west-1"], "egress_allow": ["api.openai.com"]},
	"bare": {"status": "active"},
}

# An allowed request: alice of acme reads an internal document in LAB, mode NORMAL.
base := {
	"protocol_version": "1.0",
	"principal": {
		"tenant_id": "acme",
		"id": "alice",
		"roles": ["developer"],
		"clearance": "confidential",
		"tool_scopes": ["search", "code_exec"],
	},
	"action": "read",
	"resource": {
		"tenant_id": "acme",
		"layer": "memory_graph",
		"id": "doc-1",
		"classification": "internal",
		"region": "eu-west-1",
		"domain": "LAB",
	},
	"context": {"mode": "NORMAL"},
}

two_approvals := [
	{"principal_id": "bob", "role": "approver"},
	{"principal_id": "carol", "role": "approver"},
]

# Patches that make an action (or a layer) allowed for alice on top of base.
_action_patch := {
	"switch_mode": {"context": {"target_mode": "CONSERVATIVE", "approvals": two_approvals}},
	"migrate_domain": {"principal": {"roles": ["developer", "domain_migrator"]}},
	"egress": {"resource": {"host": "api.openai.com"}},
	"invoke": {"resource": {"tool": "search"}},
	"execute": {"resource": {"tool": "code_exec"}},
}

_layer_patch := {
	"network": {"resource": {"host": "api.openai.com"}},
	"agent_runtime": {"resource": {"tool": "search"}},
}

# request(patch): base deep-merged with patch (objects merge, every other value replaces).
request(patch) := object.union(base, patch)

# without(paths): base without the fields at the given JSON-pointer-like paths ("principal/id").
without(paths) := json.remove(base, paths)

# allowed(layer, action, patch): a request for action on layer that the policy allows in mode NORMAL, then
# patched; with patch = {} it must be allowed (main_test checks that for every layer × action).
allowed(layer, action, patch) := object.union_n([
	base,
	{"action": action, "resource": {"layer": layer}},
	object.get(_action_patch, action, {}),
	object.get(_layer_patch, layer, {}),
	patch,
])

decide(inp) := d if {
	d := main.decision with input as inp with data.tenants as tenants
}

reasons(inp) := decide(inp).reasons

# decide_with(inp, ts): as decide, with data.tenants replaced by ts.
decide_with(inp, ts) := d if {
	d := main.decision with input as inp with data.tenants as ts
}

# failed(cases): names of the cases {name: {"input", "want"}} whose decision reasons differ from want. A case
# whose decision is undefined fails too (it is counted by name, not by a value compared afterwards).
failed(cases) := {name | some name, c in cases; not _passes(c)}

_passes(c) if reasons(c.input) == c.want
