// One tenant's chain as an AuditLog holds it: the durable state (on disk, synced, verified), the
// appends accepted and not yet durable, its file, and its place in the sealer (seal.ts).
import { dirname, join } from 'node:path';
import { _corruptionWhere, _repairCommand, _verifiedPrefix } from './corruption-notice.js';
import { GENESIS_PREV, _canonicalString } from './entry.js';
import { AuditError } from './errors.js';
import type { AppendResult } from './log-types.js';
import type { Corruption, ReplayResult } from './replay.js';
import type { SealResult } from './seal.js';
import { _nextSlot } from './sealer.js';
import { tenantFileName } from './tenant-id.js';
import { MerkleTree } from './tree.js';

/** An accepted append; the sealer gives it its index, prev, bytes and leaf hash (seal.ts). */
export interface Pending {
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

export interface TenantState {
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

/** A tenant with nothing durable yet, whose chain lives in `dir`. */
export function _newTenant(dir: string, id: string): TenantState {
  const idJson = _canonicalString(id);
  return {
    id, idJson, idJsonBytes: Buffer.byteLength(idJson, 'utf8'), slot: _nextSlot(), sealGen: -1, sealRes: undefined, sealI: 0, path: join(dir, tenantFileName(id)), fd: undefined, users: 0,
    size: 0, tree: new MerkleTree(), offsets: new Float64Array(16), fileBytes: 0, headHex: GENESIS_PREV, dirSynced: false,
    next: 0, queued: [], writing: false, corruption: undefined, failure: undefined,
  };
}

/** Makes a replay the tenant's durable state, and `corruptions` list its corruption, if any. */
export function _installReplay(t: TenantState, r: ReplayResult, corruptions: Map<TenantState, Corruption>): void {
  t.size = r.count;
  t.tree = r.tree;
  t.offsets = r.offsets;
  t.fileBytes = r.validBytes;
  t.headHex = r.lastLeaf === undefined ? GENESIS_PREV : hex(r.lastLeaf);
  t.next = t.size;
  t.sealGen = -1;
  t.sealRes = undefined;
  t.corruption = r.corruption;
  if (r.corruption !== undefined) corruptions.set(t, r.corruption);
  else corruptions.delete(t);
}

/**
 * Throws unless the tenant takes appends. A corrupt chain is read-only until repair: LOG_CORRUPT
 * (tenantId, index = the first unverified entry), naming the byte offset and the repair command.
 * IO_ERROR after a failed undo, until reopen.
 */
export function _checkWritable(t: TenantState): void {
  if (t.corruption !== undefined) {
    const c = t.corruption;
    throw new AuditError(
      'LOG_CORRUPT',
      `tenant ${JSON.stringify(t.id)} is read-only: its chain is ${_corruptionWhere(c)}; ${_verifiedPrefix(c)}. `
        + `Appends are refused until the chain is cut to its verified prefix: stop the process that holds the log, then run `
        + `\`${_repairCommand(dirname(t.path), t.id)}\` (or call AuditLog.repair(tenantId, { truncateAfter: ${c.index} }))`,
      { tenantId: t.id, index: c.index },
    );
  }
  if (t.failure !== undefined) {
    throw new AuditError('IO_ERROR', `tenant ${JSON.stringify(t.id)} refuses appends until the log is reopened: ${t.failure.message}`, { tenantId: t.id, cause: t.failure });
  }
}
