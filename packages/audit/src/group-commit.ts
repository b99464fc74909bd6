// Group commit: the write path of an AuditLog (no timers).
//
// An accepted append is queued and a flush is scheduled with setImmediate unless one is running.
// A flush takes everything queued, waits until it is sealed (log-sealing.ts), writes each touched
// tenant file once (one pwritev at its durable end) and fdatasyncs it once, all tenants
// concurrently, fsyncs the directory when a file was created, and only then does the in-memory
// state (size, tree, offsets, head) advance and do those appends resolve. Appends that arrive
// during a flush wait for the next one, which starts as soon as this one ends: under load one
// fsync per tenant file serves every append of the previous few milliseconds. Indices follow call
// order per tenant.
//
// Failure. When a tenant's write or fsync fails, its appends of that flush reject with IO_ERROR,
// the file is truncated back to its durable length and synced, and nothing in memory moves: the
// failed indices are reused by the appends queued behind them, which are sealed again on the
// durable head (the worker may have sealed them already, after the failed entries: those seals
// are dropped, and a flush checks every index it writes). If the worker dies, the appends it held
// reject with IO_ERROR and the next chunk starts a new worker. If even the truncation fails, the
// file's contents are unknown: the tenant's queued appends reject too, and it refuses appends
// (IO_ERROR) until the log is reopened, which replays what is really there.
import { _ioError } from './errors.js';
import type { TenantFiles } from './log-files.js';
import { _syncDirectory, type LogIo } from './log-io.js';
import type { SealPipeline } from './log-sealing.js';
import type { Pending, TenantState } from './log-tenant.js';
import type { AuditLogStats } from './log-types.js';
import { FILE_MAGIC } from './record.js';

/** One tenant's part of a flush, sealed. */
interface Batch {
  t: TenantState;
  records: Pending[];
  /** The file magic (for a new file) and the framed records, written at t.fileBytes, in pieces. */
  parts: Uint8Array[];
  /** Their total length. */
  bytes: number;
  /** File offset of each record. */
  starts: Float64Array;
  /** Leaf hashes, n × 32. */
  leaves: Uint8Array;
}

/**
 * One tenant's part of a flush, from its sealed appends: the file magic for a new file and the
 * records (runs of adjacent records of one chunk taken as one piece), their file offsets and
 * leaves. Throws when an append failed to seal or was sealed on another head (its index is not
 * the next one): nothing is written then, and the roll-back seals the queued appends again.
 */
function frame(t: TenantState, records: Pending[]): Batch {
  const n = records.length;
  const parts: Uint8Array[] = [];
  const starts = new Float64Array(n);
  const leaves = new Uint8Array(32 * n);
  let total = 0;
  if (t.fileBytes === 0) {
    parts.push(FILE_MAGIC);
    total = FILE_MAGIC.length;
  }
  let runBuf: Uint8Array | undefined;
  let runStart = 0;
  let runEnd = 0;
  for (let r = 0; r < n; r++) {
    const p = records[r]!;
    const res = p.res;
    if (res === undefined) throw new Error(`sealing failed: ${p.sealError ?? 'no result'}`);
    const index = res.indices[p.i]!;
    if (index !== t.size + r) throw new Error(`internal: entry ${t.size + r} of ${t.id} was sealed as index ${index}`);
    const from = res.starts[p.i]!;
    const to = res.ends[p.i]!;
    starts[r] = t.fileBytes + total;
    total += to - from;
    leaves.set(res.leaves.subarray(32 * p.i, 32 * p.i + 32), 32 * r);
    if (res.buf === runBuf && from === runEnd) {
      runEnd = to;
    } else {
      if (runBuf !== undefined) parts.push(runBuf.subarray(runStart, runEnd));
      runBuf = res.buf;
      runStart = from;
      runEnd = to;
    }
  }
  if (runBuf !== undefined) parts.push(runBuf.subarray(runStart, runEnd));
  return { t, records, parts, bytes: total, starts, leaves };
}

export interface GroupCommitDeps {
  /** The log directory (fsync'd when a tenant file was created). */
  dir: string;
  io: LogIo;
  files: TenantFiles;
  sealing: SealPipeline;
  /** The log's counters, updated in place. */
  stats: AuditLogStats;
}

export class GroupCommit {
  readonly #dir: string;
  readonly #io: LogIo;
  readonly #files: TenantFiles;
  readonly #sealing: SealPipeline;
  readonly #stats: AuditLogStats;
  /** Tenants with queued appends, in the order they were first queued. */
  #dirty = new Set<TenantState>();
  #scheduled = false;
  #flushing = false;
  #idleWaiters: (() => void)[] = [];
  #batchWaiters: (() => void)[] = [];

  constructor(deps: GroupCommitDeps) {
    this.#dir = deps.dir;
    this.#io = deps.io;
    this.#files = deps.files;
    this.#sealing = deps.sealing;
    this.#stats = deps.stats;
  }

  /** The tenant has a newly queued append: it is in the next flush, which is scheduled. */
  enqueue(t: TenantState): void {
    this.#dirty.add(t);
    this.#schedule();
  }

