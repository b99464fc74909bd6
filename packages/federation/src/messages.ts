// Signed cluster messages (docs/architecture.md, "@tenantry/federation").
//
//   envelope = { message_id, source_node, target_node, message_type, payload, timestamp, protocol_version: "1.0",
//                key_id, signature, certificate }
//   signature = Ed25519 by the source node's key over
//               DOMAIN_MESSAGE ‖ RFC 8785 JSON of { message_id, source_node, target_node, message_type, payload,
//                                                   timestamp, protocol_version, key_id }
//
// (signed bytes: signing.ts; certificate: node-keys.ts). `timestamp` is ms since the Unix epoch; `target_node` is
// a node id or BROADCAST ("*"); `payload` any JSON data; `certificate` the source node's certificate, so that a
// message carries everything needed to check it except the operator key. Only the values are signed, not the key
// order or spacing of the JSON text that carried them.
//
// openMessage checks, in this order, and refuses with the first failure's code: the envelope parses and has every
// field (UNSIGNED when the signature, key_id or certificate is missing, MALFORMED for anything else wrong in its
// shape); protocol_version is "1.0" (UNSUPPORTED_VERSION); the certificate is the operator's and valid now
// (UNTRUSTED_KEY, also when key_id is not the certificate's); the key is not revoked (REVOKED); source_node is the
// certificate's node (WRONG_SOURCE); the signature verifies (FORGED); the target is this node or "*"
// (WRONG_TARGET); |now − timestamp| ≤ maxSkewMs (STALE, from the past or the future); the id was not accepted
// before (REPLAYED). Only a message that passed every check is remembered by the replay guard.
import { PROTOCOL_VERSION, isObject } from '@tenantry/core';
import { FederationError, isFederationError } from './errors.js';
import { BROADCAST, _isTime, _operatorPublicKey, _secretOf, checkCertificate, nodeIdProblem, type NodeCertificate, type NodeKey } from './node-keys.js';
import type { CertificateCache } from './certificate-cache.js';
import type { ReplayGuard } from './replay-guard.js';
import type { Revocations } from './revocation.js';
import { DOMAIN_MESSAGE, _canonicalJson, _decodeBase64, _encodeBase64, _isKeyId, _jsonDataProblem, _sign, _verify } from './signing.js';

/** Largest envelope openMessage parses from text or bytes, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 1 << 20;

/** message_id and message_type: 1 to 128 characters of [A-Za-z0-9._:/-] (a UUID fits). */
const TOKEN = /^[A-Za-z0-9._:/-]{1,128}$/;
const ENVELOPE_FIELDS = [
  'certificate', 'key_id', 'message_id', 'message_type', 'payload', 'protocol_version', 'signature', 'source_node', 'target_node', 'timestamp',
];
const decoder = new TextDecoder('utf-8', { fatal: true });

/** What a node sends. */
export interface MessageToSign {
  /** Default: a random UUID. */
  message_id?: string;
  /** Default: the node key's node_id; when given it must be that. */
  source_node?: string;
  /** A node id, or BROADCAST. */
  target_node: string;
  message_type: string;
  payload: unknown;
  /** ms since the Unix epoch; default Date.now(). */
  timestamp?: number;
}

/** A signed cluster message (see the file comment); JSON.stringify it to send it. */
export interface SignedMessage {
  message_id: string;
  source_node: string;
  target_node: string;
  message_type: string;
  payload: unknown;
  timestamp: number;
  protocol_version: typeof PROTOCOL_VERSION;
  key_id: string;
  signature: string;
  certificate: NodeCertificate;
}

/** A message that passed every check of openMessage: the signed message without its proof. `payload` is a copy. */
export type OpenedMessage = Omit<SignedMessage, 'signature' | 'certificate'>;

