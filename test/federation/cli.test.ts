// tenantry-federation, run as a user would run it (the built bin in a child process): keys in 0600 files,
// certificates that openMessage trusts, revocation lists whose versions grow, and the exit codes of bad usage.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReplayGuard, Revocations, isFederationError, openMessage, signMessage, type NodeKey, type OperatorKey } from '@tenantry/federation';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@tenantry/federation/package.json'));
const bin = join(pkgDir, (require('@tenantry/federation/package.json') as { bin: Record<string, string> }).bin['tenantry-federation']!);
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const dir = mkdtempSync(join(tmpdir(), 'tenantry-federation-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const posix = process.platform !== 'win32';

describe('tenantry-federation', () => {
  it('operator-key, issue-node-key and revoke: the happy path', () => {
    const printed = cli('operator-key', 'prod');
    expect(printed.code).toBe(0);
    expect((JSON.parse(printed.stdout) as OperatorKey).name).toBe('prod');

    const opFile = join(dir, 'operator.json');
    expect(cli('operator-key', 'prod', '--out', opFile).code).toBe(0);
    if (posix) expect(statSync(opFile).mode & 0o777).toBe(0o600);
    expect(cli('operator-key', 'prod', '--out', opFile).code).toBe(3); // never over an existing key
    const operator = JSON.parse(readFileSync(opFile, 'utf8')) as OperatorKey;

    const nodeFile = join(dir, 'node-a.json');
    expect(cli('issue-node-key', '--operator', opFile, '--node', 'node-a', '--days', '2', '--out', nodeFile).code).toBe(0);
    if (posix) expect(statSync(nodeFile).mode & 0o777).toBe(0o600);
    const node = JSON.parse(readFileSync(nodeFile, 'utf8')) as NodeKey;
    expect(node.certificate.not_after - node.certificate.not_before).toBe(2 * 86_400_000);

    const revocations = new Revocations(operator.public_key);
    const replayGuard = new ReplayGuard({ windowMs: 60_000 });
    const trust = { nodeId: 'node-b', operatorPublicKey: operator.public_key, revocations, replayGuard };
    expect(openMessage(signMessage({ target_node: 'node-b', message_type: 'ping', payload: 1 }, node), trust).source_node).toBe('node-a');

    const listFile = join(dir, 'revoked.json');
    expect(cli('revoke', '--operator', opFile, '--list', listFile, '--key', node.key_id).code).toBe(0);
    expect(cli('revoke', '--operator', opFile, '--list', listFile, '--key', '0badc0de').code).toBe(0);
    const list = JSON.parse(readFileSync(listFile, 'utf8')) as { version: number; revoked: string[] };
    expect(list.version).toBe(2);
    expect(list.revoked).toEqual([node.key_id, '0badc0de'].sort());
    revocations.accept(list);
    try {
      openMessage(signMessage({ target_node: 'node-b', message_type: 'ping', payload: 2 }, node), trust);
      expect.unreachable();
    } catch (e) {
      expect(isFederationError(e) && e.code).toBe('REVOKED');
    }
    // Revoking a key twice, or with a list another operator signed, is refused and changes nothing.
    expect(cli('revoke', '--operator', opFile, '--list', listFile, '--key', node.key_id).code).toBe(1);
    const otherOp = join(dir, 'other.json');
    expect(cli('operator-key', 'other', '--out', otherOp).code).toBe(0);
    const r = cli('revoke', '--operator', otherOp, '--list', listFile, '--key', '12345678');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FORGED');
    expect((JSON.parse(readFileSync(listFile, 'utf8')) as { version: number }).version).toBe(2);
  });

  it('exits 2 on bad usage and 3 on unreadable or too open key files', () => {
    const opFile = join(dir, 'op-usage.json');
    expect(cli('operator-key', 'u', '--out', opFile).code).toBe(0);
    expect(cli().code).toBe(2);
    expect(cli('nope').code).toBe(2);
    expect(cli('operator-key').code).toBe(2);
    expect(cli('operator-key', 'a', 'b').code).toBe(2);
    expect(cli('operator-key', 'a', '--node', 'x').code).toBe(2);
    expect(cli('issue-node-key', '--operator', opFile).code).toBe(2);
    expect(cli('issue-node-key', '--operator', opFile, '--node', 'bad id').code).toBe(2);
    expect(cli('issue-node-key', '--operator', opFile, '--node', 'n', '--days', '0').code).toBe(2);
    expect(cli('issue-node-key', '--operator', opFile, '--node', 'n', '--bogus').code).toBe(2);
    expect(cli('revoke', '--operator', opFile, '--list', join(dir, 'l.json'), '--key', 'XYZ').code).toBe(2);
    expect(cli('revoke', '--operator', opFile, '--list', join(dir, 'l.json')).code).toBe(2);
    expect(cli('issue-node-key', '--operator', join(dir, 'missing.json'), '--node', 'n').code).toBe(3);
    if (posix) {
      chmodSync(opFile, 0o644);
      expect(cli('issue-node-key', '--operator', opFile, '--node', 'n').code).toBe(3);
    }
    const notKey = join(dir, 'not-key.json');
    writeFileSync(notKey, '{"secret_key":"x"}', { mode: 0o600 });
    expect(cli('issue-node-key', '--operator', notKey, '--node', 'n').code).toBe(1);
  });
});
