// Signed notes: C2SP signed-note v1.0.0 (https://c2sp.org/signed-note) with Ed25519 keys, byte for
// byte compatible with golang.org/x/mod/sumdb/note (note.go), whose rules this file follows in
// their order, so that the same input fails with the same kind of error:
//
//   note       = text blank-line signature-line{1,100}
//   text       = one or more bytes ending in "\n" (the signed message, final newline included)
//   blank-line = "\n"
//   signature  = "— " name " " base64(key hash [4 bytes, big-endian] ‖ Ed25519 signature) "\n"
//
// The whole note is valid UTF-8 without ASCII control characters other than "\n". Key names are
// non-empty UTF-8 without Unicode white space (Go's unicode.IsSpace, i.e. \p{White_Space}) and
// without '+'. The key hash is the first 4 bytes, big-endian, of
// SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 being the Ed25519 algorithm byte.
//
// Key strings (Go's formats):
//   signer key   PRIVATE+KEY+<name>+<hash>+base64(0x01 ‖ 32-byte Ed25519 seed)
//   verifier key <name>+<hash>+base64(0x01 ‖ 32-byte Ed25519 public key)
// with <hash> the key hash as 8 hex digits (written in lowercase; parsed case-insensitively, as
// Go's strconv.ParseUint does).
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { _decodeBase64, _encodeBase64 } from './base64.js';
import { AuditError } from './errors.js';

/** C2SP signed-note signature type 0x01: Ed25519. */
const ALG_ED25519 = 0x01;
/** Go's Open rejects notes with more signature lines than this (duplicates included). */
const MAX_SIGNATURES = 100;
/** U+2014 EM DASH, U+0020 SPACE: the start of every signature line. */
const SIG_PREFIX = '\u2014 ';

const WHITE_SPACE = /\p{White_Space}/u;
const LONE_SURROGATE = /\p{Cs}/u;
const HASH_HEX = /^[0-9a-fA-F]{8}$/;
// ASCII control characters: a note may contain none but "\n" (and a key name none at all).
const CONTROL = /[\u0000-\u001f]/;

const encoder = new TextEncoder();
// fatal: invalid UTF-8 throws (the same byte sequences Go's utf8.DecodeRune rejects);
// ignoreBOM: a leading U+FEFF is text like any other, as in Go.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// ---- public types ----------------------------------------------------------------------------

/** A new key pair in Go's string formats. Keep `signerKey` secret; publish `verifierKey`. */
export interface NoteKeyPair {
  /** `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>` */
  signerKey: string;
  /** `<name>+<hash>+<base64(0x01 ‖ public key)>` */
  verifierKey: string;
}

/** One signature line of a note (Go's note.Signature). */
export interface NoteSignature {
  /** The key name on the signature line. */
  name: string;
  /** The key hash (the first 4 signature bytes, big-endian), 0..2³²−1. */
  keyHash: number;
  /** The signature as written on the line: base64(key hash ‖ signature). */
  base64: string;
}

/** The result of openNote (Go's note.Note). */
export interface OpenedNote {
  /** The signed text, final newline included. */
  text: string;
  /** Signatures verified by a known key, in note order, one per key. */
  signatures: NoteSignature[];
  /** Signatures by keys not in the verifier list (not checked), in note order, exact duplicates dropped. */
  unverifiedSignatures: NoteSignature[];
}

/** A text to sign together with signatures it already carries (an OpenedNote fits). */
export interface NoteToSign {
  text: string | Uint8Array;
  signatures?: readonly NoteSignature[];
  unverifiedSignatures?: readonly NoteSignature[];
}

// ---- keys ------------------------------------------------------------------------------------

