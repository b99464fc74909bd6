#!/usr/bin/env bash
# Install the pinned OPA release into $REPO/.tools/bin/opa (built from source with `go install`).
#
#   bash scripts/install-opa.sh        (or: npm run tools:opa)
#
# Idempotent: when .tools/bin/opa (or an `opa` on PATH) already is the pinned version with WebAssembly
# support, it only prints the path. Otherwise it builds OPA with the Go toolchain; the Go module and build
# caches (GOMODCACHE / GOCACHE, by default under $HOME) persist, so only the first build takes minutes.
# The last line on stdout is the absolute path of the binary; progress goes to stderr.
#
# OPA is built with `-tags opa_wasm` (pure-Go wazero runtime, no cgo): without it `opa test --target wasm`
# and `opa eval --target wasm` report "WebAssembly: unavailable". `opa build -t wasm` works either way.
set -euo pipefail

# The one pinned OPA release. Tests read this line (test/infra/opa.test.ts): keep the format.
OPA_VERSION=v1.22.2

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$REPO/.tools/bin"
OPA_BIN="$BIN_DIR/opa"
WANT="${OPA_VERSION#v}"

log() { printf 'install-opa: %s\n' "$*" >&2; }
die() { printf 'install-opa: error: %s\n' "$*" >&2; exit 1; }

# is_pinned BIN: true when BIN runs and reports exactly the pinned version with WebAssembly available.
is_pinned() {
  local out
  [ -x "$1" ] || return 1
  out="$("$1" version 2>/dev/null)" || return 1
  printf '%s\n' "$out" | grep -x "Version: $WANT" >/dev/null || return 1
  printf '%s\n' "$out" | grep -x "WebAssembly: available" >/dev/null || return 1
}

if is_pinned "$OPA_BIN"; then
  printf '%s\n' "$OPA_BIN"
  exit 0
fi

# An `opa` on PATH at exactly the pinned version is good too: link it so that .tools/bin/opa always works.
if path_opa="$(command -v opa 2>/dev/null)" && [ "$path_opa" != "$OPA_BIN" ] && is_pinned "$path_opa"; then
  path_opa="$(readlink -f "$path_opa")"
  mkdir -p "$BIN_DIR"
  ln -sfn "$path_opa" "$OPA_BIN"
  log "using opa $OPA_VERSION from PATH ($path_opa)"
  printf '%s\n' "$OPA_BIN"
  exit 0
fi

# Find the Go toolchain (also where the official tarball puts it when PATH was not updated).
GO="$(command -v go 2>/dev/null || true)"
if [ -z "$GO" ]; then
  for cand in /usr/local/go/bin/go "$HOME/go/bin/go" "$HOME/sdk/go/bin/go"; do
    if [ -x "$cand" ]; then GO="$cand"; break; fi
  done
fi
if [ -z "$GO" ]; then
  die "the Go toolchain ('go') was not found, and OPA $OPA_VERSION is built from source with it.
  Install Go >= 1.26 from https://go.dev/dl/, e.g.:
    curl -fsSL https://go.dev/dl/go1.26.0.linux-amd64.tar.gz | tar -C /usr/local -xz
    export PATH=\"\$PATH:/usr/local/go/bin\"
  then run again:  npm run tools:opa   (or: bash scripts/install-opa.sh)
  (Debian's golang-go package is usually too old for OPA $OPA_VERSION.)"
fi

mkdir -p "$BIN_DIR"
# Serialise concurrent installs (two shells, or CI plus a developer) on one lock file.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$REPO/.tools/.install-opa.lock"
  flock 9
  if is_pinned "$OPA_BIN"; then   # another run finished it while we waited
    printf '%s\n' "$OPA_BIN"
    exit 0
  fi
fi

log "building opa $OPA_VERSION with $("$GO" env GOVERSION) (first build downloads modules and takes minutes; later builds are cached)"
log "  GOMODCACHE=$("$GO" env GOMODCACHE)  GOCACHE=$("$GO" env GOCACHE)"
start=$(date +%s)
# Build outside the repo so that no go.mod/go.work here can interfere; CGO is not needed (wazero).
( cd "${TMPDIR:-/tmp}" && GOBIN="$BIN_DIR" CGO_ENABLED=0 \
    "$GO" install -tags opa_wasm "github.com/open-policy-agent/opa@$OPA_VERSION" ) \
  || die "go install github.com/open-policy-agent/opa@$OPA_VERSION failed (see the output above).
  It needs network access to the Go module proxy (GOPROXY=$("$GO" env GOPROXY)) and Go >= 1.26."
log "built in $(( $(date +%s) - start ))s"

if ! is_pinned "$OPA_BIN"; then
  "$OPA_BIN" version >&2 || true
  die "$OPA_BIN does not report 'Version: $WANT' with 'WebAssembly: available' after the build"
fi
"$OPA_BIN" version >&2
printf '%s\n' "$OPA_BIN"
