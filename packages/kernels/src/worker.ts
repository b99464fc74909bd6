// Worker side of the hash pool (pool.ts), loaded by piscina as dist/worker.js (ESM) or
// dist/worker.cjs (CJS). It carries its own copy of the kernels (the wasm is embedded in the
// bundle), instantiated on the first task, so nothing needs to be sent but the leaves.
import { kernelInfo, useKernelBuild, type KernelBuild } from './loader.js';
import { merkleRoot } from './merkle.js';
import { HASH_BYTES } from './validate.js';

/**
 * One task: a run of leaf hashes cut into chunks of `chunkLeaves` leaves (a power of two; every
 * chunk complete except possibly the last). `leaves` owns its ArrayBuffer, which is transferred.
 */
export interface ChunkTask {
  readonly leaves: Uint8Array;
  readonly chunkLeaves: number;
  /** The build the caller runs, so that both threads use the same kernels (see useKernelBuild). */
  readonly build: KernelBuild;
}

/** The RFC 6962 roots of the task's chunks, 32 bytes each in order, and the build that made them. */
export interface ChunkResult {
  readonly roots: Uint8Array;
  readonly build: KernelBuild;
}

let selected: KernelBuild | undefined;

/**
 * Roots of complete subtrees: each chunk of a power-of-two size starting at a multiple of that
 * size is a node of the whole tree (RFC 6962 §2.1), so the caller combines the roots of all
 * tasks with merkleRoot. The pool has validated sizes; a chunk of 0 leaves only occurs for n = 0.
 */
export default function hashChunks(task: ChunkTask): ChunkResult {
  if (task.build !== selected) {
    useKernelBuild(task.build);
    selected = task.build;
  }
  const { leaves, chunkLeaves } = task;
  const step = chunkLeaves * HASH_BYTES;
  const chunks = Math.max(1, Math.ceil(leaves.length / step));
  const roots = new Uint8Array(chunks * HASH_BYTES);
  for (let c = 0; c < chunks; c++) {
    roots.set(merkleRoot(leaves.subarray(c * step, (c + 1) * step)), c * HASH_BYTES);
  }
  return { roots, build: kernelInfo().build };
}
