// Damaged tenant files. Each case, named after the damage it does, is applied to one tenant of a
// two-tenant log; reopening must report exactly that tenant and the index of the first unverified
// entry (or cut a torn tail, which is only ever an incomplete last record), keep the verified
// prefix readable, refuse appends to that tenant until an explicit repair, leave the other tenant
// alone, and after the repair accept appends that chain on from the kept prefix.
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type Corruption, type CorruptionKind } from '@tenantry/audit';
import {
  MAGIC, checkChain, expectAuditError, frame, hex, leafHashHex, readTenantFile, rfc6962Root, rng, steppingClock, tenantFile, useTempDirs,
  type FileRecord,
} from '../helpers/audit-log.js';

const tempDir = useTempDirs();
const N = 20;

interface Fixture {
  dir: string;
  file: string;
  original: Buffer;
  alpha: FileRecord[];
  beta: FileRecord[];
  alphaLeaves: string[];
  betaRoot: string;
}

let fx: Fixture;

beforeEach(async () => {
  const dir = tempDir();
  const log = await AuditLog.open(dir, { clock: steppingClock(1000) });
  await Promise.all(Array.from({ length: 2 * N }, (_, i) => log.append(i % 2 ? 'beta' : 'alpha', { kind: 'test.event', payload: { i, text: `entry number ${i}` } })));
  await log.close();
  const file = tenantFile(dir, 'alpha');
  const alpha = readTenantFile(file);
  const beta = readTenantFile(tenantFile(dir, 'beta'));
  fx = { dir, file, original: fs.readFileSync(file), alpha, beta, alphaLeaves: checkChain(alpha, 'alpha'), betaRoot: rfc6962Root(checkChain(beta, 'beta')) };
});

