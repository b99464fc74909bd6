// @tenantry/policy/testing: hooks for tests and benchmarks, not part of the API an application uses
// (nothing here is covered by semver). Kept off the main entry so that a host cannot come to depend on
// the engine's internals.
import { _COMPILED_POLICY, type PolicyEngine } from './engine.js';
import type { CompiledPolicy } from './compiled-policy.js';

/**
 * The SDK's own evaluate() (@open-policy-agent/opa-wasm) on the engine's wasm instance, with its data:
 * the reference decide() is compared against. Returns the SDK's result set.
 * @example _sdkEvaluate(engine, input) // [{ result: { allow, reasons, violation } }]
 */
export function _sdkEvaluate(engine: PolicyEngine, input: unknown): unknown {
  return (engine as unknown as Record<symbol, CompiledPolicy>)[_COMPILED_POLICY]!.evaluateWithSdk(input);
}
