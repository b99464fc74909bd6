// Test driver for the Go reference (main.go beside this file): builds it once per test run with the
// Go toolchain into .tools/go-note/ (git-ignored) and sends it batches of requests as JSON.
//
// golang.org/x/mod is pinned in go.mod (with go.sum); the first build downloads it through the Go
// module proxy, later builds come from the Go caches. A missing Go toolchain is a test failure with
// instructions, never a skip.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditErrorCode } from '@tenantry/audit';

export const GO_NOTE_DIR = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const GO_NOTE_BIN = join(REPO, '.tools', 'go-note', 'go-note');
/** Generous: the first build downloads golang.org/x/mod (and possibly a Go toolchain). */
export const GO_BUILD_TIMEOUT = 600_000;

/** The golang.org/x/mod version pinned in go.mod. */
export function pinnedModVersion(): string {
  const m = /^require golang\.org\/x\/mod (v\d+\.\d+\.\d+)\s*$/m.exec(readFileSync(join(GO_NOTE_DIR, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error(`no "require golang.org/x/mod vX.Y.Z" line in ${GO_NOTE_DIR}go.mod`);
  return m[1];
}

/** The `go` command: $GO, then PATH, then the usual install locations. */
export function findGo(): string {
  const candidates = [
    process.env.GO,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'go')),
    '/usr/local/go/bin/go',
    join(homedir(), 'go', 'bin', 'go'),
    join(homedir(), 'sdk', 'go', 'bin', 'go'),
  ];
  const isFile = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
  const found = candidates.find((c): c is string => c !== undefined && c !== '' && isFile(c));
  if (found === undefined) {
    throw new Error(
      'The Go toolchain (`go`) was not found on PATH, in $GO or in /usr/local/go/bin. The signed-note differential test ' +
        'builds golang.org/x/mod/sumdb/note from test/audit/go-note with it. Install Go >= 1.26 from https://go.dev/dl/ ' +
        '(e.g. `curl -fsSL https://go.dev/dl/go1.26.0.linux-amd64.tar.gz | tar -C /usr/local -xz`) and run the tests again.',
    );
  }
  return found;
}

function run(file: string, args: readonly string[], cwd: string, timeout: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout, encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/**
 * Builds the Go reference and returns the path of the binary. Several test files may build at the
 * same time: each builds to its own temporary name and renames it into place (atomic).
 */
export async function buildGoNote(): Promise<string> {
  const go = findGo();
  mkdirSync(join(REPO, '.tools', 'go-note'), { recursive: true });
  const tmp = `${GO_NOTE_BIN}.${process.pid}.tmp`;
  try {
    await run(go, ['build', '-mod=readonly', '-buildvcs=false', '-trimpath', '-o', tmp, '.'], GO_NOTE_DIR, GO_BUILD_TIMEOUT);
    renameSync(tmp, GO_NOTE_BIN);
  } finally {
    rmSync(tmp, { force: true });
  }
  return GO_NOTE_BIN;
}

/** `go version -m` of the built binary: the module versions it was built with. */
export function goBuildInfo(bin: string): Promise<string> {
  return run(findGo(), ['version', '-m', bin], GO_NOTE_DIR, 60_000);
}

// ---- protocol --------------------------------------------------------------------------------

export interface GoSignature {
  name: string;
  hash: number;
  base64: string;
}

export type GoRequest =
  | { op: 'generate'; name: string }
  | { op: 'signer' | 'verifier'; key: string }
  | { op: 'sign'; text: string; signers: string[]; sigs?: GoSignature[]; unverified?: GoSignature[] }
  | { op: 'open'; msg: string; verifiers: string[] };

export type GoErrorKind =
  | 'malformed-note' | 'unverified-note' | 'invalid-signature' | 'ambiguous-key' | 'invalid-key' | 'invalid-signer' | 'other';

export interface GoResponse {
  error?: GoErrorKind;
  message?: string;
  skey?: string;
  vkey?: string;
  name?: string;
  hash: number;
  /** base64 of the signed note bytes (op sign). */
  msg?: string;
  text?: string;
  sigs: GoSignature[] | null;
  unverified: GoSignature[] | null;
}

/** The AuditError code that corresponds to each kind of Go error. */
export const GO_KIND_TO_CODE: Record<GoErrorKind, AuditErrorCode | undefined> = {
  'malformed-note': 'MALFORMED_NOTE',
  'unverified-note': 'UNVERIFIED_NOTE',
  'invalid-signature': 'INVALID_SIGNATURE',
  'ambiguous-key': 'AMBIGUOUS_KEY',
  'invalid-key': 'INVALID_KEY',
  'invalid-signer': undefined,
  other: undefined,
};

const b64 = (bytes: Uint8Array | string): string =>
  (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('base64');

/** A request to open `msg` (bytes, or a string sent as its UTF-8). */
export const goOpen = (msg: Uint8Array | string, verifiers: readonly string[]): GoRequest => ({ op: 'open', msg: b64(msg), verifiers: [...verifiers] });

/** A request to sign `text` with `signers`, keeping `sigs` and `unverified`. */
export const goSign = (
  text: Uint8Array | string,
  signers: readonly string[],
  sigs: readonly GoSignature[] = [],
  unverified: readonly GoSignature[] = [],
): GoRequest => ({ op: 'sign', text: b64(text), signers: [...signers], sigs: [...sigs], unverified: [...unverified] });

/** The signed note of a successful sign response, as bytes. */
export function goMsg(r: GoResponse): Uint8Array {
  if (r.msg === undefined) throw new Error(`Go did not sign: ${r.error ?? '?'} ${r.message ?? ''}`);
  return new Uint8Array(Buffer.from(r.msg, 'base64'));
}

/** Runs one batch through the binary; responses are in request order. */
export function runGoNote(bin: string, requests: readonly GoRequest[]): Promise<GoResponse[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${bin} exited with ${code}: ${Buffer.concat(err).toString('utf8')}`));
        return;
      }
      const responses = JSON.parse(Buffer.concat(out).toString('utf8')) as GoResponse[];
      if (responses.length !== requests.length) reject(new Error(`${bin}: ${responses.length} responses to ${requests.length} requests`));
      else resolve(responses);
    });
    child.stdin.end(JSON.stringify(requests));
  });
}
