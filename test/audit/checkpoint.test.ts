// Checkpoints (formatCheckpoint, parseCheckpoint, signCheckpoint, openCheckpoint) per C2SP
// tlog-checkpoint: the spec's example, round trips, and every malformed field. Go opening our
// signed checkpoints (and the reverse) is in go-note/differential.test.ts.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint, generateNoteKey, openCheckpoint, openNote, parseCheckpoint, signCheckpoint, signNote,
  type AuditErrorCode, type Checkpoint,
} from '@tenantry/audit';
import { expectAuditError } from '../helpers/audit.js';

// Source: C2SP tlog-checkpoint.md (github.com/C2SP/C2SP), the example at the top of the spec. Its
// signing key is not published, so the signature is only ever an unknown (unverified) one here.
const C2SP_TEXT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const C2SP_SIG_B64 = 'Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=';
const C2SP_NOTE = `${C2SP_TEXT}\n— example.com/behind-the-sofa ${C2SP_SIG_B64}\n`;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest());
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

const ROOT = sha256('root'); // any 32 bytes
const ROOT_B64 = b64(ROOT);
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOG = generateNoteKey('example.com/log42');

describe('the C2SP tlog-checkpoint example', () => {
  it('parses, and formats back to the same text', () => {
    const cp = parseCheckpoint(C2SP_TEXT);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(b64(cp.root)).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(cp.root.length).toBe(32);
    expect(cp.extensions).toEqual([]);
    expect(formatCheckpoint(cp)).toBe(C2SP_TEXT);
    expect(parseCheckpoint(utf8(C2SP_TEXT))).toEqual(cp);
  });

  it('its signature is a well-formed note signature by an unknown key', () => {
    expectAuditError(() => openCheckpoint(C2SP_NOTE, [LOG.verifierKey]), 'UNVERIFIED_NOTE', 'note');
    // Cosigned by a key we know, it opens; the spec's signature is reported as unverified.
    const witness = generateNoteKey('witness.example');
    const cosigned = `${C2SP_NOTE}${signNote(C2SP_TEXT, witness.signerKey).slice(C2SP_TEXT.length + 1)}`;
    const opened = openCheckpoint(cosigned, [witness.verifierKey], { origin: 'example.com/behind-the-sofa' });
    expect(opened.checkpoint.size).toBe(20852163);
    expect(opened.signatures.map((s) => s.name)).toEqual(['witness.example']);
    expect(opened.unverifiedSignatures).toEqual([{
      name: 'example.com/behind-the-sofa',
      keyHash: Buffer.from(C2SP_SIG_B64, 'base64').readUInt32BE(0),
      base64: C2SP_SIG_B64,
    }]);
  });
});

describe('formatCheckpoint / parseCheckpoint round trips', () => {
  const CASES: Checkpoint[] = [
    { origin: 'example.com/log42', size: 0, root: sha256('') },
    { origin: 'example.com/log42', size: 1, root: ROOT },
    { origin: 'o', size: 2 ** 32, root: new Uint8Array(32) },
    { origin: 'tenant 租户/🦄 with spaces+plus', size: 123456789, root: new Uint8Array(32).fill(0xff) },
    { origin: 'max', size: Number.MAX_SAFE_INTEGER, root: ROOT },
    { origin: 'ext', size: 7, root: ROOT, extensions: ['one', 'two — with a dash', '— looks like a signature'] },
    { origin: 'empty-ext-list', size: 7, root: ROOT, extensions: [] },
  ];

  it.each(CASES.map((c) => [c.origin, c.size, c]))('%s at size %i', (_o, _s, cp) => {
    const text = formatCheckpoint(cp);
    expect(text).toBe(`${cp.origin}\n${cp.size}\n${b64(cp.root)}\n${(cp.extensions ?? []).map((l) => `${l}\n`).join('')}`);
    expect(parseCheckpoint(text)).toEqual({ ...cp, extensions: cp.extensions ?? [] });
    const note = signCheckpoint(cp, LOG.signerKey);
    expect(note).toBe(signNote(text, LOG.signerKey));
    expect(openCheckpoint(note, [LOG.verifierKey], { origin: cp.origin }).checkpoint).toEqual({ ...cp, extensions: cp.extensions ?? [] });
  });

  it('300 pseudo-random roots and sizes', () => {
    for (let i = 0; i < 300; i++) {
      const size = Number(BigInt(`0x${Buffer.from(sha256(`s${i}`)).toString('hex').slice(0, 1 + (i % 13))}`)); // up to 52 bits
      const cp = { origin: `log-${i}`, size, root: sha256(`r${i}`) };
      expect(parseCheckpoint(formatCheckpoint(cp))).toEqual({ ...cp, extensions: [] });
    }
  });

  it('parseCheckpoint returns a root that does not alias anything the caller keeps', () => {
    const a = parseCheckpoint(C2SP_TEXT);
    a.root.fill(0);
    expect(b64(parseCheckpoint(C2SP_TEXT).root)).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  });
});