interface ParsedVerifier {
  name: string;
  keyHash: number;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

interface ParsedSigner {
  name: string;
  keyHash: number;
  /** 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key). */
  seed: Uint8Array;
}

/** Go's isValidName: non-empty, valid UTF-8, no Unicode white space, no '+'. */
function isValidName(name: string): boolean {
  return name !== '' && !LONE_SURROGATE.test(name) && !WHITE_SPACE.test(name) && !name.includes('+');
}

/** Go's strings.Cut. */
function cut(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

/** First 4 bytes, big-endian, of SHA-256(name ‖ "\n" ‖ key), key = algorithm byte ‖ public key. */
function keyHashOf(name: string, key: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update('\n').update(key).digest();
  return digest.readUInt32BE(0);
}

const hex8 = (h: number): string => h.toString(16).padStart(8, '0');

function keyError(field: string, message: string): AuditError {
  return new AuditError('INVALID_KEY', `${field}: ${message}`, { field });
}

/**
 * The common checks of Go's NewVerifier and NewSigner on `<name>+<hash>+<base64>` (Go reports them
 * all as one "malformed" error; the message here says which part is wrong).
 */
function parseKeyParts(name: string, hash16: string, key64: string, field: string): { keyHash: number; key: Uint8Array } {
  if (!isValidName(name)) {
    throw keyError(field, 'the key name must be non-empty UTF-8 without white space or "+"');
  }
  if (!HASH_HEX.test(hash16)) throw keyError(field, 'the key hash must be 8 hex digits');
  const key = _decodeBase64(key64);
  if (key === undefined) throw keyError(field, 'the key data is not valid base64');
  if (key.length === 0) throw keyError(field, 'the key data is empty');
  return { keyHash: Number.parseInt(hash16, 16), key };
}

function checkKeyString(v: unknown, field: string): asserts v is string {
  if (typeof v !== 'string') throw keyError(field, `a key must be a string, got ${typeof v}`);
}

/** Go's NewVerifier. */
function parseVerifierKey(vkey: unknown, field: string): ParsedVerifier {
  checkKeyString(vkey, field);
  const [name, rest] = cut(vkey, '+');
  const [hash16, key64] = cut(rest, '+');
  const { keyHash, key } = parseKeyParts(name, hash16, key64, field);
  if (keyHash !== keyHashOf(name, key)) throw keyError(field, `the key hash ${hash16} does not match the name and key`);
  if (key[0] !== ALG_ED25519) throw keyError(field, `unknown key algorithm ${key[0]} (only 1, Ed25519, is known)`);
  if (key.length !== 33) throw keyError(field, `an Ed25519 public key is 32 bytes, got ${key.length - 1}`);
  // Any 32 bytes are accepted here, as in Go; bytes that are not a usable point fail verification.
  return { name, keyHash, publicKey: key.subarray(1) };
}

/** Go's NewSigner. Messages never quote the key. */
function parseSignerKey(skey: unknown, field: string): ParsedSigner {
  checkKeyString(skey, field);
  const [priv1, rest1] = cut(skey, '+');
  const [priv2, rest2] = cut(rest1, '+');
  const [name, rest3] = cut(rest2, '+');
  const [hash16, key64] = cut(rest3, '+');
  if (priv1 !== 'PRIVATE' || priv2 !== 'KEY') throw keyError(field, 'a signer key starts with "PRIVATE+KEY+"');
  const { keyHash, key } = parseKeyParts(name, hash16, key64, field);
  if (key[0] !== ALG_ED25519) throw keyError(field, `unknown key algorithm ${key[0]} (only 1, Ed25519, is known)`);
  if (key.length !== 33) throw keyError(field, `an Ed25519 seed is 32 bytes, got ${key.length - 1}`);
  const seed = key.slice(1);
  if (keyHash !== keyHashOf(name, publicKeyBytes(seed))) {
    throw keyError(field, `the key hash ${hash16} does not match the name and key`);
  }
  return { name, keyHash, seed };
}

/** 0x01 ‖ Ed25519 public key of `seed`. */
function publicKeyBytes(seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = ALG_ED25519;
  out.set(ed25519.getPublicKey(seed), 1);
  return out;
}

function verifierKeyString(name: string, pub: Uint8Array): string {
  return `${name}+${hex8(keyHashOf(name, pub))}+${_encodeBase64(pub)}`;
}

/**
 * A new Ed25519 key pair named `name` (Go's note.GenerateKey), from a random seed
 * (crypto.getRandomValues through @noble/curves).
 *
 * `name` must be non-empty UTF-8 (no lone surrogates) without Unicode white space, '+' or ASCII
 * control characters; otherwise INVALID_KEY with field `name`. (Go does not check the name, and
 * then cannot use the key.)
 *
 * @example
 * const { signerKey, verifierKey } = generateNoteKey('example.com/log');
 * openNote(signNote('hello\n', signerKey), [verifierKey]).text; // 'hello\n'
 */
export function generateNoteKey(name: string): NoteKeyPair {
  if (typeof name !== 'string') throw keyError('name', `the key name must be a string, got ${typeof name}`);
  if (!isValidName(name)) throw keyError('name', 'the key name must be non-empty UTF-8 without white space or "+"');
  if (CONTROL.test(name)) throw keyError('name', 'the key name must not contain control characters (no note could carry it)');
  const seed = ed25519.utils.randomSecretKey();
  const pub = publicKeyBytes(seed);
  const hash = hex8(keyHashOf(name, pub));
  const priv = new Uint8Array(33);
  priv[0] = ALG_ED25519;
  priv.set(seed, 1);
  seed.fill(0);
  return { signerKey: `PRIVATE+KEY+${name}+${hash}+${_encodeBase64(priv)}`, verifierKey: verifierKeyString(name, pub) };
}

/** The verifier key that belongs to `signerKey` (INVALID_KEY, field `signerKey`, for a bad key). */
export function noteVerifierKey(signerKey: string): string {
  const signer = parseSignerKey(signerKey, 'signerKey');
  return verifierKeyString(signer.name, publicKeyBytes(signer.seed));
}

// ---- text checks -----------------------------------------------------------------------------

function malformed(field: string, message: string): AuditError {
  return new AuditError('MALFORMED_NOTE', `${field}: ${message}`, { field });
}

/**
 * The note rule every byte must satisfy: valid UTF-8 without ASCII control characters other than
 * "\n" (Go's Open). Returns the bytes (UTF-8 of a string) and the text.
 */
function checkedText(v: unknown, field: string): { bytes: Uint8Array; text: string } {
  let bytes: Uint8Array;
  let text: string;
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw malformed(field, 'contains a lone surrogate (not valid UTF-8)');
    text = v;
    bytes = encoder.encode(v);
  } else if (v instanceof Uint8Array) {
    bytes = v;
    try {
      text = decoder.decode(v);
    } catch {
      throw malformed(field, 'is not valid UTF-8');
    }
  } else {
    throw new AuditError('INVALID_ARGUMENT', `${field} must be a string or a Uint8Array, got ${typeof v}`, { field });
  }
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 && b !== 0x0a) {
      throw malformed(field, `contains the control character U+${b.toString(16).padStart(4, '0').toUpperCase()} at byte ${i}`);
    }
  }
  return { bytes, text };
}

