// Runs the built `tenantry-audit` bin (the package's `bin` entry) in a child process, as a user
// would, for test/audit/cli*.test.ts.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@tenantry/audit/package.json'));
const bin = join(pkgDir, (require('@tenantry/audit/package.json') as { bin: Record<string, string> }).bin['tenantry-audit']!);

export interface CliRun {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tenantry-audit ...args`, to completion. */
export function auditCli(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
