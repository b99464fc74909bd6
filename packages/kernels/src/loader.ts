// Lazy loading of the kernels module. Nothing happens at import: the first call that needs a
// kernel decodes and instantiates the module, picking the SIMD build when the engine validates
// it and the scalar build otherwise (the two export the same ABI, see abi.ts).
import { ABI_VERSION, type KernelExports } from './abi.js';
import { KernelRangeError, KernelUnavailableError } from './errors.js';
import { SCALAR_WASM_BASE64, SIMD_WASM_BASE64 } from './generated/wasm.js';

export type KernelBuild = 'simd' | 'scalar';
export type KernelBuildPreference = KernelBuild | 'auto';

export interface KernelInfo {
  /** The build in use. */
  readonly build: KernelBuild;
  /** Whether this engine validates the SIMD build. */
  readonly simdSupported: boolean;
  /** Current size of the module's linear memory in bytes (grows with the largest input, never per call). */
  readonly memoryBytes: number;
}

/** Bytes kept free below the data area: merkleLevel reads one byte before its first pair. */
const GUARD = 64;
const PAGE = 65536;

/** One instantiated module plus views over its workspace (refreshed when memory grows). */
export class Kernel {
  readonly x: KernelExports;
  readonly build: KernelBuild;
  /** First usable byte of the data area. */
  readonly data: number;
  u8: Uint8Array;
  dv: DataView;

  constructor(x: KernelExports, build: KernelBuild) {
    this.x = x;
    this.build = build;
    this.data = x.workspaceBase() + GUARD;
    this.u8 = new Uint8Array(x.memory.buffer);
    this.dv = new DataView(x.memory.buffer);
  }

  /** Makes `bytes` bytes available from `data` on, growing memory (whole pages) when needed. */
  ensure(bytes: number): void {
    const need = this.data + bytes;
    const have = this.x.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.x.memory.grow(Math.ceil((need - have) / PAGE));
      } catch (cause) {
        throw new KernelRangeError('INVALID_LENGTH', `input too large for the kernel workspace (${bytes} bytes)`, 'data');
      }
    }
    if (this.u8.buffer !== this.x.memory.buffer) {
      this.u8 = new Uint8Array(this.x.memory.buffer);
      this.dv = new DataView(this.x.memory.buffer);
    }
  }
}

let current: Kernel | undefined;
let preference: KernelBuildPreference = 'auto';
let simdSupported: boolean | undefined;
const bytesCache: Partial<Record<KernelBuild, Uint8Array<ArrayBuffer>>> = {};

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The module bytes of a build (decoded once). */
export function kernelBytes(build: KernelBuild): Uint8Array<ArrayBuffer> {
  return (bytesCache[build] ??= decodeBase64(build === 'simd' ? SIMD_WASM_BASE64 : SCALAR_WASM_BASE64));
}

function isSimdSupported(): boolean {
  return (simdSupported ??= WebAssembly.validate(kernelBytes('simd')));
}

function instantiate(build: KernelBuild): Kernel {
  let x: KernelExports;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBytes(build)), {});
    x = instance.exports as unknown as KernelExports;
  } catch (cause) {
    throw new KernelUnavailableError(`cannot instantiate the ${build} kernels build`, { cause });
  }
  if (x.abiVersion() !== ABI_VERSION) {
    throw new KernelUnavailableError(`kernels ABI ${x.abiVersion()} is not the expected ${ABI_VERSION}`);
  }
  x._initialize();
  x.initTables();
  return new Kernel(x, build);
}

/** The shared module instance, created on first use. */
export function kernel(): Kernel {
  if (current) return current;
  const build: KernelBuild = preference === 'auto' ? (isSimdSupported() ? 'simd' : 'scalar') : preference;
  if (build === 'simd' && !isSimdSupported()) {
    throw new KernelUnavailableError('the SIMD kernels build was requested but this engine does not support SIMD128');
  }
  current = instantiate(build);
  return current;
}

/**
 * Chooses the build used from the next call on: 'auto' (default) takes SIMD when supported.
 * Forcing 'scalar' serves differential testing and engines with broken SIMD.
 */
export function useKernelBuild(build: KernelBuildPreference): void {
  if (build !== 'auto' && build !== 'simd' && build !== 'scalar') {
    throw new KernelRangeError('INVALID_ARGUMENT', `build must be 'auto', 'simd' or 'scalar', got ${String(build)}`, 'build');
  }
  preference = build;
  current = undefined;
}

/** Which build is in use and how much memory it holds (instantiates the module if needed). */
export function kernelInfo(): KernelInfo {
  const k = kernel();
  return { build: k.build, simdSupported: isSimdSupported(), memoryBytes: k.x.memory.buffer.byteLength };
}
