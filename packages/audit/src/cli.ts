#!/usr/bin/env node
// tenantry-audit: verify an audit directory, or print an entry's receipt, from the files alone.
//
//   tenantry-audit verify <dir> [--key <verifier-key>]... [--json]
//   tenantry-audit prove  <dir> <tenant> <index> [--key <verifier-key>]...
//
// Exit codes: 0 verified (verify) / receipt printed and, with --key, verified (prove);
// 1 verification failed: a divergence or corruption, or no checkpoint covers the entry;
// 2 usage error; 3 the directory cannot be read.
import { parseArgs } from 'node:util';
import { isAuditError } from './errors.js';
import { proveFromAuditDir, verifyAuditDir, type AuditDirReport } from './verify-dir.js';
import { verifyReceipt } from './receipt.js';

const USAGE = `usage:
  tenantry-audit verify <dir> [--key <verifier-key>]... [--json]
  tenantry-audit prove  <dir> <tenant> <index> [--key <verifier-key>]...

exit codes: 0 ok, 1 verification failed, 2 usage error, 3 directory unreadable`;

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, IO: 3 } as const;

function printReport(r: AuditDirReport): void {
  console.log(`tenants ${r.tenants.length}, entries ${r.entries}, checkpoints ${r.checkpoints}`);
  for (const t of r.tenants) console.log(`  ${t.tenant_id}  size ${t.size}  root ${t.root}`);
  if (r.lastCheckpoint) console.log(`last checkpoint: ${r.lastCheckpoint.origin} size ${r.lastCheckpoint.size} root ${r.lastCheckpoint.root} at ${r.lastCheckpoint.timestamp}`);
  for (const torn of r.tornTails) console.log(`torn tail cut on next open: tenant ${JSON.stringify(torn.tenantId)}, ${torn.bytes} bytes at offset ${torn.offset}`);
  console.log(r.ok ? 'OK: every chain and checkpoint verifies' : `FAILED (${r.divergence!.kind}): ${r.divergence!.message}`);
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
      else printReport(report);
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
  } catch (e) {
    if (isAuditError(e) && e.code === 'IO_ERROR') {
      console.error(e.message);
      return EXIT.IO;
    }
    if (isAuditError(e)) {
      console.error(`FAILED (${e.code}): ${e.message}`);
      return e.code === 'INVALID_ARGUMENT' ? EXIT.USAGE : EXIT.FAILED;
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
