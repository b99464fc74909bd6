# Network egress: reason EGRESS.
#
# Egress-governed requests are action `egress` on any layer and every action on the `network` layer. They
# need resource.host, a syntactically valid DNS hostname (RFC 1123 labels; IP literals in dotted form pass,
# IPv6 literals, ports, schemes, paths and trailing dots do not), matched case-insensitively (RFC 4343)
# against the tenant's egress_allow:
#   - "api.example.com"  matches exactly that host;
#   - "*.example.com"    matches exactly one further label: "api.example.com", but neither "example.com"
#                        nor "a.b.example.com" (least privilege; allow "*.b.example.com" for the latter) nor
#                        "example.com.evil.io". A "*" anywhere else is a literal character and matches nothing.
# A missing or malformed host is denied. Judged only for a known tenant (TENANT_UNKNOWN already denies).
package tenantry.egress

# reason(req, record): the code this module raises for the request req (the input, valid) and record, the
# principal's tenant (tenant.record), undefined when it raises none; main.rego collects it. Without a record
# (an unknown tenant) it is not called.
reason(req, record) := "EGRESS" if {
	r := req.resource
	_governed(req.action, r.layer)
	not _allowed(r, record)
}

_governed(action, layer) if {
	action == "egress"
} else if {
	layer == "network"
}

# Listed first, validated second: a host that no entry matches is denied without paying for the validation.
_allowed(resource, record) if {
	is_string(resource.host)
	host := lower(resource.host)
	_listed(host, record.egress_allow)
	_valid_host(host)
}

# Iterates the record's egress_allow rather than building tenant.egress_allow (a set built per evaluation costs
# more in wasm), with the same filter: string entries of an array.
_listed(host, entries) if {
	is_array(entries)
	some entry in entries
	is_string(entry)
	_matches(lower(entry), host)
}

_matches(entry, host) if {
	entry == host
} else if {
	startswith(entry, "*.")
	suffix := trim_prefix(entry, "*") # ".example.com"
	endswith(host, suffix)
	label := trim_suffix(host, suffix)
	label != ""
	not contains(label, ".")
}

# _valid_host(host), host lower-cased: at most 253 characters, every label (split at ".") 1–63 of [a-z0-9-], not
# starting or ending with "-". Checked on the whole name rather than label by label, each condition on the
# labels being one on the name:
#   - every character in [a-z0-9.-]      ⇔ every label's characters in [a-z0-9-];
#   - no empty label                     ⇔ the name is not empty, does not start or end with ".", has no "..";
#   - no label starting (ending) with -  ⇔ the name does not start (end) with "-" and has no ".-" ("-.");
#   - no label longer than 63            ⇔ trivially when the name itself is not, else checked per label.
# The character check is a trim with the alphabet as its cutset, which leaves nothing exactly when every
# character is in the alphabet; not a regular expression, which OPA's wasm target compiles on every evaluation
# (~240 µs a request). trim tries the cutset's characters in order for each character of the name, so the
# cutset lists them by their frequency in host names (the order changes nothing else).
_valid_host(host) if {
	host != ""
	count(host) <= 253
	trim(host, ".eaoitcmnsrpldhugbfywkvxzjq-0123456789") == ""
	not startswith(host, ".")
	not endswith(host, ".")
	not contains(host, "..")
	not startswith(host, "-")
	not endswith(host, "-")
	not contains(host, ".-")
	not contains(host, "-.")
	_labels_fit(host)
}

_labels_fit(host) if {
	count(host) <= 63
} else if {
	every label in split(host, ".") {
		count(label) <= 63
	}
}
