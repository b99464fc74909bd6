// tenantry-audit on a directory with corrupt chains, run as a user would (the built bin in a child
// process): verify names every corrupt tenant with its index, kind, byte offset and the repair
// command; prove works for entries before the damage; repair cuts a chain to its verified prefix,
// keeps the cut bytes in a side file, and leaves the tenant writable.
//
// The directory: tenants alpha, beta and gamma with 8 entries each, checkpoint 0 signed after 3
// entries each and checkpoint 1 after all 8; then one byte of alpha's record 5 body and one of
// beta's record 6 header are flipped. gamma is sound.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, AuditLog, generateNoteKey, tenantFileName, verifyReceipt, type Receipt } from '@tenantry/audit';
import { auditCli as cli } from '../helpers/audit-cli.js';
import { readTenantFile, tenantFile, type FileRecord } from '../helpers/audit-log.js';

const key = generateNoteKey('node-cli-bad.tenantry.test');
const N = 8;
const made: string[] = [];
let base: string;
let records: Record<'alpha' | 'beta', FileRecord[]>;
let damaged: Record<'alpha' | 'beta', Buffer>;

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'tenantry-cli-bad-base-'));
  const ledger = await AuditLedger.open(base, { signerKey: key.signerKey });
  const tenants = ['alpha', 'beta', 'gamma'];
  for (let i = 0; i < N; i++) {
    await Promise.all(tenants.map((t) => ledger.append(t, { kind: 'invoke', payload: { i } })));
    if (i === 2) await ledger.checkpoint();
  }
  await ledger.checkpoint();
  await ledger.close();
  records = { alpha: readTenantFile(tenantFile(base, 'alpha')), beta: readTenantFile(tenantFile(base, 'beta')) };
  const flip = (t: 'alpha' | 'beta', at: number): Buffer => {
    const b = fs.readFileSync(tenantFile(base, t));
    b[at]! ^= 0x08;
    fs.writeFileSync(tenantFile(base, t), b);
    return b;
  };
  damaged = { alpha: flip('alpha', records.alpha[5]!.offset + 12 + 20), beta: flip('beta', records.beta[6]!.offset + 1) };
});
afterAll(() => {
  for (const d of [base, ...made]) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh copy of the damaged directory. */
function copy(): string {
  const dir = fs.mkdtempSync(path.join(path.dirname(base), 'tenantry-cli-bad-'));
  made.push(dir);
  fs.cpSync(base, dir, { recursive: true });
  return dir;
}

describe('tenantry-audit verify on corrupt chains', () => {
  it('names every corrupt tenant with index, kind and offset, and the command that repairs it', () => {
    const dir = copy();
    const r = cli('verify', dir, '--key', key.verifierKey);
    expect(r.code).toBe(1);
    const alphaAt = records.alpha[5]!.offset;
    const betaAt = records.beta[6]!.offset;
    expect(r.stdout).toContain('alpha  size 5  root');
    expect(r.stdout).toContain(`CORRUPT: tenant "alpha" index 5 (checksum, byte offset ${alphaAt} of ${tenantFileName('alpha')})`);
    expect(r.stdout).toContain(`CORRUPT: tenant "beta" index 6 (record-header, byte offset ${betaAt} of ${tenantFileName('beta')})`);
    expect(r.stdout).toContain(`tenantry-audit repair ${dir} alpha\n`);
    expect(r.stdout).toContain(`tenantry-audit repair ${dir} beta\n`);
    expect(r.stdout).toContain('entries 0..4 stay readable and provable');
    expect(r.stdout).toContain('gamma  size 8  root');
    expect(r.stdout).not.toContain('tenant "gamma" index');
    expect(r.stdout).toContain(`FAILED (corruption): tenant "alpha" is corrupt at index 5 (checksum, byte offset ${alphaAt}`);

    const json = cli('verify', dir, '--json');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { corruptions: unknown[]; divergence: unknown };
    expect(report.corruptions).toEqual([
      { tenantId: 'alpha', index: 5, kind: 'checksum', offset: alphaAt, message: expect.any(String) },
      { tenantId: 'beta', index: 6, kind: 'record-header', offset: betaAt, message: expect.any(String) },
    ]);
    expect(report.divergence).toMatchObject({ kind: 'corruption', tenantId: 'alpha', index: 5 });
  });

  it('quotes a tenant id for the shell in the repair command', async () => {
    const dir = copy();
    const odd = "o'hara & co";
    const log = await AuditLog.open(dir);
    for (let i = 0; i < 3; i++) await log.append(odd, { kind: 'invoke', payload: { i } });
    await log.close();
    const file = tenantFile(dir, odd);
    const b = fs.readFileSync(file);
    b[b.length - 2]! ^= 0x01;
    fs.writeFileSync(file, b);
    expect(cli('verify', dir).stdout).toContain(`tenantry-audit repair ${dir} 'o'\\''hara & co'\n`);
  });
});

describe('tenantry-audit prove before the damage', () => {
  const prove = (dir: string, tenant: string, index: number): { code: number | null; receipt?: Receipt; stderr: string } => {
    const r = cli('prove', dir, tenant, String(index), '--key', key.verifierKey);
    return { code: r.code, stderr: r.stderr, ...(r.code === 0 ? { receipt: JSON.parse(r.stdout) as Receipt } : {}) };
  };

  it('proves an entry that a checkpoint within the verified prefix covers', () => {
    const dir = copy();
    const r = prove(dir, 'alpha', 1); // checkpoint 0 covers alpha at 3 ≤ 5
    expect(r.code).toBe(0);
    expect(r.receipt).toMatchObject({ tenant_id: 'alpha', index: 1, tenant_size: 3 });
    expect(verifyReceipt(r.receipt, [key.verifierKey])).toBe(true);
    // Other tenants' damage does not stop a sound tenant's proof.
    const g = prove(dir, 'gamma', N - 1);
    expect(g.code).toBe(0);
    expect(verifyReceipt(g.receipt, [key.verifierKey])).toBe(true);
  });

  it('says why when only checkpoints signed before the damage cover the entry, and proves it once the node signed a new one', async () => {
    const dir = copy();
    const before = prove(dir, 'alpha', 4); // only checkpoint 1 (alpha at 8) covers it
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('LOG_CORRUPT');
    expect(before.stderr).toContain('signed before the damage');
    expect(before.stderr).toContain('index 5');

    // The node (which holds the signer key) answers a receipt, and so signs a checkpoint of alpha's verified prefix.
    const ledger = await AuditLedger.open(dir, { signerKey: key.signerKey });
    const fromNode = await ledger.receipt('alpha', 4);
    await ledger.close();
    expect(verifyReceipt(fromNode, [key.verifierKey])).toBe(true);

    const after = prove(dir, 'alpha', 4);
    expect(after.code).toBe(0);
    expect(after.receipt).toMatchObject({ tenant_id: 'alpha', index: 4, tenant_size: 5, leaf_hash: records.alpha[4]!.leafHash });
    expect(verifyReceipt(after.receipt, [key.verifierKey])).toBe(true);
  });

  it('refuses an entry at or after the damage, naming the corruption', () => {
    const dir = copy();
    for (const index of [5, 7]) {
      const r = prove(dir, 'alpha', index);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`entry ${index} is not verified: tenant "alpha" is corrupt at index 5`);
    }
  });
});

describe('tenantry-audit repair', () => {
  it('cuts the chain to its verified prefix, keeps the cut bytes beside it, and the tenant takes appends again', async () => {
    const dir = copy();
    const cutAt = records.alpha[5]!.offset;
    const r = cli('repair', dir, 'alpha');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('repaired tenant "alpha", which was corrupt at index 5 (checksum');
    expect(r.stdout).toContain(`kept entries 0..4; cut ${damaged.alpha.length - cutAt} bytes at offset ${cutAt} of ${tenantFileName('alpha')}`);
    expect(r.stdout).toContain('1 node checkpoint(s) signed before the repair cover cut entries');
    const saved = /the cut bytes are kept in (\S+)/.exec(r.stdout)![1]!;
    expect(path.dirname(saved)).toBe(dir);
    expect(path.basename(saved)).toMatch(new RegExp(`^${tenantFileName('alpha')}\\.cut-\\d+$`));
    expect(fs.readFileSync(saved).equals(damaged.alpha.subarray(cutAt))).toBe(true);
    expect(fs.readFileSync(tenantFile(dir, 'alpha')).equals(damaged.alpha.subarray(0, cutAt))).toBe(true);
    // beta was not asked for: still damaged as it was.
    expect(fs.readFileSync(tenantFile(dir, 'beta')).equals(damaged.beta)).toBe(true);

    const again = cli('repair', dir, 'alpha');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('tenant "alpha" is not corrupt (5 entries): nothing to repair');

    const log = await AuditLog.open(dir);
    try {
      expect(log.corruption('alpha')).toBeUndefined();
      expect(log.corruption('beta')).toMatchObject({ index: 6 });
      expect(log.openReport.ignoredFiles).toEqual(['node-checkpoints.log']); // the side file is evidence, not a stray
      expect((await log.append('alpha', { kind: 'invoke', payload: { after: 'repair' } })).index).toBe(5);
      expect((await log.entry('alpha', 5)).entry.prev).toBe(records.alpha[4]!.leafHash);
    } finally {
      await log.close();
    }
  });

  it('refuses while another process holds the directory, and changes nothing', async () => {
    const dir = copy();
    const log = await AuditLog.open(dir);
    try {
      const r = cli('repair', dir, 'alpha');
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('stop it first');
    } finally {
      await log.close();
    }
    expect(fs.readFileSync(tenantFile(dir, 'alpha')).equals(damaged.alpha)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.cut-'))).toEqual([]);
  });

  it('exit codes: no such tenant 1, usage 2, missing directory 3', () => {
    const dir = copy();
    const none = cli('repair', dir, 'nobody');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no chain of tenant "nobody"');
    expect(cli('repair', dir).code).toBe(2);
    expect(cli('repair', dir, 'alpha', 'extra').code).toBe(2);
    expect(cli('repair', dir, 'alpha', '--json').code).toBe(2);
    expect(cli('repair', path.join(dir, 'missing'), 'alpha').code).toBe(3);
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
    expect(fs.readFileSync(tenantFile(dir, 'alpha')).equals(damaged.alpha)).toBe(true);
  });
});