// ---- signing ---------------------------------------------------------------------------------

/** A signer key that can sign: parsed as Go does, and with a name a signature line can carry. */
function usableSigner(skey: unknown, field: string): ParsedSigner {
  const signer = parseSignerKey(skey, field);
  if (CONTROL.test(signer.name)) {
    throw keyError(field, 'the key name contains a control character, so no note signed with it could be opened');
  }
  return signer;
}

function signerList(signerKey: unknown): ParsedSigner[] {
  if (typeof signerKey === 'string') return [usableSigner(signerKey, 'signerKey')];
  if (!Array.isArray(signerKey)) {
    throw new AuditError('INVALID_ARGUMENT', `signerKey must be a string or an array of strings, got ${typeof signerKey}`, { field: 'signerKey' });
  }
  if (signerKey.length === 0) throw new AuditError('INVALID_ARGUMENT', 'signerKey: at least one signer key is needed', { field: 'signerKey' });
  return signerKey.map((k, i) => usableSigner(k, `signerKey[${i}]`));
}

function signatureLine(name: string, b64: string): string {
  return `${SIG_PREFIX}${name} ${b64}\n`;
}

/** Checks an existing signature as Go's Sign does, plus a type check. */
function existingSignature(sig: unknown, field: string): NoteSignature {
  const s = sig as Partial<NoteSignature> | null;
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || typeof s.base64 !== 'string'
    || typeof s.keyHash !== 'number' || !Number.isInteger(s.keyHash) || s.keyHash < 0 || s.keyHash > 0xffffffff) {
    throw new AuditError('INVALID_ARGUMENT', `${field} must be { name: string, keyHash: uint32, base64: string }`, { field });
  }
  return s as NoteSignature;
}

