// One writer per log directory: a lock file `LOCK` created with O_EXCL and holding
// {"pid", "host", "token"}. Node has no flock(2), so liveness is checked by pid:
//   - held by this process (an AuditLog not yet closed)            → LOG_LOCKED
//   - held by a live process on this host (kill(pid, 0) succeeds)  → LOG_LOCKED
//   - held by a process on another host (a shared filesystem)      → LOG_LOCKED (its liveness is unknowable
//     from here; remove the file by hand once that host is down)
//   - held by a dead process, or unreadable (a crash between creating and writing it) → stale: taken over
// A stale lock is taken over by renaming it to a unique name first (rename is atomic): of two
// processes racing for the same stale lock only one renames it, and one that finds a different
// lock than it inspected puts it back. A pid reused by an unrelated live process makes the lock
// look held (a false LOG_LOCKED, never two writers); remove the file by hand then.
import fs from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuditError } from './errors.js';

export const LOCK_FILE = 'LOCK';
const ATTEMPTS = 5;

/** Directories locked by this process (real paths), so a second open here fails at once. */
const held = new Set<string>();

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

export interface DirLock {
  /** The real path of the locked directory. */
  dir: string;
  token: string;
  /** Set when a stale lock of a dead process was taken over. */
  stale: { pid: number; host: string } | undefined;
}

function parse(text: string): LockContent | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockContent>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' && typeof v.token === 'string') {
      return { pid: v.pid, host: v.host, token: v.token };
    }
  } catch {
    // unreadable: a crash between creating the file and writing it
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function locked(message: string, pid?: number): AuditError {
  return new AuditError('LOG_LOCKED', message, { field: 'dir', cause: pid === undefined ? undefined : { pid } });
}

/** Takes the lock of `realDir` (an existing directory's real path). */
export async function _acquireLock(realDir: string): Promise<DirLock> {
  if (held.has(realDir)) throw locked(`dir ${realDir} is already open in this process (one AuditLog per directory)`, process.pid);
  const path = join(realDir, LOCK_FILE);
  const content: LockContent = { pid: process.pid, host: os.hostname(), token: randomBytes(16).toString('hex') };
  let stale: DirLock['stale'];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      const fh = await fs.open(path, 'wx', 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(content)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      held.add(realDir);
      return { dir: realDir, token: content.token, stale };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = await readLock(path);
    if (text === undefined) continue;
    const holder = parse(text);
    if (holder !== undefined) {
      if (holder.host !== content.host) {
        throw locked(`dir ${realDir} is locked by pid ${holder.pid} on host ${holder.host}; remove ${path} by hand if that host is down`, holder.pid);
      }
      // Our own pid here means a previous process with the same pid (e.g. a restarted container).
      if (holder.pid !== process.pid && isAlive(holder.pid)) {
        throw locked(`dir ${realDir} is locked by the running process ${holder.pid}`, holder.pid);
      }
    }
    const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else took it over
      throw e;
    }
    if ((await readLock(aside)) !== text) {
      // Not the lock we inspected: another process replaced it meanwhile. Put it back unless yet
      // another lock has appeared since.
      await fs.link(aside, path).catch(() => undefined);
      await fs.unlink(aside);
      continue;
    }
    await fs.unlink(aside);
    if (holder !== undefined) stale = { pid: holder.pid, host: holder.host };
  }
  throw locked(`dir ${realDir}: could not take the lock after ${ATTEMPTS} attempts`);
}

/** Releases a lock taken by _acquireLock (only if the file is still ours). */
export async function _releaseLock(lock: DirLock): Promise<void> {
  held.delete(lock.dir);
  const path = join(lock.dir, LOCK_FILE);
  const holder = parse((await readLock(path)) ?? '');
  if (holder?.token === lock.token) await fs.unlink(path).catch(() => undefined);
}