describe('parseCheckpoint: every malformed field (MALFORMED_CHECKPOINT, field named)', () => {
  const ok = (origin: string, size: string, root: string, ...ext: string[]): string => [origin, size, root, ...ext].map((l) => `${l}\n`).join('');
  const CASES: [string, string | Uint8Array, string][] = [
    ['empty-text', '', 'text'],
    ['missing-final-newline', ok('o', '1', ROOT_B64).slice(0, -1), 'text'],
    ['invalid-utf8', new Uint8Array([...utf8(ok('o', '1', ROOT_B64)), 0xff, 0x0a]), 'text'],
    ['lone-surrogate', ok('o\ud800', '1', ROOT_B64), 'text'],
    ['empty-origin', ok('', '1', ROOT_B64), 'origin'],
    ['carriage-return-in-origin', ok('o\r', '1', ROOT_B64), 'origin'],
    ['tab-in-origin', ok('o\tx', '1', ROOT_B64), 'origin'],
    ['only-origin', 'o\n', 'size'],
    ['empty-size', ok('o', '', ROOT_B64), 'size'],
    ['leading-zero', ok('o', '01', ROOT_B64), 'size'],
    ['double-zero', ok('o', '00', ROOT_B64), 'size'],
    ['negative-size', ok('o', '-1', ROOT_B64), 'size'],
    ['negative-zero', ok('o', '-0', ROOT_B64), 'size'],
    ['plus-sign', ok('o', '+1', ROOT_B64), 'size'],
    ['leading-space', ok('o', ' 1', ROOT_B64), 'size'],
    ['trailing-space', ok('o', '1 ', ROOT_B64), 'size'],
    ['decimal-point', ok('o', '1.0', ROOT_B64), 'size'],
    ['exponent', ok('o', '1e3', ROOT_B64), 'size'],
    ['hexadecimal', ok('o', '0x10', ROOT_B64), 'size'],
    ['fullwidth-digit', ok('o', '\uff11', ROOT_B64), 'size'],
    ['arabic-indic-digit', ok('o', '\u0661', ROOT_B64), 'size'],
    ['underscore-separator', ok('o', '1_000', ROOT_B64), 'size'],
    ['size-2^53', ok('o', '9007199254740992', ROOT_B64), 'size'],
    ['size-2^63-1', ok('o', '9223372036854775807', ROOT_B64), 'size'],
    ['size-2^64', ok('o', '18446744073709551616', ROOT_B64), 'size'],
    ['only-origin-and-size', 'o\n1\n', 'root'],
    ['empty-root', ok('o', '1', ''), 'root'],
    ['root-of-31-bytes', ok('o', '1', b64(ROOT.subarray(1))), 'root'],
    ['root-of-33-bytes', ok('o', '1', b64(new Uint8Array(33))), 'root'],
    ['root-unpadded', ok('o', '1', ROOT_B64.slice(0, -1)), 'root'],
    ['root-url-safe', ok('o', '1', b64(new Uint8Array(32).fill(0xfb)).replaceAll('+', '-').replaceAll('/', '_')), 'root'],
    // The same 32 bytes with one of the two unused bits of the last character set (Go's
    // non-strict decoder would accept it; a checkpoint root must be canonical).
    ['root-non-canonical-trailing-bits', ok('o', '1', `${ROOT_B64.slice(0, 42)}${B64_ALPHABET[B64_ALPHABET.indexOf(ROOT_B64[42]!) + 1]}=`), 'root'],
    ['root-hex-instead-of-base64', ok('o', '1', Buffer.from(ROOT).toString('hex')), 'root'],
    ['root-with-space', ok('o', '1', ` ${ROOT_B64}`), 'root'],
    ['empty-first-extension-line', ok('o', '1', ROOT_B64, ''), 'extensions[0]'],
    ['empty-second-extension-line', ok('o', '1', ROOT_B64, 'a', '', 'b'), 'extensions[1]'],
    ['control-character-in-extension', ok('o', '1', ROOT_B64, 'a\u0007'), 'extensions[0]'],
  ];

  it.each(CASES)('%s', (_name, text, field) => {
    expectAuditError(() => parseCheckpoint(text), 'MALFORMED_CHECKPOINT', field);
  });

  it('accepts the edges of the valid range: size 0 and 2^53-1', () => {
    expect(parseCheckpoint(ok('o', '0', ROOT_B64)).size).toBe(0);
    expect(parseCheckpoint(ok('o', '9007199254740991', ROOT_B64)).size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('text that is neither a string nor bytes is INVALID_ARGUMENT', () => {
    expectAuditError(() => parseCheckpoint(42 as unknown as string), 'INVALID_ARGUMENT', 'text');
  });
});

describe('formatCheckpoint: every bad field', () => {
  const good: Checkpoint = { origin: 'o', size: 1, root: ROOT };
  const CASES: [string, unknown, AuditErrorCode, string][] = [
    ['not-an-object', null, 'INVALID_ARGUMENT', 'checkpoint'],
    ['origin-missing', { ...good, origin: undefined }, 'INVALID_ARGUMENT', 'checkpoint.origin'],
    ['origin-empty', { ...good, origin: '' }, 'INVALID_ARGUMENT', 'checkpoint.origin'],
    ['origin-multi-line', { ...good, origin: 'a\nb' }, 'INVALID_ARGUMENT', 'checkpoint.origin'],
    ['origin-control-character', { ...good, origin: 'a\u0000' }, 'INVALID_ARGUMENT', 'checkpoint.origin'],
    ['origin-lone-surrogate', { ...good, origin: 'a\udfff' }, 'INVALID_ARGUMENT', 'checkpoint.origin'],
    ['size-negative', { ...good, size: -1 }, 'INVALID_SIZE', 'checkpoint.size'],
    ['size-fraction', { ...good, size: 1.5 }, 'INVALID_SIZE', 'checkpoint.size'],
    ['size-NaN', { ...good, size: Number.NaN }, 'INVALID_SIZE', 'checkpoint.size'],
    ['size-above-2^53-1', { ...good, size: 2 ** 53 }, 'INVALID_SIZE', 'checkpoint.size'],
    ['size-string', { ...good, size: '1' }, 'INVALID_SIZE', 'checkpoint.size'],
    ['size-bigint', { ...good, size: 1n }, 'INVALID_SIZE', 'checkpoint.size'],
    ['root-not-bytes', { ...good, root: ROOT_B64 }, 'INVALID_BYTES', 'checkpoint.root'],
    ['root-array', { ...good, root: Array.from(ROOT) }, 'INVALID_BYTES', 'checkpoint.root'],
    ['root-of-31-bytes', { ...good, root: ROOT.subarray(1) }, 'INVALID_LENGTH', 'checkpoint.root'],
    ['root-of-64-bytes', { ...good, root: new Uint8Array(64) }, 'INVALID_LENGTH', 'checkpoint.root'],
    ['extensions-not-array', { ...good, extensions: 'x' }, 'INVALID_ARGUMENT', 'checkpoint.extensions'],
    ['extension-empty', { ...good, extensions: ['a', ''] }, 'INVALID_ARGUMENT', 'checkpoint.extensions[1]'],
    ['extension-multi-line', { ...good, extensions: ['a\nb'] }, 'INVALID_ARGUMENT', 'checkpoint.extensions[0]'],
    ['extension-not-string', { ...good, extensions: [1] }, 'INVALID_ARGUMENT', 'checkpoint.extensions[0]'],
  ];

  it.each(CASES)('%s', (_name, cp, code, field) => {
    expectAuditError(() => formatCheckpoint(cp as Checkpoint), code, field);
    expectAuditError(() => signCheckpoint(cp as Checkpoint, LOG.signerKey), code, field);
  });

  it('does not modify its argument', () => {
    const cp = { origin: 'o', size: 3, root: ROOT.slice(), extensions: ['e'] };
    const copy = structuredClone(cp);
    formatCheckpoint(cp);
    signCheckpoint(cp, LOG.signerKey);
    expect(cp).toEqual(copy);
  });
});

describe('signCheckpoint / openCheckpoint', () => {
  const cp: Checkpoint = { origin: 'example.com/log42', size: 42, root: ROOT };

  it('round trip, with signatures reported as by openNote', () => {
    const note = signCheckpoint(cp, LOG.signerKey);
    expect(note.startsWith(`example.com/log42\n42\n${ROOT_B64}\n\n— example.com/log42 `)).toBe(true);
    const opened = openCheckpoint(note, [LOG.verifierKey]);
    expect(opened.checkpoint).toEqual({ ...cp, extensions: [] });
    expect(opened.signatures).toEqual(openNote(note, [LOG.verifierKey]).signatures);
    expect(opened.unverifiedSignatures).toEqual([]);
    expect(openCheckpoint(utf8(note), LOG.verifierKey).checkpoint.size).toBe(42);
  });

  it('the origin option: a matching origin opens, another origin is refused', () => {
    const note = signCheckpoint(cp, LOG.signerKey);
    expect(openCheckpoint(note, [LOG.verifierKey], { origin: 'example.com/log42' }).checkpoint.origin).toBe('example.com/log42');
    const e = expectAuditError(() => openCheckpoint(note, [LOG.verifierKey], { origin: 'example.com/log43' }), 'MALFORMED_CHECKPOINT', 'origin');
    expect(e.message).toContain('example.com/log43');
    expectAuditError(() => openCheckpoint(note, [LOG.verifierKey], { origin: 'example.com/log4' }), 'MALFORMED_CHECKPOINT', 'origin');
    expectAuditError(() => openCheckpoint(note, [LOG.verifierKey], { origin: 42 as unknown as string }), 'INVALID_ARGUMENT', 'options.origin');
  });

  it('several signers (log and witness); each key alone opens it', () => {
    const witness = generateNoteKey('witness');
    const note = signCheckpoint(cp, [LOG.signerKey, witness.signerKey]);
    expect(openCheckpoint(note, [witness.verifierKey]).unverifiedSignatures.map((s) => s.name)).toEqual(['example.com/log42']);
    expect(openCheckpoint(note, [LOG.verifierKey, witness.verifierKey]).signatures.map((s) => s.name)).toEqual(['example.com/log42', 'witness']);
  });

  it('wrong key: UNVERIFIED_NOTE; tampered size, root or origin: INVALID_SIGNATURE', () => {
    const note = signCheckpoint(cp, LOG.signerKey);
    expectAuditError(() => openCheckpoint(note, [generateNoteKey('example.com/log42').verifierKey]), 'UNVERIFIED_NOTE', 'note');
    expectAuditError(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), [LOG.verifierKey]), 'INVALID_SIGNATURE', 'note');
    expectAuditError(() => openCheckpoint(note.replace('\n42\n', '\n042\n'), [LOG.verifierKey]), 'INVALID_SIGNATURE', 'note');
    expectAuditError(() => openCheckpoint(note.replace(ROOT_B64, b64(sha256('other'))), [LOG.verifierKey]), 'INVALID_SIGNATURE', 'note');
    expectAuditError(() => openCheckpoint(note.replace('log42\n42', 'log43\n42'), [LOG.verifierKey]), 'INVALID_SIGNATURE', 'note');
  });

  it('a validly signed note whose text is not a checkpoint: MALFORMED_CHECKPOINT after verification', () => {
    const note = signNote('example.com/log42\n042\nnot base64\n', LOG.signerKey);
    expectAuditError(() => openCheckpoint(note, [LOG.verifierKey]), 'MALFORMED_CHECKPOINT', 'size');
    // ...but an unsigned one fails verification first.
    expectAuditError(() => openCheckpoint(note, []), 'UNVERIFIED_NOTE', 'note');
  });

  it('malformed notes are MALFORMED_NOTE, bad keys INVALID_KEY', () => {
    expectAuditError(() => openCheckpoint(formatCheckpoint(cp), [LOG.verifierKey]), 'MALFORMED_NOTE', 'note');
    expectAuditError(() => openCheckpoint(signCheckpoint(cp, LOG.signerKey), ['nope']), 'INVALID_KEY', 'verifierKeys[0]');
    expectAuditError(() => signCheckpoint(cp, 'nope'), 'INVALID_KEY', 'signerKey');
  });
});
