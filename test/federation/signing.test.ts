// Signatures of cluster messages are made and checked by node:crypto on the hot path (packages/federation/src/
// signing.ts); @noble/curves in its strict form is the reference. Ed25519 signing is deterministic (RFC 8032), so
// every signature must be byte for byte the one @noble/curves makes; and openMessage must accept exactly what
// @noble/curves' strict verification accepts: honest signatures, never a flipped bit, never S + L (the same
// equation with an unreduced S, which RFC 8032 §5.1.7 refuses).
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@tenantry/audit';
import {
  DOMAIN_MESSAGE, generateOperatorKey, isFederationError, issueNodeKey, openMessage, ReplayGuard, Revocations, signMessage, type SignedMessage,
} from '@tenantry/federation';
import { rng } from '../helpers/random.js';

const operator = generateOperatorKey('signing.test');
const node = issueNodeKey(operator, { node_id: 'node-a', not_before: Date.now() - 60_000, not_after: Date.now() + 86_400_000 });
const seed = new Uint8Array(Buffer.from(node.secret_key, 'base64'));
const publicKey = new Uint8Array(Buffer.from(node.public_key, 'base64'));
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** The bytes a message's signature covers (DOMAIN_MESSAGE ‖ RFC 8785 JSON of its signed fields). */
function signedBytes(m: SignedMessage): Uint8Array {
  const { signature: _s, certificate: _c, ...fields } = m;
  return new TextEncoder().encode(DOMAIN_MESSAGE + canonicalJson(fields));
}

function opens(m: SignedMessage): boolean {
  const trust = { nodeId: 'node-b', operatorPublicKey: operator.public_key, revocations: new Revocations(operator.public_key), replayGuard: new ReplayGuard({ windowMs: 60_000 }) };
  try {
    openMessage(m, trust);
    return true;
  } catch (e) {
    if (isFederationError(e) && e.code === 'FORGED') return false;
    throw e;
  }
}

const withSignature = (m: SignedMessage, sig: Uint8Array): SignedMessage => ({ ...m, signature: Buffer.from(sig).toString('base64') });

describe('message signatures: node:crypto against @noble/curves (strict)', () => {
  const next = rng(0x5167);
  const messages = Array.from({ length: 300 }, (_, i) => signMessage({
    target_node: 'node-b', message_type: 'test.message', payload: { i, text: 'é\u2028😀'.repeat(next() % 5), n: next() / 7 },
  }, node));

  it('signs exactly the bytes @noble/curves signs', () => {
    for (const m of messages) {
      expect(m.signature).toBe(Buffer.from(ed25519.sign(signedBytes(m), seed)).toString('base64'));
    }
  });

  it('accepts exactly what the strict verification accepts: honest, bit-flipped and unreduced signatures', () => {
    let flipped = 0;
    for (const m of messages) {
      const bytes = signedBytes(m);
      const sig = new Uint8Array(Buffer.from(m.signature, 'base64'));
      expect(opens(m)).toBe(true);
      expect(ed25519.verify(sig, bytes, publicKey, { zip215: false })).toBe(true);
      for (let k = 0; k < 4; k++) {
        const bad = sig.slice();
        bad[next() % 64]! ^= 1 << (next() % 8);
        const reference = ed25519.verify(bad, bytes, publicKey, { zip215: false });
        expect(opens(withSignature(m, bad))).toBe(reference);
        flipped++;
      }
      // S + L: the same point equation, an encoding RFC 8032 refuses (S must be below L).
      let s = 0n;
      for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
      const unreduced = s + L;
      if (unreduced < 2n ** 256n) {
        const bad = sig.slice();
        let v = unreduced;
        for (let i = 32; i < 64; i++) {
          bad[i] = Number(v & 0xffn);
          v >>= 8n;
        }
        expect(ed25519.verify(bad, bytes, publicKey, { zip215: false })).toBe(false);
        expect(opens(withSignature(m, bad))).toBe(false);
      }
    }
    expect(flipped).toBe(1200);
  });
});