/** What the receiving node trusts and remembers. */
export interface MessageTrust {
  /** This node's id: messages for another node are refused. */
  nodeId: string;
  /** The operator's public key, base64 of 32 bytes. */
  operatorPublicKey: string;
  revocations: Revocations;
  replayGuard: ReplayGuard;
  /** ms since the Unix epoch; default Date.now. */
  clock?: () => number;
  /** Largest accepted |now − timestamp| in ms; default and maximum: the replay guard's windowMs. */
  maxSkewMs?: number;
  /**
   * Certificates checked before (certificate-cache.ts): a message from a known peer then costs one Ed25519
   * verification instead of two. Default: none, every certificate is checked in full.
   */
  certificates?: CertificateCache;
}

function invalid(field: string, message: string): FederationError {
  return new FederationError('INVALID_ARGUMENT', `${field} ${message}`, { field });
}

function signedFields(m: Omit<SignedMessage, 'signature' | 'certificate'>): Record<string, unknown> {
  return {
    message_id: m.message_id, source_node: m.source_node, target_node: m.target_node, message_type: m.message_type,
    payload: m.payload, timestamp: m.timestamp, protocol_version: m.protocol_version, key_id: m.key_id,
  };
}

/**
 * Signs `message` with `nodeKey` (a key from issueNodeKey) and returns the envelope.
 * Errors: INVALID_KEY (`nodeKey`); INVALID_ARGUMENT naming the message field.
 * @example
 * const wire = JSON.stringify(signMessage({ target_node: 'node-2', message_type: 'ping', payload: {} }, nodeKey));
 */
export function signMessage(message: MessageToSign, nodeKey: NodeKey): SignedMessage {
  const seed = _secretOf(nodeKey, 'nodeKey');
  const cert = nodeKey.certificate;
  if (!isObject(cert) || cert.key_id !== nodeKey.key_id || cert.node_id !== nodeKey.node_id || cert.public_key !== nodeKey.public_key) {
    throw new FederationError('INVALID_KEY', 'nodeKey.certificate is not the certificate of this key', { field: 'nodeKey.certificate' });
  }
  if (!isObject(message)) throw invalid('message', 'must be an object');
  const m = {
    message_id: message.message_id ?? crypto.randomUUID(),
    source_node: message.source_node ?? nodeKey.node_id,
    target_node: message.target_node,
    message_type: message.message_type,
    payload: message.payload,
    timestamp: message.timestamp ?? Date.now(),
    protocol_version: PROTOCOL_VERSION as typeof PROTOCOL_VERSION,
    key_id: nodeKey.key_id,
  };
  if (typeof m.message_id !== 'string' || !TOKEN.test(m.message_id)) throw invalid('message.message_id', 'must be 1 to 128 characters of [A-Za-z0-9._:/-]');
  if (m.source_node !== nodeKey.node_id) throw invalid('message.source_node', `must be the node key's node_id (${JSON.stringify(nodeKey.node_id)})`);
  if (m.target_node !== BROADCAST && nodeIdProblem(m.target_node) !== undefined) throw invalid('message.target_node', `must be a node id or "${BROADCAST}"`);
  if (typeof m.message_type !== 'string' || !TOKEN.test(m.message_type)) throw invalid('message.message_type', 'must be 1 to 128 characters of [A-Za-z0-9._:/-]');
  const payloadProblem = _jsonDataProblem(m.payload);
  if (payloadProblem !== undefined) throw invalid('message.payload', `is not JSON data: ${payloadProblem}`);
  if (!_isTime(m.timestamp)) throw invalid('message.timestamp', 'must be a non-negative integer (ms since the epoch)');
  // A copy: later changes to the caller's payload change neither the envelope nor what was signed.
  const signed = { ...m, payload: JSON.parse(_canonicalJson(m.payload)) as unknown };
  const signature = _encodeBase64(_sign(DOMAIN_MESSAGE, signedFields(signed), seed));
  return { ...signed, signature, certificate: { ...(cert as unknown as NodeCertificate) } };
}

