import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  // The kernels package is a dependency, not something to inline.
  external: ['@tenantry/kernels'],
});
