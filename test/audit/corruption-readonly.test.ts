// A corrupt tenant chain is loud, read-only and still provable up to the damage
// (docs/architecture.md, "@tenantry/audit": "any other damage is corruption, reported with its
// tenant and index, and that chain refuses appends until an explicit repair").
//
// One byte of one tenant's file (of a two-tenant ledger whose last signed checkpoint covers every
// entry) is flipped at 50 seeded offsets — the file header, record headers (length, body CRC,
// header CRC), payloads, the last record — and the ledger reopened. A flipped byte always breaks
// a CRC, so each must come back as a corruption of that tenant at the record holding the byte;
// then: size() is the verified prefix, every entry before the damage reads back as written and
// its receipt verifies (the stale checkpoint, which covers entries that no longer verify, is not
// used), a new checkpoint covers the tenant with its verified prefix, append rejects LOG_CORRUPT
// at once and leaves the file byte for byte as it was, and the other tenant appends as before.
// The only other acceptable outcome, a torn tail (an incomplete last record), must be cut and
// reported as one: the truncation cases below drive that branch of the same check.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLedger, generateNoteKey, tenantFileName, verifyInclusion, verifyReceipt, type Corruption, type CorruptionKind,
} from '@tenantry/audit';
import {
  checkChain, expectAuditError, hex, readTenantFile, rfc6962Root, rng, steppingClock, tenantFile, type FileRecord,
} from '../helpers/audit-log.js';

const N = 12;
const key = generateNoteKey('node-ro.tenantry.test');
const made: string[] = [];
let base: string;
let original: Buffer;
let alpha: FileRecord[];
let leaves: string[];
let betaRoot: string;

