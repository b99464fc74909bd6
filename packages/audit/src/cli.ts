#!/usr/bin/env node
// tenantry-audit: verify an audit directory, print an entry's receipt, from the files alone; or
// repair a corrupt tenant chain.
//
//   tenantry-audit verify <dir> [--key <verifier-key>]... [--json]
//   tenantry-audit prove  <dir> <tenant> <index> [--key <verifier-key>]...
//   tenantry-audit repair <dir> <tenant>
//
// verify and prove only read. repair is the one command that writes: it opens the directory as
// an AuditLog (so it needs the directory lock: the gateway must be stopped) and cuts the tenant's
// chain to its verified prefix with AuditLog.repair, which first copies every cut byte to a side
// file next to the tenant file (log-repair.ts): nothing is deleted.
//
// Exit codes: 0 verified (verify) / receipt printed and, with --key, verified (prove) / repaired
// or nothing to repair (repair); 1 verification failed: a divergence or corruption, or no
// checkpoint covers the entry; for repair, no chain for that tenant; 2 usage error; 3 the
// directory cannot be read or used; 4 the directory is in use (another process holds its lock).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { _corruptionWhere, _repairCommand, _verifiedPrefix } from './corruption-notice.js';
import { isAuditError } from './errors.js';
import { CHECKPOINT_FILE, _readCheckpoints } from './ledger.js';
import { AuditLog } from './log.js';
import type { Corruption } from './replay.js';
import { tenantFileName } from './tenant-id.js';
import { proveFromAuditDir, verifyAuditDir, type AuditDirReport } from './verify-dir.js';
import { verifyReceipt } from './receipt.js';

const USAGE = `usage:
  tenantry-audit verify <dir> [--key <verifier-key>]... [--json]
  tenantry-audit prove  <dir> <tenant> <index> [--key <verifier-key>]...
  tenantry-audit repair <dir> <tenant>

exit codes: 0 ok, 1 verification failed, 2 usage error, 3 directory unusable, 4 directory in use`;

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, IO: 3, LOCKED: 4 } as const;

/** The lines that tell an operator about one corrupt chain and how to repair it. */
function corruptionLines(dir: string, c: Corruption): string[] {
  return [
    `CORRUPT: tenant ${JSON.stringify(c.tenantId)} index ${c.index} (${c.kind}, byte offset ${c.offset} of ${tenantFileName(c.tenantId)}): ${c.message}`,
    `  ${_verifiedPrefix(c)}; the tenant is read-only (appends are refused) until it is repaired`,
    `  repair (stop the process holding the directory, the gateway, first; cuts the chain to its ${c.index} verified entries, moving the rest aside to ${tenantFileName(c.tenantId)}.cut-<ms>):`,
    `    ${_repairCommand(dir, c.tenantId)}`,
  ];
}

function printReport(dir: string, r: AuditDirReport): void {
  const corrupt = new Map(r.corruptions.map((c) => [c.tenantId, c]));
  console.log(`tenants ${r.tenants.length}, entries ${r.entries}, checkpoints ${r.checkpoints}`);
  for (const t of r.tenants) {
    const c = corrupt.get(t.tenant_id);
    console.log(`  ${t.tenant_id}  size ${t.size}  root ${t.root}${c ? `  CORRUPT at index ${c.index}` : ''}`);
  }
  if (r.lastCheckpoint) console.log(`last checkpoint: ${r.lastCheckpoint.origin} size ${r.lastCheckpoint.size} root ${r.lastCheckpoint.root} at ${r.lastCheckpoint.timestamp}`);
  for (const torn of r.tornTails) console.log(`torn tail cut on next open: tenant ${JSON.stringify(torn.tenantId)}, ${torn.bytes} bytes at offset ${torn.offset}`);
  for (const c of r.corruptions) for (const line of corruptionLines(dir, c)) console.log(line);
  console.log(r.ok ? 'OK: every chain and checkpoint verifies' : `FAILED (${r.divergence!.kind}): ${r.divergence!.message}`);
}

