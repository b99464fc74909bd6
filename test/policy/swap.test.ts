// Signed, versioned bundles through the engine, with real bundles: the Rego of policies/ built by the
// pinned OPA with `opa build -t wasm --signing-key … -r <revision>`. Verification before use, refusal of
// unsigned, tampered and wrong-key bundles (the bundle in use stays), hot swap with decisions running
// throughout and none failing, the revision reported with each decision, and a bundle that answers with
// something that is not a Decision denying with EVALUATION_ERROR.
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, isPolicyError, type BundleVerificationOptions, type PolicyDecision, type SwapEvent } from '@tenantry/policy';
import { opaBuild } from '../helpers/opa.js';

const ENTRYPOINT = 'tenantry/main/decision';
const POLICY_DIR = path.resolve(import.meta.dirname, '../../policies');

/** The policy sources of policies/ (tests left out), by relative path. */
function policySources(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.rego') && !e.name.endsWith('_test.rego')) out[path.relative(POLICY_DIR, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(POLICY_DIR);
  return out;
}

const TENANTS = { tenants: { acme: { status: 'active' as const, regions: ['eu-west-1'], egress_allow: [] } } };
const INPUT = {
  protocol_version: '1.0',
  principal: { tenant_id: 'acme', id: 'alice', roles: ['developer'], clearance: 'confidential', tool_scopes: [] },
  action: 'read',
  resource: { tenant_id: 'acme', layer: 'memory_graph', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'LAB' },
  context: { mode: 'NORMAL' },
};

const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
let key: ReturnType<typeof pair>;
let otherKey: ReturnType<typeof pair>;
let v1: Uint8Array;
let v2: Uint8Array;
let unsigned: Uint8Array;
let wrongKey: Uint8Array;
let verification: BundleVerificationOptions;

beforeAll(async () => {
  key = pair();
  otherKey = pair();
  verification = { keys: { default: { algorithm: 'ES256', key: key.publicKey } } };
  const files = policySources();
  const build = (revision: string, signingKey?: string) => opaBuild({
    files, entrypoints: [ENTRYPOINT], revision, ...(signingKey === undefined ? {} : { signing: { key: signingKey, algorithm: 'ES256' } }),
  });
  [v1, v2, unsigned, wrongKey] = await Promise.all([build('v1', key.privateKey), build('v2', key.privateKey), build('v3'), build('v4', otherKey.privateKey)]);
}, 300_000);

async function refusal(p: Promise<unknown>): Promise<{ code: string; field?: string }> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isPolicyError(e), `expected a PolicyError, got ${String(e)}`).toBe(true);
  return e as { code: string; field?: string };
}

/** The bundle with one byte of policy.wasm flipped, re-packed with a valid gzip (tar checksums are not checked by the signature). */
function tamperWasm(bundle: Uint8Array): Uint8Array {
  const tar = Buffer.from(gunzipSync(bundle));
  const at = tar.indexOf(Buffer.from([0x00, 0x61, 0x73, 0x6d])); // "\0asm", the module's magic
  expect(at).toBeGreaterThan(0);
  tar[at + 100] = tar[at + 100]! ^ 0x01;
  return new Uint8Array(gzipSync(tar));
}

describe('signed bundles through the engine', () => {
  it('verifies a signed bundle before use and reports its revision with each decision', async () => {
    const e = await createPolicyEngine({ bundle: v1, verification, data: TENANTS });
    expect(e.signed).toBe(true);
    expect(e.revision).toBe('v1');
    const d = e.decide(INPUT);
    expect(d).toEqual({ allow: true, reasons: [], violation: false });
    expect(d.revision).toBe('v1');
  });

  it('refuses unsigned, wrong-key and tampered bundles with typed errors', async () => {
    expect((await refusal(createPolicyEngine({ bundle: unsigned, verification }))).code).toBe('BUNDLE_UNSIGNED');
    expect((await refusal(createPolicyEngine({ verification }))).code).toBe('BUNDLE_UNSIGNED'); // the bundled policy is not signed
    expect((await refusal(createPolicyEngine({ bundle: wrongKey, verification }))).code).toBe('BUNDLE_SIGNATURE_INVALID');
    expect((await refusal(createPolicyEngine({ bundle: tamperWasm(v1), verification }))).code).toBe('BUNDLE_TAMPERED');
    expect((await refusal(createPolicyEngine({ bundle: new Uint8Array([1, 2, 3]) }))).code).toBe('BUNDLE_MALFORMED');
  });

  it('keeps the bundle in use when a swap is refused', async () => {
    const e = await createPolicyEngine({ bundle: v1, verification, data: TENANTS });
    for (const bad of [unsigned, wrongKey, tamperWasm(v2)]) {
      const err = await refusal(e.loadBundle(bad));
      expect(err.code).toMatch(/^BUNDLE_/);
      expect(e.revision).toBe('v1');
      expect(e.decide(INPUT).allow).toBe(true);
    }
  });
});

