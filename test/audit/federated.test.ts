// federatedRoot (protocol 1.0) against its definition computed with node:crypto.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { federatedRoot } from '@tenantry/audit';
import { expectAuditError } from '../helpers/audit.js';

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const root = (): string => randomBytes(32).toString('hex');

describe('federatedRoot', () => {
  it('is SHA-256 of the hex roots concatenated in ascending node-id order', () => {
    const a = root(), b = root(), c = root();
    expect(federatedRoot({ 'node-c': c, 'node-a': a, 'node-b': b })).toBe(sha256Hex(a + b + c));
  });

  it('does not depend on the insertion order of the object', () => {
    const roots = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`n${(i * 37) % 50}`, root()]));
    const reversed = Object.fromEntries(Object.entries(roots).reverse());
    expect(federatedRoot(reversed)).toBe(federatedRoot(roots));
    const sorted = Object.keys(roots).sort();
    expect(federatedRoot(roots)).toBe(sha256Hex(sorted.map((k) => roots[k]).join('')));
  });

  it('gives SHA-256("") for no nodes and the hash of the one root for a single node', () => {
    expect(federatedRoot({})).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const a = root();
    expect(federatedRoot({ only: a })).toBe(sha256Hex(a));
  });

  it('orders node ids by UTF-8 bytes (astral characters after U+FFFF-range BMP ones)', () => {
    const bmp = '\uFF21', astral = '\u{1F600}'; // UTF-16 order puts the astral id first, UTF-8 order last
    const x = root(), y = root();
    expect(federatedRoot({ [astral]: x, [bmp]: y })).toBe(sha256Hex(y + x));
  });

  it('changes when any root or the node set changes', () => {
    const roots = { a: root(), b: root() };
    const base = federatedRoot(roots);
    expect(federatedRoot({ ...roots, a: root() })).not.toBe(base);
    expect(federatedRoot({ a: roots.a })).not.toBe(base);
    expect(federatedRoot({ a: roots.b, b: roots.a })).not.toBe(base);
  });

  it('rejects bad input with a typed error naming the field', () => {
    expectAuditError(() => federatedRoot(null as unknown as Record<string, string>), 'INVALID_ARGUMENT', 'nodeRoots');
    expectAuditError(() => federatedRoot([] as unknown as Record<string, string>), 'INVALID_ARGUMENT', 'nodeRoots');
    expectAuditError(() => federatedRoot({ a: 'AB'.repeat(32) }), 'INVALID_ARGUMENT', 'nodeRoots["a"]');
    expectAuditError(() => federatedRoot({ a: 'ab'.repeat(31) }), 'INVALID_ARGUMENT', 'nodeRoots["a"]');
    expectAuditError(() => federatedRoot({ a: 42 as unknown as string }), 'INVALID_ARGUMENT', 'nodeRoots["a"]');
    expectAuditError(() => federatedRoot({ '': root() }), 'INVALID_ARGUMENT', 'nodeRoots[""]');
  });
});
