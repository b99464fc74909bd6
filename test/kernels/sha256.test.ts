// SHA-256 kernels (sha256, sha256Batch, sha256Many) against published known answers and against
// node:crypto, on both builds. Inputs are seeded, so a failure names a reproducible case.
import { describe, expect, it } from 'vitest';
import { sha256, sha256Batch, sha256Many } from '@tenantry/kernels';
import {
  BUILDS, MiB, hex, nodeSha256, nodeSha256Batch, nodeSha256Each, randomBytes, rng, useBuild, utf8,
} from '../helpers/kernels.js';

interface KnownAnswer {
  name: string;
  message: () => Uint8Array;
  digest: string;
}

const repeat = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);

// Known answers. Each records where it was published; all are also re-checked against node:crypto.
const KNOWN_ANSWERS: KnownAnswer[] = [
  // NIST CSRC "Examples with Intermediate Values", SHA256.pdf (one-block message); FIPS 180-2 Appendix B.1.
  { name: '"abc"', message: () => utf8('abc'), digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
  // NIST CSRC SHA256.pdf (two-block, 448-bit message); FIPS 180-2 Appendix B.2.
  {
    name: '448-bit "abcdbcdecdef…nopq"',
    message: () => utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  },
  // The 896-bit message of FIPS 180-2 Appendix C.2 / D.2 (the SHA-384/512 two-block example); its
  // SHA-256 digest as tabulated in "Test vectors for SHA-1, SHA-2 and SHA-3", di-mgt.com.au/sha_testvectors.html.
  {
    name: '896-bit "abcdefghbcdefghi…nopqrstu"',
    message: () => utf8('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    digest: 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  },
  // FIPS 180-2 Appendix B.3: one million repetitions of 'a'.
  { name: 'one million "a"', message: () => repeat(0x61, 1_000_000), digest: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0' },
  // Empty message: the RFC 6962 empty-tree root, which RFC 6962 §2.1 defines as SHA-256() —
  // roots_by_size_hex[0] of test/vectors/rfc6962.json (transparency-dev/merkle testonly/constants.go).
  { name: 'empty', message: () => new Uint8Array(0), digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  // NIST CSRC "SHA-2 additional examples", SHA2_Additional.pdf, SHA-256 #1..#10 (padding edges 55/56/57/64).
  { name: 'SHA2_Additional #1: 0xbd', message: () => Uint8Array.of(0xbd), digest: '68325720aabd7c82f30f554b313d0570c95accbb7dc4b5aae11204c08ffe732b' },
  { name: 'SHA2_Additional #2: 0xc98c8e55', message: () => Uint8Array.of(0xc9, 0x8c, 0x8e, 0x55), digest: '7abc22c0ae5af26ce93dbb94433a0e0b2e119d014f8e7f65bd56c61ccccd9504' },
  { name: 'SHA2_Additional #3: 55 zero bytes', message: () => repeat(0, 55), digest: '02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7' },
  { name: 'SHA2_Additional #4: 56 zero bytes', message: () => repeat(0, 56), digest: 'd4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb' },
  { name: 'SHA2_Additional #5: 57 zero bytes', message: () => repeat(0, 57), digest: '65a16cb7861335d5ace3c60718b5052e44660726da4cd13bb745381b235a1785' },
  { name: 'SHA2_Additional #6: 64 zero bytes', message: () => repeat(0, 64), digest: 'f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b' },
  { name: 'SHA2_Additional #7: 1000 zero bytes', message: () => repeat(0, 1000), digest: '541b3e9daa09b20bf85fa273e5cbd3e80185aa4ec298e765db87742b70138a53' },
  { name: 'SHA2_Additional #8: 1000 × 0x41', message: () => repeat(0x41, 1000), digest: 'c2e686823489ced2017f6059b8b239318b6364f6dcd835d0a519105a1eadd6e4' },
  { name: 'SHA2_Additional #9: 1005 × 0x55', message: () => repeat(0x55, 1005), digest: 'f4d62ddec0f3dd90ea1380fa16a5ff8dc4c54b21740650f24afc4120903552b0' },
  { name: 'SHA2_Additional #10: 1000000 zero bytes', message: () => repeat(0, 1_000_000), digest: 'd29751f2649b32ff572b5e0a9f541ea660a50f94ff0beedfb0b692b924cc8025' },
];

/** Lengths at the edges of one padded block (55 | 56), of a block (63 | 64) and of two blocks. */
const BLOCK_EDGES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129];

/** Lengths around the 1 MiB point where sha256 switches from one kernel call to streaming. */
const STREAM_EDGES = [MiB - 65, MiB - 64, MiB - 1, MiB, MiB + 1, MiB + 55, MiB + 56, MiB + 63, MiB + 64, MiB + 119, MiB + 120, 2 * MiB, 2 * MiB + 1, 3 * MiB + 12_345];

const SMALL = randomBytes(1100 + 64, 0x5a256);
const LARGE = randomBytes(7 * MiB + 64, 0x1a29e);

describe('known answers are what node:crypto computes (guards the table)', () => {
  it.each(KNOWN_ANSWERS)('$name', ({ message, digest }) => {
    expect(hex(nodeSha256(message()))).toBe(digest);
  });
});

describe.each(BUILDS)('sha256 (%s build)', (build) => {
  useBuild(build);

  it.each(KNOWN_ANSWERS)('known answer: $name', ({ message, digest }) => {
    expect(hex(sha256(message()))).toBe(digest);
  });

  it('equals node:crypto for every length 0..1100', () => {
    const wrong: number[] = [];
    for (let len = 0; len <= 1100; len++) {
      const m = SMALL.subarray(0, len);
      if (hex(sha256(m)) !== hex(nodeSha256(m))) wrong.push(len);
    }
    expect(wrong).toEqual([]);
  });

  it('equals node:crypto at block edges, also on views at every byte offset', () => {
    for (const len of BLOCK_EDGES) {
      for (let offset = 0; offset < 8; offset++) {
        const m = SMALL.subarray(offset, offset + len);
        expect(hex(sha256(m)), `len ${len} offset ${offset}`).toBe(hex(nodeSha256(m)));
      }
    }
  });

  it('equals node:crypto around the 1 MiB streaming threshold', () => {
    for (const len of STREAM_EDGES) {
      const m = LARGE.subarray(0, len);
      expect(hex(sha256(m)), `len ${len}`).toBe(hex(nodeSha256(m)));
    }
  });

  it('equals node:crypto for random large inputs (1..7 MiB, unaligned views)', () => {
    const next = rng(0xb16);
    for (let i = 0; i < 6; i++) {
      const offset = next() % 64;
      const len = MiB + (next() % (6 * MiB));
      const m = LARGE.subarray(offset, offset + len);
      expect(hex(sha256(m)), `offset ${offset} len ${len}`).toBe(hex(nodeSha256(m)));
    }
  });

  it('accepts a Buffer (a Uint8Array), including one from the shared pool', () => {
    expect(hex(sha256(Buffer.from('abc')))).toBe(KNOWN_ANSWERS[0]!.digest);
    const view = Buffer.from(SMALL.subarray(0, 100)).subarray(7, 90);
    expect(hex(sha256(view))).toBe(hex(nodeSha256(view)));
  });

  it('returns a fresh array that later calls do not overwrite', () => {
    const a = sha256(utf8('abc'));
    const b = sha256(LARGE.subarray(0, 2 * MiB + 1));
    const c = sha256(utf8('abd'));
    expect(hex(a)).toBe(KNOWN_ANSWERS[0]!.digest);
    expect(hex(b)).toBe(hex(nodeSha256(LARGE.subarray(0, 2 * MiB + 1))));
    expect(hex(c)).toBe(hex(nodeSha256(utf8('abd'))));
    expect(a.length).toBe(32);
  });
});

describe.each(BUILDS)('sha256Batch (%s build)', (build) => {
  useBuild(build);

  // A count that is not a multiple of four leaves SIMD lanes idle at the end.
  it.each([1, 32, 55, 56, 63, 64, 65, 119, 120, 200, 1000])('fixed length %i, 37 messages', (len) => {
    const data = LARGE.subarray(0, 37 * len);
    expect(hex(sha256Batch(data, len))).toBe(hex(nodeSha256Batch(data, len)));
  });

  it.each([1, 2, 3, 4, 5, 8])('fixed length 64, %i messages', (n) => {
    const data = LARGE.subarray(64, 64 + 64 * n);
    expect(hex(sha256Batch(data, 64))).toBe(hex(nodeSha256Batch(data, 64)));
  });

  // Batches larger than the 1 MiB that one kernel call takes: the chunk boundary falls between
  // messages (floor(1 MiB / len) messages per call).
  it.each([
    [64, (1 << 14) + 5],
    [55, Math.floor(MiB / 55) * 2 + 7],
    [56, Math.floor(MiB / 56) + 1],
    [200, Math.floor(MiB / 200) * 2 + 3],
    [4096, 3 * 256 + 1],
  ])('length %i × %i messages crosses the 1 MiB chunk', (len, n) => {
    const data = LARGE.subarray(0, len * n);
    expect(hex(sha256Batch(data, len))).toBe(hex(nodeSha256Batch(data, len)));
  });

  it('length 1 × (2^20 + 5) messages crosses the chunk (digests checked against a 256-entry table)', () => {
    const n = MiB + 5;
    const data = LARGE.subarray(3, 3 + n);
    const table = Array.from({ length: 256 }, (_, b) => hex(nodeSha256(Uint8Array.of(b))));
    const out = sha256Batch(data, 1);
    expect(out.length).toBe(32 * n);
    const wrong: number[] = [];
    for (let i = 0; i < n; i++) {
      if (hex(out.subarray(32 * i, 32 * i + 32)) !== table[data[i]!]) wrong.push(i);
      if (wrong.length > 10) break;
    }
    expect(wrong).toEqual([]);
  });

  it('messages longer than 1 MiB each take a call of their own', () => {
    const len = MiB + 1;
    const data = LARGE.subarray(0, 3 * len);
    expect(hex(sha256Batch(data, len))).toBe(hex(nodeSha256Batch(data, len)));
  });

  it('one message (messageLength = data.length) equals sha256; no data gives no digests', () => {
    const data = SMALL.subarray(0, 777);
    expect(hex(sha256Batch(data, 777))).toBe(hex(nodeSha256(data)));
    expect(sha256Batch(new Uint8Array(0), 64)).toEqual(new Uint8Array(0));
  });
});

/** Message lengths for one sha256Many call: mostly short, some long, so lanes finish at different times. */
function mixedLengths(seed: number, n: number): number[] {
  const next = rng(seed);
  return Array.from({ length: n }, () => {
    const r = next() % 100;
    if (r < 10) return 0;
    if (r < 80) return next() % 200;
    if (r < 95) return 200 + (next() % 2000);
    return 10_000 + (next() % 60_000);
  });
}

function messagesOf(lengths: readonly number[], seed: number): Uint8Array[] {
  const next = rng(seed);
  return lengths.map((len) => {
    const at = next() % (LARGE.length - len);
    return LARGE.subarray(at, at + len);
  });
}

describe.each(BUILDS)('sha256Many (%s build)', (build) => {
  useBuild(build);

  it('mixed lengths in one call (203 messages, 0..70 000 bytes)', () => {
    const messages = messagesOf(mixedLengths(0x3a7, 203), 1);
    expect(hex(sha256Many(messages))).toBe(hex(nodeSha256Each(messages)));
  });

  it.each([
    ['one long message beside many short ones', [5000, 0, 0, 0, 0, 0, 1, 64, 55, 56, 3000, 0, 7]],
    ['long messages last', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9000, 9001, 9002]],
    ['lengths that end every lane on a different block', [55, 56, 119, 120, 183, 184, 247, 248, 311]],
    ['every block edge', BLOCK_EDGES],
    ['single message', [1000]],
    ['two messages', [64, 65]],
    ['only empty messages', [0, 0, 0, 0, 0]],
  ])('%s', (_name, lengths) => {
    const messages = messagesOf(lengths, 2);
    expect(hex(sha256Many(messages))).toBe(hex(nodeSha256Each(messages)));
  });

  it('more than 1 MiB of messages in one call (several internal chunks)', () => {
    const lengths = [...mixedLengths(0xc4, 300), ...Array.from({ length: 40 }, (_, i) => 40_000 + i)];
    const messages = messagesOf(lengths, 3);
    expect(lengths.reduce((a, b) => a + b, 0)).toBeGreaterThan(2 * MiB);
    expect(hex(sha256Many(messages))).toBe(hex(nodeSha256Each(messages)));
  });

  it('a message longer than 1 MiB among short ones', () => {
    const messages = messagesOf([10, MiB + 3, 20, 0, 2 * MiB, 33], 4);
    expect(hex(sha256Many(messages))).toBe(hex(nodeSha256Each(messages)));
  });

  it('Buffers, copies and views mixed; an empty list gives no digests', () => {
    const messages = [Buffer.from('abc'), new Uint8Array(SMALL.subarray(5, 100)), SMALL.subarray(1, 2), Buffer.alloc(64, 7)];
    expect(hex(sha256Many(messages))).toBe(hex(nodeSha256Each(messages)));
    expect(sha256Many([])).toEqual(new Uint8Array(0));
  });

  it('agrees with sha256Batch and sha256 on the same messages', () => {
    const data = SMALL.subarray(0, 65 * 11);
    const messages = Array.from({ length: 11 }, (_, i) => data.subarray(65 * i, 65 * i + 65));
    const many = sha256Many(messages);
    expect(hex(many)).toBe(hex(sha256Batch(data, 65)));
    messages.forEach((m, i) => expect(hex(many.subarray(32 * i, 32 * i + 32))).toBe(hex(sha256(m))));
  });
});