const open = (dir = fx.dir) => AuditLog.open(dir, { clock: steppingClock(1000, Date.UTC(2026, 0, 1)) });
const rec = (i: number): FileRecord => fx.alpha[i]!;
const bytesOf = (r: FileRecord): Buffer => fx.original.subarray(r.offset, r.offset + r.size);
const without = (...drop: number[]): Buffer[] => fx.alpha.filter((_, i) => !drop.includes(i)).map(bytesOf);
const rebuilt = (records: Buffer[]): Buffer => Buffer.concat([MAGIC, ...records]);
const flipped = (offset: number, mask = 0x01): Buffer => {
  const b = Buffer.from(fx.original);
  b[offset]! ^= mask;
  return b;
};
/** Record i re-encoded from a changed entry, with valid CRCs (damage that framing cannot see). */
const reframed = (i: number, change: (entry: Record<string, unknown>) => unknown): Buffer => {
  const body = change(structuredClone(rec(i).entry));
  return frame(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
};
const withRecord = (i: number, replacement: Buffer): Buffer => rebuilt(fx.alpha.map((r, j) => (j === i ? replacement : bytesOf(r))));

interface CorruptCase {
  name: string;
  damage: () => Buffer;
  index: number;
  kind: CorruptionKind;
  /** Offset of the bad record in the damaged file. */
  offset: () => number;
  /** Leaf hashes of the verified prefix, when the damage changed it undetectably (default: the original ones). */
  prefix?: () => string[];
}

const END = () => fx.original.length;

const CORRUPT: CorruptCase[] = [
  { name: 'flipped-byte-in-middle-body', damage: () => flipped(rec(7).offset + 12 + 40), index: 7, kind: 'checksum', offset: () => rec(7).offset },
  { name: 'flipped-byte-in-last-body', damage: () => flipped(END() - 3), index: N - 1, kind: 'checksum', offset: () => rec(N - 1).offset },
  { name: 'flipped-length-in-middle-header', damage: () => flipped(rec(7).offset + 3), index: 7, kind: 'record-header', offset: () => rec(7).offset },
  // A longer length would make the last record look incomplete: the header CRC says it is damaged, not torn.
  { name: 'flipped-length-in-last-header', damage: () => flipped(rec(N - 1).offset + 2, 0x10), index: N - 1, kind: 'record-header', offset: () => rec(N - 1).offset },
  // The header CRC covers the body CRC field too.
  { name: 'flipped-body-crc', damage: () => flipped(rec(7).offset + 5), index: 7, kind: 'record-header', offset: () => rec(7).offset },
  { name: 'flipped-header-crc', damage: () => flipped(rec(7).offset + 10), index: 7, kind: 'record-header', offset: () => rec(7).offset },
  { name: 'dropped-record', damage: () => rebuilt(without(5)), index: 5, kind: 'index-mismatch', offset: () => rec(5).offset },
  { name: 'dropped-first-record', damage: () => rebuilt(without(0)), index: 0, kind: 'index-mismatch', offset: () => 8 },
  { name: 'reordered-records', damage: () => rebuilt(fx.alpha.map((_, j) => bytesOf(rec(j === 5 ? 6 : j === 6 ? 5 : j)))), index: 5, kind: 'index-mismatch', offset: () => rec(5).offset },
  {
    name: 'duplicated-record',
    damage: () => rebuilt(fx.alpha.flatMap((r, j) => (j === 5 ? [bytesOf(r), bytesOf(r)] : [bytesOf(r)]))),
    index: 6, kind: 'index-mismatch', offset: () => rec(6).offset,
  },
  { name: 'duplicated-last-record', damage: () => Buffer.concat([fx.original, bytesOf(rec(N - 1))]), index: N, kind: 'index-mismatch', offset: END },
  { name: 'foreign-record', damage: () => withRecord(3, frame(fx.beta[3]!.body)), index: 3, kind: 'tenant-mismatch', offset: () => rec(3).offset },
  // Rewriting an entry with valid CRCs breaks the chain at the next entry's prev. (The rewritten
  // entry itself verifies: only a signed checkpoint of the old root can expose it.)
  {
    name: 'rewritten-entry-with-valid-crc',
    damage: () => withRecord(4, rewritten4()),
    index: 5, kind: 'prev-mismatch', offset: () => rec(4).offset + rewritten4().length,
    prefix: () => [...fx.alphaLeaves.slice(0, 4), leafHashHex(rewritten4().subarray(12))],
  },
  { name: 'other-protocol-version', damage: () => withRecord(2, reframed(2, (e) => canonical({ ...e, protocol_version: '2.0' }))), index: 2, kind: 'protocol-version', offset: () => rec(2).offset },
  { name: 'body-not-json', damage: () => withRecord(2, reframed(2, () => 'not json at all')), index: 2, kind: 'malformed-entry', offset: () => rec(2).offset },
  { name: 'entry-not-canonical', damage: () => withRecord(2, reframed(2, (e) => JSON.stringify(e, null, 1))), index: 2, kind: 'malformed-entry', offset: () => rec(2).offset },
  { name: 'entry-with-extra-field', damage: () => withRecord(2, reframed(2, (e) => canonical({ ...e, zzz: 1 }))), index: 2, kind: 'malformed-entry', offset: () => rec(2).offset },
  { name: 'garbage-appended', damage: () => Buffer.concat([fx.original, Buffer.from(Array.from({ length: 100 }, (_, i) => (i * 89 + 7) & 0xff))]), index: N, kind: 'record-header', offset: END },
  { name: 'zeros-appended', damage: () => Buffer.concat([fx.original, Buffer.alloc(64)]), index: N, kind: 'record-header', offset: END },
  { name: 'bad-magic', damage: () => flipped(0), index: 0, kind: 'file-header', offset: () => 0 },
];

function rewritten4(): Buffer {
  return reframed(4, (e) => canonical({ ...e, payload: { i: 8, text: 'entry number 8!' } }));
}

/** RFC 8785 of the simple entries these cases build (string, number and object values only). */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

describe('corruption is reported with its tenant and index, and appends wait for repair', () => {
  for (const c of CORRUPT) {
    it(c.name, async () => {
      const damaged = c.damage();
      fs.writeFileSync(fx.file, damaged);
      const log = await open();
      try {
        const expected: Corruption = { tenantId: 'alpha', index: c.index, kind: c.kind, offset: c.offset(), message: expect.any(String) as unknown as string };
        expect(log.openReport.corruptions).toEqual([expected]);
        expect(log.openReport.tornTails).toEqual([]);
        expect(log.status().corruptions).toEqual([expected]);
        // Opening changed nothing on disk.
        expect(fs.readFileSync(fx.file).equals(damaged)).toBe(true);

        // The verified prefix is what reads see.
        expect(log.size('alpha')).toBe(c.index);
        const prefix = c.prefix?.() ?? fx.alphaLeaves.slice(0, c.index);
        expect(hex(log.root('alpha'))).toBe(rfc6962Root(prefix));
        if (c.index > 0) expect((await log.entry('alpha', c.index - 1)).entry.index).toBe(c.index - 1);

        // Appends to alpha are refused, with nothing written; beta is untouched and writable.
        await expectAuditError(log.append('alpha', { kind: 'k', payload: {} }), { code: 'LOG_CORRUPT', tenantId: 'alpha', index: c.index });
        expect(fs.readFileSync(fx.file).equals(damaged)).toBe(true);
        expect(hex(log.root('beta'))).toBe(fx.betaRoot);
        expect((await log.append('beta', { kind: 'k', payload: {} })).index).toBe(N);

        // Repair is explicit, bounded by the corruption, and only for corrupt tenants.
        await expectAuditError(log.repair('alpha', { truncateAfter: c.index + 1 }), { code: 'INVALID_INDEX', field: 'options.truncateAfter' });
        await expectAuditError(log.repair('beta', { truncateAfter: 0 }), { code: 'INVALID_ARGUMENT', field: 'tenantId' });
        await expectAuditError(log.repair('alpha', {} as never), { code: 'INVALID_INDEX', field: 'options.truncateAfter' });
        const report = await log.repair('alpha', { truncateAfter: c.index });
        const cut = c.index === 0 ? 0 : c.offset();
        expect(report).toEqual({ tenantId: 'alpha', kept: c.index, offset: cut, removedBytes: damaged.length - cut, savedTo: expect.any(String), corruption: expected });
        expect(fs.readFileSync(path.join(fx.dir, report.savedTo!)).equals(damaged.subarray(cut))).toBe(true);
        expect(log.status().corruptions).toEqual([]);
        expect(log.status().repairs).toEqual([report]);

        const r = await log.append('alpha', { kind: 'k', payload: { after: 'repair' } });
        expect(r.index).toBe(c.index);
        expect((await log.entry('alpha', c.index)).entry.prev).toBe(c.index === 0 ? '0'.repeat(64) : prefix[c.index - 1]);
      } finally {
        await log.close();
      }
      const prefix = c.prefix?.() ?? fx.alphaLeaves.slice(0, c.index);
      const again = await open();
      expect(again.openReport).toMatchObject({ corruptions: [], tornTails: [], entries: c.index + 1 + N + 1 });
      await again.close();
      const records = readTenantFile(fx.file);
      expect(checkChain(records, 'alpha').slice(0, c.index)).toEqual(prefix);
      expect(records).toHaveLength(c.index + 1);
    });
  }

  it('reports corruption in several tenants at once', async () => {
    fs.writeFileSync(fx.file, flipped(rec(3).offset + 20));
    const betaFile = tenantFile(fx.dir, 'beta');
    const beta = fs.readFileSync(betaFile);
    fs.writeFileSync(betaFile, beta.subarray(0, fx.beta[9]!.offset));
    fs.appendFileSync(betaFile, beta.subarray(fx.beta[10]!.offset));
    const log = await open();
    expect(log.openReport.corruptions.map((c) => [c.tenantId, c.index, c.kind])).toEqual([['alpha', 3, 'checksum'], ['beta', 9, 'index-mismatch']]);
    expect(log.tenants()).toEqual(['alpha', 'beta']);
    await log.close();
  });

  it('repairs to fewer entries than the corruption leaves when asked', async () => {
    fs.writeFileSync(fx.file, flipped(rec(7).offset + 30));
    const log = await open();
    const report = await log.repair('alpha', { truncateAfter: 4 });
    expect(report).toMatchObject({ kept: 4, offset: rec(4).offset, removedBytes: fx.original.length - rec(4).offset });
    expect(log.size('alpha')).toBe(4);
    expect(hex(log.root('alpha'))).toBe(rfc6962Root(fx.alphaLeaves.slice(0, 4)));
    expect((await log.append('alpha', { kind: 'k', payload: {} })).index).toBe(4);
    await log.close();
  });

  it('reports damage that appears after open when the entry is read, and refuses appends from then on', async () => {
    const log = await open();
    try {
      expect((await log.entry('alpha', 3)).entry.index).toBe(3);
      const fd = fs.openSync(fx.file, 'r+');
      fs.writeSync(fd, Buffer.from([fx.original[rec(3).offset + 40]! ^ 0x04]), 0, 1, rec(3).offset + 40);
      fs.closeSync(fd);
      await expectAuditError(log.entry('alpha', 3), { code: 'LOG_CORRUPT', tenantId: 'alpha', index: 3 });
      expect(log.status().corruptions).toEqual([expect.objectContaining({ tenantId: 'alpha', index: 3, kind: 'checksum' })]);
      await expectAuditError(log.append('alpha', { kind: 'k', payload: {} }), { code: 'LOG_CORRUPT', tenantId: 'alpha', index: 3 });
      expect((await log.entry('alpha', 4)).entry.index).toBe(4);
      const report = await log.repair('alpha', { truncateAfter: 3 });
      expect(report.kept).toBe(3);
      expect(log.size('alpha')).toBe(3);
      expect((await log.append('alpha', { kind: 'k', payload: {} })).index).toBe(3);
    } finally {
      await log.close();
    }
  });
});

describe('a torn tail (an incomplete last record) is cut and reported, not corruption', () => {
  const TORN: { name: string; damage: () => Buffer; offset: () => number; bytes: () => number; size: number }[] = [
    { name: 'truncated-mid-body', damage: () => fx.original.subarray(0, rec(N - 1).offset + 12 + 10), offset: () => rec(N - 1).offset, bytes: () => 22, size: N - 1 },
    { name: 'truncated-mid-header', damage: () => fx.original.subarray(0, rec(N - 1).offset + 5), offset: () => rec(N - 1).offset, bytes: () => 5, size: N - 1 },
    { name: 'truncated-one-byte-short', damage: () => fx.original.subarray(0, END() - 1), offset: () => rec(N - 1).offset, bytes: () => rec(N - 1).size - 1, size: N - 1 },
    // Fewer bytes than a header cannot be a record that was ever acknowledged.
    { name: 'short-garbage-appended', damage: () => Buffer.concat([fx.original, Buffer.from('garbage')]), offset: END, bytes: () => 7, size: N },
    { name: 'truncated-magic', damage: () => MAGIC.subarray(0, 3), offset: () => 0, bytes: () => 3, size: 0 },
  ];
  for (const c of TORN) {
    it(c.name, async () => {
      fs.writeFileSync(fx.file, c.damage());
      const log = await open();
      try {
        expect(log.openReport.tornTails).toEqual([{ tenantId: 'alpha', offset: c.offset(), bytes: c.bytes() }]);
        expect(log.openReport.corruptions).toEqual([]);
        expect(log.status().tornTails).toEqual(log.openReport.tornTails);
        expect(fs.statSync(fx.file).size).toBe(c.offset());
        expect(log.size('alpha')).toBe(c.size);
        expect(hex(log.root('alpha'))).toBe(rfc6962Root(fx.alphaLeaves.slice(0, c.size)));
        expect((await log.append('alpha', { kind: 'k', payload: {} })).index).toBe(c.size);
      } finally {
        await log.close();
      }
      checkChain(readTenantFile(fx.file), 'alpha');
    });
  }

  it('an empty tenant file is an empty chain', async () => {
    fs.writeFileSync(tenantFile(fx.dir, 'gamma'), '');
    const log = await open();
    expect(log.openReport).toMatchObject({ corruptions: [], tornTails: [] });
    expect(log.size('gamma')).toBe(0);
    expect(log.tenants()).toEqual(['alpha', 'beta']);
    expect((await log.append('gamma', { kind: 'k', payload: {} })).index).toBe(0);
    await log.close();
    checkChain(readTenantFile(tenantFile(fx.dir, 'gamma')), 'gamma');
  });
});

describe('random damage', () => {
  it('never goes unnoticed: every flipped bit of every record is reported at that record (or cut when it makes the last one torn)', async () => {
    const next = rng(0xbad);
    for (let trial = 0; trial < 40; trial++) {
      const k = next() % N;
      const r = rec(k);
      const at = r.offset + (next() % r.size);
      fs.writeFileSync(fx.file, flipped(at, 1 << (next() % 8)));
      const log = await open();
      const [c] = log.openReport.corruptions;
      expect(log.openReport.tornTails, `bit flip at ${at} (record ${k})`).toEqual([]);
      expect(c, `bit flip at ${at} (record ${k})`).toMatchObject({ tenantId: 'alpha', index: k, offset: r.offset });
      await log.close();
    }
  });
});
