#!/usr/bin/env bash
# Run the Rego tests under policies/ on both OPA runtimes, with coverage.
#
#   bash scripts/policy-test.sh
#
# 1. rego target:  opa test -f json                                  (pass/fail per test)
# 2. rego target:  opa test --coverage --threshold $THRESHOLD         (exits non-zero below the threshold)
#    opa's figure counts every loaded file, the *_test.rego ones included, which inflates it; the script also
#    computes the coverage of the policy files alone (*.rego without *_test.rego) and holds it to the same
#    threshold.
# 3. wasm target:  opa test -t wasm -f json                           (the same tests, compiled to WebAssembly)
#    Coverage is measured on the rego target only: with --target wasm, opa test --coverage reports 0 % (the
#    wasm runtime has no evaluation trace), so a threshold there would always fail.
#    Both targets must run the same number of tests.
#
# Tests must not be written as partial rules (`test_x[name] if …`): under --target wasm only the names that
# succeed are reported, so a failing case disappears instead of failing. Table tests collect failures into a
# set and compare it with the empty set (policies/tenantry/fixtures_test.rego, `failed`).
#
# Environment: POLICY_COVERAGE_THRESHOLD (percent, default 90). Uses the pinned OPA from
# scripts/install-opa.sh (its last stdout line is the binary). Exits non-zero on any failure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THRESHOLD="${POLICY_COVERAGE_THRESHOLD:-90}"
POLICIES=policies

log() { printf 'policy-test: %s\n' "$*" >&2; }

case "$THRESHOLD" in
  '' | *[!0-9.]* | *.*.*) log "error: POLICY_COVERAGE_THRESHOLD must be a percentage, got '$THRESHOLD'"; exit 2 ;;
esac

cd "$REPO"
OPA="$(bash scripts/install-opa.sh | tail -n 1)"
[ -x "$OPA" ] || { log "error: install-opa.sh did not yield an executable ($OPA)"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
summary=()

# count_results FILE: prints "passed failed skipped total" for an `opa test -f json` result file.
count_results() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8") || "[]");
    const failed = r.filter((t) => t.fail || t.error).length;
    const skipped = r.filter((t) => t.skip).length;
    console.log(`${r.length - failed - skipped} ${failed} ${skipped} ${r.length}`);
  ' "$1"
}

# run_target TARGET: runs the tests on TARGET; on failure re-runs them in the readable format for the details.
run_target() {
  local target="$1" out="$tmp/$1.json" rc=0 counts
  "$OPA" test --target "$target" --fail-on-empty --timeout 120s -f json "$POLICIES" >"$out" || rc=$?
  counts="$(count_results "$out")" || counts="0 0 0 0"
  read -r passed failed skipped total <<<"$counts"
  eval "total_$target=$total"
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
    log "$target: FAILED (exit $rc, $failed of $total failed); details:"
    "$OPA" test --target "$target" --timeout 120s "$POLICIES" >&2 || true
    status=1
  fi
  local line
  line="$(printf '%-4s  %s/%s tests passed' "$target" "$passed" "$total")"
  if [ "$skipped" -gt 0 ]; then line="$line, $skipped skipped"; fi
  summary+=("$line")
}

run_target rego

# Coverage on the rego target, once its tests pass (with failing tests opa mixes their report into the JSON).
# opa itself enforces --threshold on its overall figure.
coverage_rego() {
  local rc=0 line
  "$OPA" test --coverage --threshold "$THRESHOLD" --timeout 120s "$POLICIES" >"$tmp/coverage.json" || rc=$?
  if [ "$rc" -ne 0 ]; then
    # An unmet --threshold makes opa exit 2 without writing the report: fetch the figures for the summary.
    "$OPA" test --coverage --timeout 120s "$POLICIES" >"$tmp/coverage.json" 2>/dev/null || true
  fi
  if ! line="$(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let covered = 0, missed = 0; const low = [];
    for (const [file, f] of Object.entries(c.files || {})) {
      if (file.endsWith("_test.rego")) continue;
      covered += f.covered_lines || 0; missed += f.not_covered_lines || 0;
      if ((f.coverage ?? 0) < 100) low.push(`${file} ${(f.coverage ?? 0).toFixed(1)} %`);
    }
    const policy = covered + missed === 0 ? 0 : (100 * covered) / (covered + missed);
    console.log(`${(c.coverage ?? 0).toFixed(2)} ${policy.toFixed(2)} ${low.join("; ") || "-"}`);
  ' "$tmp/coverage.json" 2>/dev/null)"; then
    log "rego: could not read the coverage report (opa exit $rc)"
    summary+=("rego  coverage unknown")
    status=1
    return
  fi
  local all policy low
  read -r all policy low <<<"$line"
  if [ "$rc" -ne 0 ]; then
    log "rego: opa test --coverage --threshold $THRESHOLD failed (exit $rc; overall coverage $all %)"
    status=1
  fi
  if ! node -e 'process.exit(Number(process.argv[1]) >= Number(process.argv[2]) ? 0 : 1)' "$policy" "$THRESHOLD"; then
    log "rego: coverage of the policy files $policy % is below the threshold $THRESHOLD %"
    status=1
  fi
  summary+=("rego  coverage $all % overall, $policy % of policy files (threshold $THRESHOLD %)")
  if [ "$low" != "-" ]; then summary+=("      below 100 %: $low"); fi
}

if [ "$status" -eq 0 ]; then
  coverage_rego
else
  summary+=("rego  coverage not measured: tests failed")
fi

run_target wasm
summary+=("wasm  coverage not measured (opa test --coverage reports 0 % on the wasm target)")

if [ "${total_rego:-0}" -ne "${total_wasm:-0}" ]; then
  log "the rego target ran ${total_rego:-0} tests but the wasm target ${total_wasm:-0}"
  status=1
fi

for line in "${summary[@]}"; do printf 'policy-test: %s\n' "$line"; done
if [ "$status" -eq 0 ]; then
  printf 'policy-test: ok (%s)\n' "$("$OPA" version | sed -n 's/^Version: /opa /p')"
else
  printf 'policy-test: FAILED\n'
fi
exit "$status"