/** Cuts the tenant's corrupt chain to its verified prefix; prints what it did. */
async function repair(dir: string, tenantId: string): Promise<number> {
  const log = await AuditLog.open(dir, { create: false, sealer: 'inline' });
  try {
    for (const torn of log.openReport.tornTails) {
      console.log(`torn tail cut: tenant ${JSON.stringify(torn.tenantId)}, ${torn.bytes} bytes at offset ${torn.offset}`);
    }
    const c = log.corruption(tenantId);
    if (c === undefined) {
      if (!existsSync(join(log.dir, tenantFileName(tenantId)))) {
        console.error(`FAILED: ${log.dir} holds no chain of tenant ${JSON.stringify(tenantId)} (no file ${tenantFileName(tenantId)})`);
        return EXIT.FAILED;
      }
      console.log(`tenant ${JSON.stringify(tenantId)} is not corrupt (${log.size(tenantId)} entries): nothing to repair`);
      return EXIT.OK;
    }
    const r = await log.repair(tenantId, { truncateAfter: c.index });
    const kept = r.kept === 0 ? 'kept no entry' : `kept entries 0..${r.kept - 1}`;
    console.log(`repaired tenant ${JSON.stringify(tenantId)}, which was ${_corruptionWhere(c)}:`);
    console.log(`  ${kept}; cut ${r.removedBytes} bytes at offset ${r.offset} of ${tenantFileName(tenantId)}`);
    if (r.savedTo !== undefined) console.log(`  the cut bytes are kept in ${join(log.dir, r.savedTo)}`);
    console.log(`  the tenant takes appends again from index ${r.kept}`);
    const { checkpoints } = await _readCheckpoints(join(log.dir, CHECKPOINT_FILE)).catch(() => ({ checkpoints: [] }));
    const over = checkpoints.filter((cp) => cp.heads.some((h) => h.tenant_id === tenantId && h.size > r.kept)).length;
    if (over > 0) {
      console.log(`  ${over} node checkpoint(s) signed before the repair cover cut entries; verify reports them (checkpoint-head): they are the signed record of what was cut`);
    }
    return EXIT.OK;
  } finally {
    await log.close();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv], allowPositionals: true, strict: true,
      options: { key: { type: 'string', multiple: true }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  const [command, dir, tenant, indexText] = positionals;
  const keys = values.key;
  try {
    if (command === 'verify' && dir && positionals.length === 2) {
      const report = await verifyAuditDir(dir, keys ? { verifierKeys: keys } : {});
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else printReport(dir, report);
      return report.ok ? EXIT.OK : EXIT.FAILED;
    }
    if (command === 'prove' && dir && tenant !== undefined && indexText !== undefined && positionals.length === 4) {
      if (!/^(0|[1-9][0-9]*)$/.test(indexText)) {
        console.error(`index must be a non-negative integer, got ${JSON.stringify(indexText)}\n${USAGE}`);
        return EXIT.USAGE;
      }
      const receipt = await proveFromAuditDir(dir, tenant, Number(indexText));
      console.log(JSON.stringify(receipt, null, 2));
      if (keys && !verifyReceipt(receipt, keys)) {
        console.error('FAILED: the receipt does not verify with the given keys');
        return EXIT.FAILED;
      }
      return EXIT.OK;
    }
    if (command === 'repair' && dir && tenant !== undefined && positionals.length === 3 && !keys && !values.json) {
      return await repair(dir, tenant);
    }
  } catch (e) {
    if (isAuditError(e) && e.code === 'IO_ERROR') {
      console.error(e.message);
      return EXIT.IO;
    }
    if (isAuditError(e) && e.code === 'LOG_LOCKED') {
      console.error(`${e.message}\nanother process (the gateway?) has the directory open: stop it first`);
      return EXIT.LOCKED;
    }
    if (isAuditError(e)) {
      console.error(`FAILED (${e.code}): ${e.message}`);
      return e.code === 'INVALID_ARGUMENT' || e.code === 'INVALID_TENANT_ID' ? EXIT.USAGE : EXIT.FAILED;
    }
    throw e;
  }
  console.error(USAGE);
  return EXIT.USAGE;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { console.error(e); process.exitCode = EXIT.FAILED; },
);
