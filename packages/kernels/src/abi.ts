// The wasm module's exports as the JS side sees them (assembly/index.ts). Pointers are byte
// offsets into `memory`; lengths are bytes unless named otherwise. The loader checks
// `abiVersion()` before use.

/** The ABI revision this wrapper speaks. */
export const ABI_VERSION = 1;

/** Output modes of hashMessages (assembly/messages.ts). */
export const OUT_DIGEST = 0;
export const OUT_SCORE = 1;
export const OUT_SHARD = 2;

/** RFC 6962 §2.1 prefix of a leaf hash; -1 means "no prefix" to hashMessages. */
export const LEAF_PREFIX = 0x00;
export const NO_PREFIX = -1;

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  _initialize(): void;
  abiVersion(): number;
  simd(): number;
  workspaceBase(): number;
  initTables(): void;
  streamInit(): void;
  streamUpdate(data: number, len: number): void;
  streamFinal(out: number): void;
  merkleLevel(ptr: number, count: number): number;
  merkleRoot(ptr: number, count: number, out: number): void;
  hashMessages(
    data: number, offsets: number, n: number, fixedLen: number, prefix: number,
    out: number, mode: number, shardCount: number,
  ): void;
  // Cost math (assembly/cost.ts): pointers to f64 arrays, `n` counts elements (tenants).
  costEwmaAlpha(dt: number, tau: number): number;
  costSpendRate(spend: number, n: number, windowSeconds: number, out: number): void;
  costEwma(prev: number, x: number, n: number, alpha: number, out: number): void;
  costDerivative(cur: number, prev: number, n: number, dt: number, out: number): void;
  costBurnRate(spent: number, budget: number, n: number, elapsedSeconds: number, periodSeconds: number, out: number): void;
  costTimeToExhaustion(remaining: number, rate: number, accel: number, n: number, out: number): void;
  costStep(
    spend: number, budget: number, remaining: number, prevSmoothed: number, n: number,
    windowSeconds: number, periodSeconds: number, dt: number, alpha: number,
    outRate: number, outSmoothed: number, outDerivative: number, outBurn: number, outTte: number,
  ): void;
}
