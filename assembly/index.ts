// Entry point of the kernels module. Compiled twice from this source: with SIMD (`--enable simd`)
// and without; ASC_FEATURE_SIMD selects the four-lane paths at compile time, so both builds
// export the same ABI. See packages/kernels/src/abi.ts for the JS view of it.

/** First byte the JS side may use as workspace (64-byte aligned, above all static data). */
export function workspaceBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** ABI revision; the JS loader refuses a module whose revision it does not know. */
export function abiVersion(): i32 {
  return 1;
}

/** 1 when this build uses SIMD128. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

export { streamInit, streamUpdate, streamFinal } from './sha256';
export { initTables, merkleLevel, merkleRoot } from './merkle';
export { hashMessages } from './messages';
export { costEwmaAlpha, costSpendRate, costEwma, costDerivative, costBurnRate, costTimeToExhaustion, costStep } from './cost';
