// The open files of a log's tenants: a file is opened on first use and kept open, up to
// maxOpenFiles at once; past that, the least recently used file no operation is using is closed.
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { TenantState } from './log-tenant.js';

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);

export class TenantFiles {
  readonly #maxOpenFiles: number;
  /** Tenants with an open fd, least recently used first. */
  readonly #open = new Set<TenantState>();

  constructor(maxOpenFiles: number) {
    this.#maxOpenFiles = maxOpenFiles;
  }

  /** The tenant's open fd (opening, creating the file if needed). Callers hold t.users. */
  async fd(t: TenantState): Promise<number> {
    if (t.fd !== undefined) {
      this.#open.delete(t);
      this.#open.add(t);
      return t.fd;
    }
    const fd = await openFd(t.path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    if (t.fd !== undefined) {
      await closeFd(fd);
      return t.fd;
    }
    t.fd = fd;
    this.#open.add(t);
    for (const u of this.#open) {
      if (this.#open.size <= this.#maxOpenFiles) break;
      if (u.users > 0 || u.fd === undefined) continue;
      const old = u.fd;
      u.fd = undefined;
      this.#open.delete(u);
      fs.close(old, () => undefined);
    }
    return fd;
  }

  /** Closes every tenant's file. */
  async closeAll(tenants: Iterable<TenantState>): Promise<void> {
    for (const t of tenants) {
      if (t.fd === undefined) continue;
      const fd = t.fd;
      t.fd = undefined;
      await closeFd(fd).catch(() => undefined);
    }
    this.#open.clear();
  }
}
