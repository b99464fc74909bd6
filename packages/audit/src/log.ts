// AuditLog: the durable per-tenant audit log, embedded default (files in one directory).
//
// Layout: one file per tenant (tenant-id.ts names it), framed records (record.ts) holding the
// canonical entries (entry.ts) of that tenant's hash chain, plus the lock file (lock.ts).
//
// append() checks its input, serialises the payload (RFC 8785, canonical-json.ts), stamps the
// time, checks the size and queues it; it resolves once the entry is durable. The rest lives
// beside this file, one concept each:
//   - log-sealing.ts   sealing (index, prev, framing, leaf hash) in the seal worker, in chunks;
//   - group-commit.ts  flushes: one write and one fdatasync per tenant file serve many appends,
//                      and what a failed write or fsync undoes;
//   - log-recovery.ts  open: the directory lock and the replay of every tenant file;
//   - log-read.ts      reading an entry back, checked;
//   - log-repair.ts    the explicit repair of a corrupt chain;
//   - log-tenant.ts    one tenant's state; log-files.ts its open file.
import { compareTenantIds } from '@tenantry/core';
import { _canonicalPayload, _canonicalString, _checkEntryInput, _entryLength, formatTimestamp, type AuditEntryInput } from './entry.js';
import { AuditError, isAuditError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { _releaseLock, type DirLock } from './lock.js';
import { TenantFiles } from './log-files.js';
import type { LogIo } from './log-io.js';
import { _checkOptions, type AuditLogOptions } from './log-options.js';
import { _readEntry } from './log-read.js';
import { _lockDir, _recover } from './log-recovery.js';
import { _repair, _repairArgs } from './log-repair.js';
import { SealPipeline } from './log-sealing.js';
import { _checkWritable, _installReplay, _newTenant, type Pending, type TenantState } from './log-tenant.js';
import type {
  AppendResult, AuditLogStats, AuditLogStatus, LogHead, OpenReport, RepairOptions, RepairReport, StoredEntry,
} from './log-types.js';
import type { Corruption, ReplayResult } from './replay.js';
import { checkTenantId } from './tenant-id.js';
import { MAX_TREE_SIZE, MerkleTree } from './tree.js';

export type { AuditLogOptions } from './log-options.js';
export type {
  AppendResult, AuditLogStats, AuditLogStatus, LogHead, OpenReport, RepairOptions, RepairReport, StoredEntry,
} from './log-types.js';

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const EMPTY_TREE = new MerkleTree();

/**
 * A durable, tamper-evident audit log with one hash chain per tenant (protocol 1.0;
 * docs/architecture.md, "@tenantry/audit"), stored as files in one directory that this process
 * locks.
 *
 * @example
 * const log = await AuditLog.open('/var/lib/gateway/audit');
 * const r = await log.append('acme', { kind: 'policy.deny', payload: { action: 'delete' } });
 * // r = { tenant_id: 'acme', index: 0, leaf_hash: '…', timestamp: '…' }, durable
 * log.root('acme');                         // RFC 6962 root of acme's chain
 * await log.close();
 */
export class AuditLog {
  readonly #dir: string;
  readonly #clock: () => number;
  readonly #maxEntryBytes: number;
  readonly #io: LogIo;
  readonly #lock: DirLock;
  readonly #files: TenantFiles;
  readonly #sealing: SealPipeline;
  readonly #commits: GroupCommit;
  readonly #tenants = new Map<string, TenantState>();
  readonly #ops = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  #closed = false;
  #openReport: OpenReport | undefined;
  readonly #corruptions = new Map<TenantState, Corruption>();
  readonly #repairs: RepairReport[] = [];
  readonly #stats: AuditLogStats = { appends: 0, flushes: 0, fsyncs: 0, dirFsyncs: 0, bytesWritten: 0 };

  private constructor(dir: string, options: Required<AuditLogOptions>, lock: DirLock) {
    this.#dir = dir;
    this.#clock = options.clock;
    this.#maxEntryBytes = options.maxEntryBytes;
    this.#io = options.io;
    this.#lock = lock;
    this.#files = new TenantFiles(options.maxOpenFiles);
    this.#sealing = new SealPipeline(options.sealer);
    this.#commits = new GroupCommit({ dir, io: options.io, files: this.#files, sealing: this.#sealing, stats: this.#stats });
  }

  /**
   * Opens (creating when allowed) the log in `dir`: takes the directory lock, replays every tenant
   * file (cutting torn tails, reporting corruption; see openReport) and returns the log.
   * @throws AuditError INVALID_ARGUMENT (`dir`, `options.*`), LOG_LOCKED (another live process, or
   *   this one, has the directory open), IO_ERROR (field `dir`) when the directory cannot be used.
   */
  static async open(dir: string, options?: AuditLogOptions): Promise<AuditLog> {
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
      throw new AuditError('INVALID_ARGUMENT', 'dir must be a non-empty path string', { field: 'dir' });
    }
    const o = _checkOptions(options);
    const { real, lock } = await _lockDir(dir, o.create);
    const log = new AuditLog(real, o, lock);
    try {
      await log.#load();
    } catch (e) {
      await log.#files.closeAll(log.#tenants.values());
      await _releaseLock(lock);
      throw isAuditError(e) ? e : new AuditError('IO_ERROR', `dir ${dir}: replay failed: ${(e as Error).message}`, { field: 'dir', cause: e });
    }
    return log;
  }

  /** The log directory (its real path). */
  get dir(): string {
    return this.#dir;
  }

  /** What open found and did: torn tails cut, corruptions, a stale lock taken over. */
  get openReport(): OpenReport {
    return structuredClone(this.#openReport!);
  }

  async #load(): Promise<void> {
    const { tornTails, ignoredFiles } = await _recover(this.#dir, {
      io: this.#io,
      stats: this.#stats,
      tenant: (id) => this.#newTenant(id),
      install: (t, replay) => this.#install(t, replay),
    });
    let count = 0;
    let total = 0;
    for (const t of this.#tenants.values()) {
      if (t.size > 0) count++;
      total += t.size;
    }
    this.#openReport = {
      tenants: count, entries: total, tornTails, corruptions: [...this.#corruptions.values()],
      staleLock: this.#lock.stale, ignoredFiles,
    };
  }

  #newTenant(id: string): TenantState {
    const t = _newTenant(this.#dir, id);
    this.#tenants.set(id, t);
    return t;
  }

  #install(t: TenantState, r: ReplayResult): void {
    _installReplay(t, r, this.#corruptions);
  }

  // ---- appending -----------------------------------------------------------------------------

  /**
   * Appends `{ kind, payload }` to the tenant's chain. Resolves once the entry is on stable
   * storage (fdatasync), with its index and leaf hash; many concurrent appends share one fsync.
   * Entries of one tenant get consecutive indices in call order.
   *
   * Rejects, with nothing written and no index used: LOG_CLOSED; INVALID_TENANT_ID (`tenantId`);
   * INVALID_ARGUMENT (`entry`, `kind`, `options.clock` when the clock misbehaves); INVALID_PAYLOAD
   * (`payload…`, see entry.ts for the rules); ENTRY_TOO_LARGE (`payload`); LOG_CORRUPT (tenantId,
   * index: the tenant's chain is corrupt and read-only, see corruption() and repair; checked
   * first, and the message names the byte offset and the repair command); INVALID_SIZE (the tenant reached
   * MAX_TREE_SIZE entries); IO_ERROR (tenantId, index) when the write or fsync fails.
   */
  append(tenantId: string, entry: AuditEntryInput): Promise<AppendResult> {
    try {
      this.#checkOpen();
      let t = this.#tenants.get(tenantId);
      if (t === undefined) checkTenantId(tenantId);
      else _checkWritable(t);
      const { kind, payload } = _checkEntryInput(entry, this.#maxEntryBytes);
      const timestamp = formatTimestamp(this.#clock(), 'options.clock');
      const index = t === undefined ? 0 : t.next;
      if (index >= MAX_TREE_SIZE) {
        throw new AuditError('INVALID_SIZE', `tenant ${JSON.stringify(tenantId)} holds the most entries a log keeps (${MAX_TREE_SIZE})`, { tenantId, index });
      }
      const payloadJson = _canonicalPayload(payload);
      const payloadBytes = Buffer.byteLength(payloadJson, 'utf8');
      // The index is final at the flush and never larger than this one, so neither is the size.
      const length = _entryLength(index, kind, payloadBytes, t === undefined ? Buffer.byteLength(_canonicalString(tenantId), 'utf8') : t.idJsonBytes);
      if (length > this.#maxEntryBytes) {
        throw new AuditError('ENTRY_TOO_LARGE', `payload: the entry is ${length} bytes, above maxEntryBytes (${this.#maxEntryBytes})`, { field: 'payload', tenantId });
      }
      t ??= this.#newTenant(tenantId);
      t.next++;
      const tenant = t;
      return new Promise<AppendResult>((resolve, reject) => {
        const p: Pending = { t: tenant, kind, payloadJson, src: '', at: 0, len: 0, payloadBytes, timestamp, chunk: 0, res: undefined, i: 0, sealError: undefined, resolve, reject };
        tenant.queued.push(p);
        this.#sealing.add(tenant, p);
        this.#commits.enqueue(tenant);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new AuditError('LOG_CLOSED', `the audit log in ${this.#dir} is closed`);
  }

  /** Runs `fn` as an operation close() waits for. */
  async #track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn();
    this.#ops.add(p);
    try {
      return await p;
    } finally {
      this.#ops.delete(p);
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  #tenant(tenantId: string): TenantState | undefined {
    this.#checkOpen();
    const t = this.#tenants.get(tenantId);
    if (t === undefined) checkTenantId(tenantId);
    return t;
  }

  /**
   * The tenant's corruption, or undefined when its chain is sound. A corrupt chain (found at open,
   * or by entry() since) is read-only: size() is its verified prefix (for one found at open),
   * entry(), leafHash(), root(), the proofs and receipts work for every entry before `index`, and
   * append() rejects at once with LOG_CORRUPT until repair(). Other tenants are not affected.
   * @throws AuditError INVALID_TENANT_ID, LOG_CLOSED.
   */
  corruption(tenantId: string): Corruption | undefined {
    const c = this.#tenant(tenantId)?.corruption;
    return c === undefined ? undefined : { ...c };
  }

  /** Durable (acknowledged) entries of the tenant; the verified prefix of a corrupt chain. 0 for an unknown tenant. */
  size(tenantId: string): number {
    return this.#tenant(tenantId)?.size ?? 0;
  }

  /**
   * RFC 6962 root of the tenant's first `size` entries (default: all durable ones); SHA-256("")
   * for size 0. @throws AuditError INVALID_SIZE (field `size`) above size(tenantId).
   */
  root(tenantId: string, size?: number): Uint8Array {
    return (this.#tenant(tenantId)?.tree ?? EMPTY_TREE).root(size);
  }

  /** Leaf hash of entry `index`. @throws AuditError INVALID_INDEX (field `index`). */
  leafHash(tenantId: string, index: number): Uint8Array {
    return (this.#tenant(tenantId)?.tree ?? EMPTY_TREE).leafHash(index);
  }

  /** RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `size` entries (default: all). */
  inclusionProof(tenantId: string, index: number, size?: number): Uint8Array[] {
    return (this.#tenant(tenantId)?.tree ?? EMPTY_TREE).inclusionProof(index, size);
  }

  /** RFC 9162 §2.1.4 consistency proof between sizes `size1` and `size2` (default: all). */
  consistencyProof(tenantId: string, size1: number, size2?: number): Uint8Array[] {
    return (this.#tenant(tenantId)?.tree ?? EMPTY_TREE).consistencyProof(size1, size2);
  }

  /** The tenant's head `{ tenant_id, size, root }` (root in hex). */
  head(tenantId: string): LogHead {
    const t = this.#tenant(tenantId);
    return { tenant_id: tenantId, size: t?.size ?? 0, root: hex((t?.tree ?? EMPTY_TREE).root()) };
  }

  /** Tenants with at least one durable entry, in ascending order of their UTF-8 bytes. */
  tenants(): string[] {
    this.#checkOpen();
    const ids: string[] = [];
    for (const t of this.#tenants.values()) if (t.size > 0) ids.push(t.id);
    return ids.sort(compareTenantIds);
  }

  /**
   * Reads entry `index` back from disk and checks it (CRC, leaf hash, chain fields). A mismatch
   * found now (the file changed under the log) is recorded as a corruption and the tenant then
   * refuses appends.
   * @throws AuditError INVALID_INDEX (field `index`), LOG_CORRUPT (tenantId, index), IO_ERROR.
   */
  entry(tenantId: string, index: number): Promise<StoredEntry> {
    try {
      const t = this.#tenant(tenantId);
      const size = t?.size ?? 0;
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= size) {
        throw new AuditError('INVALID_INDEX', `index must be an integer in 0..${size - 1} (the tenant's durable entries), got ${String(index)}`, { field: 'index', tenantId });
      }
      return this.#track(() => _readEntry(t!, index, this.#files, this.#corruptions));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // ---- status and repair -----------------------------------------------------------------------

  /** Counters of the write path. Readable after close. */
  stats(): AuditLogStats {
    return { ...this.#stats };
  }

  /** Current state: corruptions, failures, torn tails cut at open, repairs done. Readable after close. */
  status(): AuditLogStatus {
    let tenants = 0;
    let entries = 0;
    let pendingAppends = 0;
    const failures: AuditLogStatus['failures'] = [];
    for (const t of this.#tenants.values()) {
      if (t.size > 0) tenants++;
      entries += t.size;
      pendingAppends += t.next - t.size;
      if (t.failure !== undefined) failures.push({ tenantId: t.id, message: t.failure.message });
    }
    return structuredClone({
      dir: this.#dir, closed: this.#closing !== undefined, tenants, entries, pendingAppends,
      corruptions: [...this.#corruptions.values()], failures,
      tornTails: this.#openReport?.tornTails ?? [], repairs: this.#repairs,
    });
  }

  /**
   * Repairs a corrupt tenant chain explicitly: keeps entries 0..truncateAfter − 1 (truncateAfter ≤
   * the corruption's index, so only verified entries are kept), copies every byte after them to a
   * side file `<tenant file>.cut-<clock ms>` in the log directory (synced first: evidence is never
   * destroyed), truncates the tenant file, replays it, and lets appends continue from
   * truncateAfter. The report is also listed in status().repairs.
   * @throws AuditError INVALID_ARGUMENT (`tenantId` not corrupt, `options`), INVALID_INDEX
   *   (`options.truncateAfter`), INVALID_TENANT_ID, LOG_CLOSED, IO_ERROR.
   */
  repair(tenantId: string, options: RepairOptions): Promise<RepairReport> {
    try {
      const { t, keep, corruption } = _repairArgs(this.#tenant(tenantId), tenantId, options);
      return this.#track(async () => {
        const report = await _repair({
          dir: this.#dir, clock: this.#clock, io: this.#io, files: this.#files, commits: this.#commits, stats: this.#stats,
          install: (tenant, replay) => this.#install(tenant, replay),
        }, t, keep, corruption);
        this.#repairs.push(report);
        return structuredClone(report);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // ---- closing ---------------------------------------------------------------------------------

  /**
   * Waits for every accepted append to resolve or reject and for reads and repairs in flight,
   * closes the files and releases the directory lock. Every later call except stats(), status()
   * and openReport fails with LOG_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#commits.whenIdle();
      await Promise.allSettled([...this.#ops]);
      // The sealer may forget this log's heads.
      const slots = [...this.#tenants.values()].filter((t) => t.sealGen !== -1).map((t) => t.slot);
      if (slots.length > 0) this.#sealing.send(slots);
      await this.#files.closeAll(this.#tenants.values());
      await _releaseLock(this.#lock);
      this.#closed = true;
    })();
    return this.#closing;
  }

  /** True once close() has finished. */
  get closed(): boolean {
    return this.#closed;
  }
}
