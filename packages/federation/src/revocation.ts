// Revocation of node keys (docs/architecture.md, "@tenantry/federation").
//
//   list      = { version, revoked, issued_at, signature }
//   signature = Ed25519 by the operator key over DOMAIN_REVOCATIONS ‖ RFC 8785 JSON of { version, revoked, issued_at }
//
// `version` is a positive integer that grows with every list the operator issues; `revoked` the revoked key ids,
// sorted and without duplicates (so one set has one signed form); `issued_at` ms since the Unix epoch. Each list is
// complete: it replaces the one before. A node holds one list (version 0, nothing revoked, until it accepts one) and
// accepts only a list with a higher version, so an older list replayed by anyone cannot un-revoke a key; the list
// it accepts is in force for the very next message it opens.
import { isObject } from '@tenantry/core';
import { FederationError } from './errors.js';
import { _isTime, _operatorPublicKey, _secretOf, type OperatorKey } from './node-keys.js';
import { DOMAIN_REVOCATIONS, _decodeBase64, _encodeBase64, _isKeyId, _sign, _verify } from './signing.js';

/** A signed revocation list (see the file comment). */
export interface RevocationList {
  version: number;
  revoked: string[];
  issued_at: number;
  /** base64 of the operator's 64-byte Ed25519 signature. */
  signature: string;
}

const LIST_FIELDS = ['issued_at', 'revoked', 'signature', 'version'];
/** Most key ids one list may name (a bound on what a node parses from the network). */
export const MAX_REVOKED = 100_000;

function invalid(field: string, message: string): FederationError {
  return new FederationError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

/**
 * Signs a revocation list with the operator key. `revoked` is sorted and deduplicated.
 * Errors: INVALID_KEY (`operator`); INVALID_ARGUMENT naming the field.
 */
export function signRevocationList(operator: OperatorKey, list: { version: number; revoked: readonly string[]; issued_at: number }): RevocationList {
  const seed = _secretOf(operator, 'operator');
  if (!isObject(list)) throw invalid('list', 'must be an object');
  if (!Number.isSafeInteger(list.version) || list.version < 1) throw invalid('list.version', 'must be a positive integer');
  if (!_isTime(list.issued_at)) throw invalid('list.issued_at', 'must be a non-negative integer (ms since the epoch)');
  if (!Array.isArray(list.revoked) || list.revoked.length > MAX_REVOKED) throw invalid('list.revoked', `must be an array of at most ${MAX_REVOKED} key ids`);
  list.revoked.forEach((k, i) => {
    if (!_isKeyId(k)) throw invalid(`list.revoked[${i}]`, 'must be a key id (8 lowercase hex digits)');
  });
  const fields = { version: list.version, revoked: [...new Set(list.revoked)].sort(), issued_at: list.issued_at };
  return { ...fields, signature: _encodeBase64(_sign(DOMAIN_REVOCATIONS, fields, seed)) };
}

/**
 * The list after `previous` (or the first, version 1) with `keyId` added, issued at `now`.
 * @example const next = nextRevocationList(operator, current, leakedKeyId, Date.now());
 */
export function nextRevocationList(operator: OperatorKey, previous: RevocationList | undefined, keyId: string, now: number): RevocationList {
  if (!_isKeyId(keyId)) throw invalid('keyId', 'must be a key id (8 lowercase hex digits)');
  if (previous === undefined) return signRevocationList(operator, { version: 1, revoked: [keyId], issued_at: now });
  checkRevocationList(previous, _operatorPublicKey(operator, 'operator'), 'previous');
  return signRevocationList(operator, { version: previous.version + 1, revoked: [...previous.revoked, keyId], issued_at: now });
}

/**
 * Checks that `list` is a revocation list signed by the operator key.
 * Errors: MALFORMED (`${field}.<name>`) for a wrong shape, an unsorted or duplicated `revoked`; FORGED
 * (`${field}.signature`) when the signature does not verify.
 */
export function checkRevocationList(list: unknown, operatorPublicKey: Uint8Array, field = 'list'): RevocationList {
  const malformed = (f: string, m: string) => new FederationError('MALFORMED', `${field}${f} ${m}`, { field: `${field}${f}` });
  if (!isObject(list)) throw malformed('', 'must be an object');
  const keys = Object.keys(list).sort();
  if (keys.length !== LIST_FIELDS.length || keys.some((k, i) => k !== LIST_FIELDS[i])) {
    throw malformed('', `must have exactly the fields ${LIST_FIELDS.join(', ')}`);
  }
  if (!Number.isSafeInteger(list.version) || (list.version as number) < 1) throw malformed('.version', 'must be a positive integer');
  if (!_isTime(list.issued_at)) throw malformed('.issued_at', 'must be a non-negative integer');
  const revoked = list.revoked;
  if (!Array.isArray(revoked) || revoked.length > MAX_REVOKED) throw malformed('.revoked', `must be an array of at most ${MAX_REVOKED} key ids`);
  for (let i = 0; i < revoked.length; i++) {
    if (!_isKeyId(revoked[i])) throw malformed(`.revoked[${i}]`, 'must be a key id (8 lowercase hex digits)');
    if (i > 0 && (revoked[i] as string) <= (revoked[i - 1] as string)) throw malformed(`.revoked[${i}]`, 'must be sorted and unique');
  }
  const sig = _decodeBase64(list.signature, 64);
  if (sig === undefined) throw malformed('.signature', 'must be base64 of 64 bytes');
  const fields = { version: list.version, revoked, issued_at: list.issued_at };
  if (!_verify(DOMAIN_REVOCATIONS, fields, sig, operatorPublicKey)) {
    throw new FederationError('FORGED', `${field}.signature is not the operator key's signature`, { field: `${field}.signature` });
  }
  return { version: list.version as number, revoked: [...(revoked as string[])], issued_at: list.issued_at, signature: list.signature as string };
}

/** The revocation list a node holds (see the file comment). */
export class Revocations {
  readonly #operator: Uint8Array;
  #version = 0;
  #revoked: ReadonlySet<string> = new Set();
  #list: RevocationList | undefined;

  /** `operatorPublicKey`: base64 (or an OperatorKey); `list`: one to hold from the start (checked like accept). */
  constructor(operatorPublicKey: string | OperatorKey, list?: unknown) {
    this.#operator = _operatorPublicKey(operatorPublicKey, 'operatorPublicKey');
    if (list !== undefined) this.accept(list);
  }

  /** Version of the list held; 0 before any. */
  get version(): number {
    return this.#version;
  }

  /** The list held, as signed (to pass on to other nodes), or undefined. */
  get list(): RevocationList | undefined {
    return this.#list;
  }

  isRevoked(keyId: string): boolean {
    return this.#revoked.has(keyId);
  }

  /**
   * Replaces the list held with `list` when it is signed by the operator and newer; in force at once.
   * Errors: as checkRevocationList; REVOCATION_ROLLBACK (`list.version`) for a version not above the one held
   * (an older list replayed, or the same one again). A refused list changes nothing.
   */
  accept(list: unknown): void {
    const checked = checkRevocationList(list, this.#operator);
    if (checked.version <= this.#version) {
      throw new FederationError('REVOCATION_ROLLBACK', `list.version ${checked.version} is not above the version held (${this.#version})`, { field: 'list.version' });
    }
    this.#revoked = new Set(checked.revoked);
    this.#version = checked.version;
    this.#list = checked;
  }
}
