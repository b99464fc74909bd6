// The pinned OPA for tests: `opaBin()` runs scripts/install-opa.sh once per process (it only prints the path
// when the pinned release is already installed; otherwise it builds it with Go, which takes minutes) and
// returns the binary's path, the script's last stdout line. `opaBuild()` compiles Rego sources written to a
// throw-away directory into a real bundle with `opa build -b`, optionally signed.
//
//   const bundle = await opaBuild({ files: { 'p.rego': src }, entrypoints: ['demo/allow'],
//                                   signing: { key: privatePem, algorithm: 'ES256' } });
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_SCRIPT = join(REPO, 'scripts/install-opa.sh');
const INSTALL_TIMEOUT_MS = 15 * 60_000; // a first install builds OPA from source
const BUILD_TIMEOUT_MS = 120_000;

let cached: string | undefined;

/** Absolute path of the pinned OPA binary, installing it on first use (once per process). */
export function opaBin(): string {
  if (cached !== undefined) return cached;
  let stdout: string;
  try {
    stdout = execFileSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`scripts/install-opa.sh failed: ${stderr || (e as Error).message}`, { cause: e });
  }
  const last = stdout.trim().split('\n').at(-1)?.trim();
  if (!last) throw new Error('scripts/install-opa.sh printed no path');
  cached = last;
  return last;
}

/** Run OPA with `args` in `cwd`; rejects with OPA's stderr on a non-zero exit. */
export function runOpa(args: readonly string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
  const bin = opaBin();
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS }, (error, stdout, stderr) => {
      // OPA prints command errors on stdout (`error: …`), other diagnostics on stderr.
      const detail = [stderr.trim(), stdout.trim()].filter(Boolean).join('\n') || error?.message;
      if (error) reject(new Error(`opa ${args.join(' ')} failed: ${detail}`, { cause: error }));
      else resolve({ stdout, stderr });
    });
  });
}

export interface OpaBuildOptions {
  /** Bundle sources by relative path (`.rego`, `data.json`, …), written to a fresh directory built with `-b .`. */
  files: Record<string, string>;
  /** `-e` entrypoints, e.g. `demo/allow`. */
  entrypoints: readonly string[];
  /** `-t`; default wasm. */
  target?: 'wasm' | 'rego';
  /** `-r`: the manifest revision. */
  revision?: string;
  /** Sign with `--signing-key` (PEM private key, or the HMAC secret for HS*) and `--signing-alg` (default RS256). */
  signing?: {
    key: string;
    algorithm?: string;
    /** `--verification-key-id`: the JWT kid and keyid claim (OPA's default "default"). */
    keyId?: string;
    /** `--claims-file`: claims for the JWT payload (e.g. scope); OPA then sets no kid and no keyid claim. */
    claims?: Record<string, unknown>;
  };
}

/** Build a bundle with the pinned OPA and return its .tar.gz bytes. */
export async function opaBuild(options: OpaBuildOptions): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-opa-build-'));
  try {
    const src = join(dir, 'src');
    for (const [name, text] of Object.entries(options.files)) {
      const path = join(src, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    mkdirSync(src, { recursive: true });
    const out = join(dir, 'bundle.tar.gz');
    const args = ['build', '-b', '.', '-t', options.target ?? 'wasm', '-o', out];
    for (const e of options.entrypoints) args.push('-e', e);
    if (options.revision !== undefined) args.push('-r', options.revision);
    const signing = options.signing;
    if (signing !== undefined) {
      // A file, never an argument: OPA reads --signing-key as a path when one exists (bundle/keys.go).
      const keyFile = join(dir, 'signing.key');
      writeFileSync(keyFile, signing.key, { mode: 0o600 });
      args.push('--signing-key', keyFile, '--signing-alg', signing.algorithm ?? 'RS256');
      if (signing.keyId !== undefined) args.push('--verification-key-id', signing.keyId);
      if (signing.claims !== undefined) {
        const claimsFile = join(dir, 'claims.json');
        writeFileSync(claimsFile, JSON.stringify(signing.claims));
        args.push('--claims-file', claimsFile);
      }
    }
    await runOpa(args, src);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface OpaVerifyOptions {
  /** `--verification-key`: PEM public key, or the HMAC secret for HS*. */
  key: string;
  /** `--signing-alg` (the verification key's algorithm); default RS256. */
  algorithm?: string;
  /** `--verification-key-id`; default "default". */
  keyId?: string;
  /** `--scope`. */
  scope?: string;
}

/**
 * OPA as the reference verifier: load `bundle` with `opa build -b bundle.tar.gz --verification-key …`, which
 * verifies its signature and file digests the way OPA does before activating a bundle. Resolves
 * `{ ok: true }` when OPA accepts it, `{ ok: false, error }` (OPA's message) when OPA refuses it.
 */
export async function opaVerify(bundle: Uint8Array, options: OpaVerifyOptions): Promise<{ ok: boolean; error: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-opa-verify-'));
  try {
    const input = join(dir, 'in.tar.gz');
    const keyFile = join(dir, 'verification.key');
    writeFileSync(input, bundle);
    writeFileSync(keyFile, options.key, { mode: 0o600 });
    const args = ['build', '-b', input, '-o', join(dir, 'out.tar.gz'), '--verification-key', keyFile];
    args.push('--signing-alg', options.algorithm ?? 'RS256', '--verification-key-id', options.keyId ?? 'default');
    if (options.scope !== undefined) args.push('--scope', options.scope);
    try {
      await runOpa(args, dir);
      return { ok: true, error: '' };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