describe('hot swap', () => {
  it('switches bundles with decisions running throughout, none failing, revisions in order', async () => {
    const e = await createPolicyEngine({ bundle: v1, verification, data: TENANTS });
    const swaps: SwapEvent[] = [];
    e.on('swap', (s) => swaps.push(s));
    const seen: PolicyDecision[] = [];
    let running = true;
    // Decide continuously on the event loop while the swaps load (they await compilation).
    const loop = new Promise<void>((resolve) => {
      const tick = (): void => {
        for (let i = 0; i < 50; i++) seen.push(e.decide(INPUT));
        if (running) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    expect(await e.loadBundle(v2)).toEqual({ revision: 'v2', previousRevision: 'v1' });
    expect(await e.loadBundle(v1)).toEqual({ revision: 'v1', previousRevision: 'v2' });
    running = false;
    await loop;
    expect(swaps).toEqual([{ revision: 'v2', previousRevision: 'v1', signed: true }, { revision: 'v1', previousRevision: 'v2', signed: true }]);
    expect(seen.length).toBeGreaterThan(100);
    for (const d of seen) expect(d).toEqual({ allow: true, reasons: [], violation: false });
    // The revisions run v1… v2… v1…, never back and forth within one swap.
    const runs = seen.map((d) => d.revision).filter((r, i, all) => i === 0 || r !== all[i - 1]);
    expect(runs[0]).toBe('v1');
    expect(runs.at(-1)).toBe('v1');
    expect(runs.length === 2 || runs.join() === 'v1,v2,v1').toBe(true);
    // The data carried over to the new bundle.
    expect(e.decide(INPUT).revision).toBe('v1');
  });

  it('runs concurrent swaps one at a time, in call order', async () => {
    const e = await createPolicyEngine({ bundle: v1, verification, data: TENANTS });
    const results = await Promise.all([e.loadBundle(v2), e.loadBundle(v1), e.loadBundle(v2)]);
    expect(results.map((r) => `${r.previousRevision}>${r.revision}`)).toEqual(['v1>v2', 'v2>v1', 'v1>v2']);
    expect(e.revision).toBe('v2');
  });
});

describe('a bundle whose entrypoint is not a Decision', () => {
  it('denies with EVALUATION_ERROR (fail closed), never allows', async () => {
    const files = { 'bad.rego': 'package tenantry.main\n\ndecision := {"allow": true, "reasons": ["CROSS_TENANT"], "violation": false}\n' };
    const e = await createPolicyEngine({ bundle: await opaBuild({ files, entrypoints: [ENTRYPOINT], revision: 'bad' }), data: TENANTS });
    expect(e.decide(INPUT)).toEqual({ allow: false, reasons: ['EVALUATION_ERROR'], violation: false });
    const undef = { 'undef.rego': 'package tenantry.main\n\ndecision := 1 if input.never\n' };
    const u = await createPolicyEngine({ bundle: await opaBuild({ files: undef, entrypoints: [ENTRYPOINT] }), data: TENANTS });
    expect(u.decide(INPUT)).toEqual({ allow: false, reasons: ['EVALUATION_ERROR'], violation: false });
    expect(u.stats().evaluationErrors).toBe(1);
  }, 120_000);
});
