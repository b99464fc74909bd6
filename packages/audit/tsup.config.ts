import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', testing: 'src/testing.ts', cli: 'src/cli.ts', 'seal-worker': 'src/seal-worker.ts' }),
  // index and testing share one copy of their modules (chunks), so that the test hooks of
  // './testing' act on the state '.' uses (the process's seal worker).
  splitting: true,
  // shims give the CJS bundle import.meta.url, from which sealer.ts finds the seal worker beside it.
  shims: true,
  // The tenantry packages are dependencies, not something to inline.
  external: ['@tenantry/core', '@tenantry/kernels'],
});
