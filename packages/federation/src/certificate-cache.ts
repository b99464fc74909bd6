// A bounded memory of node certificates that passed checkCertificate (docs/architecture.md, "@tenantry/federation").
//
// Every cluster message carries its sender's certificate, and checking it costs an Ed25519 verification as dear
// as the message's own. A node hears from few peers, each with one certificate for weeks, so openMessage can
// remember the certificates it checked and pay one verification per message instead of two.
//
// Why a hit is as good as a check: checkCertificate's outcome depends only on the certificate's six fields, the
// operator key and `now`. An entry is keyed by the operator key, key_id and signature, and holds the other
// fields; a certificate is a hit only when it has exactly the six fields and every one equals the entry's (a
// signature replayed over another node_id or other dates is a miss and gets the full check, which refuses it).
// What remains is the time, checked on every hit as checkCertificate does (an expired entry is dropped). Only
// certificates that passed are remembered; revocation is checked after, on every message, by key id.
import { FederationError } from './errors.js';
import { _CERT_FIELDS, _checkValidAt, checkCertificate, type CheckedCertificate, type NodeCertificate } from './node-keys.js';
import { _encodeBase64 } from './signing.js';

export interface CertificateCacheOptions {
  /** Most certificates remembered; the least recently used one is forgotten first (default 1024). */
  maxEntries?: number;
}

/** Counts since the cache was made. */
export interface CertificateCacheStats {
  hits: number;
  misses: number;
  size: number;
}

interface Entry {
  readonly cert: NodeCertificate;
  readonly checked: CheckedCertificate;
}

const DEFAULTS = { maxEntries: 1024 };

export class CertificateCache {
  readonly maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  #hits = 0;
  #misses = 0;

  constructor(options: CertificateCacheOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new FederationError('INVALID_ARGUMENT', 'options must be an object', { field: 'options' });
    const o = { ...DEFAULTS, ...options };
    if (!Number.isSafeInteger(o.maxEntries) || o.maxEntries < 1) {
      throw new FederationError('INVALID_ARGUMENT', `options.maxEntries must be a positive integer, got ${String(o.maxEntries)}`, { field: 'options.maxEntries' });
    }
    this.maxEntries = o.maxEntries;
  }

  /**
   * checkCertificate(cert, operatorPublicKey, now, field), answered from memory when this exact certificate
   * passed before under this operator key (see the file comment). Same errors as checkCertificate.
   */
  check(cert: unknown, operatorPublicKey: Uint8Array, now: number, field = 'certificate'): CheckedCertificate {
    const key = cacheKey(cert, operatorPublicKey);
    const hit = key === undefined ? undefined : this.#entries.get(key);
    if (hit !== undefined && sameCertificate(cert as Record<string, unknown>, hit.cert)) {
      try {
        _checkValidAt(hit.cert, now, field);
      } catch (e) {
        if (now > hit.cert.not_after) this.#entries.delete(key!);
        throw e;
      }
      this.#hits++;
      // Least recently used order: a hit moves to the end.
      this.#entries.delete(key!);
      this.#entries.set(key!, hit);
      return { node_id: hit.checked.node_id, key_id: hit.checked.key_id, publicKey: hit.checked.publicKey };
    }
    this.#misses++;
    const checked = checkCertificate(cert, operatorPublicKey, now, field);
    if (key !== undefined) {
      const c = cert as NodeCertificate;
      this.#entries.delete(key);
      while (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(key, {
        cert: { node_id: c.node_id, public_key: c.public_key, key_id: c.key_id, not_before: c.not_before, not_after: c.not_after, signature: c.signature },
        checked: { node_id: checked.node_id, key_id: checked.key_id, publicKey: checked.publicKey },
      });
    }
    return checked;
  }

  /** Forgets every certificate. */
  clear(): void {
    this.#entries.clear();
  }

  stats(): CertificateCacheStats {
    return { hits: this.#hits, misses: this.#misses, size: this.#entries.size };
  }
}

function cacheKey(cert: unknown, operatorPublicKey: Uint8Array): string | undefined {
  if (typeof cert !== 'object' || cert === null || !(operatorPublicKey instanceof Uint8Array)) return undefined;
  const { key_id: keyId, signature } = cert as Record<string, unknown>;
  if (typeof keyId !== 'string' || typeof signature !== 'string') return undefined;
  return `${_encodeBase64(operatorPublicKey)}\n${keyId}\n${signature}`;
}

function sameCertificate(cert: Record<string, unknown>, known: NodeCertificate): boolean {
  if (Object.getPrototypeOf(cert) !== Object.prototype && Object.getPrototypeOf(cert) !== null) return false;
  const keys = Object.keys(cert);
  if (keys.length !== _CERT_FIELDS.length) return false;
  for (const k of _CERT_FIELDS) {
    if (!Object.hasOwn(cert, k) || cert[k] !== (known as unknown as Record<string, unknown>)[k]) return false;
  }
  return true;
}
