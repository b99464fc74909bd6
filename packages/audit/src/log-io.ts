// The file operations an AuditLog's write path goes through, as a small replaceable interface:
// the default is node:fs; tests wrap it to inject write and fsync failures. Reads, opening files
// and the directory fsync (_syncDirectory, below) use node:fs directly.
import fs from 'node:fs';
import { promisify } from 'node:util';

const writev = promisify(fs.writev);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fsyncFd = promisify(fs.fsync);

export interface LogIo {
  /**
   * Writes all of `data`, its pieces one after another, at `position` of the open file `fd`
   * (pwritev(2), repeated on short writes).
   */
  write(fd: number, data: readonly Uint8Array[], position: number): Promise<void>;
  /** fdatasync(2): the file's data and size are on stable storage when this resolves. */
  datasync(fd: number): Promise<void>;
  /** ftruncate(2) to `length` bytes. */
  truncate(fd: number, length: number): Promise<void>;
}

/** The node:fs implementation every log uses unless told otherwise. */
export const nodeLogIo: LogIo = Object.freeze({
  async write(fd: number, data: readonly Uint8Array[], position: number): Promise<void> {
    let rest = data.filter((d) => d.length > 0);
    let at = position;
    while (rest.length > 0) {
      // At most IOV_MAX (1024 on Linux) pieces per call.
      const { bytesWritten } = await writev(fd, rest.slice(0, 1024), at);
      if (bytesWritten <= 0) throw new Error(`pwritev wrote nothing at offset ${at}`);
      at += bytesWritten;
      let skip = bytesWritten;
      let k = 0;
      while (k < rest.length && skip >= rest[k]!.length) skip -= rest[k++]!.length;
      rest = rest.slice(k);
      if (skip > 0) rest[0] = rest[0]!.subarray(skip);
    }
  },
  datasync: (fd: number): Promise<void> => fdatasync(fd),
  truncate: (fd: number, length: number): Promise<void> => ftruncate(fd, length),
});

/** fsync(2) of a directory, so that entries created in it survive a power loss. */
export async function _syncDirectory(dir: string): Promise<void> {
  // Windows can neither open nor fsync a directory (and NTFS journals the entry itself).
  if (process.platform === 'win32') return;
  const fd = await openFd(dir, fs.constants.O_RDONLY);
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

