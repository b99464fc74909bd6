// The log's RFC 8785 serialisation (packages/audit/src/canonical-json.ts, safe-stable-stringify in
// deterministic mode) against canonicalize, the RFC co-author's implementation, on values chosen to
// be hard: random IEEE doubles, integer-like keys (which JavaScript enumerates first), keys that
// differ only past the BMP, every ASCII control character, "__proto__" and "toJSON" as data,
// deep nesting. And reads refuse stored payloads that are not RFC 8785 (lone surrogates written
// as \ud800 escapes, numbers that overflow to Infinity), which a serialiser could otherwise accept.
import fs from 'node:fs';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { AuditLog, MAX_PAYLOAD_DEPTH, encodeEntry, type AuditEntry, type JsonObject, type JsonValue } from '@tenantry/audit';
import { ZEROS, expectAuditError, frame, readTenantFile, rng, tenantFile, useTempDirs } from '../helpers/audit-log.js';

const tempDir = useTempDirs();
const T0 = '2025-01-01T00:00:00.000Z';

/** Random test values from a seeded generator. */
function generator(seed: number) {
  const next = rng(seed);
  const f64 = new Float64Array(1);
  const u32 = new Uint32Array(f64.buffer);
  const pick = <T>(xs: readonly T[]): T => xs[next() % xs.length]!;
  const char = (): string => {
    switch (next() % 6) {
      case 0: return String.fromCharCode(next() % 0x80); // ASCII, controls included
      case 1: return String.fromCharCode(0x80 + (next() % 0x780));
      case 2: return String.fromCharCode(0xe000 + (next() % 0x2000)); // BMP above the surrogates
      case 3: return String.fromCodePoint(0x10000 + (next() % 0x10000)); // a surrogate pair
      case 4: return pick(['"', '\\', '/', '\u2028', '\u2029', '\u007f', '\ufeff', '\ufffd']);
      default: return String.fromCharCode(0x61 + (next() % 26));
    }
  };
  const string = (max: number): string => Array.from({ length: next() % max }, char).join('');
  const number = (): number => {
    switch (next() % 5) {
      case 0: {
        // A random finite double: any sign, exponent and mantissa.
        do {
          u32[0] = next();
          u32[1] = next();
        } while (!Number.isFinite(f64[0]!));
        return f64[0]!;
      }
      case 1: return (next() % 2000001) - 1000000;
      case 2: return pick([0, -0, 1e21, 1e-7, 1e-6, 0.1, 5e-324, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, -(2 ** 31), 1e20, 123e-20]);
      case 3: return (next() / 2 ** 32) * 10 ** ((next() % 40) - 20);
      default: return next() / 7;
    }
  };
  const key = (): string => {
    switch (next() % 6) {
      case 0: return String(next() % 20); // integer-like: "10" sorts before "2"
      case 1: return pick(['4294967294', '4294967295', '01', '-1', '1.5', '__proto__', 'toJSON', 'constructor', '']);
      case 2: return `${pick(['\ud83d\ude00', '\ufb33', '\u20ac'])}${next() % 3}`;
      default: return string(6);
    }
  };
  const value = (depth: number): JsonValue => {
    switch (next() % (depth >= 6 ? 4 : 7)) {
      case 0: return pick([null, true, false]);
      case 1: return number();
      case 2: return string(40);
      case 3: return next() % 100;
      case 4: return Array.from({ length: next() % 5 }, () => value(depth + 1));
      default: return object(depth + 1, 6);
    }
  };
  const object = (depth: number, max: number): JsonObject => {
    const o: JsonObject = {};
    for (let i = next() % max; i > 0; i--) {
      // defineProperty: "__proto__" as data, as JSON.parse makes it.
      Object.defineProperty(o, key(), { value: value(depth), enumerable: true, writable: true, configurable: true });
    }
    return o;
  };
  return { next, pick, object, string };
}

const entryOf = (payload: JsonObject, tenant_id = 'acme', index = 0, kind = 'k'): AuditEntry =>
  ({ protocol_version: '1.0', tenant_id, index, timestamp: T0, kind, payload, prev: ZEROS });

