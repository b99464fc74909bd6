import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts', 'seal-worker': 'src/seal-worker.ts' }),
  // shims give the CJS bundle import.meta.url, from which sealer.ts finds the seal worker beside it.
  shims: true,
  // The kernels package is a dependency, not something to inline.
  external: ['@tenantry/kernels'],
});
