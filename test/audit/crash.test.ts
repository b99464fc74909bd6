// Crash safety: a child process (test/audit/fixtures/crash-writer.mjs, on the built package)
// appends to several tenants with many appends in flight and prints each append once it resolved;
// it is killed with SIGKILL at random moments — often mid-flush — again and again over the same
// directory. After every kill the log is reopened: every acknowledged append ever printed must be
// there with the same leaf hash, the files must verify independently (framing, CRCs, chain, RFC
// 6962 roots), only torn tails may be reported, and the dead writer's lock must be taken over.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AuditLog, verifyInclusion } from '@tenantry/audit';
import { checkChain, hex, readTenantFile, rfc6962Root, rng, tenantFile, useTempDirs } from '../helpers/audit-log.js';

const tempDir = useTempDirs('tenantry-crash-');
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));
const KILLS = 24;

interface Run {
  pid: number;
  /** Complete "<tenant>\t<index>\t<leaf_hash>" lines printed before the kill. */
  acks: [tenant: string, index: number, leafHash: string][];
  opened: boolean;
}

/**
 * Starts the writer and kills it with SIGKILL once it has printed `acks` acknowledgements (then
 * after `delayMs`), or `delayMs` after the start when `acks` is 0 (a kill during open or replay).
 */
function runAndKill(dir: string, seed: number, acks: number, delayMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let seen = 0;
    let killing = false;
    const kill = (after: number) => {
      if (killing) return;
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), after);
    };
    const guard = setTimeout(() => kill(0), 20_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      seen += d.split('\n').length - 1;
      if (acks > 0 && seen > acks) kill(delayMs);
    });
    child.stderr.on('data', (d: string) => (err += d));
    if (acks === 0) kill(delayMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') {
        reject(new Error(`the writer exited by itself (code ${code}): ${err}`));
        return;
      }
      const lines = out.split('\n');
      lines.pop(); // an unterminated last line was cut by the kill: not an acknowledgement we saw
      const opened = lines[0] === 'open';
      resolve({
        pid: child.pid!,
        opened,
        acks: lines.slice(opened ? 1 : 0).map((l) => {
          const [tenant, index, leafHash] = l.split('\t');
          return [tenant!, Number(index), leafHash!];
        }),
      });
    });
  });
}

describe('crash safety', () => {
  it(`keeps every acknowledged append through ${KILLS} SIGKILLs at random moments`, async () => {
    const dir = tempDir();
    const next = rng(0xdead);
    const acknowledged = new Map<string, Map<number, string>>();
    let totalAcks = 0;
    let killedWhileWriting = 0;

    for (let round = 0; round < KILLS; round++) {
      const started = performance.now();
      // One round in six is killed during start-up (open, lock, replay) instead of mid-append.
      const early = round % 6 === 5;
      const run = await runAndKill(dir, 1000 + round, early ? 0 : 1 + (next() % 600), early ? next() % 120 : next() % 12);
      for (const [tenant, index, leafHash] of run.acks) {
        let chain = acknowledged.get(tenant);
        if (chain === undefined) acknowledged.set(tenant, (chain = new Map()));
        const before = chain.get(index);
        expect(before === undefined || before === leafHash, `${tenant} #${index} acknowledged twice with different hashes`).toBe(true);
        chain.set(index, leafHash);
      }
      totalAcks += run.acks.length;
      if (run.acks.length > 0) killedWhileWriting++;

      const log = await AuditLog.open(dir);
      try {
        const report = log.openReport;
        expect(report.corruptions, `round ${round}`).toEqual([]);
        for (const torn of report.tornTails) expect(torn.bytes).toBeGreaterThan(0);
        if (run.acks.length > 0) expect(report.staleLock?.pid, `round ${round}: the dead writer's lock`).toBe(run.pid);
        else if (report.staleLock !== undefined) expect(report.staleLock.pid).toBe(run.pid);

        for (const [tenant, chain] of acknowledged) {
          // Independently of the package: framing, CRCs, prev links, RFC 6962 root.
          const leaves = checkChain(readTenantFile(tenantFile(dir, tenant)), tenant);
          expect(log.size(tenant)).toBe(leaves.length);
          const root = log.root(tenant);
          expect(hex(root)).toBe(rfc6962Root(leaves));
          for (const [index, leafHash] of chain) {
            expect(leaves[index], `round ${round}: ${tenant} #${index} was acknowledged`).toBe(leafHash);
          }
          // Proofs from the replayed tree verify for a sample of acknowledged entries.
          const indices = [...chain.keys()];
          for (let k = 0; k < Math.min(10, indices.length); k++) {
            const index = indices[next() % indices.length]!;
            expect(verifyInclusion(log.leafHash(tenant, index), index, leaves.length, log.inclusionProof(tenant, index), root)).toBe(true);
          }
        }
        if (process.env.CRASH_TEST_VERBOSE) console.log(`round ${round}: ${run.acks.length} acks, ${(performance.now() - started).toFixed(0)} ms, torn tails ${JSON.stringify(report.tornTails)}`);
      } finally {
        await log.close();
      }
    }
    expect(killedWhileWriting).toBeGreaterThanOrEqual(KILLS - Math.ceil(KILLS / 6));
    expect(totalAcks).toBeGreaterThan(KILLS * 50);
    expect(acknowledged.size).toBe(5);
  });
});
