// OPA bundle signatures: the `.signatures.json` file that `opa build --signing-key …` (and `opa sign`) put in a
// bundle, checked the way OPA checks it before it activates a bundle.
//
// Spec: OPA docs, "Bundles › Signing" (https://www.openpolicyagent.org/docs/management-bundles/#signing), and
// the reference code of the pinned release, OPA v1.22.2: v1/bundle/verify.go (JWT and file checks),
// v1/bundle/sign.go (what `opa build` signs), v1/bundle/hash.go (the file digests).
//
//   .signatures.json = { "signatures": ["<compact JWS>"], "plugin": "_default" }
//   JWS payload      = { "files": [{ "name", "hash", "algorithm" }], "keyid"?, "scope"?, "iat"?, "iss"? }
//
// The key is chosen by the protected header's `kid`, falling back to the deprecated `keyid` claim (OPA's
// default key id is "default"). Every file of the bundle except `.signatures.json` must be listed with its
// digest, and every listed file must be in the bundle.
//
// File digests (hash.go, HashFile/walk): a file whose base name is `data.json` or `.manifest` (OPA's
// "structured" documents) is hashed over a canonical re-encoding of its parsed JSON, any other file over its
// raw bytes. Checked against real `opa build` output (test/policy/bundle.test.ts):
//   - objects: `{`, then for each key in byte-wise (UTF-8) order: key, `:`, value, with `,` between; then `}`;
//   - arrays: `[`, the values with `,` between, `]`; no whitespace anywhere;
//   - numbers: the literal exactly as written in the file (OPA decodes with json.Number, so `1.50` and `1e3`
//     stay `1.50` and `1e3`; this is why numbers are parsed losslessly here and never through a float);
//   - strings and keys: Go's encoding/json without HTML escaping: `"` `\` \b \f \n \r \t escaped, other
//     controls as \u00xx, U+2028/U+2029 as \u2028/\u2029, everything else (`<`, `&`, non-ASCII) as raw UTF-8.
// So a data.json that is only re-indented or has its keys reordered still verifies (as it does in OPA),
// while any change of a value does not.

import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { isObject } from '@tenantry/core';
import { base64url, compactVerify, decodeProtectedHeader } from 'jose';
import { isLosslessNumber } from 'lossless-json';
import { PolicyError } from './errors.js';

/** A trusted verification key. */
export interface BundleKey {
  /** JWS alg (RFC 7518 §3.1): RS256/RS384/RS512, PS256/PS384/PS512, ES256/ES384/ES512, EdDSA, HS256/HS384/HS512. */
  algorithm: string;
  /**
   * PEM public key for the asymmetric algorithms (SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY` or an X.509
   * `CERTIFICATE`, as OPA accepts), or the shared secret for HS*, used as its UTF-8 bytes (as OPA does).
   */
  key: string;
}

/** How a bundle signature is verified. */
export interface BundleVerificationOptions {
  /** Trusted keys by key id (the JWS protected-header `kid`, or the `keyid` claim; OPA's default key id is "default"). */
  keys: Record<string, BundleKey>;
  /** When set, the signature's `scope` claim must equal it. */
  scope?: string;
}

/** One file of a bundle, as handed to signature verification. */
export interface _BundleFile {
  /** Normalised path inside the bundle, without a leading `/` (as OPA names files in the `files` claim). */
  readonly name: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The lossless parse (lossless-json) of a structured document (`data.json`, `.manifest`); else undefined. */
  readonly json: unknown;
}

/** Verification options after validation: keys imported once and checked against their algorithm. */
export interface _PreparedVerification {
  readonly keys: ReadonlyMap<string, { readonly algorithm: string; readonly key: KeyObject | Uint8Array }>;
  readonly scope: string | undefined;
}

/** Base name of the signatures file (verify.go / bundle.go `signaturesFilename`). */
export const _SIGNATURES_FILE = '.signatures.json';

/** The signature plugin OPA uses when none is configured (sign.go `defaultSignerID`). */
const DEFAULT_PLUGIN = '_default';

type KeyRequirement =
  | { readonly kind: 'secret' }
  | { readonly kind: 'rsa'; readonly pss: boolean }
  | { readonly kind: 'ec'; readonly curve: string }
  | { readonly kind: 'ed25519' };

