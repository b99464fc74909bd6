// Sealing off the calling thread (seal.ts, sealer.ts): the worker, the inline sealer and the
// small-flush local path write the same bytes; a failed flush re-seals what the worker had already
// sealed behind it; a seal worker that dies loses nothing acknowledged; SealState on its own.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditDir, type AppendResult, type AuditLogOptions, type JsonObject } from '@tenantry/audit';
import { _crashSealWorker } from '@tenantry/audit/testing';
import { checkChain, expectAuditError, gatedFailingSync, readTenantFile, rng, steppingClock, tenantFile, useTempDirs } from '../helpers/audit-log.js';

const tempDir = useTempDirs();
const TENANTS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'];

async function open(dir: string, options: AuditLogOptions = {}): Promise<AuditLog> {
  return AuditLog.open(dir, { clock: steppingClock(), ...options });
}

/** Files of a log directory (without the lock), by name, with their bytes. */
function contents(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).filter((n) => n !== 'LOCK').sort().map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

/** A payload of random size and content (some non-ASCII), reproducible from `i`. */
function payload(i: number): JsonObject {
  const r = rng(i + 1);
  return { i, text: 'ü€𝄞 x'.repeat(r() % 300), n: r() / 7, list: [i % 3, null, true, { k: 'v' }] };
}

/** Bursts of appends spread over the tenants: `sizes[k]` appends issued together, then awaited. */
async function appendBursts(log: AuditLog, sizes: readonly number[]): Promise<AppendResult[]> {
  const out: AppendResult[] = [];
  let i = 0;
  for (const n of sizes) {
    const burst = Array.from({ length: n }, () => {
      const k = i++;
      return log.append(TENANTS[(k * 7 + (k >> 3)) % TENANTS.length]!, { kind: 'seal.test', payload: payload(k) });
    });
    out.push(...(await Promise.all(burst)));
  }
  return out;
}

describe('where appends are sealed', () => {
  it('writes the same bytes with the worker, the inline sealer and one append at a time', async () => {
    for (const sizes of [[1, 3, 300, 2, 1, 40], [700, 1, 1500, 2]]) {
      const total = sizes.reduce((a, b) => a + b, 0);
      const dirs = { worker: tempDir(), inline: tempDir(), sequential: tempDir() };
      const worker = await open(dirs.worker, { sealer: 'worker' });
      const inline = await open(dirs.inline, { sealer: 'inline' });
      const [a, b] = await Promise.all([appendBursts(worker, sizes), appendBursts(inline, sizes)]);
      expect(a).toEqual(b);
      for (const log of [worker, inline]) await log.close();
      const expected = contents(dirs.inline);
      expect(expected.size).toBe(TENANTS.length);
      expect(contents(dirs.worker)).toEqual(expected);
      for (const id of TENANTS) checkChain(readTenantFile(tenantFile(dirs.worker, id)), id);
      if (total > 400) continue;
      // Each append alone: sealed on this thread (a small flush), never at the worker.
      const sequential = await open(dirs.sequential);
      expect(await appendBursts(sequential, Array.from({ length: total }, () => 1))).toEqual(a);
      await sequential.close();
      expect(contents(dirs.sequential)).toEqual(expected);
    }
  });

  it('rejects options.sealer other than worker or inline', async () => {
    for (const sealer of ['thread', '', null, 1]) {
      await expectAuditError(AuditLog.open(tempDir(), { sealer } as unknown as AuditLogOptions), { code: 'INVALID_ARGUMENT', field: 'options.sealer' });
    }
  });

  it('re-seals, on the durable head, appends the worker had sealed behind a failed flush', async () => {
    const dir = tempDir();
    const { io, inSync, release } = gatedFailingSync();
    const log = await open(dir, { io });
    // One tenant, so the failed fsync is the only one of the first flush.
    const first = Array.from({ length: 600 }, (_, i) => log.append('acme', { kind: 'k', payload: { batch: 'a', i } }));
    await inSync;
    // Queued while the first flush waits: sent to the worker in chunks, sealed after entry 599.
    const second = Array.from({ length: 900 }, (_, i) => log.append('acme', { kind: 'k', payload: { batch: 'b', i } }));
    await new Promise((r) => setTimeout(r, 50));
    release();
    for (const p of first) await expectAuditError(p, { code: 'IO_ERROR', tenantId: 'acme' });
    expect((await Promise.all(second)).map((r) => r.index)).toEqual(Array.from({ length: 900 }, (_, i) => i));
    const records = readTenantFile(tenantFile(dir, 'acme'));
    checkChain(records, 'acme');
    expect(records.map((r) => r.entry.payload)).toEqual(Array.from({ length: 900 }, (_, i) => ({ batch: 'b', i })));
    await log.close();
  });

  it('loses nothing acknowledged when the seal worker dies, and goes on with a new one', async () => {
    const dir = tempDir();
    const log = await open(dir);
    await appendBursts(log, [50]);
    const pending = Array.from({ length: 3000 }, (_, i) => log.append(TENANTS[i % 5]!, { kind: 'k', payload: payload(i) }));
    // Chunks of the burst are at the worker now; kill it before it has answered them all.
    await _crashSealWorker();
    const settled = await Promise.allSettled(pending);
    const ok = settled.filter((s): s is PromiseFulfilledResult<AppendResult> => s.status === 'fulfilled').map((s) => s.value);
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.reason).toMatchObject({ code: 'IO_ERROR' });
    const after = await appendBursts(log, [400, 1]);
    expect(after).toHaveLength(401);
    const acknowledged = [...ok, ...after];
    await log.close();

    const reopened = await open(dir);
    for (const r of acknowledged) {
      const stored = await reopened.entry(r.tenant_id, r.index);
      expect(Buffer.from(stored.leafHash).toString('hex')).toBe(r.leaf_hash);
    }
    await reopened.close();
    const report = await verifyAuditDir(dir);
    expect(report.ok).toBe(true);
    for (const id of TENANTS.slice(0, 5)) checkChain(readTenantFile(tenantFile(dir, id)), id);
  });
});
