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
}
