// verifyAuditDir: replay from the files, read only, against the persisted node checkpoints.
import { cp as copyDir, mkdtemp, readFile, readdir, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey, tenantFileName, verifyAuditDir } from '@tenantry/audit';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tenantry-verify-dir-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const key = generateNoteKey('node-v.tenantry.test');
const stranger = generateNoteKey('someone-else');
let t = Date.UTC(2026, 10, 22);
const clock = (): number => (t += 3);

/** A ledger with two tenants, a checkpoint after 6 entries each, then 4 more entries each. */
async function populated(): Promise<{ dir: string; roots: Record<string, string> }> {
  const dir = await tempDir();
  const ledger = await AuditLedger.open(dir, { signerKey: key.signerKey, clock });
  for (let i = 0; i < 6; i++) {
    await Promise.all(['acme', 'globex'].map((tn) => ledger.append(tn, { kind: 'invoke', payload: { i } })));
  }
  await ledger.checkpoint();
  for (let i = 6; i < 10; i++) {
    await Promise.all(['acme', 'globex'].map((tn) => ledger.append(tn, { kind: 'invoke', payload: { i } })));
  }
  await ledger.checkpoint();
  const roots = Object.fromEntries(['acme', 'globex'].map((tn) => [tn, Buffer.from(ledger.log.root(tn)).toString('hex')]));
  await ledger.close();
  return { dir, roots };
}

/** Offsets of the records of a tenant file (8-byte file header, 12-byte record headers). */
function recordOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = 8; at < buf.length; at += 12 + buf.readUInt32BE(at)) out.push(at);
  return out;
}

async function snapshot(dir: string): Promise<Record<string, number>> {
  const names = await readdir(dir);
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await stat(join(dir, n))).size] as const)));
}

describe('verifyAuditDir', () => {
  let dir: string;
  let roots: Record<string, string>;
  beforeEach(async () => {
    ({ dir, roots } = await populated());
  });

  it('rebuilds every root from the files and agrees with every checkpoint', async () => {
    const report = await verifyAuditDir(dir, { verifierKeys: [key.verifierKey] });
    expect(report.divergence).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(20);
    expect(report.checkpoints).toBe(2);
    expect(Object.fromEntries(report.tenants.map((x) => [x.tenant_id, x.root]))).toEqual(roots);
  });

  it('gives byte-identical roots from a copy of the files (replay is deterministic)', async () => {
    const copy = await tempDir();
    await copyDir(dir, copy, { recursive: true });
    const [a, b] = await Promise.all([verifyAuditDir(dir), verifyAuditDir(copy)]);
    expect(b.tenants).toEqual(a.tenants);
    expect(b.lastCheckpoint).toEqual(a.lastCheckpoint);
  });

  it('writes nothing, even with a torn tail (reported, not a divergence)', async () => {
    await appendFile(join(dir, tenantFileName('acme')), Buffer.from([0, 0, 0, 40, 1, 2]));
    const before = await snapshot(dir);
    const report = await verifyAuditDir(dir, { verifierKeys: [key.verifierKey] });
    expect(report.ok).toBe(true);
    expect(report.tornTails.map((x) => x.tenantId)).toEqual(['acme']);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('names the tenant and index of a flipped byte', async () => {
    const file = join(dir, tenantFileName('globex'));
    const buf = await readFile(file);
    const at = recordOffsets(buf)[3]! + 12 + 5;
    buf[at] = buf[at]! ^ 0x01;
    await writeFile(file, buf);
    const report = await verifyAuditDir(dir, { verifierKeys: [key.verifierKey] });
    expect(report.ok).toBe(false);
    expect(report.divergence).toMatchObject({ kind: 'corruption', tenantId: 'globex', index: 3 });
  });

  it('names the tenant whose file lost entries a checkpoint covers', async () => {
    const file = join(dir, tenantFileName('acme'));
    const buf = await readFile(file);
    await writeFile(file, buf.subarray(0, recordOffsets(buf)[4]!)); // keep 4 complete entries
    const report = await verifyAuditDir(dir, { verifierKeys: [key.verifierKey] });
    expect(report.divergence).toMatchObject({ kind: 'checkpoint-head', tenantId: 'acme', index: 6, checkpoint: 0 });
  });

  it('names the checkpoint a rewritten history no longer matches', async () => {
    // Replace the tenant's whole history by another valid chain of the same length.
    const other = await tempDir();
    const forger = await AuditLedger.open(other, { signerKey: stranger.signerKey, clock });
    for (let i = 0; i < 10; i++) await forger.append('acme', { kind: 'invoke', payload: { forged: i } });
    await forger.close();
    await writeFile(join(dir, tenantFileName('acme')), await readFile(join(other, tenantFileName('acme'))));
    const report = await verifyAuditDir(dir, { verifierKeys: [key.verifierKey] });
    expect(report.divergence).toMatchObject({ kind: 'checkpoint-head', tenantId: 'acme', checkpoint: 0 });
  });

  it('rejects checkpoints that no given key signed', async () => {
    const report = await verifyAuditDir(dir, { verifierKeys: [stranger.verifierKey] });
    expect(report.divergence).toMatchObject({ kind: 'checkpoint-signature', checkpoint: 0 });
  });

  it('reports an unreadable directory as IO_ERROR', async () => {
    await expect(verifyAuditDir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'IO_ERROR', field: 'dir' });
  });
});
