#!/usr/bin/env node
// tenantry-federation: the operator's tools for cluster keys (docs/architecture.md, "@tenantry/federation").
//
//   tenantry-federation operator-key <name> [--out <file>]
//   tenantry-federation issue-node-key --operator <file> --node <id> [--days N] [--out <file>]
//   tenantry-federation revoke --operator <file> --list <file> --key <key_id>
//   tenantry-federation publish-revocations --list <file> --redis <url> --operator-public <base64 or file> [--prefix <p>]
//
// operator-key prints a new operator key pair as JSON; issue-node-key prints a new node key with its certificate,
// valid from now for N days (default 30). With --out the key goes to a new file created with mode 0600 (never over an
// existing file) instead of stdout. An operator key file must not be readable by group or others (as ssh insists),
// since it signs for the whole cluster. revoke adds a key id to the revocation list in --list (a new list, version 1,
// when the file does not exist), signs the next version and replaces the file atomically (written beside it, then
// renamed); the list is public, so the file is mode 0644. publish-revocations stores the list in --list as the
// cluster's published list (revocation-feed.ts), which every node obeys from its next poll; it needs only the
// operator's PUBLIC key (--operator-public: the base64 itself, or a file holding it, as base64 text or as JSON with
// a `public_key`), so it can run where the operator's secret key is not.
//
// Exit codes: 0 ok; 1 refused: a list file not signed by this operator, a key already revoked, a list not newer than
// the published one; 2 usage error; 3 a file cannot be read or written, or an operator key file is too open;
// 4 Redis could not be reached (nothing was published).
import { randomUUID } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { isFederationError } from './errors.js';
import { _operatorPublicKey, _secretOf, generateOperatorKey, issueNodeKey, nodeIdProblem, type OperatorKey } from './node-keys.js';
import { checkRevocationList, nextRevocationList, type RevocationList } from './revocation.js';
import { publishRevocations } from './revocation-feed.js';
import { _decodeBase64, _isKeyId } from './signing.js';

const USAGE = `usage:
  tenantry-federation operator-key <name> [--out <file>]
  tenantry-federation issue-node-key --operator <file> --node <id> [--days N] [--out <file>]
  tenantry-federation revoke --operator <file> --list <file> --key <key_id>
  tenantry-federation publish-revocations --list <file> --redis <redis://…> --operator-public <base64 | file> [--prefix <p>]

--operator-public is the operator's public key: its base64, or a file holding it (base64 text, or JSON with
"public_key", such as the operator key file itself).

exit codes: 0 ok, 1 refused, 2 usage error, 3 file unreadable, unwritable or too open, 4 Redis unreachable`;

export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2, IO: 3, UNAVAILABLE: 4 } as const;
const DAY_MS = 86_400_000;

class CliExit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function usage(message: string): CliExit {
  return new CliExit(EXIT.USAGE, `${message}\n${USAGE}`);
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliExit(EXIT.IO, `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliExit(EXIT.REFUSED, `${what} ${file} is not JSON`);
  }
}

async function readOperator(file: string): Promise<OperatorKey> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (e) {
    throw new CliExit(EXIT.IO, `cannot read operator key ${file}: ${(e as Error).message}`);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new CliExit(EXIT.IO, `operator key ${file} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  }
  const key = await readJson(file, 'operator key');
  _secretOf(key, 'operator');
  return key as OperatorKey;
}

/** Writes a secret to a new file, mode 0600, or prints it. */
async function emitSecret(value: unknown, out: string | undefined): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    await writeFile(out, text, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new CliExit(EXIT.IO, `cannot create ${out}: ${(e as Error).message}`);
  }
  console.log(`wrote ${out}`);
}

