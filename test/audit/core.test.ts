// @tenantry/audit on @tenantry/core: its errors are core's TenantryError with the 'audit' brand (so
// isAuditError matches an AuditError of any copy of the package and no other package's error), its
// tenant id rule is core's with audit's error class, PROTOCOL_VERSION is core's, and the seal-worker
// test hook lives in './testing', not in the API.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as core from '@tenantry/core';
import * as audit from '@tenantry/audit';
import * as testing from '@tenantry/audit/testing';
import {
  AuditError, AuditLog, MerkleTree, RootMismatchError, checkInclusion, checkTenantId, federatedRoot, generateNoteKey, isAuditError,
  nodeTree, signCheckpoint, verifyReceipt, type Receipt,
} from '@tenantry/audit';
import { thrownBy } from '../helpers/errors.js';
import { hex, useTempDirs } from '../helpers/audit-log.js';

const tempDir = useTempDirs();
const require = createRequire(import.meta.url);
/** The CommonJS build of the package: a second copy of every class, as two installed versions would be. */
const cjs = require('@tenantry/audit') as typeof audit;

describe('AuditError is a core TenantryError of package audit', () => {
  it('carries code, field, tenantId, index, package and cause', () => {
    const cause = new Error('disk');
    const e = new AuditError('IO_ERROR', 'tenantId x: no', { field: 'tenantId', tenantId: 'x', index: 3, cause });
    expect(e).toBeInstanceOf(core.TenantryError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'AuditError', code: 'IO_ERROR', field: 'tenantId', tenantId: 'x', index: 3, package: 'audit', message: 'tenantId x: no' });
    expect(e.cause).toBe(cause);
    expect(core.errorPackage(e)).toBe('audit');
    expect(core.isTenantryError(e)).toBe(true);
    const bare = new AuditError('INVALID_ARGUMENT', 'no details');
    expect([bare.field, bare.tenantId, bare.index, 'cause' in bare]).toEqual([undefined, undefined, undefined, false]);
  });

  it('isAuditError: true for the package errors, from either build', () => {
    const { caught } = thrownBy(() => checkTenantId(''));
    expect(caught).toBeInstanceOf(AuditError);
    expect(isAuditError(caught)).toBe(true);
    const { caught: mismatch } = thrownBy(() => checkInclusion(new Uint8Array(32), 0, 1, [], new Uint8Array(32).fill(1)));
    expect(mismatch).toBeInstanceOf(RootMismatchError);
    expect(isAuditError(mismatch)).toBe(true);

    // An AuditError thrown by the other build: not an instance of this build's class, still recognised both ways.
    const { caught: foreign } = thrownBy(() => cjs.federatedRoot([] as unknown as Record<string, string>));
    expect(foreign).not.toBeInstanceOf(AuditError);
    expect(foreign).toBeInstanceOf(cjs.AuditError);
    expect(isAuditError(foreign)).toBe(true);
    expect(cjs.isAuditError(thrownBy(() => federatedRoot([] as unknown as Record<string, string>)).caught)).toBe(true);
    // Any error with core's brand set to 'audit' and a code (what every copy of AuditError carries).
    expect(isAuditError(new core.TenantryError('audit', 'LOG_CLOSED', 'closed'))).toBe(true);
    const branded = Object.assign(new Error('x'), { code: 'IO_ERROR', [core.ERROR_BRAND]: 'audit' });
    expect(isAuditError(branded)).toBe(true);
  });

  it('isAuditError: false for every other package, and for look-alikes', () => {
    const { caught: coreError } = thrownBy(() => core.checkTenantId(''));
    expect(core.isCoreError(coreError)).toBe(true);
    expect(isAuditError(coreError)).toBe(false);
    for (const pkg of ['core', 'kernels', 'policy', 'quota', 'gateway', 'scheduler', 'federation'] as const) {
      expect(isAuditError(new core.TenantryError(pkg, 'INVALID_ARGUMENT', 'x')), pkg).toBe(false);
    }
    const { caught: auditError } = thrownBy(() => checkTenantId(''));
    expect(core.isCoreError(auditError)).toBe(false);
    expect(isAuditError(Object.assign(new Error('x'), { code: 'IO_ERROR' }))).toBe(false);
    expect(isAuditError(Object.assign(new Error('x'), { [core.ERROR_BRAND]: 'audit' }))).toBe(false);
    expect(isAuditError(Object.assign(new Error('x'), { code: 'IO_ERROR', [Symbol('@tenantry/error')]: 'audit' }))).toBe(false);
    for (const v of [undefined, null, 'IO_ERROR', 42, {}]) expect(isAuditError(v)).toBe(false);
  });
});

