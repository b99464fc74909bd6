package tenantry.egress_test

import data.tenantry.fixtures

# acme's egress_allow: "api.openai.com", "*.acme.example", "Mixed.Case.Example".
_egress(host) := fixtures.request({"action": "egress", "resource": {"host": host}})

_host_cases := {
	"exact": ["api.openai.com", []],
	"exact-upper-host": ["API.OpenAI.com", []],
	"allow-entry-mixed-case": ["mixed.case.example", []],
	"wildcard-one-label": ["files.acme.example", []],
	"wildcard-digit-label": ["1.acme.example", []],
	"wildcard-upper": ["FILES.ACME.EXAMPLE", []],
	"not-listed": ["evil.example", ["EGRESS"]],
	"subdomain-of-exact": ["eu.api.openai.com", ["EGRESS"]],
	"exact-as-prefix": ["api.openai.com.evil.io", ["EGRESS"]],
	"wildcard-apex": ["acme.example", ["EGRESS"]],
	"wildcard-two-labels": ["a.b.acme.example", ["EGRESS"]],
	"wildcard-suffix-glued": ["evilacme.example", ["EGRESS"]],
	"wildcard-suffix-then-evil": ["files.acme.example.evil.io", ["EGRESS"]],
	"path-smuggled-before-suffix": ["evil.io/.acme.example", ["EGRESS"]],
	"userinfo-smuggled": ["evil.io@x.acme.example", ["EGRESS"]],
	"fragment-smuggled": ["evil.io#.acme.example", ["EGRESS"]],
	"port": ["api.openai.com:443", ["EGRESS"]],
	"scheme": ["https://api.openai.com", ["EGRESS"]],
	"trailing-dot": ["api.openai.com.", ["EGRESS"]],
	"leading-dot": [".acme.example", ["EGRESS"]],
	"empty-label": ["x..acme.example", ["EGRESS"]],
	"hyphen-edge-label": ["-x.acme.example", ["EGRESS"]],
	# Labels the wildcard would match but that are not RFC 1123 labels.
	"hyphen-end-label": ["x-.acme.example", ["EGRESS"]],
	"underscore-label": ["under_score.acme.example", ["EGRESS"]],
	"non-ascii-label": ["été.acme.example", ["EGRESS"]],
	"inner-hyphen-label": ["a-b.acme.example", []],
	"label-too-long": [concat("", [concat("", [c | some _ in numbers.range(1, 64); c := "a"]), ".acme.example"]), ["EGRESS"]],
	"literal-star-host": ["*.acme.example", ["EGRESS"]],
	"whitespace": [" api.openai.com", ["EGRESS"]],
}

test_host_matching if {
	cases := {name: {"input": _egress(host), "want": want} | some name, [host, want] in _host_cases}
	count(cases) == count(_host_cases)
	fixtures.failed(cases) == set()
}

test_label_limits if {
	label63 := concat("", [c | some _ in numbers.range(1, 63); c := "a"])
	fixtures.reasons(_egress(concat(".", [label63, "acme.example"]))) == []
}

# Every label is judged, not only the first and the last: under exact allow entries (so that only the shape of
# the host can deny), an inner label that starts or ends with "-", or is empty, denies; a dotted IP literal and
# inner hyphens pass.
test_inner_labels_judged_under_exact_entries if {
	hosts := {
		"a.-b.example": ["EGRESS"],
		"a.b-.example": ["EGRESS"],
		"a..b.example": ["EGRESS"],
		"a.b_c.example": ["EGRESS"],
		"10.0.0.1": [],
		"a.b-c.d-e.example": [],
	}
	ts := object.union(fixtures.tenants, {"acme": {"egress_allow": [host | some host, _ in hosts]}})
	wrong := {host: got |
		some host, want in hosts
		got := fixtures.decide_with(_egress(host), ts).reasons
		got != want
	}
	wrong == {}
}

test_host_length_limit_is_253 if {
	# Under an exact allow entry each, so that only the length can deny.
	l63 := concat("", [c | some _ in numbers.range(1, 63); c := "a"])
	l61 := substring(l63, 0, 61)
	at_limit := concat(".", [l63, l63, l63, l61])
	over := concat(".", [l63, l63, l63, l63])
	count(at_limit) == 253
	count(over) == 255
	ts := object.union(fixtures.tenants, {"acme": {"egress_allow": [at_limit, over]}})
	fixtures.decide_with(_egress(at_limit), ts).reasons == []
	fixtures.decide_with(_egress(over), ts).reasons == ["EGRESS"]
}

test_governed_requests if {
	cases := {
		"egress-without-host": {"input": fixtures.request({"action": "egress"}), "want": ["EGRESS"]},
		"network-read-without-host": {"input": fixtures.request({"resource": {"layer": "network"}}), "want": ["EGRESS"]},
		"network-write-allowed-host": {
			"input": fixtures.request({"action": "write", "resource": {"layer": "network", "host": "api.openai.com"}}),
			"want": [],
		},
		"network-invoke-other-host": {
			"input": fixtures.request({"action": "invoke", "resource": {"layer": "network", "host": "evil.example"}}),
			"want": ["EGRESS"],
		},
		# Outside egress and the network layer a host is not judged here.
		"read-with-host-elsewhere": {"input": fixtures.request({"resource": {"host": "evil.example"}}), "want": []},
	}
	fixtures.failed(cases) == set()
}

# Wildcards only at the start, as "*.": a star elsewhere, or alone, is a literal that no hostname equals.
test_wildcard_forms if {
	ts := object.union(fixtures.tenants, {"acme": {"egress_allow": ["*", "api.*.com", "*openai.com", "*."]}})
	every host in ["api.openai.com", "api.x.com", "openai.com", "x.openai.com"] {
		fixtures.decide_with(_egress(host), ts).reasons == ["EGRESS"]
	}
}

test_empty_allow_list_denies if {
	inp := fixtures.request({"principal": {"tenant_id": "bare"}, "action": "egress", "resource": {
		"tenant_id": "bare", "host": "api.openai.com",
	}})
	fixtures.reasons(inp) == ["EGRESS", "REGION"]
}