beforeAll(async () => {
  base = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'tenantry-ro-base-'));
  const ledger = await AuditLedger.open(base, { signerKey: key.signerKey, clock: steppingClock(7) });
  for (let i = 0; i < N; i++) {
    await Promise.all(['alpha', 'beta'].map((t) => ledger.append(t, { kind: 'test.event', payload: { i, text: `entry ${i} of ${t}` } })));
  }
  await ledger.checkpoint(); // covers both tenants at N: stale once alpha is damaged
  await ledger.close();
  original = fs.readFileSync(tenantFile(base, 'alpha'));
  alpha = readTenantFile(tenantFile(base, 'alpha'));
  leaves = checkChain(alpha, 'alpha');
  betaRoot = rfc6962Root(checkChain(readTenantFile(tenantFile(base, 'beta')), 'beta'));
});
afterAll(() => {
  for (const d of [base, ...made]) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the base directory whose alpha file holds `bytes`. */
function damagedCopy(bytes: Buffer): string {
  const dir = fs.mkdtempSync(path.join(path.dirname(base), 'tenantry-ro-'));
  made.push(dir);
  fs.cpSync(base, dir, { recursive: true });
  fs.writeFileSync(tenantFile(dir, 'alpha'), bytes);
  return dir;
}

/** The record holding byte `offset` of the original alpha file (-1: the file header). */
function recordAt(offset: number): number {
  return offset < 8 ? -1 : alpha.findLastIndex((r) => r.offset <= offset);
}

/** What a byte flipped at `offset` must be reported as. */
function expectedCorruption(offset: number): Omit<Corruption, 'message'> {
  const k = recordAt(offset);
  if (k < 0) return { tenantId: 'alpha', index: 0, kind: 'file-header', offset: 0 };
  const kind: CorruptionKind = offset - alpha[k]!.offset < 12 ? 'record-header' : 'checksum';
  return { tenantId: 'alpha', index: k, kind, offset: alpha[k]!.offset };
}

/**
 * Opens the damaged copy and checks the one acceptable outcome; returns which it was. `expected`:
 * the corruption it must report, or, for a torn tail, where the cut must be.
 */
async function checkOutcome(dir: string, expected: { corruption: Omit<Corruption, 'message'> } | { tornAt: number }): Promise<'corrupt' | 'torn'> {
  const file = tenantFile(dir, 'alpha');
  const damaged = fs.readFileSync(file);
  const ledger = await AuditLedger.open(dir, { signerKey: key.signerKey, clock: steppingClock(7, Date.UTC(2026, 5, 1)) });
  const log = ledger.log;
  try {
    const report = log.openReport;
    const c = report.corruptions[0];
    const torn = report.tornTails[0];
    // Never a silent success: the content changed, so open must say how.
    expect(c !== undefined || torn !== undefined, 'open reported neither a corruption nor a torn tail').toBe(true);
    let prefix: number;
    if (c !== undefined) {
      expect('corruption' in expected, `unexpected corruption ${JSON.stringify(c)}`).toBe(true);
      expect(report.corruptions).toEqual([{ ...(expected as { corruption: Corruption }).corruption, message: expect.any(String) }]);
      expect(report.tornTails).toEqual([]);
      expect(log.corruption('alpha')).toEqual(c);
      expect(log.corruption('beta')).toBeUndefined();
      prefix = c.index;
    } else {
      expect('tornAt' in expected, `unexpected torn tail ${JSON.stringify(torn)}`).toBe(true);
      const at = (expected as { tornAt: number }).tornAt;
      expect(report.tornTails).toEqual([{ tenantId: 'alpha', offset: at, bytes: damaged.length - at }]);
      expect(log.corruption('alpha')).toBeUndefined();
      expect(fs.readFileSync(file).equals(damaged.subarray(0, at))).toBe(true);
      prefix = recordAt(at);
    }

    // The verified prefix: sizes, entries as written, roots, proofs.
    expect(log.size('alpha')).toBe(prefix);
    expect(hex(log.root('alpha'))).toBe(rfc6962Root(leaves.slice(0, prefix)));
    for (let i = 0; i < prefix; i++) {
      const stored = await log.entry('alpha', i);
      expect(stored.entry).toEqual(alpha[i]!.entry);
      expect(hex(log.leafHash('alpha', i))).toBe(leaves[i]);
      expect(verifyInclusion(log.leafHash('alpha', i), i, prefix, log.inclusionProof('alpha', i, prefix), log.root('alpha', prefix))).toBe(true);
    }
    await expectAuditError(log.entry('alpha', prefix), { code: 'INVALID_INDEX', field: 'index' });

    // Every entry before the damage gets a receipt that verifies offline. The latest checkpoint
    // (signed before the damage, alpha at N) cannot serve: the first receipt makes a new one, which
    // covers alpha with its verified prefix (no leaf when nothing verifies).
    expect(ledger.latestCheckpoint!.heads.find((h) => h.tenant_id === 'alpha')!.size).toBe(N);
    for (let i = 0; i < prefix; i++) {
      const receipt = await ledger.receipt('alpha', i);
      expect(receipt).toMatchObject({ tenant_id: 'alpha', index: i, leaf_hash: leaves[i], tenant_size: prefix });
      expect(verifyReceipt(receipt, [key.verifierKey])).toBe(true);
    }
    await expectAuditError(ledger.receipt('alpha', prefix), { code: 'INVALID_INDEX', field: 'index' });
    const cp = prefix > 0 ? ledger.latestCheckpoint! : await ledger.checkpoint();
    const head = cp.heads.find((h) => h.tenant_id === 'alpha');
    expect(head).toEqual(prefix === 0 ? undefined : { tenant_id: 'alpha', size: prefix, root: rfc6962Root(leaves.slice(0, prefix)) });

    if (c !== undefined) {
      // Read-only: refused at once, nothing written, and the message says where and what to run.
      const e = await expectAuditError(log.append('alpha', { kind: 'k', payload: {} }), { code: 'LOG_CORRUPT', tenantId: 'alpha', index: c.index });
      expect(e.message).toContain('tenant "alpha"');
      expect(e.message).toContain(`index ${c.index}`);
      expect(e.message).toContain(`byte offset ${c.offset} of ${tenantFileName('alpha')}`);
      expect(e.message).toContain(`tenantry-audit repair ${log.dir} alpha`);
      expect(fs.readFileSync(file).equals(damaged)).toBe(true);
      expect(log.size('alpha')).toBe(prefix);
    } else {
      expect((await log.append('alpha', { kind: 'k', payload: {} })).index).toBe(prefix);
    }

    // The other tenant is untouched and writable, and proves its new entry.
    expect(hex(log.root('beta'))).toBe(betaRoot);
    expect((await log.append('beta', { kind: 'k', payload: { after: 'damage' } })).index).toBe(N);
    expect(verifyReceipt(await ledger.receipt('beta', N), [key.verifierKey])).toBe(true);
    return c !== undefined ? 'corrupt' : 'torn';
  } finally {
    await ledger.close();
    if (expected && 'corruption' in expected) expect(fs.readFileSync(file).equals(damaged), 'the damaged file changed').toBe(true);
  }
}

describe('a corrupt tenant is read-only and provable up to the damage', () => {
  it('for a byte flipped at 50 seeded offsets: header, record headers, CRCs, payloads, the last record', async () => {
    const payloadAt = (k: number): number => alpha[k]!.offset + 12 + alpha[k]!.body.indexOf('"payload":{') + 11;
    const last = alpha[N - 1]!;
    const chosen = [
      0, 5, 7,                                // the file header (magic, format version)
      alpha[0]!.offset, alpha[4]!.offset + 3, // a record's length
      alpha[4]!.offset + 6,                   // its body CRC
      alpha[4]!.offset + 11,                  // its header CRC
      payloadAt(4), payloadAt(0),             // payloads
      last.offset + 2, last.offset + 9, payloadAt(N - 1), original.length - 1, // the last record
    ];
    const next = rng(0x5eed_0bad);
    while (chosen.length < 50) chosen.push(next() % original.length);
    const seen = new Set<string>();
    for (const offset of chosen) {
      const bytes = Buffer.from(original);
      bytes[offset]! ^= 1 + (next() % 255);
      const expected = expectedCorruption(offset);
      const outcome = await checkOutcome(damagedCopy(bytes), { corruption: expected }).catch((e: unknown) => {
        throw new Error(`byte ${offset} flipped (record ${recordAt(offset)}): ${(e as Error).message}`, { cause: e });
      });
      expect(outcome).toBe('corrupt');
      seen.add(expected.kind);
    }
    expect([...seen].sort()).toEqual(['checksum', 'file-header', 'record-header']);
  });

  it('a torn tail is cut and reported as one, not made read-only', async () => {
    const last = alpha[N - 1]!;
    for (const keep of [last.offset + 5, original.length - 1]) {
      expect(await checkOutcome(damagedCopy(original.subarray(0, keep)), { tornAt: last.offset })).toBe('torn');
    }
  });

  it('corruption() names the corrupt tenant only, and checks its argument', async () => {
    const bytes = Buffer.from(original);
    bytes[alpha[3]!.offset + 40]! ^= 0x40;
    const ledger = await AuditLedger.open(damagedCopy(bytes), { signerKey: key.signerKey });
    try {
      expect(ledger.log.corruption('alpha')).toMatchObject({ tenantId: 'alpha', index: 3, kind: 'checksum', offset: alpha[3]!.offset });
      expect(ledger.log.corruption('beta')).toBeUndefined();
      expect(ledger.log.corruption('nobody')).toBeUndefined();
      await expectAuditError(() => ledger.log.corruption(''), { code: 'INVALID_TENANT_ID' });
      // A copy: changing it changes nothing.
      ledger.log.corruption('alpha')!.index = 99;
      expect(ledger.log.corruption('alpha')!.index).toBe(3);
      expect(ledger.log.openReport.corruptions).toEqual([ledger.log.corruption('alpha')]);
    } finally {
      await ledger.close();
    }
    await expectAuditError(() => ledger.log.corruption('alpha'), { code: 'LOG_CLOSED' });
  });
});
