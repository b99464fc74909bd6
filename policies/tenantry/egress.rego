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

import data.tenantry.tenant

# One label: 1–63 of [a-z0-9-], not starting or ending with "-"; a name: labels joined by "." (≤ 253 chars).

_governed if input.action == "egress"

_governed if input.resource.layer == "network"

reasons contains "EGRESS" if {
	tenant.known
	_governed
	not _allowed
}

_host := host if {
	is_string(input.resource.host)
	host := lower(input.resource.host)
	count(host) <= 253
	every label in split(host, ".") {
		_valid_label(label)
	}
}

# One label: 1–63 of [a-z0-9-], not starting or ending with "-". Written with trim rather than a regular
# expression: OPA's wasm target compiles a regex on every evaluation (~240 µs a request); trim with the
# label alphabet as its cutset leaves nothing exactly when every character is in the alphabet.
_valid_label(label) if {
	count(label) > 0
	count(label) <= 63
	trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
	not startswith(label, "-")
	not endswith(label, "-")
}

_allowed if {
	some entry in tenant.egress_allow
	_matches(lower(entry), _host)
}

_matches(entry, host) if entry == host

_matches(entry, host) if {
	startswith(entry, "*.")
	suffix := substring(entry, 1, -1) # ".example.com"
	endswith(host, suffix)
	label := substring(host, 0, count(host) - count(suffix))
	label != ""
	not contains(label, ".")
}