/** The JWS algorithms accepted for bundle keys, with the key each needs (RFC 7518 §3.1, RFC 8037 §3.1). */
const ALGORITHMS: ReadonlyMap<string, KeyRequirement> = new Map<string, KeyRequirement>([
  ['RS256', { kind: 'rsa', pss: false }],
  ['RS384', { kind: 'rsa', pss: false }],
  ['RS512', { kind: 'rsa', pss: false }],
  ['PS256', { kind: 'rsa', pss: true }],
  ['PS384', { kind: 'rsa', pss: true }],
  ['PS512', { kind: 'rsa', pss: true }],
  ['ES256', { kind: 'ec', curve: 'prime256v1' }],
  ['ES384', { kind: 'ec', curve: 'secp384r1' }],
  ['ES512', { kind: 'ec', curve: 'secp521r1' }],
  ['EdDSA', { kind: 'ed25519' }],
  ['HS256', { kind: 'secret' }],
  ['HS384', { kind: 'secret' }],
  ['HS512', { kind: 'secret' }],
]);

/**
 * File digest algorithms of the `files` claim (hash.go) mapped to node:crypto names. OPA also knows MD5 and
 * SHA-1; they are refused here, since a signature over a broken digest proves little.
 */
const DIGESTS: ReadonlyMap<string, string> = new Map([
  ['SHA-224', 'sha224'],
  ['SHA-256', 'sha256'],
  ['SHA-384', 'sha384'],
  ['SHA-512', 'sha512'],
  ['SHA-512-224', 'sha512-224'],
  ['SHA-512-256', 'sha512-256'],
]);

/**
 * Validate `verification` once and import its keys. Throws INVALID_ARGUMENT naming the option at fault.
 * Precondition: none; any value is checked.
 */
export function _prepareVerification(verification: unknown): _PreparedVerification {
  if (!isObject(verification)) {
    throw invalidArgument('verification', 'verification must be an object { keys, scope? }');
  }
  const { keys, scope } = verification as { keys?: unknown; scope?: unknown };
  if (!isObject(keys) || Object.keys(keys).length === 0) {
    throw invalidArgument('verification.keys', 'verification.keys must be a non-empty object of { algorithm, key } by key id');
  }
  if (scope !== undefined && typeof scope !== 'string') {
    throw invalidArgument('verification.scope', 'verification.scope must be a string when set');
  }
  const prepared = new Map<string, { algorithm: string; key: KeyObject | Uint8Array }>();
  for (const [id, entry] of Object.entries(keys)) {
    const field = `verification.keys.${id}`;
    if (id === '') throw invalidArgument(field, 'verification.keys: a key id must not be empty');
    if (!isObject(entry)) throw invalidArgument(field, `${field} must be an object { algorithm, key }`);
    const { algorithm, key } = entry as { algorithm?: unknown; key?: unknown };
    const requirement = typeof algorithm === 'string' ? ALGORITHMS.get(algorithm) : undefined;
    if (typeof algorithm !== 'string' || requirement === undefined) {
      throw invalidArgument(`${field}.algorithm`, `${field}.algorithm must be one of ${[...ALGORITHMS.keys()].join(', ')}`);
    }
    if (typeof key !== 'string' || key === '') {
      throw invalidArgument(`${field}.key`, `${field}.key must be a non-empty string (a PEM public key, or the secret for HS*)`);
    }
    prepared.set(id, { algorithm, key: importKey(key, algorithm, requirement, `${field}.key`) });
  }
  return { keys: prepared, scope };
}

function importKey(pem: string, algorithm: string, requirement: KeyRequirement, field: string): KeyObject | Uint8Array {
  // HS*: OPA uses the configured string's bytes as the HMAC key (verify.go parseVerificationKey).
  if (requirement.kind === 'secret') return new TextEncoder().encode(pem);
  let key: KeyObject;
  try {
    // Accepts SPKI, PKCS#1 and certificates (and derives the public half of a private key), like OPA's PEM switch.
    key = createPublicKey(pem);
  } catch (cause) {
    throw new PolicyError('INVALID_ARGUMENT', `${field}: not a PEM public key (${(cause as Error).message})`, { field, cause });
  }
  const type = key.asymmetricKeyType;
  const ok =
    requirement.kind === 'rsa'
      ? type === 'rsa' || (requirement.pss && type === 'rsa-pss')
      : requirement.kind === 'ec'
        ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === requirement.curve
        : type === 'ed25519';
  if (!ok) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new PolicyError(
      'INVALID_ARGUMENT',
      `${field}: a ${type ?? 'unknown'}${curve ? ` (${curve})` : ''} key cannot verify ${algorithm}`,
      { field },
    );
  }
  return key;
}

