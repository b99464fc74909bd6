// The operator key and the node keys it certifies (docs/architecture.md, "@tenantry/federation").
//
// One operator key pair per cluster; its public key is what every node trusts. Each node signs its messages
// with its own Ed25519 key, which the operator certifies for a period:
//
//   certificate = { node_id, public_key, key_id, not_before, not_after, signature }
//   signature   = Ed25519 by the operator key over DOMAIN_CERTIFICATE ‖ RFC 8785 JSON of the other five fields
//
// (signed bytes, key id and base64 rules: signing.ts). `public_key` is base64 of the node's 32-byte public key,
// `key_id` its key id (first 4 bytes of SHA-256(public key), hex), `not_before` / `not_after` milliseconds since the
// Unix epoch, both included. A key is revoked by key id (revocation.ts), so a node whose key leaked gets a new one
// and only the old id is refused. Keys are plain JSON objects so that they can live in files (the CLI writes them
// with mode 0600); `secret_key` is base64 of the 32-byte seed (RFC 8032 §5.1.5 private key) and must stay secret.
import { isObject } from '@tenantry/core';
import { FederationError, isFederationError } from './errors.js';
import { _checkNodeId } from './lease.js';
import {
  DOMAIN_CERTIFICATE, _decodeBase64, _encodeBase64, _isKeyId, _keyId, _publicKeyOf, _randomSeed, _sign, _verify,
} from './signing.js';

/** The target_node of a message meant for every node. Never a node id. */
export const BROADCAST = '*';

const CONTROL_OR_SURROGATE = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

/** An operator key pair. Publish `public_key`; keep `secret_key` secret. */
export interface OperatorKey {
  name: string;
  key_id: string;
  /** base64 of the 32-byte Ed25519 public key. */
  public_key: string;
  /** base64 of the 32-byte Ed25519 seed. */
  secret_key: string;
}

/** A node's public key certified by the operator (see the file comment). */
export interface NodeCertificate {
  node_id: string;
  public_key: string;
  key_id: string;
  not_before: number;
  not_after: number;
  /** base64 of the operator's 64-byte Ed25519 signature. */
  signature: string;
}

/** A node's key pair with its certificate: what signMessage needs. */
export interface NodeKey {
  node_id: string;
  key_id: string;
  public_key: string;
  secret_key: string;
  certificate: NodeCertificate;
}

export interface IssueNodeKeyOptions {
  node_id: string;
  /** Start of validity, ms since the Unix epoch (included). */
  not_before: number;
  /** End of validity, ms since the Unix epoch (included); ≥ not_before. */
  not_after: number;
}

/** The fields of a certificate, sorted. */
export const _CERT_FIELDS: readonly string[] = ['key_id', 'node_id', 'not_after', 'not_before', 'public_key', 'signature'];