  /** Resolves when nothing is queued or being flushed. */
  whenIdle(): Promise<void> {
    if (!this.#flushing && !this.#scheduled && this.#dirty.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Resolves once the tenant has nothing queued and nothing being written. */
  async whenWritten(t: TenantState): Promise<void> {
    while (t.writing || t.queued.length > 0) await new Promise<void>((resolve) => this.#batchWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => void this.#runFlushes());
  }

  async #runFlushes(): Promise<void> {
    this.#scheduled = false;
    this.#flushing = true;
    try {
      while (this.#dirty.size > 0) {
        const batch = [...this.#dirty];
        this.#dirty = new Set();
        const work = batch.map((t) => {
          const records = t.queued;
          t.queued = [];
          t.writing = true;
          return { t, records };
        });
        await this.#flush(work);
        for (const { t } of work) t.writing = false;
        for (const w of this.#batchWaiters.splice(0)) w();
      }
    } finally {
      this.#flushing = false;
      for (const w of this.#idleWaiters.splice(0)) w();
      for (const w of this.#batchWaiters.splice(0)) w();
    }
  }

  /** One group commit. Never throws: every append of `work` is resolved or rejected. */
  async #flush(work: { t: TenantState; records: Pending[] }[]): Promise<void> {
    this.#stats.flushes++;
    this.#sealing.sealOpenChunk();
    let upTo = 0;
    for (const { records } of work) for (const p of records) if (p.chunk > upTo) upTo = p.chunk;
    await this.#sealing.sealedUpTo(upTo);
    const batches: Batch[] = [];
    for (const { t, records } of work) {
      try {
        batches.push(frame(t, records));
      } catch (e) {
        // Nothing was written: a failure here is reported to the appends rather than lost.
        await this.#rollBack(t, records, e);
      }
    }
    const errors: unknown[] = await Promise.all(batches.map((b) => this.#writeTenant(b).then(() => undefined, (e: unknown) => e ?? new Error('write failed'))));
    const created = batches.map((_, i) => i).filter((i) => errors[i] === undefined && !batches[i]!.t.dirSynced);
    if (created.length > 0) {
      try {
        await _syncDirectory(this.#dir);
        this.#stats.dirFsyncs++;
        for (const i of created) batches[i]!.t.dirSynced = true;
      } catch (e) {
        for (const i of created) errors[i] = e;
      }
    }
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      if (errors[i] === undefined) {
        try {
          this.#commit(b);
          continue;
        } catch (e) {
          // Durable but not recorded in memory: refuse further appends rather than reuse indices.
          b.t.failure = _ioError(e, `tenant ${JSON.stringify(b.t.id)}: internal state update failed`, b.t.id);
          errors[i] = e;
        }
      }
      await this.#rollBack(b.t, b.records, errors[i]);
    }
  }

  /** Writes a tenant's sealed records at its durable end and syncs them. */
  async #writeTenant(b: Batch): Promise<void> {
    const { t, parts, bytes } = b;
    t.users++;
    try {
      const fd = await this.#files.fd(t);
      await this.#io.write(fd, parts, t.fileBytes);
      this.#stats.bytesWritten += bytes;
      await this.#io.datasync(fd);
      this.#stats.fsyncs++;
    } finally {
      t.users--;
    }
  }

  /** The flushed records are durable: advance the tenant's state and acknowledge them. */
  #commit(b: Batch): void {
    const { t, records, starts } = b;
    const n = records.length;
    t.tree.appendLeafHashes(b.leaves);
    if (t.size + n > t.offsets.length) {
      const grown = new Float64Array(Math.max(2 * t.offsets.length, t.size + n));
      grown.set(t.offsets.subarray(0, t.size));
      t.offsets = grown;
    }
    t.offsets.set(starts, t.size);
    t.fileBytes += b.bytes;
    const first = t.size;
    t.size += n;
    const last = records[n - 1]!;
    t.headHex = last.res!.hexes.slice(64 * last.i, 64 * last.i + 64);
    this.#stats.appends += n;
    for (let r = 0; r < n; r++) {
      const p = records[r]!;
      const leafHash = p.res!.hexes.slice(64 * p.i, 64 * p.i + 64);
      p.res = undefined;
      p.resolve({ tenant_id: t.id, index: first + r, leaf_hash: leafHash, timestamp: p.timestamp });
    }
  }

  /**
   * A failed flush of `t`: reject its appends and undo the write. Queued appends stay queued and
   * are sealed again, on the durable head (their seals extended the failed ones), unless the undo
   * fails too.
   */
  async #rollBack(t: TenantState, records: Pending[], cause: unknown): Promise<void> {
    let rejected = records;
    t.users++;
    try {
      if (t.failure === undefined) {
        const fd = await this.#files.fd(t);
        await this.#io.truncate(fd, t.fileBytes);
        await this.#io.datasync(fd);
      }
    } catch (e) {
      t.failure = _ioError(e, `tenant ${JSON.stringify(t.id)}: could not undo a failed write`, t.id);
    } finally {
      t.users--;
    }
    if (t.failure !== undefined) {
      rejected = records.concat(t.queued);
      t.queued = [];
      this.#dirty.delete(t);
    }
    t.next -= rejected.length;
    for (let r = 0; r < rejected.length; r++) {
      const p = rejected[r]!;
      p.res = undefined;
      // Within the flush, append r would have been entry size + r.
      p.reject(_ioError(cause, `tenant ${JSON.stringify(t.id)}: an append was not made durable`, t.id, r < records.length ? t.size + r : undefined));
    }
    t.sealGen = -1;
    t.sealRes = undefined;
    for (const p of t.queued) this.#sealing.add(t, p);
  }
}
