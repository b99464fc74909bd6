// Entries of the durable log: the stored bytes are exactly RFC 8785 (hand-checked strings from the
// RFC and from the entry layout of docs/architecture.md, "@tenantry/audit"), and bad input is refused with a typed error before anything
// is written or an index is used.
import fs from 'node:fs';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { AuditLog, encodeEntry, entryLeafHash, type AuditEntry, type JsonObject } from '@tenantry/audit';
import {
  ZEROS, checkChain, expectAuditError, fileSizes, hex, leafHashHex, readTenantFile, rng, tenantFile, useTempDirs,
} from '../helpers/audit-log.js';

const tempDir = useTempDirs();
const T0 = '2025-01-01T00:00:00.000Z';

/** Opens a log with a fixed clock, runs `fn`, closes it. */
async function withLog<T>(fn: (log: AuditLog, dir: string) => Promise<T>, options: Parameters<typeof AuditLog.open>[1] = {}): Promise<T> {
  const dir = tempDir();
  const log = await AuditLog.open(dir, { clock: () => Date.UTC(2025, 0, 1), ...options });
  try {
    return await fn(log, dir);
  } finally {
    await log.close();
  }
}

/** The stored bytes of the first entry of a fresh tenant with this payload, as a string. */
async function storedJson(payload: unknown, kind = 'test'): Promise<string> {
  return withLog(async (log) => {
    await log.append('acme', { kind, payload: payload as JsonObject });
    return Buffer.from((await log.entry('acme', 0)).bytes).toString('utf8');
  });
}

/** The payload part of a stored entry (between "payload": and ,"prev":). */
function payloadPart(json: string): string {
  const from = json.indexOf('"payload":') + '"payload":'.length;
  return json.slice(from, json.lastIndexOf(',"prev":"'));
}