describe('the tenant id rule is core\'s', () => {
  const ids: unknown[] = [
    'acme', '../etc', 'x'.repeat(120), 'x'.repeat(121), '租'.repeat(40), '租'.repeat(41), '🦄'.repeat(30), '🦄'.repeat(31),
    'é'.repeat(60), 'é'.repeat(61), '', 'a\u0000b', 'acme\n', 'a\u007f', 'a\u0085', 'a\u00a0', 'a\ud800', '\udc00', '\ud83e\udd84',
    42, null, undefined, ['acme'], { toString: () => 'acme' },
  ];

  it('accepts exactly what core accepts, refusing the rest with AuditError INVALID_TENANT_ID and core\'s reason', () => {
    expect(audit.MAX_TENANT_ID_BYTES).toBe(core.MAX_TENANT_ID_BYTES);
    for (const id of ids) {
      const problem = core.tenantIdProblem(id);
      const { threw, caught } = thrownBy(() => checkTenantId(id, 'entry.tenant_id'));
      expect(threw, String(id)).toBe(problem !== undefined);
      if (problem === undefined) continue;
      expect(isAuditError(caught)).toBe(true);
      expect(caught).toMatchObject({ code: 'INVALID_TENANT_ID', field: 'entry.tenant_id', message: `entry.tenant_id ${problem}` });
    }
    expect(thrownBy(() => checkTenantId(7)).caught).toMatchObject({ field: 'tenantId', message: 'tenantId must be a string, got number' });
  });

  it('a log takes every id core accepts, files it under its hex name and finds it again on reopen', async () => {
    const dir = tempDir();
    const valid = ids.filter((id): id is string => core.isTenantId(id));
    let log = await AuditLog.open(dir, { sealer: 'inline' });
    for (const id of valid) await log.append(id, { kind: 'k', payload: {} });
    for (const id of ids.filter((v) => !core.isTenantId(v))) {
      await expect(log.append(id as string, { kind: 'k', payload: {} })).rejects.toMatchObject({ code: 'INVALID_TENANT_ID', field: 'tenantId' });
    }
    await log.close();
    log = await AuditLog.open(dir, { sealer: 'inline' });
    expect(log.tenants()).toEqual([...valid].sort(core.compareTenantIds));
    expect(log.openReport.ignoredFiles).toEqual([]);
    await log.close();
  });
});

describe('receipts and entries carry core\'s PROTOCOL_VERSION', () => {
  /** A receipt of entry 0 of a one-entry tenant in a one-tenant node, signed, built by hand. */
  function handReceipt(tenantId: string): { receipt: Receipt; verifierKey: string } {
    const { signerKey, verifierKey } = generateNoteKey('node.example');
    const tenant = new MerkleTree();
    tenant.append(new TextEncoder().encode('{"an":"entry"}'));
    const head = { tenant_id: tenantId, size: 1, root: hex(tenant.root()) };
    const { tree: node } = nodeTree([head]);
    const checkpoint = signCheckpoint({ origin: 'node.example', size: 1, root: node.root() }, signerKey);
    const receipt: Receipt = {
      protocol_version: core.PROTOCOL_VERSION, tenant_id: tenantId, index: 0, leaf_hash: hex(tenant.leafHash(0)),
      tenant_size: 1, tenant_root: head.root, tenant_proof: [], node_index: 0, node_size: 1, node_proof: [], checkpoint,
    };
    return { receipt, verifierKey };
  }

  it('exports core\'s constant and verifies only receipts that carry it', () => {
    expect(audit.PROTOCOL_VERSION).toBe(core.PROTOCOL_VERSION);
    const { receipt, verifierKey } = handReceipt('acme');
    expect(verifyReceipt(receipt, [verifierKey])).toBe(true);
    expect(verifyReceipt({ ...receipt, protocol_version: '1.1' }, [verifierKey])).toBe(false);
  });

  it('refuses a signed, consistent receipt whose tenant id breaks the rule (no log can hold it)', () => {
    for (const [id, ok] of [['x'.repeat(120), true], ['x'.repeat(121), false], ['a\u0000b', false], ['a\ud800', false]] as const) {
      const { receipt, verifierKey } = handReceipt(id);
      expect(verifyReceipt(receipt, [verifierKey]), JSON.stringify(id)).toBe(ok);
    }
  });

  it('stored entries name it', async () => {
    const log = await AuditLog.open(tempDir(), { sealer: 'inline' });
    await log.append('acme', { kind: 'k', payload: {} });
    expect((await log.entry('acme', 0)).entry.protocol_version).toBe(core.PROTOCOL_VERSION);
    await log.close();
  });
});

describe('entry points', () => {
  it('keeps the seal-worker hook out of the API and in ./testing', () => {
    expect(Object.keys(audit)).not.toContain('_crashSealWorker');
    expect(Object.keys(cjs)).not.toContain('_crashSealWorker');
    expect(Object.keys(testing)).toEqual(['_crashSealWorker']);
    expect(Object.keys(require('@tenantry/audit/testing') as object)).toEqual(['_crashSealWorker']);
  });

  it('the CommonJS build finds its seal worker and writes what the ESM build reads', async () => {
    const dir = tempDir();
    const log = await cjs.AuditLog.open(dir);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(`t${i % 3}`, { kind: 'k', payload: { i } })));
    await log.close();
    const reopened = await AuditLog.open(dir);
    for (const r of results) expect(hex(reopened.leafHash(r.tenant_id, r.index))).toBe(r.leaf_hash);
    await reopened.close();
  });
});