function refuse(code: 'UNSIGNED' | 'MALFORMED', field: string, message: string): FederationError {
  return new FederationError(code, `${field} ${message}`, { field });
}

function parseEnvelope(input: unknown): Record<string, unknown> {
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
    if (size > MAX_MESSAGE_BYTES) throw refuse('MALFORMED', 'envelope', `is larger than ${MAX_MESSAGE_BYTES} bytes`);
    try {
      value = JSON.parse(typeof input === 'string' ? input : decoder.decode(input));
    } catch {
      throw refuse('MALFORMED', 'envelope', 'is not JSON (UTF-8)');
    }
  }
  if (!isObject(value)) throw refuse('MALFORMED', 'envelope', 'must be a JSON object');
  return value;
}

/** The checks before any signature is looked at: shape and version. */
function checkShape(e: Record<string, unknown>): SignedMessage {
  for (const f of ['signature', 'key_id', 'certificate']) if (e[f] === undefined) throw refuse('UNSIGNED', f, 'is missing: the message is not signed');
  for (const f of ENVELOPE_FIELDS) if (!Object.hasOwn(e, f)) throw refuse('MALFORMED', f, 'is missing');
  for (const f of Object.keys(e)) if (!ENVELOPE_FIELDS.includes(f)) throw refuse('MALFORMED', `envelope.${f}`, 'is not a field of a cluster message');
  if (typeof e.message_id !== 'string' || !TOKEN.test(e.message_id)) throw refuse('MALFORMED', 'message_id', 'must be 1 to 128 characters of [A-Za-z0-9._:/-]');
  const sourceProblem = nodeIdProblem(e.source_node);
  if (sourceProblem !== undefined) throw refuse('MALFORMED', 'source_node', sourceProblem);
  if (e.target_node !== BROADCAST && nodeIdProblem(e.target_node) !== undefined) throw refuse('MALFORMED', 'target_node', `must be a node id or "${BROADCAST}"`);
  if (typeof e.message_type !== 'string' || !TOKEN.test(e.message_type)) throw refuse('MALFORMED', 'message_type', 'must be 1 to 128 characters of [A-Za-z0-9._:/-]');
  const payloadProblem = _jsonDataProblem(e.payload);
  if (payloadProblem !== undefined) throw refuse('MALFORMED', 'payload', `is not JSON data: ${payloadProblem}`);
  if (!_isTime(e.timestamp)) throw refuse('MALFORMED', 'timestamp', 'must be a non-negative integer (ms since the epoch)');
  if (!_isKeyId(e.key_id)) throw refuse('MALFORMED', 'key_id', 'must be 8 lowercase hex digits');
  if (typeof e.signature !== 'string' || _decodeBase64(e.signature, 64) === undefined) throw refuse('MALFORMED', 'signature', 'must be base64 of 64 bytes');
  if (e.protocol_version !== PROTOCOL_VERSION) {
    throw new FederationError('UNSUPPORTED_VERSION', `protocol_version must be "${PROTOCOL_VERSION}", got ${JSON.stringify(e.protocol_version)}`, { field: 'protocol_version' });
  }
  return e as unknown as SignedMessage;
}

function checkTrust(trust: MessageTrust): { operator: Uint8Array; clock: () => number; maxSkewMs: number; certificates: CertificateCache | undefined } {
  if (!isObject(trust)) throw invalid('trust', 'must be an object');
  if (nodeIdProblem(trust.nodeId) !== undefined) throw invalid('trust.nodeId', 'must be a node id');
  const operator = _operatorPublicKey(trust.operatorPublicKey, 'trust.operatorPublicKey');
  if (!isObject(trust.revocations) || typeof trust.revocations.isRevoked !== 'function') throw invalid('trust.revocations', 'must be a Revocations');
  if (!isObject(trust.replayGuard) || typeof trust.replayGuard._remember !== 'function') throw invalid('trust.replayGuard', 'must be a ReplayGuard');
  const clock = trust.clock ?? Date.now;
  if (typeof clock !== 'function') throw invalid('trust.clock', 'must be a function returning ms since the epoch');
  const maxSkewMs = trust.maxSkewMs ?? trust.replayGuard.windowMs;
  if (!Number.isSafeInteger(maxSkewMs) || maxSkewMs < 0 || maxSkewMs > trust.replayGuard.windowMs) {
    throw invalid('trust.maxSkewMs', `must be an integer from 0 to the replay guard's windowMs (${trust.replayGuard.windowMs})`);
  }
  const certificates = trust.certificates;
  if (certificates !== undefined && (!isObject(certificates) || typeof certificates.check !== 'function')) throw invalid('trust.certificates', 'must be a CertificateCache');
  return { operator, clock, maxSkewMs, certificates };
}

