// How a corrupt tenant chain is told to an operator: what is wrong and where (tenant, index, kind,
// byte offset in which file), what still works (the verified prefix), and the command line that
// repairs it (cli.ts `tenantry-audit repair`), ready to paste. The log's LOG_CORRUPT errors and
// the CLI print the same words.
//
// Quoting is POSIX sh single quotes. That is enough for any tenant id: the tenant id rule
// (@tenantry/core) admits no control characters, so the only character a single-quoted word cannot
// hold, `'` itself, is written as '\'' and nothing else needs care.
import type { Corruption } from './replay.js';
import { tenantFileName } from './tenant-id.js';

/** `s` as one sh word: unquoted when it is plain, else single-quoted. */
export function _shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `tenantry-audit repair <dir> <tenant>`, quoted for sh; with `--` before them when one starts
 * with `-` (it would otherwise read as an option).
 */
export function _repairCommand(dir: string, tenantId: string): string {
  const end = dir.startsWith('-') || tenantId.startsWith('-') ? ' --' : '';
  return `tenantry-audit repair${end} ${_shellWord(dir)} ${_shellWord(tenantId)}`;
}

/** "corrupt at index 4 (checksum, byte offset 864 of 61636d65.log: <what>)". */
export function _corruptionWhere(c: Corruption): string {
  return `corrupt at index ${c.index} (${c.kind}, byte offset ${c.offset} of ${tenantFileName(c.tenantId)}: ${c.message})`;
}

/** "entries 0..3 stay readable and provable" / "no entry is verified". */
export function _verifiedPrefix(c: Corruption): string {
  return c.index === 0 ? 'no entry is verified' : `entries 0..${c.index - 1} stay readable and provable`;
}
