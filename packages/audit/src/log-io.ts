// The file operations an AuditLog's write path goes through, as a small replaceable interface:
// the default is node:fs; tests wrap it to inject write and fsync failures. Reads, opening files
// and the directory fsync (_syncDirectory, below) use node:fs directly.
import fs from 'node:fs';
import { promisify } from 'node:util';

const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const ftruncate = promisify(fs.ftruncate);
const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fsyncFd = promisify(fs.fsync);

export interface LogIo {
  /** Writes all of `data` at `position` of the open file `fd` (pwrite(2), repeated on short writes). */
  write(fd: number, data: Uint8Array, position: number): Promise<void>;
  /** fdatasync(2): the file's data and size are on stable storage when this resolves. */
  datasync(fd: number): Promise<void>;
  /** ftruncate(2) to `length` bytes. */
  truncate(fd: number, length: number): Promise<void>;
}

/** The node:fs implementation every log uses unless told otherwise. */
export const nodeLogIo: LogIo = Object.freeze({
  async write(fd: number, data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await write(fd, data, done, data.length - done, position + done);
      done += bytesWritten;
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

