// Receipts: entry → tenant root → node root → signed checkpoint, verified with nothing but the
// receipt and the verifier keys; every tampered field rejected.
import { mkdtemp, rm, appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLedger, CHECKPOINT_FILE, generateNoteKey, isAuditError, nodeTree, openCheckpoint, verifyReceipt,
  type AuditError, type Receipt,
} from '@tenantry/audit';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tenantry-receipt-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const key = generateNoteKey('node-a.tenantry.test');
const other = generateNoteKey('node-a.tenantry.test');
let clockMs = Date.UTC(2026, 10, 22, 12, 0, 0);
const clock = (): number => (clockMs += 7);

const TENANTS = ['acme', 'globex', 'initech', 'ümlaut-tenant'];

describe('receipts from a ledger', () => {
  let dir: string;
  let ledger: AuditLedger;
  const appended: { tenant: string; index: number; leaf: string }[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    ledger = await AuditLedger.open(dir, { signerKey: key.signerKey, clock });
    const writes = [];
    for (let i = 0; i < 40; i++) {
      const tenant = TENANTS[i % TENANTS.length]!;
      writes.push(ledger.append(tenant, { kind: 'invoke', payload: { n: i, usd: (i % 9) / 100 } }));
    }
    for (const r of await Promise.all(writes)) appended.push({ tenant: r.tenant_id, index: r.index, leaf: r.leaf_hash });
  });
  afterAll(async () => {
    await ledger.close();
  });

  it('verifies every entry offline, and after a JSON round trip', async () => {
    for (const a of appended) {
      const receipt = await ledger.receipt(a.tenant, a.index);
      expect(receipt.leaf_hash).toBe(a.leaf);
      expect(receipt.tenant_id).toBe(a.tenant);
      expect(verifyReceipt(receipt, [key.verifierKey])).toBe(true);
      expect(verifyReceipt(JSON.parse(JSON.stringify(receipt)), key.verifierKey)).toBe(true);
    }
  });

  it('rejects a receipt under an unknown key, or with the expected origin wrong', async () => {
    const receipt = await ledger.receipt('acme', 3);
    expect(verifyReceipt(receipt, [other.verifierKey])).toBe(false);
    expect(verifyReceipt(receipt, [])).toBe(false);
    expect(verifyReceipt(receipt, [key.verifierKey], { origin: 'node-a.tenantry.test' })).toBe(true);
    expect(verifyReceipt(receipt, [key.verifierKey], { origin: 'elsewhere' })).toBe(false);
  });

  it('rejects every tampered field', async () => {
    const good = await ledger.receipt('globex', 4);
    const flipHex = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);
    const cases: [string, (r: Receipt) => unknown][] = [
      ['leaf_hash', (r) => ({ ...r, leaf_hash: flipHex(r.leaf_hash) })],
      ['index+1', (r) => ({ ...r, index: r.index + 1 })],
      ['index-1', (r) => ({ ...r, index: r.index - 1 })],
      ['tenant_size+1', (r) => ({ ...r, tenant_size: r.tenant_size + 1 })],
      ['tenant_root', (r) => ({ ...r, tenant_root: flipHex(r.tenant_root) })],
      ['tenant_id', (r) => ({ ...r, tenant_id: 'acme' })],
      ['tenant_proof truncated', (r) => ({ ...r, tenant_proof: r.tenant_proof.slice(1) })],
      ['tenant_proof extended', (r) => ({ ...r, tenant_proof: [...r.tenant_proof, r.leaf_hash] })],
      ['tenant_proof bit', (r) => ({ ...r, tenant_proof: [flipHex(r.tenant_proof[0]!), ...r.tenant_proof.slice(1)] })],
      ['node_index', (r) => ({ ...r, node_index: (r.node_index + 1) % r.node_size })],
      ['node_size', (r) => ({ ...r, node_size: r.node_size + 1 })],
      ['node_proof truncated', (r) => ({ ...r, node_proof: r.node_proof.slice(1) })],
      ['node_proof bit', (r) => ({ ...r, node_proof: [flipHex(r.node_proof[0]!), ...r.node_proof.slice(1)] })],
      ['checkpoint text', (r) => ({ ...r, checkpoint: r.checkpoint.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) + 1}\n`) })],
      // A character well inside the base64 signature: all six of its bits are signature bits (the last
      // character before "=" also carries padding bits, which a decoder may ignore, as Go's does).
      ['checkpoint signature', (r) => ({ ...r, checkpoint: r.checkpoint.slice(0, -10) + (r.checkpoint.at(-10) === 'A' ? 'B' : 'A') + r.checkpoint.slice(-9) })],
      ['protocol_version', (r) => ({ ...r, protocol_version: '2.0' })],
      ['index as string', (r) => ({ ...r, index: String(r.index) })],
      ['missing checkpoint', (r) => ({ ...r, checkpoint: undefined })],
      ['uppercase hex', (r) => ({ ...r, leaf_hash: r.leaf_hash.toUpperCase() })],
    ];
    expect(verifyReceipt(good, [key.verifierKey])).toBe(true);
    for (const [name, tamper] of cases) {
      expect(verifyReceipt(tamper(structuredClone(good)), [key.verifierKey]), name).toBe(false);
    }
    for (const junk of [null, undefined, 42, 'receipt', [], {}]) expect(verifyReceipt(junk, [key.verifierKey])).toBe(false);
  });

  it('keeps old receipts valid as the log grows, and makes a new checkpoint only when needed', async () => {
    const before = await ledger.receipt('initech', 2);
    const cp = ledger.latestCheckpoint!;
    expect((await ledger.receipt('initech', 1)).checkpoint).toBe(cp.note);
    const r = await ledger.append('initech', { kind: 'invoke', payload: { late: true } });
    const after = await ledger.receipt('initech', r.index);
    expect(after.checkpoint).not.toBe(cp.note);
    expect(verifyReceipt(before, [key.verifierKey])).toBe(true);
    expect(verifyReceipt(after, [key.verifierKey])).toBe(true);
    const opened = openCheckpoint(after.checkpoint, [key.verifierKey]);
    expect(opened.checkpoint.size).toBe(TENANTS.length);
  });

  it('rejects a receipt for an entry that does not exist', async () => {
    for (const index of [-1, 1.5, 1e9, Number.NaN]) {
      let caught: unknown;
      try {
        await ledger.receipt('acme', index);
      } catch (e) {
        caught = e;
      }
      expect(isAuditError(caught)).toBe(true);
      expect((caught as AuditError).code).toBe('INVALID_INDEX');
    }
  });
});

describe('node tree and persisted checkpoints', () => {
  it('orders tenants by id whatever the order of the heads', () => {
    const heads = TENANTS.map((t, i) => ({ tenant_id: t, size: i + 1, root: String(i).repeat(64).slice(0, 64) }));
    const a = nodeTree(heads).tree.root();
    const b = nodeTree([...heads].reverse()).tree.root();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(nodeTree(heads).order.map((h) => h.tenant_id)).toEqual(['acme', 'globex', 'initech', 'ümlaut-tenant']);
  });

  it('reopens with the latest checkpoint, whose receipts still verify; a torn checkpoint record is cut', async () => {
    const dir = await tempDir();
    const first = await AuditLedger.open(dir, { signerKey: key.signerKey, clock });
    await first.append('acme', { kind: 'invoke', payload: { a: 1 } });
    const cp = await first.checkpoint();
    await first.close();
    const file = join(dir, CHECKPOINT_FILE);
    const goodBytes = (await stat(file)).size;
    await appendFile(file, Buffer.from([0, 0, 1])); // an unacknowledged, torn record
    const second = await AuditLedger.open(dir, { signerKey: key.signerKey, clock });
    expect(second.latestCheckpoint?.note).toBe(cp.note);
    expect((await stat(file)).size).toBe(goodBytes);
    const receipt = await second.receipt('acme', 0);
    expect(receipt.checkpoint).toBe(cp.note);
    expect(verifyReceipt(receipt, [key.verifierKey])).toBe(true);
    await second.close();
  });

  it('refuses a bad signer key before touching the directory', async () => {
    const dir = await tempDir();
    let caught: unknown;
    try {
      await AuditLedger.open(join(dir, 'never'), { signerKey: 'PRIVATE+KEY+bad' });
    } catch (e) {
      caught = e;
    }
    expect((caught as AuditError).code).toBe('INVALID_KEY');
    await expect(stat(join(dir, 'never'))).rejects.toThrow();
  });
});