describe('RFC 8785 serialisation equals canonicalize()', () => {
  it('on 5000 random entries of hard values (encodeEntry)', () => {
    const g = generator(0x5eed8785);
    for (let i = 0; i < 5000; i++) {
      const entry = entryOf(g.object(1, 9), g.pick(['acme', '租户', 'a"b\\c', '😀']), g.next() % 1e6);
      const bytes = Buffer.from(encodeEntry(entry)).toString('utf8');
      expect(bytes).toBe(canonicalize(entry));
    }
  });

  it('at the deepest nesting a payload may have', () => {
    // Three levels, then wraps alternating array and object up to the limit, the outermost an object.
    let deep: JsonValue = { z: 1, a: [2, { y: -0, b: 1e21 }] };
    const wraps = MAX_PAYLOAD_DEPTH - 3;
    for (let w = 1; w <= wraps; w++) deep = (wraps - w) % 2 ? [deep, w] : { [`k${w}`]: deep, '10': w, '9': w };
    const entry = entryOf(deep as JsonObject);
    expect(Buffer.from(encodeEntry(entry)).toString('utf8')).toBe(canonicalize(entry));
  });

  it('in the bytes the durable log stores, for 400 random appends over 4 tenants', async () => {
    const g = generator(0x10c8785);
    const dir = tempDir();
    const log = await AuditLog.open(dir, { clock: () => Date.UTC(2025, 0, 1) });
    try {
      const tenants = ['t', 'Ω', '租户', 'a"b'];
      await Promise.all(Array.from({ length: 400 }, (_, i) => log.append(tenants[i % 4]!, { kind: g.pick(['a', 'x:y/z-1_2']), payload: g.object(1, 8) })));
      for (const t of tenants) {
        for (let i = 0; i < log.size(t); i++) {
          const { entry, bytes } = await log.entry(t, i);
          expect(Buffer.from(bytes).toString('utf8')).toBe(canonicalize(entry));
        }
      }
    } finally {
      await log.close();
    }
  });
});

describe('stored payloads that are not RFC 8785 are corruption on read', () => {
  /**
   * Writes two entries of "acme", then replaces the last record's payload text with `payloadText`
   * (framed with a valid CRC, prev intact), reopens and reads entry 1.
   */
  async function readTampered(payloadText: string): Promise<{ log: AuditLog; read: Promise<unknown> }> {
    const dir = tempDir();
    const writer = await AuditLog.open(dir, { clock: () => Date.UTC(2025, 0, 1) });
    await writer.append('acme', { kind: 'k', payload: { s: 'x' } });
    await writer.append('acme', { kind: 'k', payload: { s: 'x' } });
    await writer.close();
    const file = tenantFile(dir, 'acme');
    const records = readTenantFile(file);
    const last = records[1]!;
    const body = Buffer.from(last.body.toString('utf8').replace('"payload":{"s":"x"}', `"payload":${payloadText}`), 'utf8');
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, Buffer.concat([original.subarray(0, last.offset), frame(body)]));
    const log = await AuditLog.open(dir);
    return { log, read: log.entry('acme', 1) };
  }

  it('reads back a well-formed replacement (the control case)', async () => {
    const { log, read } = await readTampered('{"s":"y"}');
    try {
      expect(log.size('acme')).toBe(2);
      expect(((await read) as { entry: AuditEntry }).entry.payload).toEqual({ s: 'y' });
    } finally {
      await log.close();
    }
  });

  for (const [name, text] of [
    ['a lone surrogate written as an escape', '{"s":"\\ud800"}'],
    ['a number that overflows to Infinity', '{"s":1e400}'],
    ['keys out of order', '{"t":1,"s":2}'],
  ] as const) {
    it(`refuses ${name} with LOG_CORRUPT naming the tenant and index`, async () => {
      const { log, read } = await readTampered(text);
      try {
        await expectAuditError(read, { code: 'LOG_CORRUPT', tenantId: 'acme', index: 1 });
        expect(log.status().corruptions).toEqual([expect.objectContaining({ tenantId: 'acme', index: 1, kind: 'malformed-entry' })]);
      } finally {
        await log.close();
      }
    });
  }
});
