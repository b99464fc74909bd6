import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  // The kernels package is a dependency, not something to inline.
  external: ['@tenantry/kernels'],
  // canonicalize's package exports only an ESM "import" condition, so require() cannot resolve it
  // from the CJS build: it is bundled into both builds instead (it is one small file).
  noExternal: ['canonicalize'],
});