function invalid(field: string, message: string): FederationError {
  return new FederationError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

/**
 * Why `v` is not a node id, or undefined. The rule is lease.ts's (`_checkNodeId`, the one owner of it in this
 * package): 1 to 128 characters of A-Z a-z 0-9 . _ : - — so never BROADCAST.
 */
export function nodeIdProblem(v: unknown): string | undefined {
  try {
    _checkNodeId(v, 'node_id');
    return undefined;
  } catch (e) {
    if (isFederationError(e)) return 'must be 1 to 128 characters of A-Z a-z 0-9 . _ : -';
    throw e;
  }
}

export function _isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The 32-byte seed of a key object's `secret_key`, checked against its `public_key` and `key_id`. */
export function _secretOf(key: unknown, field: string): Uint8Array {
  if (!isObject(key)) throw new FederationError('INVALID_KEY', `${field} must be a key object`, { field });
  const seed = _decodeBase64(key.secret_key, 32);
  if (seed === undefined) throw new FederationError('INVALID_KEY', `${field}.secret_key must be base64 of 32 bytes`, { field: `${field}.secret_key` });
  const pub = _publicKeyOf(seed);
  if (key.public_key !== _encodeBase64(pub) || key.key_id !== _keyId(pub)) {
    throw new FederationError('INVALID_KEY', `${field}: public_key and key_id do not belong to secret_key`, { field });
  }
  return seed;
}

/** The 32 bytes of an operator public key (base64, or an OperatorKey whose public_key is used). */
export function _operatorPublicKey(v: unknown, field: string): Uint8Array {
  const b64 = isObject(v) ? v.public_key : v;
  const pub = _decodeBase64(b64, 32);
  if (pub === undefined) throw new FederationError('INVALID_KEY', `${field} must be base64 of a 32-byte Ed25519 public key`, { field });
  return pub;
}

/**
 * A new operator key pair named `name` (a label for people, not signed), from a random seed.
 * @example const operator = generateOperatorKey('prod-cluster');
 */
export function generateOperatorKey(name: string): OperatorKey {
  if (typeof name !== 'string' || name === '' || CONTROL_OR_SURROGATE.test(name)) {
    throw invalid('name', 'must be a non-empty, well-formed string without control characters');
  }
  const seed = _randomSeed();
  const pub = _publicKeyOf(seed);
  const key = { name, key_id: _keyId(pub), public_key: _encodeBase64(pub), secret_key: _encodeBase64(seed) };
  seed.fill(0);
  return key;
}

/**
 * A new node key for `options.node_id`, certified by `operator` for [not_before, not_after].
 * Errors: INVALID_KEY (`operator`), INVALID_ARGUMENT naming the option.
 * @example const node = issueNodeKey(operator, { node_id: 'node-1', not_before: now, not_after: now + 90 * 86_400_000 });
 */
export function issueNodeKey(operator: OperatorKey, options: IssueNodeKeyOptions): NodeKey {
  const opSeed = _secretOf(operator, 'operator');
  if (!isObject(options)) throw invalid('options', 'must be an object');
  const idProblem = nodeIdProblem(options.node_id);
  if (idProblem !== undefined) throw invalid('options.node_id', idProblem);
  if (!_isTime(options.not_before)) throw invalid('options.not_before', 'must be a non-negative integer (ms since the epoch)');
  if (!_isTime(options.not_after) || options.not_after < options.not_before) {
    throw invalid('options.not_after', 'must be an integer (ms since the epoch) not before not_before');
  }
  const seed = _randomSeed();
  const pub = _publicKeyOf(seed);
  const fields = {
    node_id: options.node_id, public_key: _encodeBase64(pub), key_id: _keyId(pub),
    not_before: options.not_before, not_after: options.not_after,
  };
  const certificate: NodeCertificate = { ...fields, signature: _encodeBase64(_sign(DOMAIN_CERTIFICATE, fields, opSeed)) };
  const key: NodeKey = { node_id: fields.node_id, key_id: fields.key_id, public_key: fields.public_key, secret_key: _encodeBase64(seed), certificate };
  seed.fill(0);
  return key;
}

/** A certificate that passed checkCertificate. */
export interface CheckedCertificate {
  node_id: string;
  key_id: string;
  /** The node's 32-byte public key. */
  publicKey: Uint8Array;
}

/**
 * Checks that `cert` is a node certificate signed by the operator key and valid at `now` (ms since the epoch).
 *
 * Errors (`field` is `${field}.<name>`): MALFORMED for a certificate that is not exactly the six fields of the
 * right types; UNTRUSTED_KEY when the operator's signature does not verify, `key_id` is not the key id of
 * `public_key`, or `now` is outside [not_before, not_after].
 */
export function checkCertificate(cert: unknown, operatorPublicKey: Uint8Array, now: number, field = 'certificate'): CheckedCertificate {
  const malformed = (f: string, m: string) => new FederationError('MALFORMED', `${field}${f} ${m}`, { field: `${field}${f}` });
  if (!isObject(cert)) throw malformed('', 'must be an object');
  const keys = Object.keys(cert).sort();
  if (keys.length !== _CERT_FIELDS.length || keys.some((k, i) => k !== _CERT_FIELDS[i])) {
    throw malformed('', `must have exactly the fields ${_CERT_FIELDS.join(', ')}`);
  }
  const idProblem = nodeIdProblem(cert.node_id);
  if (idProblem !== undefined) throw malformed('.node_id', idProblem);
  const pub = _decodeBase64(cert.public_key, 32);
  if (pub === undefined) throw malformed('.public_key', 'must be base64 of 32 bytes');
  if (!_isKeyId(cert.key_id)) throw malformed('.key_id', 'must be 8 lowercase hex digits');
  if (!_isTime(cert.not_before)) throw malformed('.not_before', 'must be a non-negative integer');
  if (!_isTime(cert.not_after)) throw malformed('.not_after', 'must be a non-negative integer');
  const sig = _decodeBase64(cert.signature, 64);
  if (sig === undefined) throw malformed('.signature', 'must be base64 of 64 bytes');
  const fields = { node_id: cert.node_id, public_key: cert.public_key, key_id: cert.key_id, not_before: cert.not_before, not_after: cert.not_after };
  if (!_verify(DOMAIN_CERTIFICATE, fields, sig, operatorPublicKey)) throw _untrusted(field, '.signature', 'is not the operator key\'s signature');
  if (cert.key_id !== _keyId(pub)) throw _untrusted(field, '.key_id', 'is not the key id of public_key');
  _checkValidAt(cert as unknown as NodeCertificate, now, field);
  return { node_id: cert.node_id as string, key_id: cert.key_id, publicKey: pub };
}

function _untrusted(field: string, f: string, m: string): FederationError {
  return new FederationError('UNTRUSTED_KEY', `${field}${f} ${m}`, { field: `${field}${f}` });
}

/** The validity check of checkCertificate alone: UNTRUSTED_KEY unless not_before ≤ now ≤ not_after. */
export function _checkValidAt(cert: NodeCertificate, now: number, field: string): void {
  if (now < cert.not_before) throw _untrusted(field, '.not_before', `is after now (${now}): the key is not valid yet`);
  if (now > cert.not_after) throw _untrusted(field, '.not_after', `is before now (${now}): the key has expired`);
}