/**
 * Verify a bundle's `.signatures.json` against the prepared keys, then check that its `files` claim lists
 * exactly `files` (every bundle file but `.signatures.json`) with matching digests.
 *
 * Throws BUNDLE_UNSIGNED (no JWT), BUNDLE_SIGNATURE_INVALID (field `.signatures.json`: malformed, unknown key
 * id, wrong algorithm, bad signature, wrong scope, unusable `files` claim) or BUNDLE_TAMPERED (field: the file
 * that is unlisted, missing or whose digest differs). Returns the key id that verified the signature.
 */
export async function _verifyBundleSignature(
  signaturesFile: Uint8Array,
  files: readonly _BundleFile[],
  verification: _PreparedVerification,
): Promise<{ keyId: string }> {
  const token = readSignaturesFile(signaturesFile);

  let header: { kid?: unknown; alg?: unknown };
  let unverifiedPayload: unknown;
  try {
    header = decodeProtectedHeader(token);
    const payloadPart = token.split('.')[1] ?? '';
    unverifiedPayload = JSON.parse(new TextDecoder().decode(base64url.decode(payloadPart)));
  } catch (cause) {
    throw signatureInvalid('the JWT cannot be decoded', cause);
  }
  // verify.go: the header `kid` names the key; the deprecated `keyid` claim is the fallback.
  const keyId =
    typeof header.kid === 'string' && header.kid !== ''
      ? header.kid
      : isObject(unverifiedPayload) && typeof unverifiedPayload['keyid'] === 'string' ? unverifiedPayload['keyid'] : '';
  if (keyId === '') throw signatureInvalid('the JWT names no key id (no protected-header kid, no keyid claim)');
  const trusted = verification.keys.get(keyId);
  if (trusted === undefined) throw signatureInvalid(`key id ${JSON.stringify(keyId)} is not among verification.keys`);

  let payloadBytes: Uint8Array;
  try {
    // `algorithms` pins the configured alg: a JWT whose header names another alg is refused before any crypto.
    ({ payload: payloadBytes } = await compactVerify(token, trusted.key, { algorithms: [trusted.algorithm] }));
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
      throw signatureInvalid(`signed with ${String(header.alg)}, but key id ${JSON.stringify(keyId)} is configured for ${trusted.algorithm}`, cause);
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
      throw signatureInvalid(`the signature does not verify with key id ${JSON.stringify(keyId)}`, cause);
    }
    throw signatureInvalid(`the JWS is invalid (${(cause as Error).message})`, cause);
  }

  const payload = parseJsonObject(payloadBytes, 'the JWT payload');
  if (verification.scope !== undefined && payload['scope'] !== verification.scope) {
    throw signatureInvalid(`scope ${JSON.stringify(payload['scope'] ?? null)} does not match verification.scope ${JSON.stringify(verification.scope)}`);
  }
  checkFiles(readFilesClaim(payload['files']), files);
  return { keyId };
}

/** UTF-8 JSON that must be an object; BUNDLE_SIGNATURE_INVALID naming `what` otherwise. */
function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw signatureInvalid(`${what} is not JSON`, cause);
  }
  if (!isObject(value)) throw signatureInvalid(`${what} is not a JSON object`);
  return value;
}

/** `.signatures.json`: exactly one JWT (verify.go: "expected exactly one"), default plugin only. */
function readSignaturesFile(bytes: Uint8Array): string {
  const doc = parseJsonObject(bytes, 'the file');
  const { signatures, plugin } = doc as { signatures?: unknown; plugin?: unknown };
  if (plugin !== undefined && plugin !== '' && plugin !== DEFAULT_PLUGIN) {
    throw signatureInvalid(`names signature plugin ${JSON.stringify(plugin)}; only OPA's default (JWT) signatures are supported`);
  }
  if (signatures === undefined || signatures === null || (Array.isArray(signatures) && signatures.length === 0)) {
    throw new PolicyError('BUNDLE_UNSIGNED', `${_SIGNATURES_FILE}: holds no signature`, { field: _SIGNATURES_FILE });
  }
  if (!Array.isArray(signatures) || signatures.some((s) => typeof s !== 'string')) {
    throw signatureInvalid('"signatures" must be an array of JWT strings');
  }
  if (signatures.length > 1) throw signatureInvalid('holds several JWTs; OPA expects exactly one');
  return signatures[0] as string;
}

interface FileClaim {
  readonly name: string;
  readonly hash: string;
  readonly digest: string;
  readonly algorithm: string;
}