describe('entry bytes are RFC 8785 (JCS)', () => {
  it('lays out the protocol 1.0 entry with sorted keys, and chains prev to the previous leaf hash', async () => {
    await withLog(async (log) => {
      const r0 = await log.append('acme', { kind: 'policy.deny', payload: { z: 1, a: [true, null, 'x'] } });
      const r1 = await log.append('acme', { kind: 'quota.settle', payload: {} });
      const e0 = await log.entry('acme', 0);
      const e1 = await log.entry('acme', 1);
      // Hand-written from docs/architecture.md ("@tenantry/audit"): keys in UTF-16 order, no white space, 64 zeros as the first prev.
      expect(Buffer.from(e0.bytes).toString('utf8')).toBe(
        `{"index":0,"kind":"policy.deny","payload":{"a":[true,null,"x"],"z":1},"prev":"${ZEROS}","protocol_version":"1.0","tenant_id":"acme","timestamp":"${T0}"}`,
      );
      expect(Buffer.from(e1.bytes).toString('utf8')).toBe(
        `{"index":1,"kind":"quota.settle","payload":{},"prev":"${r0.leaf_hash}","protocol_version":"1.0","tenant_id":"acme","timestamp":"${T0}"}`,
      );
      expect(r0.leaf_hash).toBe(leafHashHex(e0.bytes));
      expect(r1.leaf_hash).toBe(leafHashHex(e1.bytes));
      expect(hex(e1.leafHash)).toBe(r1.leaf_hash);
      expect(r0).toEqual({ tenant_id: 'acme', index: 0, leaf_hash: r0.leaf_hash, timestamp: T0 });
      expect(e1.entry).toEqual({ protocol_version: '1.0', tenant_id: 'acme', index: 1, timestamp: T0, kind: 'quota.settle', payload: {}, prev: r0.leaf_hash });
    });
  });

  it('matches the RFC 8785 §3.2.2 example (numbers, string escapes, literals)', async () => {
    // Input and output copied from RFC 8785 §3.2.2 (the input is parsed as JSON first).
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    const json = await storedJson(JSON.parse(input));
    expect(payloadPart(json)).toBe(expected);
  });

  it('sorts keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example', async () => {
    // RFC 8785 §3.2.3: 😀 (D83D DE00) sorts before דּ (FB33) by code units, after it by code points.
    const payload = {
      '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const expected = '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
      + '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(payloadPart(await storedJson(payload))).toBe(expected);
    // Integer-like keys are strings too: "10" < "2" < "a", not numeric order.
    expect(payloadPart(await storedJson({ a: 0, 2: 0, 10: 0 }))).toBe('{"10":0,"2":0,"a":0}');
  });

  it('writes numbers in the ECMAScript shortest form: 1e21, 0.1, -0 and friends', async () => {
    const numbers = [1e21, 1e20, 0.1, -0, 0, 1, -1, 1.5, 5e-324, 1e-7, 0.000001, 9007199254740993, 1.7976931348623157e308, -1e-21, 123456789012];
    expect(payloadPart(await storedJson({ n: numbers }))).toBe(
      '{"n":[1e+21,100000000000000000000,0.1,0,0,1,-1,1.5,5e-324,1e-7,0.000001,9007199254740992,1.7976931348623157e+308,-1e-21,123456789012]}',
    );
  });

  it('escapes only quote, backslash and control characters; everything else is UTF-8', async () => {
    const s = '"\\/\b\f\n\r\t\u0000\u001f\u007f\u2028\u2029é€😀<>&\'';
    const json = await storedJson({ s });
    expect(payloadPart(json)).toBe('{"s":"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\u2028\u2029é€😀<>&\'"}');
    const bytes = Buffer.from(json, 'utf8');
    // € is E2 82 AC and 😀 is F0 9F 98 80 in the stored bytes, not \u escapes.
    expect(bytes.includes(Buffer.from('e282ac', 'hex'))).toBe(true);
    expect(bytes.includes(Buffer.from('f09f9880', 'hex'))).toBe(true);
  });

  it('escapes the tenant id as a JSON string and keeps non-ASCII ids as UTF-8', async () => {
    await withLog(async (log) => {
      await log.append('租户 "q"\\', { kind: 'k', payload: {} });
      const json = Buffer.from((await log.entry('租户 "q"\\', 0)).bytes).toString('utf8');
      expect(json.endsWith(`,"tenant_id":"租户 \\"q\\"\\\\","timestamp":"${T0}"}`)).toBe(true);
    });
  });

  it('equals canonicalize() of the whole entry and encodeEntry() for random entries', async () => {
    const next = rng(0x8785);
    const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
    const strings = ['', 'a', 'é', '€', '😀', '\n', '"', '\\', '\u0001', 'x'.repeat(50), '租户', '\u2028', '__proto__', 'constructor'];
    const value = (depth: number): unknown => {
      switch (next() % (depth > 3 ? 4 : 6)) {
        case 0: return pick([null, true, false]);
        case 1: return pick([0, -0, 1, -1, 0.1, 1e21, 1e-7, 123.456, 2 ** 53, -(2 ** 31), 5e-324]) * (next() % 2 ? 1 : -1);
        case 2: return pick(strings) + pick(strings);
        case 3: return next() % 1000;
        case 4: return Array.from({ length: next() % 4 }, () => value(depth + 1));
        default: return Object.fromEntries(Array.from({ length: next() % 5 }, () => [pick(strings) + String(next() % 3), value(depth + 1)]));
      }
    };
    await withLog(async (log) => {
      const tenants = ['t', 'Ω', '租户', 'a"b'];
      const appended = [];
      for (let i = 0; i < 300; i++) {
        const payload = Object.fromEntries(Array.from({ length: next() % 6 }, () => [pick(strings) + String(next() % 9), value(1)])) as JsonObject;
        appended.push(log.append(pick(tenants), { kind: pick(['a', 'policy.deny', 'x:y/z-1_2']), payload }));
      }
      await Promise.all(appended);
      for (const t of tenants) {
        for (let i = 0; i < log.size(t); i++) {
          const { entry, bytes, leafHash } = await log.entry(t, i);
          expect(Buffer.from(bytes).toString('utf8')).toBe(canonicalize(entry));
          expect(Buffer.from(encodeEntry(entry)).equals(Buffer.from(bytes))).toBe(true);
          expect(hex(entryLeafHash(bytes))).toBe(hex(leafHash));
        }
      }
    });
  });

  it('stores a snapshot: later mutation, getters and shared references do not change what was checked', async () => {
    await withLog(async (log, dir) => {
      const payload: Record<string, unknown> = { list: [1, 2] };
      let reads = 0;
      Object.defineProperty(payload, 'g', { enumerable: true, get: () => (++reads === 1 ? 'first' : () => 'a function') });
      const shared = { k: 1 };
      payload.a = shared;
      payload.b = shared;
      const pending = log.append('acme', { kind: 'k', payload: payload as JsonObject });
      (payload.list as number[]).push(3);
      await pending;
      expect(reads).toBe(1);
      const { entry } = await log.entry('acme', 0);
      expect(entry.payload).toEqual({ a: { k: 1 }, b: { k: 1 }, g: 'first', list: [1, 2] });
      // A "__proto__" key from JSON.parse is data, stored and read back as such.
      await log.append('acme', { kind: 'k', payload: JSON.parse('{"__proto__":{"polluted":1}}') as JsonObject });
      const second = await log.entry('acme', 1);
      expect(Buffer.from(second.bytes).toString('utf8')).toContain('"payload":{"__proto__":{"polluted":1}}');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      checkChain(readTenantFile(tenantFile(dir, 'acme')), 'acme');
    });
  });

  it('encodeEntry checks every field', async () => {
    const good: AuditEntry = { protocol_version: '1.0', tenant_id: 'acme', index: 0, timestamp: T0, kind: 'k', payload: {}, prev: ZEROS };
    expect(Buffer.from(encodeEntry(good)).toString()).toBe(`{"index":0,"kind":"k","payload":{},"prev":"${ZEROS}","protocol_version":"1.0","tenant_id":"acme","timestamp":"${T0}"}`);
    const bad: [Partial<Record<keyof AuditEntry | 'extra', unknown>>, string, string][] = [
      [{ protocol_version: '2.0' }, 'INVALID_ARGUMENT', 'entry.protocol_version'],
      [{ tenant_id: '' }, 'INVALID_TENANT_ID', 'entry.tenant_id'],
      [{ index: -1 }, 'INVALID_ARGUMENT', 'entry.index'],
      [{ index: 1.5 }, 'INVALID_ARGUMENT', 'entry.index'],
      [{ timestamp: '2025-01-01T00:00:00Z' }, 'INVALID_ARGUMENT', 'entry.timestamp'],
      [{ timestamp: '2025-02-30T00:00:00.000Z' }, 'INVALID_ARGUMENT', 'entry.timestamp'],
      [{ kind: 'a b' }, 'INVALID_ARGUMENT', 'entry.kind'],
      [{ prev: 'ABC' }, 'INVALID_ARGUMENT', 'entry.prev'],
      [{ payload: [] }, 'INVALID_PAYLOAD', 'payload'],
      [{ extra: 1 }, 'INVALID_ARGUMENT', 'entry.extra'],
    ];
    for (const [change, code, field] of bad) {
      await expectAuditError(() => encodeEntry({ ...good, ...change } as AuditEntry), { code: code as 'INVALID_ARGUMENT', field });
    }
  });
});

describe('bad input', () => {
  /** Every case is refused with its code and field, nothing is written, and no index is used. */
  async function expectRefused(cases: [label: string, run: (log: AuditLog) => Promise<unknown>, code: string, field: string][], options = {}): Promise<void> {
    await withLog(async (log, dir) => {
      await log.append('acme', { kind: 'k', payload: { n: 0 } });
      const before = fileSizes(dir);
      for (const [label, run, code, field] of cases) {
        const e = await expectAuditError(run(log), { code: code as 'INVALID_PAYLOAD', field });
        expect(e.message.length, label).toBeGreaterThan(0);
        expect(fileSizes(dir), label).toEqual(before);
        expect(log.size('acme'), label).toBe(1);
      }
      expect(log.status().pendingAppends).toBe(0);
      const next = await log.append('acme', { kind: 'k', payload: { n: 1 } });
      expect(next.index).toBe(1);
      const records = readTenantFile(tenantFile(dir, 'acme'));
      expect(records.map((r) => (r.entry.payload as { n: number }).n)).toEqual([0, 1]);
      checkChain(records, 'acme');
      expect(log.tenants()).toEqual(['acme']);
    }, options);
  }

  const append = (tenantId: unknown, entry: unknown) => (log: AuditLog) => log.append(tenantId as string, entry as { kind: string; payload: JsonObject });
  const payload = (p: unknown) => append('acme', { kind: 'k', payload: p });

  it('refuses bad tenant ids', async () => {
    const ok = { kind: 'k', payload: {} };
    await expectRefused([
      ['number', append(42, ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['null', append(null, ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['undefined', append(undefined, ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['object', append({ toString: () => 'acme' }, ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['empty', append('', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['NUL', append('a\u0000b', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['newline', append('acme\n', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['DEL', append('a\u007f', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['C1 control', append('a\u0085', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['121 bytes', append('x'.repeat(121), ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['122 bytes of é', append('é'.repeat(61), ok), 'INVALID_TENANT_ID', 'tenantId'],
      // A lone surrogate would encode as U+FFFD and share a file with a real U+FFFD.
      ['lone high surrogate', append('a\ud800', ok), 'INVALID_TENANT_ID', 'tenantId'],
      ['lone low surrogate', append('\udc00', ok), 'INVALID_TENANT_ID', 'tenantId'],
    ]);
  });

  it('refuses bad entries and kinds', async () => {
    await expectRefused([
      ['null entry', append('acme', null), 'INVALID_ARGUMENT', 'entry'],
      ['string entry', append('acme', 'k'), 'INVALID_ARGUMENT', 'entry'],
      ['array entry', append('acme', []), 'INVALID_ARGUMENT', 'entry'],
      ['unknown field', append('acme', { kind: 'k', payload: {}, timestamp: 'now' }), 'INVALID_ARGUMENT', 'entry.timestamp'],
      ['missing kind', append('acme', { payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['numeric kind', append('acme', { kind: 7, payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['empty kind', append('acme', { kind: '', payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['kind with a space', append('acme', { kind: 'policy deny', payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['kind with a quote', append('acme', { kind: 'a"b', payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['kind starting with a dot', append('acme', { kind: '.x', payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['kind of 129 characters', append('acme', { kind: 'k'.repeat(129), payload: {} }), 'INVALID_ARGUMENT', 'kind'],
      ['non-ASCII kind', append('acme', { kind: 'dény', payload: {} }), 'INVALID_ARGUMENT', 'kind'],
    ]);
  });

  it('refuses payloads that are not plain JSON objects', async () => {
    class Thing { x = 1; }
    await expectRefused([
      ['missing', append('acme', { kind: 'k' }), 'INVALID_PAYLOAD', 'payload'],
      ['null', payload(null), 'INVALID_PAYLOAD', 'payload'],
      ['string', payload('text'), 'INVALID_PAYLOAD', 'payload'],
      ['number', payload(42), 'INVALID_PAYLOAD', 'payload'],
      ['boolean', payload(true), 'INVALID_PAYLOAD', 'payload'],
      ['array', payload([1, 2]), 'INVALID_PAYLOAD', 'payload'],
      ['Date', payload(new Date(0)), 'INVALID_PAYLOAD', 'payload'],
      ['Map', payload(new Map([['a', 1]])), 'INVALID_PAYLOAD', 'payload'],
      ['class instance', payload(new Thing()), 'INVALID_PAYLOAD', 'payload'],
      ['Buffer', payload(Buffer.from('x')), 'INVALID_PAYLOAD', 'payload'],
      ['symbol key', payload({ [Symbol('s')]: 1 }), 'INVALID_PAYLOAD', 'payload'],
    ]);
  });

  it('refuses values JSON cannot carry faithfully, naming the path', async () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const deepCycle: Record<string, unknown> = { list: [] };
    (deepCycle.list as unknown[]).push({ up: deepCycle });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 70; i++) deep = (deep.d = {}) as Record<string, unknown>;
    await expectRefused([
      ['undefined value', payload({ a: undefined }), 'INVALID_PAYLOAD', 'payload.a'],
      ['function', payload({ f: () => 1 }), 'INVALID_PAYLOAD', 'payload.f'],
      ['symbol value', payload({ s: Symbol('x') }), 'INVALID_PAYLOAD', 'payload.s'],
      ['BigInt', payload({ n: 10n }), 'INVALID_PAYLOAD', 'payload.n'],
      ['NaN', payload({ n: NaN }), 'INVALID_PAYLOAD', 'payload.n'],
      ['Infinity', payload({ n: Infinity }), 'INVALID_PAYLOAD', 'payload.n'],
      ['-Infinity', payload({ x: { n: -Infinity } }), 'INVALID_PAYLOAD', 'payload.x.n'],
      ['array hole', payload({ a: [1, , 3] }), 'INVALID_PAYLOAD', 'payload.a[1]'],
      ['undefined in an array', payload({ a: [1, undefined] }), 'INVALID_PAYLOAD', 'payload.a[1]'],
      ['nested Date', payload({ when: { at: new Date(0) } }), 'INVALID_PAYLOAD', 'payload.when.at'],
      ['key needing quotes', payload({ 'a b': undefined }), 'INVALID_PAYLOAD', 'payload["a b"]'],
      ['cycle', payload(cycle), 'INVALID_PAYLOAD', 'payload.self'],
      ['cycle through an array', payload(deepCycle), 'INVALID_PAYLOAD', 'payload.list[0].up'],
      ['lone surrogate in a value', payload({ s: 'a\ud800' }), 'INVALID_PAYLOAD', 'payload.s'],
      ['lone surrogate in a key', payload({ '\udc00': 1 }), 'INVALID_PAYLOAD', 'payload["\\udc00"]'],
      ['too deep', payload(root), 'INVALID_PAYLOAD', `payload${'.d'.repeat(64)}`],
    ]);
  });

  it('refuses entries above maxEntryBytes, at the exact byte', async () => {
    const maxEntryBytes = 1024;
    await withLog(async (log, dir) => {
      // The entry is the fixed envelope plus the payload; find the payload size that fills it exactly.
      const envelope = Buffer.byteLength(`{"index":0,"kind":"k","payload":{"s":""},"prev":"${ZEROS}","protocol_version":"1.0","tenant_id":"acme","timestamp":"${T0}"}`);
      const fill = maxEntryBytes - envelope;
      await expectAuditError(log.append('acme', { kind: 'k', payload: { s: 'x'.repeat(fill + 1) } }), { code: 'ENTRY_TOO_LARGE', field: 'payload' });
      await expectAuditError(log.append('acme', { kind: 'k', payload: { s: 'x'.repeat(10 * maxEntryBytes) } }), { code: 'ENTRY_TOO_LARGE', field: 'payload' });
      // Multi-byte characters count in UTF-8 bytes: 'é' is 2.
      await expectAuditError(log.append('acme', { kind: 'k', payload: { s: 'é'.repeat(fill / 2 + 1) } }), { code: 'ENTRY_TOO_LARGE', field: 'payload' });
      expect(fs.readdirSync(dir)).toEqual(['LOCK']);
      const r = await log.append('acme', { kind: 'k', payload: { s: 'x'.repeat(fill) } });
      expect(r.index).toBe(0);
      expect((await log.entry('acme', 0)).bytes.length).toBe(maxEntryBytes);
    }, { maxEntryBytes });
  });

  it('refuses a clock that gives no usable time, without using an index', async () => {
    let now: unknown = Date.UTC(2025, 0, 1);
    const dir = tempDir();
    const log = await AuditLog.open(dir, { clock: () => now as number });
    try {
      await log.append('acme', { kind: 'k', payload: {} });
      for (const bad of [NaN, Infinity, '2025', 253402300800000, -62167219200001]) {
        now = bad;
        await expectAuditError(log.append('acme', { kind: 'k', payload: {} }), { code: 'INVALID_ARGUMENT', field: 'options.clock' });
      }
      now = 253402300799999;
      expect(await log.append('acme', { kind: 'k', payload: {} })).toMatchObject({ index: 1, timestamp: '9999-12-31T23:59:59.999Z' });
      now = 1.9;
      expect(await log.append('acme', { kind: 'k', payload: {} })).toMatchObject({ index: 2, timestamp: '1970-01-01T00:00:00.001Z' });
    } finally {
      await log.close();
    }
  });

  it('refuses bad arguments of the read methods', async () => {
    await withLog(async (log) => {
      await log.append('acme', { kind: 'k', payload: {} });
      await expectAuditError(log.entry('acme', 1), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(log.entry('acme', -1), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(log.entry('acme', 0.5), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(log.entry('nobody', 0), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(log.entry('', 0), { code: 'INVALID_TENANT_ID', field: 'tenantId' });
      await expectAuditError(() => log.size('a\u0000'), { code: 'INVALID_TENANT_ID', field: 'tenantId' });
      await expectAuditError(() => log.root('acme', 2), { code: 'INVALID_SIZE', field: 'size' });
      await expectAuditError(() => log.inclusionProof('acme', 1), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(() => log.leafHash('acme', 5), { code: 'INVALID_INDEX', field: 'index' });
      await expectAuditError(() => log.consistencyProof('acme', 2), { code: 'INVALID_SIZE', field: 'size1' });
    });
  });

  it('checks options once, at open', async () => {
    const dir = tempDir();
    const cases: [unknown, string][] = [
      [{ clock: 5 }, 'options.clock'],
      [{ maxEntryBytes: 0 }, 'options.maxEntryBytes'],
      [{ maxEntryBytes: 1.5 }, 'options.maxEntryBytes'],
      [{ maxEntryBytes: 64 * 1024 * 1024 + 1 }, 'options.maxEntryBytes'],
      [{ create: 'yes' }, 'options.create'],
      [{ maxOpenFiles: 0 }, 'options.maxOpenFiles'],
      [{ io: {} }, 'options.io'],
      [{ clok: Date.now }, 'options.clok'],
      ['fast', 'options'],
    ];
    for (const [options, field] of cases) {
      await expectAuditError(AuditLog.open(dir, options as never), { code: 'INVALID_ARGUMENT', field });
    }
    await expectAuditError(AuditLog.open('', {}), { code: 'INVALID_ARGUMENT', field: 'dir' });
    await expectAuditError(AuditLog.open(42 as never), { code: 'INVALID_ARGUMENT', field: 'dir' });
    await expectAuditError(AuditLog.open(`${dir}/missing`, { create: false }), { code: 'IO_ERROR', field: 'dir' });
    expect(fs.readdirSync(dir)).toEqual([]);
    // undefined options mean the defaults.
    const log = await AuditLog.open(dir, { clock: undefined, maxEntryBytes: undefined } as never);
    expect((await log.append('acme', { kind: 'k', payload: {} })).index).toBe(0);
    await log.close();
  });
});
