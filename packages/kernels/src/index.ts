export { sha256, sha256Batch, sha256Many } from './sha256.js';
export { hashLeaf, hashChildren, hashLeaves, merkleRoot, ROOT_CHUNK_LEAVES } from './merkle.js';
export { shardOf, shardOfMany } from './shard.js';
export { rankNodes, rendezvousScores } from './rendezvous.js';
export { kernelInfo, useKernelBuild } from './loader.js';
export type { KernelBuild, KernelBuildPreference, KernelInfo } from './loader.js';
export { KernelTypeError, KernelRangeError, KernelUnavailableError, isKernelError } from './errors.js';
export type { KernelError, KernelErrorCode } from './errors.js';
