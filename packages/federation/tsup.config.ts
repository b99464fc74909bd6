import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  external: ['@tenantry/core', '@tenantry/kernels', '@tenantry/audit'],
});
