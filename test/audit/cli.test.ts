// tenantry-audit, run as a user would run it (the built bin in a child process): exit codes and
// receipts that verify offline.
// (Corrupt chains, prove before the damage and repair: cli-corruption.test.ts.)
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey, tenantFileName, verifyReceipt } from '@tenantry/audit';
import { auditCli as cli } from '../helpers/audit-cli.js';

const key = generateNoteKey('node-cli.tenantry.test');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantry-cli-'));
  const ledger = await AuditLedger.open(dir, { signerKey: key.signerKey });
  for (let i = 0; i < 5; i++) await ledger.append('acme', { kind: 'invoke', payload: { i } });
  await ledger.checkpoint();
  await ledger.append('acme', { kind: 'invoke', payload: { after: true } });
  await ledger.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tenantry-audit', () => {
  it('verify exits 0 on a good directory and prints the roots', () => {
    const r = cli('verify', dir, '--key', key.verifierKey);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('OK');
    expect(r.stdout).toContain('acme  size 6');
    const json = cli('verify', dir, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).ok).toBe(true);
  });

  it('prove prints a receipt that verifies offline; --key checks it', () => {
    const r = cli('prove', dir, 'acme', '2', '--key', key.verifierKey);
    expect(r.code).toBe(0);
    const receipt: unknown = JSON.parse(r.stdout);
    expect(verifyReceipt(receipt, [key.verifierKey])).toBe(true);
    const wrong = generateNoteKey('node-cli.tenantry.test');
    expect(cli('prove', dir, 'acme', '2', '--key', wrong.verifierKey).code).toBe(1);
  });

  it('prove exits 1 when no checkpoint covers the entry', () => {
    const r = cli('prove', dir, 'acme', '5');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no checkpoint');
  });

  it('exits 2 on usage errors and 3 on an unreadable directory', () => {
    expect(cli().code).toBe(2);
    expect(cli('verify').code).toBe(2);
    expect(cli('prove', dir, 'acme', '-1').code).toBe(2);
    expect(cli('prove', dir, 'acme', 'x').code).toBe(2);
    expect(cli('verify', dir, '--bogus').code).toBe(2);
    expect(cli('verify', join(dir, 'missing')).code).toBe(3);
  });

  it('verify exits 1 and names the tenant and index of a corruption', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'tenantry-cli-bad-'));
    try {
      const file = tenantFileName('acme');
      const buf = await readFile(join(dir, file));
      buf[buf.length - 3] = buf[buf.length - 3]! ^ 0x20;
      await writeFile(join(copy, file), buf);
      const r = cli('verify', copy);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('FAILED (corruption)');
      const json = JSON.parse(cli('verify', copy, '--json').stdout) as { divergence: { tenantId: string; index: number } };
      expect(json.divergence).toMatchObject({ tenantId: 'acme', index: 5 });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