/**
 * Checks `envelope` (the object, or its JSON as a string or UTF-8 bytes) against `trust` and returns the message
 * (checks and codes: the file comment). Every refusal is a FederationError whose `field` names the part at fault,
 * counted by code in `trust.replayGuard.stats()`. A bad `trust` throws INVALID_ARGUMENT / INVALID_KEY, uncounted.
 * @example
 * const msg = openMessage(wire, { nodeId: 'node-2', operatorPublicKey, revocations, replayGuard });
 */
export function openMessage(envelope: unknown, trust: MessageTrust): OpenedMessage {
  const { operator, clock, maxSkewMs, certificates } = checkTrust(trust);
  const guard = trust.replayGuard;
  const reading = clock();
  if (!Number.isFinite(reading)) throw invalid('trust.clock', `must return ms since the epoch, returned ${String(reading)}`);
  try {
    const now = guard._advance(reading);
    const e = checkShape(parseEnvelope(envelope));
    const cert = certificates === undefined ? checkCertificate(e.certificate, operator, now, 'certificate') : certificates.check(e.certificate, operator, now, 'certificate');
    if (e.key_id !== cert.key_id) throw new FederationError('UNTRUSTED_KEY', 'key_id is not the key id of the certificate', { field: 'key_id' });
    if (trust.revocations.isRevoked(e.key_id)) throw new FederationError('REVOKED', `key_id ${e.key_id} is revoked`, { field: 'key_id' });
    if (e.source_node !== cert.node_id) {
      throw new FederationError('WRONG_SOURCE', `source_node ${JSON.stringify(e.source_node)} is not the certificate's node ${JSON.stringify(cert.node_id)}`, { field: 'source_node' });
    }
    if (!_verify(DOMAIN_MESSAGE, signedFields(e), _decodeBase64(e.signature, 64)!, cert.publicKey)) {
      throw new FederationError('FORGED', 'signature does not verify with the certified key', { field: 'signature' });
    }
    if (e.target_node !== BROADCAST && e.target_node !== trust.nodeId) {
      throw new FederationError('WRONG_TARGET', `target_node ${JSON.stringify(e.target_node)} is not this node (${JSON.stringify(trust.nodeId)})`, { field: 'target_node' });
    }
    if (now - e.timestamp > maxSkewMs) throw new FederationError('STALE', `timestamp is ${now - e.timestamp} ms old (most ${maxSkewMs})`, { field: 'timestamp' });
    if (e.timestamp - now > maxSkewMs) throw new FederationError('STALE', `timestamp is ${e.timestamp - now} ms in the future (most ${maxSkewMs})`, { field: 'timestamp' });
    guard._remember(e.source_node, e.message_id, e.timestamp, now);
    guard._count('accepted');
    return {
      message_id: e.message_id, source_node: e.source_node, target_node: e.target_node, message_type: e.message_type,
      payload: JSON.parse(_canonicalJson(e.payload)) as unknown, timestamp: e.timestamp, protocol_version: PROTOCOL_VERSION, key_id: e.key_id,
    };
  } catch (err) {
    if (isFederationError(err)) guard._count(err.code);
    throw err;
  }
}
