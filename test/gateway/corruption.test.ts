// A flipped byte in the files the gateway writes (docs/architecture.md, "The request path" and "Control
// state"): in a tenant's chain, that tenant becomes read-only — 503 TENANT_LOG_CORRUPT before anything is
// decided or charged — while its entries before the damage stay readable with receipts that verify, and
// every other tenant goes on; in the control-plane chain, the gateway refuses to start, naming the entry,
// the byte and the repair command, because it would otherwise restore less than was in force.
import { cp, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLedger, generateNoteKey, tenantFileName, verifyReceipt, type Receipt } from '@tenantry/audit';
import { CONTROL_PLANE, ControlLog, Gateway, isGatewayError } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota } from '@tenantry/quota';
import { auditCli } from '../helpers/audit-cli.js';
import { rng } from '../helpers/random.js';
import { invoke, startServer } from '../helpers/server.js';

const TENANTS = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const SIGNER = generateNoteKey('tenantry-reference.local').signerKey;
const ACME = 'Bearer acme-demo-key';
const GLOBEX = 'Bearer globex-demo-key';
const ADMIN = 'Bearer admin-demo-key';
const acmeDoc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const globexDoc = { tenant_id: 'globex', layer: 'model_access', id: 'doc-7', classification: 'internal', region: 'us-east-1', domain: 'PROD', tool: 'chat' };
const OFFSETS = 50;

let base: string;

async function openGateway(dir: string): Promise<Gateway> {
  const ledger = await AuditLedger.open(dir, { signerKey: SIGNER });
  const control = new ControlLog(ledger);
  return Gateway.create({ tenants: TENANTS, ledger, control, quota: createQuota({ control: control.sink }), policy: await createPolicyEngine() });
}

async function flip(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0x5a;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

/** Offsets to damage: the file header, the start and the end, and the rest at random (seeded). */
function offsets(size: number, seed: number): number[] {
  const next = rng(seed);
  const fixed = [0, 7, 8, 9, 16, 20, 24, size - 1, size - 8, Math.floor(size / 2)];
  const out = new Set(fixed.filter((o) => o >= 0 && o < size));
  while (out.size < OFFSETS) out.add(next() % size);
  return [...out];
}

beforeAll(async () => {
  // A history: charges of both tenants, a lockdown of acme (a cross-tenant attempt), an admin unlock, an
  // admin freeze of globex and its lifting, an envelope.
  base = await mkdtemp(join(tmpdir(), 'tenantry-corrupt-base-'));
  const g = await openGateway(base);
  for (let i = 0; i < 6; i++) {
    expect((await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.25 })).status).toBe(200);
    expect((await g.invoke(GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.25 })).status).toBe(200);
  }
  expect((await g.invoke(ACME, { action: 'read', resource: globexDoc, estimated_usd: 0.1 })).status).toBe(403);
  expect((await g.unlock(ADMIN, 'acme', { by: 'oncall', reason: 'reviewed' })).status).toBe(200);
  expect((await g.freeze(ADMIN, 'globex', { reason: 'billing' }, true)).status).toBe(200);
  expect((await g.freeze(ADMIN, 'globex', {}, false)).status).toBe(200);
  expect((await g.setEnvelope(ADMIN, 'acme', { ...TENANTS.tenants[0].envelope, daily_budget_usd: 9 })).status).toBe(200);
  expect((await g.checkpoint()).status).toBe(200);
  await g.close();
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function copyOfBase(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-corrupt-'));
  await cp(base, dir, { recursive: true });
  return dir;
}

