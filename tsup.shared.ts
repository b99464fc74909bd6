// The one build config every package uses: ESM + CJS + .d.ts from src/, nothing at import.
import type { Options } from 'tsup';

export function packageConfig(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
  };
}
