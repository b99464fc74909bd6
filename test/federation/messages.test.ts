// Signed cluster messages, node certificates, revocation lists and the replay guard, through the public entry
// point: the round trip, each refusal by its code, a seeded fuzz of mutated envelopes, revocation in force at once.
import { describe, expect, it } from 'vitest';
import {
  BROADCAST, ReplayGuard, Revocations, checkRevocationList, generateOperatorKey, isFederationError, issueNodeKey,
  nextRevocationList, openMessage, signMessage, signRevocationList,
  type MessageTrust, type NodeKey, type SignedMessage,
} from '@tenantry/federation';

const T0 = 1_750_000_000_000;
const DAY = 86_400_000;
const WINDOW = 30_000;

const operator = generateOperatorKey('test-cluster');
const nodeA = issueNodeKey(operator, { node_id: 'node-a', not_before: T0 - DAY, not_after: T0 + DAY });
const nodeB = issueNodeKey(operator, { node_id: 'node-b', not_before: T0 - DAY, not_after: T0 + DAY });

let ids = 0;
function msg(over: Partial<Parameters<typeof signMessage>[0]> = {}, key: NodeKey = nodeA): SignedMessage {
  return signMessage({ message_id: `m-${++ids}`, target_node: 'node-b', message_type: 'shard.handoff', payload: { shard: 7, roots: ['ab', 'cd'], note: 'é ✓' }, timestamp: T0, ...over }, key);
}

function trust(over: Partial<MessageTrust> = {}): MessageTrust & { now: { t: number } } {
  const now = { t: T0 };
  return {
    nodeId: 'node-b', operatorPublicKey: operator.public_key, revocations: new Revocations(operator.public_key),
    replayGuard: new ReplayGuard({ windowMs: WINDOW }), clock: () => now.t, maxSkewMs: WINDOW, now, ...over,
  };
}

/** The code openMessage refuses with (undefined when it accepts). */
function refusal(envelope: unknown, t: MessageTrust): string | undefined {
  try {
    openMessage(envelope, t);
    return undefined;
  } catch (e) {
    if (!isFederationError(e)) throw e;
    expect(e.field, e.message).toBeTypeOf('string');
    return e.code;
  }
}

const copy = (m: SignedMessage): Record<string, unknown> => JSON.parse(JSON.stringify(m)) as Record<string, unknown>;

describe('round trip', () => {
  it('a signed message opens from its object, its JSON text and its UTF-8 bytes', () => {
    const t = trust();
    const m = msg();
    const opened = openMessage(JSON.stringify(m), t);
    expect(opened).toEqual({
      message_id: m.message_id, source_node: 'node-a', target_node: 'node-b', message_type: 'shard.handoff',
      payload: { shard: 7, roots: ['ab', 'cd'], note: 'é ✓' }, timestamp: T0, protocol_version: '1.0', key_id: nodeA.key_id,
    });
    expect(openMessage(msg(), t).source_node).toBe('node-a');
    expect(openMessage(new TextEncoder().encode(JSON.stringify(msg())), t).message_type).toBe('shard.handoff');
    expect(openMessage(msg({ target_node: BROADCAST }), t).target_node).toBe('*');
    expect(t.replayGuard.stats()).toEqual({ accepted: 4, refused: {}, remembered: 4 });
  });

  it('signs a copy of the payload and defaults the id, source and timestamp', () => {
    const payload = { a: [1, 2] };
    const now = Date.now();
    const key = issueNodeKey(operator, { node_id: 'node-a', not_before: now - DAY, not_after: now + DAY });
    const m = signMessage({ target_node: 'node-b', message_type: 'ping', payload }, key);
    payload.a.push(3);
    expect(m.payload).toEqual({ a: [1, 2] });
    expect(m.source_node).toBe('node-a');
    const t = trust();
    t.now.t = m.timestamp;
    expect(openMessage(m, t).payload).toEqual({ a: [1, 2] });
  });

  it('refuses to sign what it could not send, naming the field', () => {
    const bad = (m: Record<string, unknown>, key: unknown = nodeA) => {
      try {
        signMessage(m as never, key as NodeKey);
        return undefined;
      } catch (e) {
        return isFederationError(e) ? `${e.code} ${e.field}` : String(e);
      }
    };
    const ok = { target_node: 'node-b', message_type: 'x', payload: null, timestamp: T0 };
    expect(bad(ok)).toBeUndefined();
    expect(bad({ ...ok, source_node: 'node-b' })).toBe('INVALID_ARGUMENT message.source_node');
    expect(bad({ ...ok, payload: { n: Number.NaN } })).toBe('INVALID_ARGUMENT message.payload');
    expect(bad({ ...ok, payload: new Date() })).toBe('INVALID_ARGUMENT message.payload');
    expect(bad({ ...ok, target_node: 'a b' })).toBe('INVALID_ARGUMENT message.target_node');
    expect(bad({ ...ok, timestamp: -1 })).toBe('INVALID_ARGUMENT message.timestamp');
    expect(bad({ ...ok, message_id: '' })).toBe('INVALID_ARGUMENT message.message_id');
    expect(bad(ok, { ...nodeA, secret_key: nodeB.secret_key })).toBe('INVALID_KEY nodeKey');
    expect(bad(ok, { ...nodeA, certificate: nodeB.certificate })).toBe('INVALID_KEY nodeKey.certificate');
  });
});

