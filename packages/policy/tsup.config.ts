import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', testing: 'src/testing.ts' }),
  // shims give the CJS bundle import.meta.url, from which the engine finds bundle/ beside dist/.
  shims: true,
});
