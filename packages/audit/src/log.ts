// AuditLog: the durable per-tenant audit log, embedded default (files in one directory).
//
// Layout: one file per tenant (tenant-id.ts names it), framed records (record.ts) holding the
// canonical entries (entry.ts) of that tenant's hash chain, plus the lock file (lock.ts).
//
// Durability (group commit, no timers). append() checks its input, serialises the payload
// (RFC 8785, canonical-json.ts), stamps the time, checks the size, queues it and schedules a flush with
// setImmediate unless one is running. Sealing — giving an append its index and prev, framing it
// and hashing its leaf (seal.ts) — runs in the seal worker (sealer.ts): appends go to it in chunks
// of CHUNK_APPENDS as they are made, so the worker seals while the caller keeps appending and
// while the previous flush waits for its fsync. The worker keeps each tenant's head (next index,
// prev); within a chunk it seals in rounds, append r of every tenant together, their leaves hashed
// by hashLeaves (4-lane SIMD), because within a chain each prev needs the previous leaf hash. A
// flush takes everything queued, waits until it is sealed (a small flush with nothing at the
// worker is sealed here instead, saving the round trip), writes each touched tenant file once (one
// pwritev at its durable end) and fdatasyncs it once, all tenants concurrently, fsyncs the
// directory when a file was created, and only then does the in-memory state (size, tree, offsets,
// head) advance and do those appends resolve. Appends that arrive during a flush wait for the next
// one, which starts as soon as this one ends: under load one fsync per tenant file serves every
// append of the previous few milliseconds. Indices follow call order per tenant.
//
// Failure. When a tenant's write or fsync fails, its appends of that flush reject with IO_ERROR,
// the file is truncated back to its durable length and synced, and nothing in memory moves: the
// failed indices are reused by the appends queued behind them, which are sealed again on the
// durable head (the worker may have sealed them already, after the failed entries: those seals
// are dropped, and a flush checks every index it writes). If the worker dies, the appends it held
// reject with IO_ERROR and the next chunk starts a new worker. If even the truncation fails, the file's contents are unknown: the
// tenant's queued appends reject too, and it refuses appends (IO_ERROR) until the log is reopened,
// which replays what is really there.
//
// Recovery on open (replay.ts). Each tenant file is replayed: a torn tail (an incomplete last
// record: never acknowledged) is cut and reported; any other defect (a record that fails its CRC,
// a damaged header, a dropped, duplicated or reordered record, a broken prev link, a foreign
// entry) is reported with the tenant and the index of the first unverified entry, the file is left
// untouched, reads see the verified prefix, and appends to that tenant fail with LOG_CORRUPT until
// repair(), which saves the cut bytes to a side file before truncating.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { hashLeaf } from '@tenantry/kernels';
import {
  GENESIS_PREV, _canonicalPayload, _canonicalString, _checkEntryInput, _entryLength, _parseEntry, formatTimestamp,
  type AuditEntryInput,
} from './entry.js';
import { AuditError, isAuditError } from './errors.js';
import { _acquireLock, _releaseLock, LOCK_FILE, type DirLock } from './lock.js';
import { _syncDirectory, type LogIo } from './log-io.js';
import { _checkOptions, type AuditLogOptions } from './log-options.js';
import type {
  AppendResult, AuditLogStats, AuditLogStatus, LogHead, OpenReport, RepairOptions, RepairReport, StoredEntry,
} from './log-types.js';

import { FILE_MAGIC, RECORD_HEADER_BYTES, _frameAt } from './record.js';
import { _readFully, _replayTenantFile, type Corruption, type ReplayResult, type TornTail } from './replay.js';
import { SealState, type SealChunk, type SealReset, type SealResult } from './seal.js';
import { _nextChunkId, _nextSlot, _sealer, type Sealer } from './sealer.js';
import { checkTenantId, compareTenantIdBytes, tenantFileName, tenantIdOfFileName } from './tenant-id.js';
import { MAX_TREE_SIZE, MerkleTree } from './tree.js';

export type { AuditLogOptions } from './log-options.js';
export type {
  AppendResult, AuditLogStats, AuditLogStatus, LogHead, OpenReport, RepairOptions, RepairReport, StoredEntry,
} from './log-types.js';

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fstat = promisify(fs.fstat);

