// A node's audit ledger: the durable per-tenant log plus signed node checkpoints and receipts.
//
// checkpoint() takes every non-empty tenant's head (size, root), builds the node tree over them
// (receipt.ts), signs a C2SP checkpoint of it with the node's note key, and appends the signed note
// with the heads it covers to `node-checkpoints.log` in the log directory (same framing as tenant
// files, fdatasync'd before it resolves). receipt(tenant, index) proves an entry against the latest
// checkpoint that covers it, making a new checkpoint when none does.
//
// A corrupt tenant (AuditLog.corruption) is read-only, and checkpoints cover it with its verified
// prefix: its head is the size and root of the entries before the damage, as log.head gives them
// (a tenant corrupt at index 0 has no leaf, as any empty tenant). Leaving it out instead would make
// every entry of it unprovable; covering the damaged tail is impossible (its leaves are not known).
// A checkpoint signed before the damage may cover that tenant at a larger size: it stays in the
// file, as evidence, but receipts are no longer taken from it — "covers" means a head within the
// tenant's current verified entries whose root is the root the log has at that size — so the next
// receipt makes a new checkpoint. (Node checkpoints are not an append-only log; see receipt.ts.)
import { open as openFile, readFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from './errors.js';
import { AuditLog, type AppendResult, type AuditLogOptions, type LogHead } from './log.js';
import type { AuditEntryInput } from './entry.js';
import { noteVerifierKey } from './note.js';
import { signCheckpoint } from './checkpoint.js';
import { makeReceipt, nodeTree, type Receipt } from './receipt.js';
import { FILE_HEADER_BYTES, FILE_MAGIC, FRAME_INCOMPLETE, RECORD_HEADER_BYTES, _frameAt, _frameRecord } from './record.js';

export const CHECKPOINT_FILE = 'node-checkpoints.log';

export interface AuditLedgerOptions extends AuditLogOptions {
  /** The node's note signer key (`PRIVATE+KEY+name+hash+base64`, see generateNoteKey). */
  signerKey: string;
  /** Checkpoint origin line; default: the signer key's name. */
  origin?: string;
}

/** A signed node checkpoint and the tenant heads it covers. */
export interface NodeCheckpoint {
  /** The signed note (C2SP tlog-checkpoint of the node tree). */
  note: string;
  origin: string;
  /** Number of tenant leaves in the node tree. */
  size: number;
  /** Lowercase hex node root. */
  root: string;
  /** The heads in node-tree order (ascending tenant id, UTF-8 bytes). */
  heads: LogHead[];
  /** RFC 3339 UTC time the checkpoint was made (from the log's clock). */
  timestamp: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class AuditLedger {
  readonly log: AuditLog;
  readonly origin: string;
  readonly verifierKey: string;
  readonly #signerKey: string;
  readonly #clock: () => number;
  #latest: NodeCheckpoint | undefined;
  #making: Promise<NodeCheckpoint> | undefined;

  private constructor(log: AuditLog, signerKey: string, origin: string, verifierKey: string, clock: () => number, latest: NodeCheckpoint | undefined) {
    this.log = log;
    this.#signerKey = signerKey;
    this.origin = origin;
    this.verifierKey = verifierKey;
    this.#clock = clock;
    this.#latest = latest;
  }

  /**
   * Opens (or creates) the ledger in `dir`. The signer key is checked before anything is opened.
   * @throws AuditError INVALID_KEY for a bad signer key, INVALID_ARGUMENT for a bad origin, and
   *   whatever AuditLog.open throws.
   */
  static async open(dir: string, options: AuditLedgerOptions): Promise<AuditLedger> {
    if (typeof options !== 'object' || options === null) {
      throw new AuditError('INVALID_ARGUMENT', 'options must be an object with a signerKey', { field: 'options' });
    }
    const { signerKey, origin: givenOrigin, ...logOptions } = options;
    const verifierKey = noteVerifierKey(signerKey);
    const origin = givenOrigin ?? verifierKey.slice(0, verifierKey.indexOf('+'));
    if (typeof origin !== 'string' || origin === '' || /[\u0000-\u001f]/.test(origin)) {
      throw new AuditError('INVALID_ARGUMENT', 'options.origin must be a non-empty line', { field: 'options.origin' });
    }
    const log = await AuditLog.open(dir, logOptions);
    try {
      const latest = await readLatestCheckpoint(join(dir, CHECKPOINT_FILE));
      return new AuditLedger(log, signerKey, origin, verifierKey, logOptions.clock ?? Date.now, latest);
    } catch (e) {
      await log.close();
      throw e;
    }
  }

  /** Appends an entry to a tenant's log (see AuditLog.append); resolves once durable. */
  append(tenantId: string, entry: AuditEntryInput): Promise<AppendResult> {
    return this.log.append(tenantId, entry);
  }

  /** The latest persisted checkpoint, if any. */
  get latestCheckpoint(): NodeCheckpoint | undefined {
    return this.#latest;
  }

  /**
   * Signs and persists a checkpoint of every tenant's current head (a corrupt tenant's: its
   * verified prefix, see the file comment). Concurrent calls share one.
   */
  checkpoint(): Promise<NodeCheckpoint> {
    return (this.#making ??= this.#makeCheckpoint().finally(() => { this.#making = undefined; }));
  }

  async #makeCheckpoint(): Promise<NodeCheckpoint> {
    const heads = this.log.tenants().map((t) => this.log.head(t)).filter((h) => h.size > 0);
    const { tree, order } = nodeTree(heads);
    const root = tree.root();
    const note = signCheckpoint({ origin: this.origin, size: tree.size, root }, this.#signerKey);
    const cp: NodeCheckpoint = {
      note, origin: this.origin, size: tree.size, root: Buffer.from(root).toString('hex'),
      heads: order, timestamp: new Date(this.#clock()).toISOString(),
    };
    await appendCheckpoint(join(this.log.dir, CHECKPOINT_FILE), cp);
    this.#latest = cp;
    return cp;
  }

  /**
   * The receipt of entry `index` of `tenantId`: verifiable offline with verifyReceipt(receipt,
   * [ledger.verifierKey]). Uses the latest checkpoint when it covers the entry within the tenant's
   * current entries (see the file comment), else makes one. Works for every entry before the
   * damage of a corrupt tenant.
   * @throws AuditError INVALID_INDEX when the entry does not exist or lies in a corrupt tenant's
   *   unverified tail (and what log.head throws).
   */
  async receipt(tenantId: string, index: number): Promise<Receipt> {
    const size = this.log.size(tenantId);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new AuditError('INVALID_INDEX', `index must be an entry of tenant ${JSON.stringify(tenantId)} (0..${size - 1}), got ${String(index)}`, { field: 'index', tenantId });
    }
    const headOf = (c: NodeCheckpoint | undefined): LogHead | undefined => {
      const h = c?.heads.find((x) => x.tenant_id === tenantId);
      if (h === undefined || h.size <= index) return undefined;
      // Sizes and roots are read now: the tenant may have grown, or been repaired, meanwhile.
      if (h.size > this.log.size(tenantId) || Buffer.from(this.log.root(tenantId, h.size)).toString('hex') !== h.root) return undefined;
      return h;
    };
    let cp = this.#latest;
    if (!headOf(cp)) cp = await this.checkpoint();
    if (!headOf(cp)) cp = await this.checkpoint(); // a checkpoint already under way may predate the entry
    const head = headOf(cp);
    if (head === undefined) {
      throw new AuditError('INVALID_INDEX', `entry ${index} of tenant ${JSON.stringify(tenantId)} is no longer in its verified entries`, { field: 'index', tenantId });
    }
    const nodeIndex = cp!.heads.indexOf(head);
    const { tree } = nodeTree(cp!.heads);
    return makeReceipt({
      tenant_id: tenantId,
      index,
      leafHash: this.log.leafHash(tenantId, index),
      tenantSize: head.size,
      tenantRoot: this.log.root(tenantId, head.size),
      tenantProof: this.log.inclusionProof(tenantId, index, head.size),
      nodeIndex,
      nodeSize: cp!.size,
      nodeProof: tree.inclusionProof(nodeIndex),
      checkpoint: cp!.note,
    });
  }

  /** Flushes and closes the log. */
  close(): Promise<void> {
    return this.log.close();
  }
}

async function appendCheckpoint(path: string, cp: NodeCheckpoint): Promise<void> {
  const fh = await openFile(path, 'a+');
  try {
    const { size } = await fh.stat();
    const record = _frameRecord(encoder.encode(JSON.stringify(cp)));
    await fh.write(size === 0 ? Buffer.concat([FILE_MAGIC, record]) : record);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * The last complete checkpoint record of the file. A torn last record (incomplete: it was never
 * acknowledged) is cut so that the next checkpoint follows the last complete one.
 */
async function readLatestCheckpoint(path: string): Promise<NodeCheckpoint | undefined> {
  const { checkpoints, validBytes, fileBytes } = await _readCheckpoints(path);
  if (validBytes < fileBytes) await truncate(path, validBytes);
  return checkpoints.at(-1);
}

/**
 * Every complete checkpoint record of the file, read only. `validBytes` < `fileBytes` means a torn
 * last record. A damaged record anywhere is LOG_CORRUPT.
 */
export async function _readCheckpoints(path: string): Promise<{ checkpoints: NodeCheckpoint[]; validBytes: number; fileBytes: number }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoints: [], validBytes: 0, fileBytes: 0 };
    throw new AuditError('IO_ERROR', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const checkpoints: NodeCheckpoint[] = [];
  if (buf.length < FILE_HEADER_BYTES && FILE_MAGIC.subarray(0, buf.length).every((b, i) => buf[i] === b)) {
    return { checkpoints, validBytes: 0, fileBytes: buf.length };
  }
  if (!buf.subarray(0, FILE_HEADER_BYTES).equals(FILE_MAGIC)) {
    throw new AuditError('LOG_CORRUPT', `${path} is not a checkpoint file`, { field: 'checkpoints' });
  }
  let at = FILE_HEADER_BYTES;
  while (at < buf.length) {
    const length = _frameAt(buf, at, buf.length);
    if (length === FRAME_INCOMPLETE) break;
    if (length < 0) throw new AuditError('LOG_CORRUPT', `${path}: damaged checkpoint record at offset ${at}`, { field: 'checkpoints' });
    const body = buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    checkpoints.push(JSON.parse(decoder.decode(body)) as NodeCheckpoint);
    at += RECORD_HEADER_BYTES + length;
  }
  return { checkpoints, validBytes: at, fileBytes: buf.length };
}
