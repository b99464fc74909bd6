// readBundle against real bundles: every bundle here is built by the pinned OPA (`opa build -t wasm`, signed
// with keys made by node:crypto), and every corruption is applied to a real bundle and re-packed with a correct
// tar and gzip, so that only the check under test can catch it. Where OPA itself verifies bundles
// (`opa build -b x.tar.gz --verification-key …`), it is asked too, as the reference: what OPA refuses, we refuse.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { DEFAULT_BUNDLE_MAX_BYTES, isPolicyError, readBundle, type BundleVerificationOptions, type PolicyBundle } from '@tenantry/policy';
import { extract, pack, type Header } from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { opaBuild, opaVerify } from '../helpers/opa.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const POLICY = `package demo

default allow := false

allow if data.tenants[input.tenant].status == "active"
`;

// Chosen to exercise OPA's canonical JSON digest (v1/bundle/hash.go): keys out of order, keys whose UTF-8
// order differs from JS's UTF-16 order ("😀" sorts after "\\ue000" in UTF-8, before it in UTF-16), number
// literals a float round-trip would change, HTML characters Go would escape by default, U+2028/U+2029, controls.
const DATA_JSON = `{
  "tenants": { "t2": { "status": "suspended" }, "t1": { "status": "active" } },
  "zeta": 1, "Alpha": 2, "ümlaut": 3, "😀": 4, "\\ue000": 5,
  "numbers": [1.50, 1e3, -0, 12345678901234567890, 0.1, 2E-2],
  "strings": ["a<b>&c", "sep\\u2028\\u2029", "ctl\\u0001\\u001f\\b\\f\\n\\r\\t\\u007f", "q\\"b\\\\s/", "é😀"]
}
`;

const ENTRYPOINT = 'demo/allow';
const REVISION = 'rev-42';
const SOURCES = { 'demo.rego': POLICY, 'data.json': DATA_JSON };

interface KeyPair {
  readonly privatePem: string;
  readonly publicPem: string;
}

function keyPair(type: 'rsa' | 'ec-p256' | 'ec-p384' | 'ed25519'): KeyPair {
  const pair = (p: { privateKey: string; publicKey: string }): KeyPair => ({ privatePem: p.privateKey, publicPem: p.publicKey });
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  if (type === 'rsa') return pair(generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding }));
  if (type === 'ed25519') return pair(generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding }));
  const namedCurve = type === 'ec-p256' ? 'P-256' : 'P-384';
  return pair(generateKeyPairSync('ec', { namedCurve, publicKeyEncoding, privateKeyEncoding }));
}

let rsa: KeyPair;
let otherRsa: KeyPair;
let unsigned: Uint8Array;
let signedRs256: Uint8Array;

const rs256 = (publicPem: string, keyId = 'default'): BundleVerificationOptions => ({
  keys: { [keyId]: { algorithm: 'RS256', key: publicPem } },
});

beforeAll(async () => {
  rsa = keyPair('rsa');
  otherRsa = keyPair('rsa');
  unsigned = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], revision: REVISION });
  signedRs256 = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], revision: REVISION, signing: { key: rsa.privatePem } });
});

// ---------------------------------------------------------------------------------------------------------
// Tar surgery: unpack a real bundle, change it, re-pack it with a correct tar (tar-stream) and gzip.

interface TarEntry {
  header: Header;
  body: Buffer;
}

async function unpack(bundle: Uint8Array): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const extractor = extract();
  extractor.end(gunzipSync(bundle));
  for await (const entry of extractor) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return entries;
}

async function repack(entries: readonly TarEntry[]): Promise<Uint8Array> {
  const packer = pack();
  for (const { header, body } of entries) {
    const { name, type, mode, mtime, linkname } = header;
    if (type === 'file') packer.entry({ name, type, mode, mtime, size: body.length }, body);
    else packer.entry({ name, type, mode, mtime, linkname, size: 0 });
  }
  packer.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of packer) chunks.push(chunk as Buffer);
  return new Uint8Array(gzipSync(Buffer.concat(chunks)));
}

async function modify(bundle: Uint8Array, change: (entries: TarEntry[]) => TarEntry[]): Promise<Uint8Array> {
  return repack(change(await unpack(bundle)));
}

const file = (name: string, body: string | Buffer): TarEntry => ({
  header: { name, type: 'file', mode: 0o600, mtime: new Date(0) } as Header,
  body: Buffer.from(body),
});

function replaceBody(entries: TarEntry[], name: string, change: (body: Buffer) => Buffer): TarEntry[] {
  const target = entries.find((e) => e.header.name === name);
  if (target === undefined) throw new Error(`fixture: no ${name} in ${entries.map((e) => e.header.name).join(', ')}`);
  return entries.map((e) => (e === target ? { header: e.header, body: change(Buffer.from(e.body)) } : e));
}

function flipByte(body: Buffer, at: number): Buffer {
  body[at] = (body[at] ?? 0) ^ 0x01;
  return body;
}

async function signaturePayload(bundle: Uint8Array): Promise<{ header: Record<string, unknown>; payload: { files: { name: string; hash: string; algorithm: string }[] } & Record<string, unknown> }> {
  const sig = (await unpack(bundle)).find((e) => e.header.name === '/.signatures.json');
  const token = (JSON.parse(sig!.body.toString('utf8')) as { signatures: string[] }).signatures[0]!;
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/** The PolicyError `readBundle` rejects with, for asserting its code and field. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; field: string | undefined; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (!isPolicyError(e)) throw e;
    return { code: e.code, field: e.field, message: e.message };
  }
  throw new Error('expected readBundle to reject');
}

async function expectRefused(promise: Promise<unknown>, code: string, field: string): Promise<void> {
  const error = await refusal(promise);
  expect({ code: error.code, field: error.field }).toEqual({ code, field });
  expect(error.message).toContain(field);
}

async function evaluate(bundle: PolicyBundle, tenant: string): Promise<unknown> {
  const policy = await loadPolicy(bundle.wasm);
  policy.setData(bundle.data);
  return (policy.evaluate({ tenant }) as { result: unknown }[])[0]?.result;
}

// ---------------------------------------------------------------------------------------------------------

describe('readBundle: unsigned bundles', () => {
  it('reads an `opa build -t wasm` bundle without verification: wasm, data, manifest, revision, entrypoints', async () => {
    const bundle = await readBundle(unsigned);
    expect(bundle.signed).toBe(false);
    expect(bundle.keyId).toBeUndefined();
    expect(bundle.revision).toBe(REVISION);
    expect(bundle.entrypoints).toEqual([ENTRYPOINT]);
    expect(bundle.manifest).toMatchObject({ revision: REVISION, wasm: [{ entrypoint: ENTRYPOINT, module: '/policy.wasm' }] });
    expect(bundle.data).toEqual(JSON.parse(DATA_JSON));
    expect(WebAssembly.validate(bundle.wasm)).toBe(true);
    expect(await evaluate(bundle, 't1')).toBe(true);
    expect(await evaluate(bundle, 't2')).toBe(false);
  });

  it('refuses it when verification is asked for: BUNDLE_UNSIGNED', async () => {
    await expectRefused(readBundle(unsigned, { verification: rs256(rsa.publicPem) }), 'BUNDLE_UNSIGNED', '.signatures.json');
  });

  it('refuses a .signatures.json without a JWT as unsigned', async () => {
    const empty = await modify(signedRs256, (es) => replaceBody(es, '/.signatures.json', () => Buffer.from('{"signatures":[]}')));
    await expectRefused(readBundle(empty, { verification: rs256(rsa.publicPem) }), 'BUNDLE_UNSIGNED', '.signatures.json');
  });

  it('reads a signed bundle as-is without verification (signed: false: nothing was verified)', async () => {
    const bundle = await readBundle(signedRs256);
    expect(bundle.signed).toBe(false);
    expect(bundle.keyId).toBeUndefined();
    expect(bundle.revision).toBe(REVISION);
  });

  it('reports revision "" and no entrypoints when the manifest has none, and {} data when there is none', async () => {
    const bundle = await readBundle(await modify(unsigned, (es) =>
      es.filter((e) => e.header.name !== '/.manifest' && e.header.name !== '/data.json')));
    expect(bundle).toMatchObject({ manifest: undefined, revision: '', entrypoints: [], data: {} });
  });

  it('reads a bundle re-packed as `tar -czf b.tar.gz -C dir .` writes it (./ names, directory entries)', async () => {
    const dir = (name: string): TarEntry => ({ header: { name, type: 'directory', mode: 0o755, mtime: new Date(0) } as Header, body: Buffer.alloc(0) });
    const dotted = (es: TarEntry[]): TarEntry[] => [
      dir('./'),
      dir('./lib/'),
      ...es.map((e) => ({ header: { ...e.header, name: `.${e.header.name}` }, body: e.body })),
    ];
    const plain = await readBundle(await modify(unsigned, dotted));
    expect(plain).toMatchObject({ revision: REVISION, entrypoints: [ENTRYPOINT], signed: false });
    const signed = await readBundle(await modify(signedRs256, dotted), { verification: rs256(rsa.publicPem) });
    expect(signed).toMatchObject({ revision: REVISION, signed: true });
  });

  it('merges data.json files in sub-directories at their paths', async () => {
    const bundle = await readBundle(await modify(unsigned, (es) => [
      ...es,
      file('/limits/data.json', '{"max": 5}'),
      file('/limits/eu/data.json', '{"max": 2}'),
      file('/tenants/t3/data.json', '{"status": "active"}'),
    ]));
    expect(bundle.data['limits']).toEqual({ max: 5, eu: { max: 2 } });
    expect((bundle.data['tenants'] as Record<string, unknown>)['t3']).toEqual({ status: 'active' });
    expect(await evaluate(bundle, 't3')).toBe(true);
  });
});

describe('readBundle: signed bundles are verified (RFC 7515 JWS, OPA .signatures.json)', () => {
  const cases = [
    { algorithm: 'RS256', pair: () => keyPair('rsa') },
    { algorithm: 'PS256', pair: () => keyPair('rsa') },
    { algorithm: 'ES256', pair: () => keyPair('ec-p256') },
    { algorithm: 'ES384', pair: () => keyPair('ec-p384') },
    { algorithm: 'EdDSA', pair: () => keyPair('ed25519') },
    { algorithm: 'HS256', pair: (): KeyPair => { const s = randomBytes(32).toString('hex'); return { privatePem: s, publicPem: s }; } },
  ];
  it.each(cases)('$algorithm: verified, with revision and entrypoints, and the wasm evaluates', async ({ algorithm, pair }) => {
    const keys = pair();
    const bytes = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], revision: REVISION, signing: { key: keys.privatePem, algorithm } });
    expect((await signaturePayload(bytes)).header['alg']).toBe(algorithm);
    const bundle = await readBundle(bytes, { verification: { keys: { default: { algorithm, key: keys.publicPem } } } });
    expect(bundle).toMatchObject({ signed: true, keyId: 'default', revision: REVISION, entrypoints: [ENTRYPOINT] });
    expect(bundle.data).toEqual(JSON.parse(DATA_JSON));
    expect(await evaluate(bundle, 't1')).toBe(true);
    expect(await evaluate(bundle, 't2')).toBe(false);
    expect(await opaVerify(bytes, { key: keys.publicPem, algorithm })).toEqual({ ok: true, error: '' });
  });

  it('selects the key by the JWT kid among several trusted keys (--verification-key-id)', async () => {
    const ec = keyPair('ec-p256');
    const bytes = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], signing: { key: ec.privatePem, algorithm: 'ES256', keyId: 'prod-2026' } });
    expect((await signaturePayload(bytes)).header['kid']).toBe('prod-2026');
    const bundle = await readBundle(bytes, {
      verification: { keys: { default: { algorithm: 'RS256', key: rsa.publicPem }, 'prod-2026': { algorithm: 'ES256', key: ec.publicPem } } },
    });
    expect(bundle).toMatchObject({ signed: true, keyId: 'prod-2026' });
  });

  it('falls back to the keyid claim when the header has no kid (--claims-file), and checks the scope claim', async () => {
    const bytes = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], signing: { key: rsa.privatePem, claims: { keyid: 'ci', scope: 'prod' } } });
    const { header, payload } = await signaturePayload(bytes);
    expect(header['kid']).toBeUndefined();
    expect(payload).toMatchObject({ keyid: 'ci', scope: 'prod' });
    const bundle = await readBundle(bytes, { verification: { ...rs256(rsa.publicPem, 'ci'), scope: 'prod' } });
    expect(bundle).toMatchObject({ signed: true, keyId: 'ci' });
    expect(await opaVerify(bytes, { key: rsa.publicPem, keyId: 'ci', scope: 'prod' })).toEqual({ ok: true, error: '' });
  });

  it('hashes policy.wasm and .rego raw, data.json and .manifest over OPA\'s canonical JSON (confirmed on opa build output)', async () => {
    const entries = await unpack(signedRs256);
    const body = (name: string): Buffer => entries.find((e) => e.header.name === name)!.body;
    const signed = new Map((await signaturePayload(signedRs256)).payload.files.map((f) => [f.name, f]));
    const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

    expect([...signed.keys()].sort()).toEqual(['.manifest', 'data.json', 'demo.rego', 'policy.wasm']);
    expect(signed.get('policy.wasm')).toEqual({ name: 'policy.wasm', hash: sha256(body('/policy.wasm')), algorithm: 'SHA-256' });
    expect(signed.get('demo.rego')!.hash).toBe(sha256(body('/demo.rego')));
    // .manifest: keys sorted, no whitespace; not the bytes OPA wrote (its key order differs).
    const manifest = `{"rego_version":1,"revision":"${REVISION}","roots":[""],"wasm":[{"entrypoint":"${ENTRYPOINT}","module":"/policy.wasm"}]}`;
    expect(signed.get('.manifest')!.hash).toBe(sha256(manifest));
    expect(signed.get('.manifest')!.hash).not.toBe(sha256(body('/.manifest')));
    // data.json: number literals as written, Go string escapes without HTML escaping, UTF-8 key order.
    const data =
      '{"Alpha":2,"numbers":[1.50,1e3,-0,12345678901234567890,0.1,2E-2],' +
      '"strings":["a<b>&c","sep\\u2028\\u2029","ctl\\u0001\\u001f\\b\\f\\n\\r\\t\u007f","q\\"b\\\\s/","é😀"],' +
      '"tenants":{"t1":{"status":"active"},"t2":{"status":"suspended"}},"zeta":1,"ümlaut":3,"\ue000":5,"😀":4}';
    expect(signed.get('data.json')!.hash).toBe(sha256(data));
    expect(signed.get('data.json')!.hash).not.toBe(sha256(body('/data.json')));
  });

  it('accepts a data.json and .manifest that are only re-formatted (as OPA does), since their digest is over canonical JSON', async () => {
    const reformat = (b: Buffer): Buffer => {
      const value = JSON.parse(b.toString('utf8')) as Record<string, unknown>;
      const reversed = Object.fromEntries(Object.entries(value).reverse());
      return Buffer.from(`\n${JSON.stringify(reversed, null, 4)}\n`);
    };
    // The manifest has no numbers whose literal JSON.stringify would change; data.json keeps its literals by a
    // purely textual re-indent.
    const bytes = await modify(signedRs256, (es) =>
      replaceBody(replaceBody(es, '/.manifest', reformat), '/data.json', (b) => Buffer.from(b.toString('utf8').replaceAll(',', ' ,\n  '))));
    const bundle = await readBundle(bytes, { verification: rs256(rsa.publicPem) });
    expect(bundle.signed).toBe(true);
    expect(await opaVerify(bytes, { key: rsa.publicPem })).toEqual({ ok: true, error: '' });
  });
});

describe('readBundle: signatures that do not verify → BUNDLE_SIGNATURE_INVALID', () => {
  it('wrong key', async () => {
    await expectRefused(readBundle(signedRs256, { verification: rs256(otherRsa.publicPem) }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
    expect((await opaVerify(signedRs256, { key: otherRsa.publicPem })).ok).toBe(false);
  });

  it('unknown key id', async () => {
    const error = await refusal(readBundle(signedRs256, { verification: rs256(rsa.publicPem, 'prod') }));
    expect(error).toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID', field: '.signatures.json' });
    expect(error.message).toContain('"default"');
  });

  it('algorithm other than the configured one (RS512 key config, RS256 signature)', async () => {
    const error = await refusal(readBundle(signedRs256, { verification: { keys: { default: { algorithm: 'RS512', key: rsa.publicPem } } } }));
    expect(error).toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID', field: '.signatures.json' });
    expect(error.message).toContain('RS256');
  });

  it('wrong scope, and a required scope the signature lacks', async () => {
    const scoped = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], signing: { key: rsa.privatePem, claims: { keyid: 'default', scope: 'staging' } } });
    await expectRefused(readBundle(scoped, { verification: { ...rs256(rsa.publicPem), scope: 'prod' } }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
    expect((await opaVerify(scoped, { key: rsa.publicPem, scope: 'prod' })).ok).toBe(false);
    await expectRefused(readBundle(signedRs256, { verification: { ...rs256(rsa.publicPem), scope: 'prod' } }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
  });

  it('tampered signature bytes', async () => {
    const bytes = await modify(signedRs256, (es) => replaceBody(es, '/.signatures.json', (b) => {
      const doc = JSON.parse(b.toString('utf8')) as { signatures: string[] };
      const [h, p, s] = doc.signatures[0]!.split('.');
      const sig = Buffer.from(s!, 'base64url');
      doc.signatures[0] = `${h}.${p}.${flipByte(sig, 10).toString('base64url')}`;
      return Buffer.from(JSON.stringify(doc));
    }));
    await expectRefused(readBundle(bytes, { verification: rs256(rsa.publicPem) }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).ok).toBe(false);
  });

  it('tampered payload (a files claim rewritten to match a changed file, signature kept)', async () => {
    const bytes = await modify(signedRs256, (es) => {
      const wasm = flipByte(Buffer.from(es.find((e) => e.header.name === '/policy.wasm')!.body), 200);
      return replaceBody(replaceBody(es, '/policy.wasm', () => wasm), '/.signatures.json', (b) => {
        const doc = JSON.parse(b.toString('utf8')) as { signatures: string[] };
        const [h, p, s] = doc.signatures[0]!.split('.');
        const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { files: { name: string; hash: string }[] };
        for (const f of payload.files) if (f.name === 'policy.wasm') f.hash = createHash('sha256').update(wasm).digest('hex');
        doc.signatures[0] = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
        return Buffer.from(JSON.stringify(doc));
      });
    });
    await expectRefused(readBundle(bytes, { verification: rs256(rsa.publicPem) }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).ok).toBe(false);
  });

  it('.signatures.json that is not JSON, or holds two JWTs', async () => {
    const garbage = await modify(signedRs256, (es) => replaceBody(es, '/.signatures.json', (b) => b.subarray(0, 40)));
    await expectRefused(readBundle(garbage, { verification: rs256(rsa.publicPem) }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
    const two = await modify(signedRs256, (es) => replaceBody(es, '/.signatures.json', (b) => {
      const doc = JSON.parse(b.toString('utf8')) as { signatures: string[] };
      return Buffer.from(JSON.stringify({ ...doc, signatures: [doc.signatures[0], doc.signatures[0]] }));
    }));
    await expectRefused(readBundle(two, { verification: rs256(rsa.publicPem) }), 'BUNDLE_SIGNATURE_INVALID', '.signatures.json');
  });
});

describe('readBundle: files that do not match the signature → BUNDLE_TAMPERED', () => {
  const verification = (): { verification: BundleVerificationOptions } => ({ verification: rs256(rsa.publicPem) });

  it('policy.wasm with one byte flipped', async () => {
    const bytes = await modify(signedRs256, (es) => replaceBody(es, '/policy.wasm', (b) => flipByte(b, 1000)));
    await expect(readBundle(bytes)).resolves.toMatchObject({ signed: false }); // a correct tar and gzip: only the digest can tell
    await expectRefused(readBundle(bytes, verification()), 'BUNDLE_TAMPERED', 'policy.wasm');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).error).toContain('policy.wasm: digest mismatch');
  });

  it('an extra file added', async () => {
    const bytes = await modify(signedRs256, (es) => [...es, file('/extra.rego', 'package extra\n\nallow := true\n')]);
    await expectRefused(readBundle(bytes, verification()), 'BUNDLE_TAMPERED', 'extra.rego');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).error).toContain('extra.rego not included in bundle signature');
  });

  it('a listed file removed', async () => {
    const bytes = await modify(signedRs256, (es) => es.filter((e) => e.header.name !== '/demo.rego'));
    await expectRefused(readBundle(bytes, verification()), 'BUNDLE_TAMPERED', 'demo.rego');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).error).toContain('demo.rego');
  });

  it('policy.wasm removed is tampering, not a malformed bundle, when the signature lists it', async () => {
    const bytes = await modify(signedRs256, (es) => es.filter((e) => e.header.name !== '/policy.wasm'));
    await expectRefused(readBundle(bytes, verification()), 'BUNDLE_TAMPERED', 'policy.wasm');
    await expectRefused(readBundle(bytes), 'BUNDLE_MALFORMED', 'policy.wasm');
  });

  it('.manifest with another revision', async () => {
    const bytes = await modify(signedRs256, (es) => replaceBody(es, '/.manifest', (b) => Buffer.from(b.toString().replace(REVISION, 'rev-43'))));
    await expectRefused(readBundle(bytes, verification()), 'BUNDLE_TAMPERED', '.manifest');
    expect((await opaVerify(bytes, { key: rsa.publicPem })).error).toContain('.manifest: digest mismatch');
  });

  it('data.json with a changed value, and with a number literal written differently (1.50 → 1.5)', async () => {
    const suspended = await modify(signedRs256, (es) => replaceBody(es, '/data.json', (b) => Buffer.from(b.toString().replace('"suspended"', '"active"'))));
    await expectRefused(readBundle(suspended, verification()), 'BUNDLE_TAMPERED', 'data.json');
    const literal = await modify(signedRs256, (es) => replaceBody(es, '/data.json', (b) => Buffer.from(b.toString().replace('1.50', '1.5'))));
    await expectRefused(readBundle(literal, verification()), 'BUNDLE_TAMPERED', 'data.json');
    expect((await opaVerify(literal, { key: rsa.publicPem })).error).toContain('data.json: digest mismatch');
  });

  it('a valid signature of another bundle, transplanted', async () => {
    const other = await opaBuild({ files: { 'demo.rego': POLICY.replace('"active"', '"any"') }, entrypoints: [ENTRYPOINT], signing: { key: rsa.privatePem } });
    const theirs = (await unpack(other)).find((e) => e.header.name === '/.signatures.json')!.body;
    const bytes = await modify(signedRs256, (es) => replaceBody(es, '/.signatures.json', () => theirs));
    const error = await refusal(readBundle(bytes, verification()));
    expect(error.code).toBe('BUNDLE_TAMPERED');
  });
});

describe('readBundle: malformed archives → BUNDLE_MALFORMED', () => {
  it('not gzip (a bare tar)', async () => {
    await expectRefused(readBundle(new Uint8Array(gunzipSync(unsigned))), 'BUNDLE_MALFORMED', 'bytes');
    await expectRefused(readBundle(new Uint8Array(0)), 'BUNDLE_MALFORMED', 'bytes');
  });

  it('truncated gzip', async () => {
    await expectRefused(readBundle(unsigned.subarray(0, Math.floor(unsigned.length / 2))), 'BUNDLE_MALFORMED', 'bytes');
  });

  it('gzip of something that is not a tar, and a truncated tar inside a correct gzip', async () => {
    await expectRefused(readBundle(new Uint8Array(gzipSync(Buffer.from('{"not":"a tar"}'.repeat(100))))), 'BUNDLE_MALFORMED', 'bytes');
    const tar = gunzipSync(unsigned);
    await expectRefused(readBundle(new Uint8Array(gzipSync(tar.subarray(0, 700)))), 'BUNDLE_MALFORMED', 'bytes');
  });

  it('path traversal entry names', async () => {
    for (const name of ['../evil.rego', '/a/../../evil.rego', 'a/../../../etc/passwd']) {
      const bytes = await modify(unsigned, (es) => [...es, file(name, 'package evil\n')]);
      await expectRefused(readBundle(bytes), 'BUNDLE_MALFORMED', name);
    }
  });

  it('duplicate names (also when spelled differently: /data.json and ./data.json)', async () => {
    const bytes = await modify(unsigned, (es) => [...es, file('./data.json', '{}')]);
    await expectRefused(readBundle(bytes), 'BUNDLE_MALFORMED', 'data.json');
  });

  it('a symlink entry', async () => {
    const link: TarEntry = { header: { name: '/link.rego', type: 'symlink', linkname: '/etc/passwd', mode: 0o777, mtime: new Date(0) } as Header, body: Buffer.alloc(0) };
    await expectRefused(readBundle(await modify(unsigned, (es) => [...es, link])), 'BUNDLE_MALFORMED', '/link.rego');
  });

  it('larger than maxBytes unpacked, and a gzip bomb past the 64 MiB default', async () => {
    await expectRefused(readBundle(unsigned, { maxBytes: 4096 }), 'BUNDLE_MALFORMED', 'bytes');
    const bomb = await repack([file('/policy.wasm', Buffer.alloc(DEFAULT_BUNDLE_MAX_BYTES + 1))]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const error = await refusal(readBundle(bomb));
    expect(error).toMatchObject({ code: 'BUNDLE_MALFORMED', field: 'bytes' });
    expect(error.message).toContain('maxBytes');
  });

  it('no policy.wasm (a bundle built with -t rego)', async () => {
    const rego = await opaBuild({ files: SOURCES, entrypoints: [ENTRYPOINT], target: 'rego' });
    await expectRefused(readBundle(rego), 'BUNDLE_MALFORMED', 'policy.wasm');
  });

  it('data.json that is not JSON, and data.json files that conflict', async () => {
    await expectRefused(readBundle(await modify(unsigned, (es) => replaceBody(es, '/data.json', () => Buffer.from('{"a":')))), 'BUNDLE_MALFORMED', 'data.json');
    const conflict = await modify(unsigned, (es) => [...es, file('/tenants/t1/status/data.json', '{"x": 1}')]);
    await expectRefused(readBundle(conflict), 'BUNDLE_MALFORMED', 'tenants/t1/status/data.json');
  });

  it('a manifest naming a wasm module other than /policy.wasm', async () => {
    const bytes = await modify(unsigned, (es) => replaceBody(es, '/.manifest', (b) => Buffer.from(b.toString().replace('/policy.wasm', '/other.wasm'))));
    await expectRefused(readBundle(bytes), 'BUNDLE_MALFORMED', '.manifest');
  });
});

describe('readBundle: arguments → INVALID_ARGUMENT', () => {
  it.each([
    ['bytes', () => readBundle('bundle.tar.gz' as unknown as Uint8Array)],
    ['maxBytes', () => readBundle(unsigned, { maxBytes: 0 })],
    ['verification.keys', () => readBundle(unsigned, { verification: { keys: {} } })],
    ['verification.keys.default.algorithm', () => readBundle(unsigned, { verification: { keys: { default: { algorithm: 'none', key: 'x' } } } })],
    ['verification.keys.default.key', () => readBundle(unsigned, { verification: { keys: { default: { algorithm: 'RS256', key: 'not a pem' } } } })],
    ['verification.keys.default.key', () => readBundle(unsigned, { verification: { keys: { default: { algorithm: 'ES256', key: rsa.publicPem } } } })],
    ['verification.scope', () => readBundle(unsigned, { verification: { keys: { default: { algorithm: 'HS256', key: 's' } }, scope: 1 as unknown as string } })],
  ])('%s', async (field, call) => {
    await expectRefused(call(), 'INVALID_ARGUMENT', field);
  });
});