/** An accepted append; the sealer gives it its index, prev, bytes and leaf hash (seal.ts). */
interface Pending {
  t: TenantState;
  kind: string;
  /**
   * RFC 8785 of the payload until the append is sent to the sealer; then '' and the payload is
   * src[at, at + len) (the chunk's payloads, one flat string: cheaper to keep than many ropes).
   */
  payloadJson: string;
  src: string;
  at: number;
  len: number;
  payloadBytes: number;
  timestamp: string;
  /** The chunk it was last sent in: results of any other chunk are stale and ignored. */
  chunk: number;
  /** Its seal (res, at position i of it) or the reason sealing failed, once the chunk is back. */
  res: SealResult | undefined;
  i: number;
  sealError: string | undefined;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Appends collected for the next chunk to the sealer. */
interface OpenChunk {
  pendings: Pending[];
  resets: SealReset[];
  slots: number[];
  kinds: string[];
  payloads: string[];
  lengths: number[];
  bytes: number[];
  timestamps: string[];
  chars: number;
}

/** A chunk goes to the sealer at this many appends or payload characters, or at the next flush. */
const CHUNK_APPENDS = 256;
const CHUNK_CHARS = 1 << 20;
/**
 * A flush whose last chunk holds at most this many appends, with nothing at the worker, seals it
 * on this thread: a lone append does not wait for a round trip to the worker.
 */
const LOCAL_SEAL_APPENDS = 32;

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

/** The sealer's message for an open chunk: `resets` apply before its appends, `drops` after. */
function chunkMessage(c: OpenChunk, id: number, payloads: string, resets: SealReset[], drops: number[]): SealChunk {
  return {
    id, resets, drops, slots: Int32Array.from(c.slots), kinds: c.kinds, payloads,
    payloadLengths: Uint32Array.from(c.lengths), payloadBytes: Uint32Array.from(c.bytes), timestamps: c.timestamps,
  };
}

const newChunk = (): OpenChunk => ({ pendings: [], resets: [], slots: [], kinds: [], payloads: [], lengths: [], bytes: [], timestamps: [], chars: 0 });

interface TenantState {
  id: string;
  /** RFC 8785 of the id (a JSON string) and its UTF-8 length. */
  idJson: string;
  idJsonBytes: number;
  /** Its slot in the sealer and the sealer generation its head was last reset in (−1: needs a reset). */
  slot: number;
  sealGen: number;
  /** The latest seal of this tenant's appends (res, position): the head the next one extends. */
  sealRes: SealResult | undefined;
  sealI: number;
  path: string;
  fd: number | undefined;
  /** Operations using fd right now (it is not closed while > 0). */
  users: number;
  // Durable state: on disk, synced, verified.
  size: number;
  tree: MerkleTree;
  offsets: Float64Array;
  /** End of the durable records (0: nothing written yet, not even the file magic). */
  fileBytes: number;
  headHex: string;
  dirSynced: boolean;
  /** size + appends being flushed + queued: an upper bound of the next append's index. */
  next: number;
  /** Accepted, not yet in a flush. */
  queued: Pending[];
  writing: boolean;
  corruption: Corruption | undefined;
  failure: AuditError | undefined;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const EMPTY_TREE = new MerkleTree();
const QUARANTINE = /\.log\.cut-\d+(-\d+)?$/;

function ioError(e: unknown, what: string, tenantId?: string, index?: number): AuditError {
  if (isAuditError(e)) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new AuditError('IO_ERROR', `${what}: ${reason}`, {
    ...(tenantId === undefined ? {} : { tenantId }), ...(index === undefined ? {} : { index }), cause: e,
  });
}

/**
 * A durable, tamper-evident audit log with one hash chain per tenant (DESIGN.md, protocol 1.0),
 * stored as files in one directory that this process locks.
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
  readonly #maxOpenFiles: number;
  readonly #io: LogIo;
  readonly #lock: DirLock;
  readonly #sealer: Sealer;
  /** Seals small flushes on this thread when the sealer is the worker (LOCAL_SEAL_APPENDS). */
  readonly #local: SealState | undefined;
  /** Chunks sent to the sealer whose results have not come back. */
  #inFlight = 0;
  #chunk: OpenChunk | undefined;
  /** Id of the latest chunk whose result came back, and flushes waiting for theirs. */
  #sealedThrough = 0;
  #sealWaiters: { upTo: number; resolve: () => void }[] = [];
  readonly #tenants = new Map<string, TenantState>();
  /** Tenants with an open fd, least recently used first. */
  readonly #open = new Set<TenantState>();
  /** Tenants with queued appends, in the order they were first queued. */
  #dirty = new Set<TenantState>();
  #scheduled = false;
  #flushing = false;
  #idleWaiters: (() => void)[] = [];
  #batchWaiters: (() => void)[] = [];
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
    this.#maxOpenFiles = options.maxOpenFiles;
    this.#io = options.io;
    this.#lock = lock;
    this.#sealer = _sealer(options.sealer);
    this.#local = options.sealer === 'worker' ? new SealState() : undefined;
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
    let real: string;
    try {
      const abs = resolve(dir);
      if (o.create) {
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
    const log = new AuditLog(real, o, lock);
    try {
      await log.#load();
    } catch (e) {
      await log.#closeFiles();
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
    const tornTails: TornTail[] = [];
    const ignoredFiles: string[] = [];
    const entries = await fsp.readdir(this.#dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const dirent of entries) {
      const name = dirent.name;
      const id = dirent.isFile() ? tenantIdOfFileName(name) : undefined;
      if (id === undefined) {
        if (name !== LOCK_FILE && !QUARANTINE.test(name)) ignoredFiles.push(name);
        continue;
      }
      const t = this.#newTenant(id);
      t.dirSynced = true;
      const fd = await openFd(t.path, fs.constants.O_RDWR);
      try {
        const { size } = await fstat(fd);
        const replay = await _replayTenantFile(fd, id, size);
        if (replay.torn !== undefined) {
          await this.#io.truncate(fd, replay.validBytes);
          await this.#io.datasync(fd);
          tornTails.push(replay.torn);
        }
        this.#install(t, replay);
      } finally {
        await closeFd(fd);
      }
    }
    // Files a crashed writer created may not have durable directory entries yet.
    await _syncDirectory(this.#dir);
    this.#stats.dirFsyncs++;
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
    const idJson = _canonicalString(id);
    const t: TenantState = {
      id, idJson, idJsonBytes: Buffer.byteLength(idJson, 'utf8'), slot: _nextSlot(), sealGen: -1, sealRes: undefined, sealI: 0, path: join(this.#dir, tenantFileName(id)), fd: undefined, users: 0,
      size: 0, tree: new MerkleTree(), offsets: new Float64Array(16), fileBytes: 0, headHex: GENESIS_PREV, dirSynced: false,
      next: 0, queued: [], writing: false, corruption: undefined, failure: undefined,
    };
    this.#tenants.set(id, t);
    return t;
  }

  /** Makes a replay the tenant's durable state. */
  #install(t: TenantState, r: ReplayResult): void {
    t.size = r.count;
    t.tree = r.tree;
    t.offsets = r.offsets;
    t.fileBytes = r.validBytes;
    t.headHex = r.lastLeaf === undefined ? GENESIS_PREV : hex(r.lastLeaf);
    t.next = t.size;
    t.sealGen = -1;
    t.sealRes = undefined;
    t.corruption = r.corruption;
    if (r.corruption !== undefined) this.#corruptions.set(t, r.corruption);
    else this.#corruptions.delete(t);
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
   * index: the tenant's chain is corrupt, see repair); INVALID_SIZE (the tenant reached
   * MAX_TREE_SIZE entries); IO_ERROR (tenantId, index) when the write or fsync fails.
   */
  append(tenantId: string, entry: AuditEntryInput): Promise<AppendResult> {
    try {
      this.#checkOpen();
      let t = this.#tenants.get(tenantId);
      if (t === undefined) checkTenantId(tenantId);
      else this.#checkWritable(t);
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
        this.#toSeal(tenant, p);
        this.#dirty.add(tenant);
        this.#schedule();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new AuditError('LOG_CLOSED', `the audit log in ${this.#dir} is closed`);
  }

  #checkWritable(t: TenantState): void {
    if (t.corruption !== undefined) {
      const c = t.corruption;
      throw new AuditError('LOG_CORRUPT', `tenant ${JSON.stringify(t.id)} is corrupt at index ${c.index} (${c.kind}: ${c.message}); appends are refused until repair`, { tenantId: t.id, index: c.index });
    }
    if (t.failure !== undefined) {
      throw new AuditError('IO_ERROR', `tenant ${JSON.stringify(t.id)} refuses appends until the log is reopened: ${t.failure.message}`, { tenantId: t.id, cause: t.failure });
    }
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

  // ---- sealing (seal.ts, sealer.ts) -------------------------------------------------------------

  /** Adds an accepted append to the open chunk, sending the chunk when it is full. */
  #toSeal(t: TenantState, p: Pending): void {
    let c = this.#chunk;
    if (t.sealGen !== this.#sealer.generation) {
      // A reset applies before every append of its chunk: start a new chunk for it.
      if (c !== undefined && c.pendings.length > 0) this.#sendChunk();
      c = undefined;
      (this.#chunk ??= newChunk()).resets.push(this.#resetOf(t));
      t.sealGen = this.#sealer.generation;
    }
    c = this.#chunk ??= newChunk();
    // Sent before (a second seal): take the payload back from the earlier chunk's payloads.
    if (p.payloadJson === '') p.payloadJson = p.src.slice(p.at, p.at + p.len);
    p.chunk = 0;
    p.res = undefined;
    p.sealError = undefined;
    const json = p.payloadJson;
    c.pendings.push(p);
    c.slots.push(t.slot);
    c.kinds.push(p.kind);
    c.payloads.push(json);
    c.lengths.push(json.length);
    c.bytes.push(p.payloadBytes);
    c.timestamps.push(p.timestamp);
    c.chars += json.length;
    if (c.pendings.length >= CHUNK_APPENDS || c.chars >= CHUNK_CHARS) this.#sendChunk();
  }

  /** The head the tenant's next append extends: after its latest seal, else its durable head. */
  #resetOf(t: TenantState): SealReset {
    const r = t.sealRes;
    if (r === undefined) return { slot: t.slot, idJson: t.idJson, next: t.size, prev: t.headHex };
    return { slot: t.slot, idJson: t.idJson, next: r.indices[t.sealI]! + 1, prev: r.hexes.slice(64 * t.sealI, 64 * t.sealI + 64) };
  }

  /**
   * Seals the open chunk here, now, when it is small and the worker holds nothing of this log (so
   * every head is known here). The worker's heads of these tenants are stale afterwards: their
   * next chunk there starts with a reset. Returns false when the chunk is not for here.
   */
  #sealHere(): boolean {
    const c = this.#chunk;
    if (this.#local === undefined || this.#inFlight > 0 || c === undefined || c.pendings.length === 0 || c.pendings.length > LOCAL_SEAL_APPENDS) return false;
    this.#chunk = undefined;
    const resets: SealReset[] = [];
    for (const p of c.pendings) {
      if (p.t.sealGen === -2) continue;
      p.t.sealGen = -2;
      resets.push(this.#resetOf(p.t));
    }
    const id = _nextChunkId();
    for (const p of c.pendings) {
      p.chunk = id;
      p.t.sealGen = -1;
    }
    const r = this.#local.handle(chunkMessage(c, id, c.payloads.join(''), resets, []));
    this.#inFlight++;
    this.#sealed(c.pendings, r);
    return true;
  }

  /** Sends the open chunk (if it holds anything) and, with it, `drops`. */
  #sendChunk(drops: number[] = []): void {
    const c = this.#chunk;
    if ((c === undefined || (c.pendings.length === 0 && c.resets.length === 0)) && drops.length === 0) return;
    this.#chunk = undefined;
    this.#inFlight++;
    const chunk = c ?? newChunk();
    const { pendings, lengths } = chunk;
    const id = _nextChunkId();
    const joined = chunk.payloads.join('');
    for (let i = 0, at = 0; i < pendings.length; i++) {
      const p = pendings[i]!;
      p.chunk = id;
      p.src = joined;
      p.at = at;
      p.len = lengths[i]!;
      at += p.len;
      p.payloadJson = '';
    }
    this.#sealer.send(chunkMessage(chunk, id, joined, chunk.resets, drops), (r) => this.#sealed(pendings, r));
  }

  /** A chunk came back: its appends that were not sent again since are sealed (or failed). */
  #sealed(pendings: Pending[], r: SealResult): void {
    this.#inFlight--;
    for (let i = 0; i < pendings.length; i++) {
      const p = pendings[i]!;
      if (p.chunk !== r.id) continue;
      if (r.error === undefined) {
        p.res = r;
        p.i = i;
        p.t.sealRes = r;
        p.t.sealI = i;
      } else {
        p.sealError = r.error;
      }
    }
    this.#sealedThrough = r.id;
    if (this.#sealWaiters.length > 0) {
      const ready = this.#sealWaiters.filter((w) => w.upTo <= r.id);
      this.#sealWaiters = this.#sealWaiters.filter((w) => w.upTo > r.id);
      for (const w of ready) w.resolve();
    }
  }

  /** Resolves once every chunk up to id `upTo` came back (chunks of a log come back in order). */
  #sealedUpTo(upTo: number): Promise<void> {
    if (upTo <= this.#sealedThrough) return Promise.resolve();
    return new Promise((resolve) => this.#sealWaiters.push({ upTo, resolve }));
  }

  /**
   * One tenant's part of a flush, from its sealed appends: the file magic for a new file and the
   * records (runs of adjacent records of one chunk taken as one piece), their file offsets and
   * leaves. Throws when an append failed to seal or was sealed on another head (its index is not
   * the next one): nothing is written then, and the roll-back seals the queued appends again.
   */
  #frame(t: TenantState, records: Pending[]): Batch {
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

  /** One group commit. Never throws: every append of `work` is resolved or rejected. */
  async #flush(work: { t: TenantState; records: Pending[] }[]): Promise<void> {
    this.#stats.flushes++;
    if (!this.#sealHere()) this.#sendChunk();
    let upTo = 0;
    for (const { records } of work) for (const p of records) if (p.chunk > upTo) upTo = p.chunk;
    await this.#sealedUpTo(upTo);
    const batches: Batch[] = [];
    for (const { t, records } of work) {
      try {
        batches.push(this.#frame(t, records));
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
          b.t.failure = ioError(e, `tenant ${JSON.stringify(b.t.id)}: internal state update failed`, b.t.id);
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
      const fd = await this.#fd(t);
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
        const fd = await this.#fd(t);
        await this.#io.truncate(fd, t.fileBytes);
        await this.#io.datasync(fd);
      }
    } catch (e) {
      t.failure = ioError(e, `tenant ${JSON.stringify(t.id)}: could not undo a failed write`, t.id);
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
      p.reject(ioError(cause, `tenant ${JSON.stringify(t.id)}: an append was not made durable`, t.id, r < records.length ? t.size + r : undefined));
    }
    t.sealGen = -1;
    t.sealRes = undefined;
    for (const p of t.queued) this.#toSeal(t, p);
  }

  /** The tenant's open fd (opening, creating the file if needed). Callers hold t.users. */
  async #fd(t: TenantState): Promise<number> {
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

  /** Resolves when nothing is queued or being flushed. */
  #whenIdle(): Promise<void> {
    if (!this.#flushing && !this.#scheduled && this.#dirty.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
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
    return ids.sort(compareTenantIdBytes);
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
      return this.#track(() => this.#readEntry(t!, index));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #readEntry(t: TenantState, index: number): Promise<StoredEntry> {
    const start = t.offsets[index]!;
    const end = index + 1 < t.size ? t.offsets[index + 1]! : t.fileBytes;
    const buf = Buffer.allocUnsafe(end - start);
    let got: number;
    t.users++;
    try {
      got = await _readFully(await this.#fd(t), buf, 0, buf.length, start);
    } catch (e) {
      throw ioError(e, `tenant ${JSON.stringify(t.id)}: cannot read entry ${index}`, t.id, index);
    } finally {
      t.users--;
    }
    const corrupt = (kind: Corruption['kind'], message: string): AuditError => {
      const c: Corruption = { tenantId: t.id, index, kind, offset: start, message: `${message} (found after open)` };
      if (t.corruption === undefined || t.corruption.index > index) {
        t.corruption = c;
        this.#corruptions.set(t, c);
      }
      return new AuditError('LOG_CORRUPT', `tenant ${JSON.stringify(t.id)} entry ${index}: ${c.message}`, { tenantId: t.id, index });
    };
    const length = got === buf.length ? _frameAt(buf, 0, got) : -1;
    if (length !== buf.length - RECORD_HEADER_BYTES) throw corrupt('checksum', 'the record no longer matches its CRC-32 or length');
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + RECORD_HEADER_BYTES, length);
    const leafHash = hashLeaf(bytes);
    if (hex(leafHash) !== hex(t.tree.leafHash(index))) throw corrupt('checksum', 'the record no longer has the leaf hash it had at open');
    const prev = index === 0 ? GENESIS_PREV : hex(t.tree.leafHash(index - 1));
    const parsed = _parseEntry(bytes, t.id, index, prev);
    if (!parsed.ok) throw corrupt(parsed.kind, parsed.message);
    return { entry: parsed.entry, bytes, leafHash };
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
      const t = this.#tenant(tenantId);
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
      const corruption = t.corruption;
      return this.#track(() => this.#repair(t, keep, corruption));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #repair(t: TenantState, keep: number, corruption: Corruption): Promise<RepairReport> {
    // Appends accepted before a corruption found by a read may still be in flight.
    while (t.writing || t.queued.length > 0) await new Promise<void>((resolve) => this.#batchWaiters.push(resolve));
    if (t.corruption !== corruption) {
      throw new AuditError('INVALID_ARGUMENT', `tenantId ${JSON.stringify(t.id)}: its corruption changed while the repair waited; retry`, { field: 'tenantId', tenantId: t.id });
    }
    const cut = keep === 0 ? 0 : keep < t.size ? t.offsets[keep]! : t.fileBytes;
    t.users++;
    try {
      const fd = await this.#fd(t);
      const { size: fileSize } = await fstat(fd);
      let savedTo: string | undefined;
      if (fileSize > cut) savedTo = await this.#saveTail(t, fd, cut, fileSize);
      await this.#io.truncate(fd, cut);
      await this.#io.datasync(fd);
      this.#stats.fsyncs++;
      const replay = await _replayTenantFile(fd, t.id, cut);
      this.#install(t, replay);
      const report: RepairReport = { tenantId: t.id, kept: keep, offset: cut, removedBytes: Math.max(0, fileSize - cut), savedTo, corruption };
      this.#repairs.push(report);
      return structuredClone(report);
    } catch (e) {
      throw ioError(e, `tenant ${JSON.stringify(t.id)}: repair failed`, t.id);
    } finally {
      t.users--;
    }
  }

  /** Copies bytes [from, to) of the tenant file to a new side file, synced; returns its name. */
  async #saveTail(t: TenantState, fd: number, from: number, to: number): Promise<string> {
    const base = `${tenantFileName(t.id)}.cut-${Math.max(0, Math.floor(this.#clock()))}`;
    let name = base;
    let out: fsp.FileHandle | undefined;
    for (let n = 2; out === undefined; n++) {
      try {
        out = await fsp.open(join(this.#dir, name), 'wx', 0o644);
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
    await _syncDirectory(this.#dir);
    this.#stats.dirFsyncs++;
    return name;
  }

  // ---- closing ---------------------------------------------------------------------------------

  /**
   * Waits for every accepted append to resolve or reject and for reads and repairs in flight,
   * closes the files and releases the directory lock. Every later call except stats(), status()
   * and openReport fails with LOG_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#whenIdle();
      await Promise.allSettled([...this.#ops]);
      // The sealer may forget this log's heads.
      const slots = [...this.#tenants.values()].filter((t) => t.sealGen !== -1).map((t) => t.slot);
      if (slots.length > 0) this.#sendChunk(slots);
      await this.#closeFiles();
      await _releaseLock(this.#lock);
      this.#closed = true;
    })();
    return this.#closing;
  }

  /** True once close() has finished. */
  get closed(): boolean {
    return this.#closed;
  }

  async #closeFiles(): Promise<void> {
    for (const t of this.#tenants.values()) {
      if (t.fd === undefined) continue;
      const fd = t.fd;
      t.fd = undefined;
      await closeFd(fd).catch(() => undefined);
    }
    this.#open.clear();
  }
}