describe('each refusal has its code', () => {
  it('UNSIGNED, MALFORMED and UNSUPPORTED_VERSION before any signature is checked', () => {
    const t = trust();
    for (const f of ['signature', 'key_id', 'certificate']) {
      const e = copy(msg());
      delete e[f];
      expect(refusal(e, t), f).toBe('UNSIGNED');
    }
    expect(refusal('{"message_id":', t)).toBe('MALFORMED');
    expect(refusal(new Uint8Array([0x7b, 0xff, 0x7d]), t)).toBe('MALFORMED');
    expect(refusal([], t)).toBe('MALFORMED');
    expect(refusal({ ...copy(msg()), extra: 1 }, t)).toBe('MALFORMED');
    expect(refusal({ ...copy(msg()), timestamp: String(T0) }, t)).toBe('MALFORMED');
    expect(refusal({ ...copy(msg()), signature: 'AAAA' }, t)).toBe('MALFORMED');
    expect(refusal({ ...copy(msg()), certificate: { ...nodeA.certificate, extra: true } }, t)).toBe('MALFORMED');
    expect(refusal(JSON.stringify(msg()).replace('{', '{"__proto__":{},'), t)).toBe('MALFORMED');
    expect(refusal({ ...copy(msg()), protocol_version: '2.0' }, t)).toBe('UNSUPPORTED_VERSION');
    expect(t.replayGuard.stats().refused).toEqual({ UNSIGNED: 3, MALFORMED: 8, UNSUPPORTED_VERSION: 1 });
    expect(t.replayGuard.stats().accepted).toBe(0);
  });

  it('UNTRUSTED_KEY: another operator, an expired or not yet valid certificate, a key id that is not the certificate\'s', () => {
    const t = trust();
    const rogue = generateOperatorKey('rogue');
    const rogueNode = issueNodeKey(rogue, { node_id: 'node-a', not_before: T0 - DAY, not_after: T0 + DAY });
    expect(refusal(msg({}, rogueNode), t)).toBe('UNTRUSTED_KEY');
    const expired = issueNodeKey(operator, { node_id: 'node-a', not_before: T0 - 2 * DAY, not_after: T0 - 1 });
    expect(refusal(msg({}, expired), t)).toBe('UNTRUSTED_KEY');
    const future = issueNodeKey(operator, { node_id: 'node-a', not_before: T0 + 1, not_after: T0 + DAY });
    expect(refusal(msg({}, future), t)).toBe('UNTRUSTED_KEY');
    expect(refusal({ ...copy(msg()), certificate: { ...nodeA.certificate, not_after: T0 + 2 * DAY } }, t)).toBe('UNTRUSTED_KEY');
    expect(refusal({ ...copy(msg()), key_id: nodeB.key_id }, t)).toBe('UNTRUSTED_KEY');
    expect(t.replayGuard.stats().refused).toEqual({ UNTRUSTED_KEY: 5 });
  });

  it('WRONG_SOURCE, FORGED, WRONG_TARGET, STALE and REPLAYED', () => {
    const t = trust();
    expect(refusal({ ...copy(msg({}, nodeB)), source_node: 'node-a' }, t)).toBe('WRONG_SOURCE');
    const sig = Buffer.from(msg().signature, 'base64');
    sig[10]! ^= 1;
    expect(refusal({ ...copy(msg()), signature: sig.toString('base64') }, t)).toBe('FORGED');
    expect(refusal({ ...copy(msg()), payload: { shard: 8, roots: ['ab', 'cd'], note: 'é ✓' } }, t)).toBe('FORGED');
    expect(refusal({ ...copy(msg()), certificate: nodeB.certificate, key_id: nodeB.key_id, source_node: 'node-b' }, t)).toBe('FORGED');
    expect(refusal(msg({ target_node: 'node-c' }), t)).toBe('WRONG_TARGET');
    expect(refusal(msg({ timestamp: T0 - WINDOW - 1 }), t)).toBe('STALE');
    expect(refusal(msg({ timestamp: T0 + WINDOW + 1 }), t)).toBe('STALE');
    expect(refusal(msg({ timestamp: T0 - WINDOW }), t)).toBeUndefined();
    expect(refusal(msg({ timestamp: T0 + WINDOW }), t)).toBeUndefined();
    const once = msg();
    expect(refusal(once, t)).toBeUndefined();
    expect(refusal(once, t)).toBe('REPLAYED');
    expect(refusal(JSON.stringify(once), t)).toBe('REPLAYED');
    // The same id from another node is another message.
    expect(refusal(msg({ message_id: once.message_id }, nodeB), trust({ replayGuard: t.replayGuard, nodeId: 'node-b' }))).toBeUndefined();
    expect(t.replayGuard.stats()).toMatchObject({
      accepted: 4, refused: { WRONG_SOURCE: 1, FORGED: 3, WRONG_TARGET: 1, STALE: 2, REPLAYED: 2 },
    });
  });

  it('forgets ids once their messages are stale, so memory stays bounded and nothing replays', () => {
    const t = trust();
    const old = msg();
    expect(refusal(old, t)).toBeUndefined();
    for (let i = 1; i <= 100; i++) {
      t.now.t = T0 + i * 1000;
      expect(refusal(msg({ timestamp: t.now.t }), t)).toBeUndefined();
    }
    expect(t.replayGuard.stats().remembered).toBeLessThanOrEqual(Math.ceil(1.25 * WINDOW / 1000) + 2);
    expect(refusal(old, t)).toBe('STALE');
    // A clock that steps back does not bring the forgotten message into the window again.
    t.now.t = T0;
    expect(refusal(old, t)).toBe('STALE');
  });

  it('refuses new messages when the guard is full rather than forgetting an id early', () => {
    const t = trust({ replayGuard: new ReplayGuard({ windowMs: WINDOW, maxEntries: 3 }) });
    for (let i = 0; i < 3; i++) expect(refusal(msg(), t)).toBeUndefined();
    expect(refusal(msg(), t)).toBe('REPLAY_GUARD_FULL');
    t.now.t = T0 + WINDOW + 1;
    expect(refusal(msg({ timestamp: t.now.t }), t)).toBeUndefined();
  });

  it('a bad trust is a programming error, thrown uncounted', () => {
    const t = trust();
    const code = (over: Partial<MessageTrust>) => {
      try {
        openMessage(msg(), { ...t, ...over });
        return undefined;
      } catch (e) {
        return isFederationError(e) ? `${e.code} ${e.field}` : String(e);
      }
    };
    expect(code({ maxSkewMs: WINDOW + 1 })).toBe('INVALID_ARGUMENT trust.maxSkewMs');
    expect(code({ operatorPublicKey: 'nope' })).toBe('INVALID_KEY trust.operatorPublicKey');
    expect(code({ nodeId: '' })).toBe('INVALID_ARGUMENT trust.nodeId');
    expect(code({ clock: () => Number.NaN })).toBe('INVALID_ARGUMENT trust.clock');
    expect(t.replayGuard.stats()).toEqual({ accepted: 0, refused: {}, remembered: 0 });
  });
});

