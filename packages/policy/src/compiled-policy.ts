// One compiled Rego policy in one reused WebAssembly instance, evaluated through OPA's single-call
// ABI (opa_eval, ABI 1.2+; https://www.openpolicyagent.org/docs/wasm#exports).
//
// @open-policy-agent/opa-wasm instantiates the module (imports, builtins, memory) and loads data;
// its evaluate() then JSON-stringifies the input, encodes it with a new TextEncoder, copies it into
// the heap, calls opa_eval, scans for the result's NUL byte in JavaScript and decodes it with a new
// TextDecoder. evaluate() here takes the input already serialised, encodes it straight into wasm
// memory (encodeInto, no intermediate buffer), and finds the NUL with a native indexOf. Same ABI
// call, same arguments, same memory discipline: every evaluation starts its heap at the end of the
// input, just past the data, so nothing accumulates between calls (memory stays flat).
//
// Preconditions: the module's ABI is 1.2 or later (checked at load); calls are synchronous and
// never interleave (JavaScript is single-threaded and nothing here awaits).
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { PolicyError } from './errors.js';

const PAGE = 64 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

interface OpaExports {
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heapPtr: number, format: number): number;
}

/** Thrown by evaluate() when the serialised input does not fit maxInputBytes. */
export class InputTooLarge extends Error {}

export class CompiledPolicy {
  readonly #policy: LoadedPolicy;
  readonly #exports: OpaExports;
  readonly #entrypoint: number;
  readonly #maxInputBytes: number;
  #view: Uint8Array;

  private constructor(policy: LoadedPolicy, entrypoint: number, maxInputBytes: number) {
    this.#policy = policy;
    this.#exports = (policy.wasmInstance as WebAssembly.Instance).exports as unknown as OpaExports;
    this.#entrypoint = entrypoint;
    this.#maxInputBytes = maxInputBytes;
    this.#view = new Uint8Array(policy.mem.buffer);
    this.#reserve();
  }

  /**
   * Compiles and instantiates `wasm` and selects `entrypoint`.
   * @throws PolicyError POLICY_LOAD_FAILED (field `bundle`) for a module OPA's SDK cannot load, an
   *   ABI before 1.2, or an entrypoint the module does not export (field `entrypoint`).
   */
  static async load(wasm: Uint8Array, entrypoint: string, maxInputBytes: number): Promise<CompiledPolicy> {
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(wasm as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw new PolicyError('POLICY_LOAD_FAILED', `bundle: the compiled policy does not load: ${e instanceof Error ? e.message : String(e)}`, { field: 'bundle', cause: e });
    }
    if (!(Number(policy.minorVersion) >= 2) || typeof (policy.wasmInstance as WebAssembly.Instance).exports.opa_eval !== 'function') {
      throw new PolicyError('POLICY_LOAD_FAILED', 'bundle: the compiled policy predates OPA wasm ABI 1.2 (no opa_eval); rebuild it with a current opa', { field: 'bundle' });
    }
    const entrypoints = policy.entrypoints as Record<string, number>;
    if (!Object.prototype.hasOwnProperty.call(entrypoints, entrypoint)) {
      throw new PolicyError('POLICY_LOAD_FAILED', `entrypoint "${entrypoint}" is not compiled into the policy (it has ${Object.keys(entrypoints).join(', ') || 'none'})`, { field: 'entrypoint' });
    }
    return new CompiledPolicy(policy, entrypoints[entrypoint]!, maxInputBytes);
  }

  /** Loads the data document (serialised JSON), replacing the previous one. */
  setData(json: string): void {
    const bytes = encoder.encode(json);
    this.#policy.setData(bytes.buffer as ArrayBuffer);
    this.#reserve();
  }

  /** Bytes of wasm memory in use by the instance (for the memory tests and stats). */
  memoryBytes(): number {
    return this.#policy.mem.buffer.byteLength;
  }

  /**
   * Evaluates the entrypoint on `inputJson` (a JSON text) and returns the parsed result set.
   * @throws InputTooLarge when the UTF-8 of inputJson exceeds maxInputBytes; anything the wasm
   *   raises (a trap) or a result that is not JSON.
   */
  evaluate(inputJson: string): unknown {
    return JSON.parse(this.evaluateText(inputJson));
  }

  /** As evaluate(), returning the result set's JSON text unparsed. */
  evaluateText(inputJson: string): string {
    const p = this.#policy;
    let view = this.#view;
    if (view.byteLength === 0) view = this.#view = new Uint8Array(p.mem.buffer); // grown since: the old buffer is detached
    const at = p.dataHeapPtr as number;
    // UTF-8 is at most 3 bytes per UTF-16 unit; count exactly only when that bound could overflow.
    if (inputJson.length > this.#maxInputBytes) throw new InputTooLarge();
    const { read, written } = encoder.encodeInto(inputJson, view.subarray(at, at + this.#maxInputBytes));
    if (read < inputJson.length) throw new InputTooLarge();
    const ret = this.#exports.opa_eval(0, this.#entrypoint, p.dataAddr, at, written, at + written, 0);
    view = this.#view;
    if (view.byteLength === 0) view = this.#view = new Uint8Array(p.mem.buffer);
    const end = view.indexOf(0, ret);
    if (end < 0) throw new Error('the policy result is not NUL-terminated');
    return decoder.decode(view.subarray(ret, end));
  }

  /** Grows memory so that an input of maxInputBytes always fits after the data, before any call. */
  #reserve(): void {
    const p = this.#policy;
    const need = (p.dataHeapPtr as number) + this.#maxInputBytes + PAGE;
    const have = p.mem.buffer.byteLength;
    if (need > have) p.mem.grow(Math.ceil((need - have) / PAGE));
    this.#view = new Uint8Array(p.mem.buffer);
  }

  /** The SDK's own evaluate() on the same instance (the baseline the benchmarks compare with). */
  evaluateWithSdk(input: unknown): unknown {
    return this.#policy.evaluate(input, this.#entrypoint);
  }
}
