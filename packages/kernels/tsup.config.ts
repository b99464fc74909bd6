import { defineConfig } from 'tsup';
import { packageConfig } from '../../tsup.shared.js';

// worker: the hash pool's piscina worker, emitted as dist/worker.js (ESM) and dist/worker.cjs (CJS);
// shims give the CJS bundle import.meta.url, from which pool.ts finds the worker beside itself.
export default defineConfig({
  ...packageConfig({ index: 'src/index.ts', reference: 'src/reference.ts', worker: 'src/worker.ts' }),
  shims: true,
});