describe('revocation', () => {
  it('is obeyed by the very next message, and an older or the same list is refused', () => {
    const t = trust();
    expect(refusal(msg(), t)).toBeUndefined();
    const v1 = nextRevocationList(operator, undefined, nodeA.key_id, T0);
    t.revocations.accept(v1);
    expect(t.revocations.version).toBe(1);
    expect(refusal(msg(), t)).toBe('REVOKED');
    expect(refusal(msg({}, nodeB), trust({ revocations: t.revocations, nodeId: 'node-b' }))).toBeUndefined();

    // v2 un-revokes node-a and revokes node-b; the replayed v1 cannot bring node-a's revocation back.
    const v2 = signRevocationList(operator, { version: 2, revoked: [nodeB.key_id], issued_at: T0 + 1 });
    t.revocations.accept(v2);
    expect(refusal(msg(), t)).toBeUndefined();
    const rollback = (list: unknown) => {
      try {
        t.revocations.accept(list);
        return undefined;
      } catch (e) {
        return isFederationError(e) ? `${e.code} ${e.field}` : String(e);
      }
    };
    expect(rollback(v1)).toBe('REVOCATION_ROLLBACK list.version');
    expect(rollback(v2)).toBe('REVOCATION_ROLLBACK list.version');
    expect(t.revocations.version).toBe(2);
    expect(t.revocations.isRevoked(nodeA.key_id)).toBe(false);
    expect(t.revocations.isRevoked(nodeB.key_id)).toBe(true);

    const rogue = generateOperatorKey('rogue');
    expect(rollback(signRevocationList(rogue, { version: 9, revoked: [], issued_at: T0 }))).toBe('FORGED list.signature');
    expect(rollback({ ...v2, version: 3 })).toBe('FORGED list.signature');
    expect(rollback({ ...v2, revoked: [nodeB.key_id, nodeB.key_id] })).toBe('MALFORMED list.revoked[1]');
    expect(rollback({ ...v2, extra: 1 })).toBe('MALFORMED list');
    expect(t.revocations.version).toBe(2);
    expect(t.revocations.list).toEqual(v2);
  });

  it('nextRevocationList adds to the previous list, sorted and signed', () => {
    const v1 = nextRevocationList(operator, undefined, 'ffffffff', T0);
    const v2 = nextRevocationList(operator, v1, '00000000', T0 + 5);
    expect(v2).toMatchObject({ version: 2, revoked: ['00000000', 'ffffffff'], issued_at: T0 + 5 });
    expect(checkRevocationList(v2, new Uint8Array(Buffer.from(operator.public_key, 'base64')))).toEqual(v2);
  });
});