/**
 * Signs `note` with one or more keys (Go's note.Sign) and returns the signed note: the text, a
 * blank line and one signature line per signature.
 *
 * `note` is the text — a string or UTF-8 bytes that end in "\n" — or `{ text, signatures?,
 * unverifiedSignatures? }`, such as the result of openNote: its signatures are kept, in that order,
 * before the new ones, except those by a key (name and key hash) that signs now, which are
 * replaced. Signing an already signed note therefore means `signNote(openNote(note, keys), myKey)`.
 * Kept signatures are checked as Go checks them (valid name, base64 whose first 4 bytes are the
 * key hash), not verified.
 *
 * Errors: INVALID_KEY (field `signerKey` or `signerKey[i]`) for a bad key, or one whose name
 * holds an ASCII control character (Go parses it, but no note signed with it opens); MALFORMED_NOTE (field
 * `text`, or `note.signatures[i]` / `note.unverifiedSignatures[i]`) for a text that does not end
 * in "\n", is not valid UTF-8 or contains control characters other than "\n", for a bad kept
 * signature, or when the result would hold more than 100 signatures. Go's Sign only checks the
 * final newline; the other checks refuse to produce a note that no one can open.
 *
 * @example
 * signNote('If you think cryptography is the answer to your problem,\n' +
 *   "then you don't know what your problem is.\n", 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEK…');
 * // → text + '\n— PeterNeumann x08go/ZJku…nAM=\n'
 */
export function signNote(note: string | Uint8Array | NoteToSign, signerKey: string | readonly string[]): string {
  const signers = signerList(signerKey);
  const isObject = typeof note === 'object' && note !== null && !(note instanceof Uint8Array);
  const textField = isObject ? 'note.text' : 'text';
  const { bytes, text } = checkedText(isObject ? (note as NoteToSign).text : note, textField);
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) throw malformed(textField, 'must end with a newline');

  let count = signers.length;
  const replaced = new Set(signers.map((s) => `${s.name}+${s.keyHash}`));
  let kept = '';
  if (isObject) {
    const n = note as NoteToSign;
    for (const listName of ['signatures', 'unverifiedSignatures'] as const) {
      const list: unknown = n[listName];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        throw new AuditError('INVALID_ARGUMENT', `note.${listName} must be an array`, { field: `note.${listName}` });
      }
      list.forEach((item, i) => {
        const field = `note.${listName}[${i}]`;
        const sig = existingSignature(item, field);
        if (!isValidName(sig.name)) throw malformed(field, 'the key name must be non-empty UTF-8 without white space or "+"');
        if (replaced.has(`${sig.name}+${sig.keyHash}`)) return;
        const raw = /[\r\n]/.test(sig.base64) ? undefined : _decodeBase64(sig.base64);
        if (raw === undefined || raw.length < 4 || new DataView(raw.buffer, raw.byteOffset).getUint32(0) !== sig.keyHash) {
          throw malformed(field, 'base64 must be valid and begin with the 4-byte key hash');
        }
        kept += signatureLine(sig.name, sig.base64);
        count++;
      });
    }
  }
  if (count > MAX_SIGNATURES) throw malformed('note', `more than ${MAX_SIGNATURES} signatures`);

  let added = '';
  for (const s of signers) {
    const sig = new Uint8Array(4 + 64);
    new DataView(sig.buffer).setUint32(0, s.keyHash);
    sig.set(ed25519.sign(bytes, s.seed), 4);
    added += signatureLine(s.name, _encodeBase64(sig));
  }
  return `${text}\n${kept}${added}`;
}

// ---- opening ---------------------------------------------------------------------------------

function verifierMap(verifierKeys: unknown): Map<string, ParsedVerifier[]> {
  let parsed: ParsedVerifier[];
  if (typeof verifierKeys === 'string') parsed = [parseVerifierKey(verifierKeys, 'verifierKeys')];
  else if (Array.isArray(verifierKeys)) parsed = verifierKeys.map((k, i) => parseVerifierKey(k, `verifierKeys[${i}]`));
  else {
    throw new AuditError('INVALID_ARGUMENT', `verifierKeys must be a string or an array of strings, got ${typeof verifierKeys}`, { field: 'verifierKeys' });
  }
  // Go's VerifierList: keys with the same name and hash make that pair ambiguous (reported only
  // when a signature names it), even when they are the same key given twice.
  const map = new Map<string, ParsedVerifier[]>();
  for (const v of parsed) {
    const id = `${v.name}+${v.keyHash}`;
    const list = map.get(id);
    if (list) list.push(v);
    else map.set(id, [v]);
  }
  return map;
}

/** Index of the last "\n\n" in `bytes`, or -1. */
function lastBlankLine(bytes: Uint8Array): number {
  for (let i = bytes.length - 2; i >= 0; i--) if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return i;
  return -1;
}

