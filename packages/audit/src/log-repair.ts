// Explicit repair of a corrupt tenant chain: the only way a log ever removes bytes other than a
// torn tail. It keeps a verified prefix, saves every byte after it to a side file
// `<tenant file>.cut-<clock ms>` in the log directory (synced before the cut: evidence is never
// destroyed), truncates the tenant file and replays it.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditError, _ioError } from './errors.js';
import type { GroupCommit } from './group-commit.js';
import type { TenantFiles } from './log-files.js';
import { _syncDirectory, type LogIo } from './log-io.js';
import type { TenantState } from './log-tenant.js';
import type { AuditLogStats, RepairOptions, RepairReport } from './log-types.js';
import { _readFully, _replayTenantFile, type Corruption, type ReplayResult } from './replay.js';
import { tenantFileName } from './tenant-id.js';

const fstat = promisify(fs.fstat);

/**
 * Checks the arguments of AuditLog.repair for tenant `t` (undefined: a valid id the log does not
 * hold) and returns what to repair.
 * @throws AuditError INVALID_ARGUMENT (`options`, `options.<name>`, `tenantId` not corrupt),
 *   INVALID_INDEX (`options.truncateAfter`).
 */
export function _repairArgs(t: TenantState | undefined, tenantId: string, options: RepairOptions): { t: TenantState; keep: number; corruption: Corruption } {
  if (typeof options !== 'object' || options === null) {
    throw new AuditError('INVALID_ARGUMENT', 'options must be an object { truncateAfter }', { field: 'options' });
  }
  for (const key of Object.keys(options)) {
    if (key !== 'truncateAfter') throw new AuditError('INVALID_ARGUMENT', `options.${key} is not an option of repair`, { field: `options.${key}` });
  }
  if (t === undefined || t.corruption === undefined) {
    throw new AuditError('INVALID_ARGUMENT', `tenantId ${JSON.stringify(tenantId)} is not corrupt: repair only cuts a corrupt chain`, { field: 'tenantId', tenantId });
  }
  const keep = options.truncateAfter;
  const max = t.corruption.index;
  if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 0 || keep > max) {
    throw new AuditError('INVALID_INDEX', `options.truncateAfter must be an integer in 0..${max} (the index of the corruption), got ${String(keep)}`, { field: 'options.truncateAfter', tenantId });
  }
  return { t, keep, corruption: t.corruption };
}

export interface RepairContext {
  dir: string;
  clock: () => number;
  io: LogIo;
  files: TenantFiles;
  commits: GroupCommit;
  stats: AuditLogStats;
  /** Makes a replay the tenant's durable state. */
  install(t: TenantState, replay: ReplayResult): void;
}

/**
 * Cuts the tenant's chain after entry keep − 1 (see the file comment) once its appends in flight
 * are settled, and returns the report.
 * @throws AuditError INVALID_ARGUMENT when the corruption changed while waiting, IO_ERROR.
 */
export async function _repair(ctx: RepairContext, t: TenantState, keep: number, corruption: Corruption): Promise<RepairReport> {
  // Appends accepted before a corruption found by a read may still be in flight.
  await ctx.commits.whenWritten(t);
  if (t.corruption !== corruption) {
    throw new AuditError('INVALID_ARGUMENT', `tenantId ${JSON.stringify(t.id)}: its corruption changed while the repair waited; retry`, { field: 'tenantId', tenantId: t.id });
  }
  const cut = keep === 0 ? 0 : keep < t.size ? t.offsets[keep]! : t.fileBytes;
  t.users++;
  try {
    const fd = await ctx.files.fd(t);
    const { size: fileSize } = await fstat(fd);
    let savedTo: string | undefined;
    if (fileSize > cut) savedTo = await saveTail(ctx, t, fd, cut, fileSize);
    await ctx.io.truncate(fd, cut);
    await ctx.io.datasync(fd);
    ctx.stats.fsyncs++;
    const replay = await _replayTenantFile(fd, t.id, cut);
    ctx.install(t, replay);
    return { tenantId: t.id, kept: keep, offset: cut, removedBytes: Math.max(0, fileSize - cut), savedTo, corruption };
  } catch (e) {
    throw _ioError(e, `tenant ${JSON.stringify(t.id)}: repair failed`, t.id);
  } finally {
    t.users--;
  }
}

/** Copies bytes [from, to) of the tenant file to a new side file, synced; returns its name. */
async function saveTail(ctx: RepairContext, t: TenantState, fd: number, from: number, to: number): Promise<string> {
  const base = `${tenantFileName(t.id)}.cut-${Math.max(0, Math.floor(ctx.clock()))}`;
  let name = base;
  let out: fsp.FileHandle | undefined;
  for (let n = 2; out === undefined; n++) {
    try {
      out = await fsp.open(join(ctx.dir, name), 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      name = `${base}-${n}`;
    }
  }
  try {
    const chunk = Buffer.allocUnsafe(Math.min(8 << 20, to - from));
    for (let pos = from; pos < to;) {
      const got = await _readFully(fd, chunk, 0, Math.min(chunk.length, to - pos), pos);
      if (got === 0) break;
      await out.write(chunk, 0, got);
      pos += got;
    }
    await out.sync();
  } finally {
    await out.close();
  }
  await _syncDirectory(ctx.dir);
  ctx.stats.dirFsyncs++;
  return name;
}