// ---- fuzz ----------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so a failure replays. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON with sorted keys: equal exactly when two values are the same message. */
function canon(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canon(o[k])}`).join(',')}}`;
}

const REFUSALS = new Set(['UNSIGNED', 'MALFORMED', 'UNSUPPORTED_VERSION', 'UNTRUSTED_KEY', 'REVOKED', 'WRONG_SOURCE', 'FORGED', 'WRONG_TARGET', 'STALE', 'REPLAYED']);

describe('fuzz: 10 000 mutated envelopes (seed 0x5eed)', () => {
  it('accepts exactly the envelopes that still say the same message, and refuses every other with a code', () => {
    const rand = prng(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const originals = Array.from({ length: 40 }, (_, i) => msg({
      payload: { i, list: [i, 'x', { deep: [true, null, i / 3] }], text: `p-${i}-é` },
      target_node: i % 5 === 0 ? BROADCAST : i % 2 === 0 ? 'node-b' : 'node-a',
    }, i % 2 === 0 ? nodeA : nodeB));
    const encoder = new TextEncoder();
    const flipChar = (s: string): string => {
      const i = Math.floor(rand() * s.length);
      const c = s.charCodeAt(i) ^ (1 << Math.floor(rand() * 6));
      return s.slice(0, i) + String.fromCharCode(c) + s.slice(i + 1);
    };
    const FIELDS = ['message_id', 'source_node', 'target_node', 'message_type', 'payload', 'timestamp', 'protocol_version', 'key_id', 'signature', 'certificate'];
    const mutations: Record<string, (m: SignedMessage) => Uint8Array | Record<string, unknown>> = {
      'flip-bit-anywhere': (m) => {
        const b = encoder.encode(JSON.stringify(m));
        b[Math.floor(rand() * b.length)]! ^= 1 << Math.floor(rand() * 8);
        return b;
      },
      'flip-signature': (m) => ({ ...copy(m), signature: flipChar(m.signature) }),
      'flip-payload-text': (m) => ({ ...copy(m), payload: { ...(m.payload as object), text: flipChar((m.payload as { text: string }).text) } }),
      'flip-message-id': (m) => ({ ...copy(m), message_id: flipChar(m.message_id) }),
      'flip-source': (m) => ({ ...copy(m), source_node: flipChar(m.source_node) }),
      'flip-key-id': (m) => ({ ...copy(m), key_id: flipChar(m.key_id) }),
      'flip-cert-field': (m) => {
        const cert = { ...m.certificate } as Record<string, unknown>;
        const f = pick(['node_id', 'public_key', 'key_id', 'signature']);
        cert[f] = flipChar(String(cert[f]));
        return { ...copy(m), certificate: cert };
      },
      'shift-timestamp': (m) => ({ ...copy(m), timestamp: m.timestamp + pick([-1, 1, -WINDOW - 1, WINDOW + 1, 1000]) }),
      'shift-cert-validity': (m) => ({ ...copy(m), certificate: { ...m.certificate, [pick(['not_before', 'not_after'])]: m.certificate.not_after + 1 } }),
      'swap-fields': (m) => {
        const e = copy(m);
        const a = pick(FIELDS);
        const b = pick(FIELDS);
        [e[a], e[b]] = [e[b], e[a]];
        return e;
      },
      'swap-certificate': (m) => ({ ...copy(m), certificate: m.source_node === 'node-a' ? nodeB.certificate : nodeA.certificate }),
      'reorder-keys': (m) => {
        const e = copy(m);
        const keys = Object.keys(e).sort(() => rand() - 0.5);
        return Object.fromEntries(keys.map((k) => [k, e[k]]));
      },
      'reorder-payload-array': (m) => {
        const p = m.payload as { list: unknown[] };
        return { ...copy(m), payload: { ...(m.payload as object), list: [...p.list].reverse() } };
      },
      'drop-field': (m) => {
        const e = copy(m);
        delete e[pick(FIELDS)];
        return e;
      },
      'add-field': (m) => ({ ...copy(m), [pick(['extra', 'nonce', 'signature2'])]: rand() }),
      'truncate': (m) => encoder.encode(JSON.stringify(m)).subarray(0, Math.floor(rand() * JSON.stringify(m).length)),
      'trailing-garbage': (m) => encoder.encode(`${JSON.stringify(m)}${pick(['x', '}', ' 1', ',{}'])}`),
    };
    const names = Object.keys(mutations);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const tally: Record<string, { accepted: number; refused: number }> = {};
    const codes = new Set<string>();
    let mismatches: string[] = [];
    for (let n = 0; n < 10_000; n++) {
      const original = pick(originals);
      const name = names[n % names.length]!;
      const mutated = mutations[name]!(original);
      // The oracle: the same message (same values, whatever the key order of its JSON) must be accepted.
      let same = false;
      try {
        const value: unknown = mutated instanceof Uint8Array ? JSON.parse(decoder.decode(mutated)) : mutated;
        same = canon(value) === canon(original);
      } catch {
        same = false;
      }
      const code = refusal(mutated, trust({ nodeId: original.source_node === 'node-a' ? 'node-b' : 'node-a' }));
      const t = (tally[name] ??= { accepted: 0, refused: 0 });
      if (code === undefined) t.accepted++;
      else {
        t.refused++;
        codes.add(code);
        if (!REFUSALS.has(code)) mismatches.push(`#${n} ${name}: unexpected code ${code}`);
      }
      if (same !== (code === undefined)) mismatches.push(`#${n} ${name}: same=${same}, refusal=${String(code)}`);
    }
    mismatches = mismatches.slice(0, 20);
    expect(mismatches).toEqual([]);
    // Every mutation class ran, and every class that changes the message was refused every time.
    for (const name of names) expect((tally[name]!.accepted + tally[name]!.refused), name).toBeGreaterThan(500);
    expect(tally['reorder-keys']).toEqual({ accepted: tally['reorder-keys']!.accepted, refused: 0 });
    for (const name of ['flip-signature', 'flip-payload-text', 'flip-cert-field', 'shift-timestamp', 'shift-cert-validity', 'swap-certificate', 'reorder-payload-array', 'drop-field', 'add-field', 'truncate', 'trailing-garbage']) {
      expect(tally[name]!.accepted, name).toBe(0);
    }
    expect([...codes].sort()).toEqual(expect.arrayContaining(['FORGED', 'MALFORMED', 'UNSIGNED', 'UNTRUSTED_KEY', 'WRONG_SOURCE']));
  });
});
