// Opening a log directory and recovering its tenants from the files (replay.ts).
//
// Each tenant file is replayed: a torn tail (an incomplete last record: never acknowledged) is cut
// and reported; any other defect (a record that fails its CRC, a damaged header, a dropped,
// duplicated or reordered record, a broken prev link, a foreign entry) is reported with the tenant
// and the index of the first unverified entry, the file is left untouched, reads see the verified
// prefix, and appends to that tenant fail with LOG_CORRUPT until repair (log-repair.ts).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AuditError, isAuditError } from './errors.js';
import { _acquireLock, LOCK_FILE, type DirLock } from './lock.js';
import { _syncDirectory, type LogIo } from './log-io.js';
import type { TenantState } from './log-tenant.js';
import type { AuditLogStats } from './log-types.js';
import { _replayTenantFile, type ReplayResult, type TornTail } from './replay.js';
import { tenantIdOfFileName } from './tenant-id.js';

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fstat = promisify(fs.fstat);

/** The side files repair saves cut bytes to (log-repair.ts): evidence, not tenant chains. */
const QUARANTINE = /\.log\.cut-\d+(-\d+)?$/;

/**
 * Makes `dir` usable (creating it when allowed) and takes its lock. Returns its real path.
 * @throws AuditError LOG_LOCKED, IO_ERROR (field `dir`).
 */
export async function _lockDir(dir: string, create: boolean): Promise<{ real: string; lock: DirLock }> {
  let real: string;
  try {
    const abs = resolve(dir);
    if (create) {
      // Every directory created needs its entry in its parent made durable, up to the first one.
      const made = await fsp.mkdir(abs, { recursive: true });
      for (let d = abs; made !== undefined; d = dirname(d)) {
        await _syncDirectory(dirname(d));
        if (d === made) break;
      }
    }
    real = await fsp.realpath(abs);
  } catch (e) {
    throw new AuditError('IO_ERROR', `dir ${dir} cannot be used: ${(e as Error).message}`, { field: 'dir', cause: e });
  }
  const lock = await _acquireLock(real).catch((e: unknown) => {
    throw isAuditError(e) ? e : new AuditError('IO_ERROR', `dir ${dir}: cannot take the lock: ${(e as Error).message}`, { field: 'dir', cause: e });
  });
  return { real, lock };
}

export interface RecoveryTarget {
  io: LogIo;
  stats: AuditLogStats;
  /** A new tenant of the log. */
  tenant(id: string): TenantState;
  /** Makes a replay the tenant's durable state. */
  install(t: TenantState, replay: ReplayResult): void;
}

/**
 * Replays every tenant file of the locked directory `dir` into `target`, in order of file name,
 * cutting torn tails, and fsyncs the directory.
 */
export async function _recover(dir: string, target: RecoveryTarget): Promise<{ tornTails: TornTail[]; ignoredFiles: string[] }> {
  const tornTails: TornTail[] = [];
  const ignoredFiles: string[] = [];
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of entries) {
    const name = dirent.name;
    const id = dirent.isFile() ? tenantIdOfFileName(name) : undefined;
    if (id === undefined) {
      if (name !== LOCK_FILE && !QUARANTINE.test(name)) ignoredFiles.push(name);
      continue;
    }
    const t = target.tenant(id);
    t.dirSynced = true;
    const fd = await openFd(t.path, fs.constants.O_RDWR);
    try {
      const { size } = await fstat(fd);
      const replay = await _replayTenantFile(fd, id, size);
      if (replay.torn !== undefined) {
        await target.io.truncate(fd, replay.validBytes);
        await target.io.datasync(fd);
        tornTails.push(replay.torn);
      }
      target.install(t, replay);
    } finally {
      await closeFd(fd);
    }
  }
  // Files a crashed writer created may not have durable directory entries yet.
  await _syncDirectory(dir);
  target.stats.dirFsyncs++;
  return { tornTails, ignoredFiles };
}