/**
 * RFC 8032 §5.1.7 verification in the strict form of FIPS 186-5 (@noble/curves with zip215 off):
 * canonical encodings only, S < L, small-order public keys refused. Go's crypto/ed25519 accepts
 * two things this refuses: non-canonical and small-order public keys (with the identity as the
 * key, anyone can sign anything). No key made by an Ed25519 key generator is either.
 */
function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Parses `note` and verifies its signatures against `verifierKeys` (Go's note.Open).
 *
 * Each signature line is looked up by key name and key hash. A signature by a known key must
 * verify (else INVALID_SIGNATURE); a second signature by the same key is ignored unread. A
 * signature by an unknown key is not checked and is reported in `unverifiedSignatures` (C2SP:
 * clients must ignore unknown signatures). At least one known key must have signed, else
 * UNVERIFIED_NOTE.
 *
 * `note`: a string or UTF-8 bytes. `verifierKeys`: one key or a list (possibly empty).
 *
 * Errors (`field` in parentheses), in Go's order: INVALID_KEY (`verifierKeys[i]`); MALFORMED_NOTE
 * (`note`) — not valid UTF-8, an ASCII control character other than "\n", no blank line before
 * the signature block, a block not ending in "\n", a line not of the form `— <name> <base64>`
 * with a valid key name and standard padded base64 of at least 5 bytes, more than 100 signature
 * lines; AMBIGUOUS_KEY (`verifierKeys`) when two listed keys share the name and key hash of a
 * signature; INVALID_SIGNATURE (`note`); UNVERIFIED_NOTE (`note`). Lines are checked in order, so
 * the first failing line decides the error.
 *
 * @example
 * const { text, signatures } = openNote(note, ['PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW']);
 */
export function openNote(note: string | Uint8Array, verifierKeys: string | readonly string[]): OpenedNote {
  const known = verifierMap(verifierKeys);
  const { bytes, text: whole } = checkedText(note, 'note');

  const split = lastBlankLine(bytes);
  if (split < 0) throw malformed('note', 'no blank line before the signature block');
  const textBytes = bytes.subarray(0, split + 1);
  // "\n" is one byte and never part of a multi-byte sequence, so the string splits at the same place.
  const stringSplit = whole.lastIndexOf('\n\n');
  const text = whole.slice(0, stringSplit + 1);
  const block = whole.slice(stringSplit + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('note', 'the signature block must end with a newline');

  const signatures: NoteSignature[] = [];
  const unverifiedSignatures: NoteSignature[] = [];
  const seen = new Set<string>();
  const seenUnverified = new Set<string>();
  const lines = block.slice(0, -1).split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (!line.startsWith(SIG_PREFIX)) throw malformed('note', `signature line ${n + 1} does not start with "— "`);
    const body = line.slice(SIG_PREFIX.length);
    const [name, b64] = cut(body, ' ');
    const raw = _decodeBase64(b64);
    if (raw === undefined || !isValidName(name) || b64 === '' || raw.length < 5) {
      throw malformed('note', `signature line ${n + 1} is not "— <key name> <base64 of at least 5 bytes>"`);
    }
    if (n + 1 > MAX_SIGNATURES) throw malformed('note', `more than ${MAX_SIGNATURES} signatures`);
    const keyHash = new DataView(raw.buffer, raw.byteOffset).getUint32(0);
    const sig: NoteSignature = { name, keyHash, base64: b64 };
    const id = `${name}+${keyHash}`;

    const candidates = known.get(id);
    if (candidates === undefined) {
      if (!seenUnverified.has(body)) {
        seenUnverified.add(body);
        unverifiedSignatures.push(sig);
      }
      continue;
    }
    if (candidates.length > 1) {
      throw new AuditError('AMBIGUOUS_KEY', `verifierKeys: ${candidates.length} keys have the name and key hash ${name}+${hex8(keyHash)}`, { field: 'verifierKeys' });
    }
    if (seen.has(id)) continue;
    seen.add(id);
    if (!verifyEd25519(candidates[0]!.publicKey, textBytes, raw.subarray(4))) {
      throw new AuditError('INVALID_SIGNATURE', `note: invalid signature for key ${name}+${hex8(keyHash)}`, { field: 'note' });
    }
    signatures.push(sig);
  }
  if (signatures.length === 0) {
    const names = unverifiedSignatures.map((s) => `${s.name}+${hex8(s.keyHash)}`).join(', ');
    throw new AuditError('UNVERIFIED_NOTE', `note: no signature by a known key (signed by: ${names})`, { field: 'note' });
  }
  return { text, signatures, unverifiedSignatures };
}