function readFilesClaim(claim: unknown): Map<string, FileClaim> {
  if (!Array.isArray(claim)) throw signatureInvalid('the JWT has no "files" claim (an array of { name, hash, algorithm })');
  const byName = new Map<string, FileClaim>();
  for (const item of claim) {
    if (!isObject(item) || typeof item['name'] !== 'string' || typeof item['hash'] !== 'string' || typeof item['algorithm'] !== 'string') {
      throw signatureInvalid('"files" claim: each entry must be { name, hash, algorithm } strings');
    }
    const { name: rawName, hash, algorithm } = item as { name: string; hash: string; algorithm: string };
    const name = rawName.replace(/^\/+/, ''); // OPA compares names without the leading `/` of tar paths.
    const digest = DIGESTS.get(algorithm);
    if (digest === undefined) {
      throw signatureInvalid(`"files" claim: ${name}: digest algorithm ${JSON.stringify(algorithm)} is not accepted (use ${[...DIGESTS.keys()].join(', ')})`);
    }
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hash)) throw signatureInvalid(`"files" claim: ${name}: hash is not hex`);
    if (byName.has(name)) throw signatureInvalid(`"files" claim lists ${name} twice`);
    byName.set(name, { name, hash: hash.toLowerCase(), digest, algorithm });
  }
  return byName;
}

function checkFiles(claimed: Map<string, FileClaim>, files: readonly _BundleFile[]): void {
  const unseen = new Set(claimed.keys());
  for (const file of files) {
    const claim = claimed.get(file.name);
    if (claim === undefined) throw tampered(file.name, `${file.name} is in the bundle but not listed in its signature`);
    unseen.delete(file.name);
    const actual = _opaFileDigest(file, claim.digest);
    if (actual !== claim.hash) {
      throw tampered(file.name, `${file.name}: ${claim.algorithm} digest ${actual} does not match the signed ${claim.hash}`);
    }
  }
  for (const name of unseen) throw tampered(name, `${name} is listed in the signature but missing from the bundle`);
}

/**
 * The digest OPA signs for a bundle file (hash.go HashFile), as lowercase hex: over the canonical encoding
 * of `file.json` for a structured document, else over the raw bytes. `digest` is a node:crypto hash name.
 */
export function _opaFileDigest(file: _BundleFile, digest: string): string {
  const hash = createHash(digest);
  hash.update(file.json === undefined ? file.bytes : Buffer.from(_opaCanonicalJson(file.json), 'utf8'));
  return hash.digest('hex');
}

/**
 * OPA's canonical JSON for hashing (hash.go walk + primitiveEncoder). Precondition: `value` comes from
 * lossless-json's parse (numbers are LosslessNumber) and holds no lone surrogate (the reader refuses those, so
 * that JS strings and Go's decoded strings have the same UTF-8 bytes).
 */
export function _opaCanonicalJson(value: unknown): string {
  const out: string[] = [];
  writeCanonical(value, out);
  return out.join('');
}

function writeCanonical(value: unknown, out: string[]): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'string') {
    out.push(goJsonString(value));
  } else if (isLosslessNumber(value)) {
    out.push(value.value); // json.Number: the literal as written
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      writeCanonical(item, out);
    });
    out.push(']');
  } else if (typeof value === 'object') {
    // util.KeysSorted: Go string order, i.e. byte-wise over UTF-8 (not JS's UTF-16 code-unit order).
    const keys = Object.keys(value)
      .map((key) => ({ key, utf8: Buffer.from(key, 'utf8') }))
      .sort((a, b) => Buffer.compare(a.utf8, b.utf8));
    out.push('{');
    keys.forEach(({ key }, i) => {
      if (i > 0) out.push(',');
      out.push(goJsonString(key), ':');
      writeCanonical((value as Record<string, unknown>)[key], out);
    });
    out.push('}');
  } else {
    throw new TypeError(`_opaCanonicalJson: not a JSON value (${typeof value})`);
  }
}

/**
 * Go encoding/json string encoding with SetEscapeHTML(false) (encode.go appendString). For well-formed
 * strings JSON.stringify (ECMA-262 QuoteJSONString) produces the same escapes (`"` `\` \b \f \n \r \t, other
 * controls as lowercase \u00xx) except that Go also escapes U+2028 and U+2029.
 */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));
}

function invalidArgument(field: string, message: string): PolicyError {
  return new PolicyError('INVALID_ARGUMENT', message, { field });
}

function signatureInvalid(message: string, cause?: unknown): PolicyError {
  return new PolicyError('BUNDLE_SIGNATURE_INVALID', `${_SIGNATURES_FILE}: ${message}`, {
    field: _SIGNATURES_FILE,
    ...(cause === undefined ? {} : { cause }),
  });
}

function tampered(name: string, message: string): PolicyError {
  return new PolicyError('BUNDLE_TAMPERED', message, { field: name });
}