async function revoke(operatorFile: string, listFile: string, keyId: string): Promise<number> {
  const operator = await readOperator(operatorFile);
  let previous: RevocationList | undefined;
  let existing: unknown;
  try {
    existing = await readFile(listFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliExit(EXIT.IO, `cannot read list ${listFile}: ${(e as Error).message}`);
  }
  if (existing !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing as string);
    } catch {
      throw new CliExit(EXIT.REFUSED, `list ${listFile} is not JSON`);
    }
    previous = checkRevocationList(parsed, _operatorPublicKey(operator, 'operator'));
    if (previous.revoked.includes(keyId)) throw new CliExit(EXIT.REFUSED, `key ${keyId} is already revoked (list version ${previous.version})`);
  }
  const next = nextRevocationList(operator, previous, keyId, Date.now());
  const tmp = join(dirname(listFile), `.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
    await rename(tmp, listFile);
  } catch (e) {
    throw new CliExit(EXIT.IO, `cannot write list ${listFile}: ${(e as Error).message}`);
  }
  console.log(`revoked ${keyId}: ${listFile} is now version ${next.version} (${next.revoked.length} key(s) revoked)`);
  return EXIT.OK;
}

/** The operator public key of --operator-public: the base64 itself, or a file holding it (text or JSON). */
async function readOperatorPublic(v: string): Promise<string> {
  if (_decodeBase64(v, 32) !== undefined) return v;
  let text: string;
  try {
    text = await readFile(v, 'utf8');
  } catch (e) {
    throw new CliExit(EXIT.IO, `--operator-public is not base64 of a 32-byte key, and cannot be read as a file: ${(e as Error).message}`);
  }
  const trimmed = text.trim();
  if (_decodeBase64(trimmed, 32) !== undefined) return trimmed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    parsed = undefined;
  }
  const key = typeof parsed === 'object' && parsed !== null ? (parsed as { public_key?: unknown }).public_key : undefined;
  if (typeof key === 'string' && _decodeBase64(key, 32) !== undefined) return key;
  throw usage(`--operator-public file ${v} holds neither base64 of a 32-byte key nor JSON with a "public_key"`);
}

async function publish(listFile: string, url: string, operatorPublic: string, prefix: string | undefined): Promise<number> {
  const operatorPublicKey = await readOperatorPublic(operatorPublic);
  const list = await readJson(listFile, 'list');
  const res = await publishRevocations({ url }, list as RevocationList, { operatorPublicKey, ...(prefix === undefined ? {} : { prefix }) });
  const version = (list as RevocationList).version;
  if (res === 'older') {
    console.error(`refused: a list of version ${version} or newer is published already; nothing changed`);
    return EXIT.REFUSED;
  }
  console.log(`published version ${version} (${(list as RevocationList).revoked.length} key(s) revoked): nodes obey it from their next poll`);
  return EXIT.OK;
}

async function run(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv], allowPositionals: true, strict: true,
      options: {
        operator: { type: 'string' }, node: { type: 'string' }, days: { type: 'string' }, out: { type: 'string' },
        list: { type: 'string' }, key: { type: 'string' }, redis: { type: 'string' }, 'operator-public': { type: 'string' },
        prefix: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw usage((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  const [command, name, ...extra] = positionals;
  const only = (...allowed: string[]) => {
    const given = Object.keys(v).filter((k) => v[k as keyof typeof v] !== undefined && !allowed.includes(k));
    if (given.length > 0) throw usage(`${command} takes no --${given[0]}`);
  };
  if (command === 'operator-key') {
    if (name === undefined || extra.length > 0) throw usage('operator-key takes one <name>');
    only('out');
    await emitSecret(generateOperatorKey(name), v.out);
    return EXIT.OK;
  }
  if (command === 'issue-node-key') {
    if (name !== undefined) throw usage('issue-node-key takes no positional argument');
    only('operator', 'node', 'days', 'out');
    if (v.operator === undefined || v.node === undefined) throw usage('issue-node-key needs --operator <file> and --node <id>');
    const idProblem = nodeIdProblem(v.node);
    if (idProblem !== undefined) throw usage(`--node ${idProblem}`);
    const days = v.days ?? '30';
    if (!/^[1-9][0-9]{0,4}$/.test(days)) throw usage(`--days must be an integer from 1 to 99999, got ${JSON.stringify(days)}`);
    const operator = await readOperator(v.operator);
    const now = Date.now();
    await emitSecret(issueNodeKey(operator, { node_id: v.node, not_before: now, not_after: now + Number(days) * DAY_MS }), v.out);
    return EXIT.OK;
  }
  if (command === 'revoke') {
    if (name !== undefined) throw usage('revoke takes no positional argument');
    only('operator', 'list', 'key');
    if (v.operator === undefined || v.list === undefined || v.key === undefined) throw usage('revoke needs --operator <file>, --list <file> and --key <key_id>');
    if (!_isKeyId(v.key)) throw usage(`--key must be a key id (8 lowercase hex digits), got ${JSON.stringify(v.key)}`);
    return revoke(v.operator, v.list, v.key);
  }
  if (command === 'publish-revocations') {
    if (name !== undefined) throw usage('publish-revocations takes no positional argument');
    only('list', 'redis', 'operator-public', 'prefix');
    const operatorPublic = v['operator-public'];
    if (v.list === undefined || v.redis === undefined || operatorPublic === undefined) {
      throw usage('publish-revocations needs --list <file>, --redis <url> and --operator-public <base64 or file>');
    }
    if (!/^rediss?:\/\//.test(v.redis)) throw usage(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(v.redis)}`);
    if (v.prefix !== undefined && /[{}]/.test(v.prefix)) throw usage('--prefix must not contain { or }');
    return publish(v.list, v.redis, operatorPublic, v.prefix);
  }
  throw usage(command === undefined ? 'a command is needed' : `unknown command ${JSON.stringify(command)}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof CliExit) {
      console.error(e.message);
      return e.code;
    }
    if (isFederationError(e)) {
      console.error(`FAILED (${e.code}): ${e.message}`);
      return e.code === 'REDIS_UNAVAILABLE' ? EXIT.UNAVAILABLE : EXIT.REFUSED;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { console.error(e); process.exitCode = EXIT.REFUSED; },
);