describe('a byte flipped in a tenant chain', () => {
  it(`makes that tenant read-only and leaves the rest working, at ${OFFSETS} offsets`, async () => {
    const file = join(base, tenantFileName('acme'));
    const size = (await stat(file)).size;
    for (const offset of offsets(size, 7)) {
      const dir = await copyOfBase();
      try {
        await flip(join(dir, tenantFileName('acme')), offset);
        const g = await openGateway(dir);
        try {
          const damage = g.ledger.log.corruption('acme');
          expect(damage, `offset ${offset}`).toBeDefined();
          const spent = (await g.quota.usage('acme')).month.spent_usd;
          const r = await g.invoke(ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 });
          expect([r.status, (r.body as { code: string }).code], `offset ${offset}`).toEqual([503, 'TENANT_LOG_CORRUPT']);
          expect((await g.quota.usage('acme')).month.spent_usd).toBe(spent);
          // The entries before the damage: readable, with receipts that verify offline.
          for (let i = 0; i < g.ledger.log.size('acme'); i++) {
            const e = await g.auditEntry(ACME, 'acme', String(i));
            expect(e.status).toBe(200);
            const body = e.body as { receipt: Receipt; verifier_keys: string[] };
            expect(verifyReceipt(body.receipt, body.verifier_keys)).toBe(true);
          }
          expect((await g.auditEntry(ACME, 'acme', String(g.ledger.log.size('acme')))).status).toBe(404);
          // Admin actions on the read-only tenant still take effect, durably (in the control-plane chain).
          expect((await g.freeze(ADMIN, 'acme', { reason: 'incident' }, true)).status).toBe(200);
          // Every other tenant goes on.
          expect((await g.invoke(GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).status).toBe(200);
        } finally {
          await g.close();
        }
        // The admin freeze on the read-only tenant survived the restart.
        const again = await openGateway(dir);
        expect((await again.quota.usage('acme')).frozen).toBe('incident');
        await again.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('a byte flipped in the control-plane chain', () => {
  it(`refuses to start, naming the entry, the byte and the repair, at ${OFFSETS} offsets`, async () => {
    const size = (await stat(join(base, tenantFileName(CONTROL_PLANE)))).size;
    for (const offset of offsets(size, 11)) {
      const dir = await copyOfBase();
      try {
        await flip(join(dir, tenantFileName(CONTROL_PLANE)), offset);
        const err = await openGateway(dir).then(async (g) => { await g.close(); return undefined; }, (e: unknown) => e);
        expect(isGatewayError(err), `offset ${offset}: ${String(err)}`).toBe(true);
        const e = err as { code: string; index: number; message: string };
        expect(e.code).toBe('CONTROL_LOG_CORRUPT');
        expect(e.message).toContain(`entry ${e.index}`);
        expect(e.message).toMatch(/byte \d+/);
        expect(e.message).toContain(`tenantry-audit repair ${dir} ${CONTROL_PLANE}`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('the reference server', () => {
  it('starts on a damaged tenant chain, says so, and serves the other tenants', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-corrupt-srv-'));
    try {
      await cp(base, join(dir, 'audit'), { recursive: true });
      await writeFile(join(dir, 'node-signer.key'), `${SIGNER}\n`, { mode: 0o600 });
      await flip(join(dir, 'audit', tenantFileName('acme')), 40);
      const server = await startServer({ DATA_DIR: dir });
      try {
        expect(server.output()).toContain('tenantry audit ledger');
        expect((await invoke(server.url, ACME, { action: 'invoke', resource: acmeDoc, estimated_usd: 0.1 })).body).toMatchObject({ code: 'TENANT_LOG_CORRUPT' });
        expect((await invoke(server.url, GLOBEX, { action: 'invoke', resource: globexDoc, estimated_usd: 0.1 })).status).toBe(200);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['the node signer key', 'node-signer.key', 'INVALID_KEY'],
    ['the node checkpoints', join('audit', 'node-checkpoints.log'), 'LOG_CORRUPT'],
  ])('refuses to start on damaged %s, naming the file, without a stack trace', async (_name, file, code) => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-corrupt-srv-'));
    try {
      await cp(base, join(dir, 'audit'), { recursive: true });
      await writeFile(join(dir, 'node-signer.key'), `${SIGNER}\n`, { mode: 0o600 });
      await flip(join(dir, file), 3);
      const err = await startServer({ DATA_DIR: dir }).then(async (s) => { await s.stop(); return undefined; }, (e: unknown) => e as { exitCode: number; stderr: string });
      expect(err?.exitCode).toBe(3);
      expect(err?.stderr).toMatch(new RegExp(`^not starting: .*${code}`));
      expect(err?.stderr).not.toContain('    at ');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a damaged control-plane chain, and starts once it is repaired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenantry-corrupt-srv-'));
    try {
      await cp(base, join(dir, 'audit'), { recursive: true });
      await writeFile(join(dir, 'node-signer.key'), `${SIGNER}\n`, { mode: 0o600 });
      const file = join(dir, 'audit', tenantFileName(CONTROL_PLANE));
      await flip(file, (await stat(file)).size - 3);
      const err = await startServer({ DATA_DIR: dir }).then(async (s) => { await s.stop(); return undefined; }, (e: unknown) => e as { exitCode: number; stderr: string });
      expect(err?.exitCode).toBe(3);
      expect(err?.stderr).toContain('CONTROL_LOG_CORRUPT');
      expect(err?.stderr).toContain(`tenantry-audit repair ${join(dir, 'audit')} ${CONTROL_PLANE}`);
      const repaired = auditCli('repair', join(dir, 'audit'), CONTROL_PLANE);
      expect(repaired.code, repaired.stderr).toBe(0);
      const server = await startServer({ DATA_DIR: dir });
      await server.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
