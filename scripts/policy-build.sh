#!/usr/bin/env bash
# Compile policies/ into the wasm bundle that @tenantry/policy ships.
#
#   bash scripts/policy-build.sh [OUT]      OUT defaults to packages/policy/bundle/policy.tar.gz
#
# Runs `opa build -t wasm -e tenantry/main/decision --ignore '*_test.rego' policies` with the pinned OPA
# (scripts/install-opa.sh). A relative OUT is taken from the caller's directory; its parent is created.
#
# Deterministic: the same sources and the same OPA release give a byte-identical bundle. opa writes every
# tar entry with mtime 0, uid/gid 0 and mode 0600, and a gzip header without a timestamp, so neither the time
# of the build nor the sources' mtimes leak in. What does leak in is the path the sources were given by:
# policy.wasm embeds each module's file name (for error locations) and the bundle stores the modules under
# it, so the build always runs from the repository root with the relative path `policies`; an absolute path
# would make the bundle differ between checkouts.
#
# After the build the module is checked to need no host-provided builtins (its `builtins` export is {}), so
# that any opa-wasm host can evaluate it without builtin shims.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENTRYPOINT=tenantry/main/decision

log() { printf 'policy-build: %s\n' "$*" >&2; }
die() { printf 'policy-build: error: %s\n' "$*" >&2; exit 1; }

out="${1:-$REPO/packages/policy/bundle/policy.tar.gz}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

OPA="$(bash "$REPO/scripts/install-opa.sh" | tail -n 1)"
[ -x "$OPA" ] || die "install-opa.sh did not yield an executable ($OPA)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The revision names the sources: "policies-" and the first 12 hex digits of SHA-256 over the sorted policy
# files (tests excluded), each as its path, a NUL, its contents and a NUL. Same sources, same revision, same bytes;
# decisions report it (decision.revision), so a host can tell which policy decided.
REVISION="policies-$(cd "$REPO" && find policies -name '*.rego' ! -name '*_test.rego' -type f | LC_ALL=C sort \
  | while IFS= read -r f; do printf '%s\0' "$f"; cat "$f"; printf '\0'; done | sha256sum | cut -c1-12)"

# Build into a temporary file and move it into place, so that OUT is never a half-written bundle.
(cd "$REPO" && "$OPA" build --target wasm --entrypoint "$ENTRYPOINT" --ignore '*_test.rego' --revision "$REVISION" \
  --output "$tmp/bundle.tar.gz" policies) || die "opa build failed"

mkdir "$tmp/x"
tar -xzf "$tmp/bundle.tar.gz" -C "$tmp/x" 2>/dev/null || die "cannot read the built bundle"
[ -f "$tmp/x/policy.wasm" ] || die "the bundle holds no policy.wasm"

node --input-type=module - "$tmp/x/policy.wasm" "$ENTRYPOINT" <<'EOF' || die "policy.wasm check failed"
// Instantiate with inert imports and read the module's own description: the ABI version, the entrypoints and
// the builtins it expects the host to provide (opa_builtin0..4). None may be expected.
import { readFileSync } from "node:fs";
const [file, entrypoint] = process.argv.slice(2);
const memory = new WebAssembly.Memory({ initial: 5 });
const fail = () => { throw new Error("policy.wasm called into the host during the check"); };
const { instance } = await WebAssembly.instantiate(readFileSync(file), {
  env: { memory, opa_abort: fail, opa_println: () => {}, opa_builtin0: fail, opa_builtin1: fail,
         opa_builtin2: fail, opa_builtin3: fail, opa_builtin4: fail },
});
const e = instance.exports;
const str = (addr) => {
  const bytes = new Uint8Array(memory.buffer);
  let end = addr;
  while (bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(addr, end));
};
const abi = `${e.opa_wasm_abi_version?.value}.${e.opa_wasm_abi_minor_version?.value}`;
if (e.opa_wasm_abi_version?.value !== 1) throw new Error(`unexpected wasm ABI ${abi}`);
const builtins = JSON.parse(str(e.opa_json_dump(e.builtins())));
const entrypoints = JSON.parse(str(e.opa_json_dump(e.entrypoints())));
if (Object.keys(builtins).length > 0) {
  throw new Error(`policy.wasm needs host builtins: ${Object.keys(builtins).join(", ")}`);
}
if (!(entrypoint in entrypoints)) throw new Error(`entrypoint ${entrypoint} missing: ${JSON.stringify(entrypoints)}`);
console.error(`policy-build: policy.wasm ABI ${abi}, entrypoints ${JSON.stringify(entrypoints)}, no host builtins`);
EOF

mv -f "$tmp/bundle.tar.gz" "$out"
sum() { sha256sum "$1" | cut -d' ' -f1; }
log "revision $REVISION, $(stat -c %s "$out") bytes, sha256 $(sum "$out") (policy.wasm $(stat -c %s "$tmp/x/policy.wasm") bytes, sha256 $(sum "$tmp/x/policy.wasm"))"
printf '%s\n' "$out"
