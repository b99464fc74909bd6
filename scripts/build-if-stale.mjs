// `npm start` builds only what is missing or stale, so that `npm ci && npm start` builds once (npm ci's
// "prepare" has just built everything) and a start after an edit still runs the edited code. Compares
// modification times: for each workspace package, its oldest file in dist/ (tsup cleans dist/ and rewrites
// all of it on every build) against the newest of its src/**, package.json and tsup.config.ts, and of the
// inputs every package shares (tsup.shared.ts, tsconfig.json). The kernels also embed the wasm compiled from
// assembly/ (scripts/build-wasm.mjs, which skips the compile when it is current). Stale packages are rebuilt
// alone, in workspace order: the packages import one another's dist/ at run time, never bundle it.
//
//   node scripts/build-if-stale.mjs [--check]    (--check: report only, exit 1 when a build is needed)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every file under `path` (itself when it is a file); none when it does not exist. */
function files(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

const mtime = (f) => statSync(f).mtimeMs;
const shared = ['tsup.shared.ts', 'tsconfig.json'].flatMap((p) => files(join(root, p)));
const wasmInputs = ['assembly', 'asconfig.json', 'scripts/build-wasm.mjs'].flatMap((p) => files(join(root, p)));

/** Why `pkg` needs a build, or null when its dist/ is complete and newer than every input. */
function staleness(pkg) {
  const dir = join(root, pkg);
  const outputs = files(join(dir, 'dist'));
  if (!outputs.some((f) => f === join(dir, 'dist', 'index.js'))) return `${pkg}/dist/index.js is missing`;
  const built = Math.min(...outputs.map(mtime));
  const inputs = [...files(join(dir, 'src')), join(dir, 'package.json'), join(dir, 'tsup.config.ts'), ...shared];
  const newer = [...inputs, ...(pkg === 'packages/kernels' ? wasmInputs : [])].find((f) => existsSync(f) && mtime(f) >= built);
  return newer === undefined ? null : `${relative(root, newer)} is newer than ${pkg}/dist`;
}

const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const stale = workspaces.map((pkg) => ({ pkg, reason: staleness(pkg) })).filter((s) => s.reason !== null);
if (stale.length === 0) process.exit(0);
for (const { reason } of stale) console.error(`stale: ${reason}`);
if (process.argv.includes('--check')) process.exit(1);

// Through the npm that runs this script (npm_execpath), else the one on PATH.
function npm(args) {
  const cli = process.env.npm_execpath;
  if (cli) execFileSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
  else execFileSync('npm', args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
}
if (stale.some((s) => s.pkg === 'packages/kernels')) npm(['run', 'build:wasm', '--silent']);
npm(['run', 'build', '--silent', ...stale.flatMap((s) => ['-w', s.pkg])]);
