// Replay: rebuild every tenant's tree from the files of an audit directory, read only, and compare
// with the node checkpoints persisted there. The same files give byte-identical roots on any
// machine (entries are canonical bytes; hashing is RFC 6962), so a mismatch means the files changed.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compareTenantIds } from '@tenantry/core';
import { AuditError } from './errors.js';
import { parseCheckpoint, openCheckpoint } from './checkpoint.js';
import { CHECKPOINT_FILE, _readCheckpoints, type NodeCheckpoint } from './ledger.js';
import { makeReceipt, nodeTree, type Receipt } from './receipt.js';
import { _corruptionWhere } from './corruption-notice.js';
import { _replayTenantFile, type Corruption, type TornTail } from './replay.js';
import { tenantIdOfFileName } from './tenant-id.js';
import type { MerkleTree } from './tree.js';

/** The first thing found wrong, in the order the checks run. */
export interface Divergence {
  kind:
    | 'corruption'              // a tenant file's chain breaks (see `corruption`)
    | 'checkpoint-file'         // the checkpoint file is damaged
    | 'checkpoint-signature'    // a checkpoint is not signed by any given key
    | 'checkpoint-note'         // a checkpoint's note does not match its recorded size and root
    | 'checkpoint-node-root'    // the recorded heads do not give the checkpoint's root
    | 'checkpoint-head';        // a tenant's replayed tree does not reach or match a recorded head
  message: string;
  tenantId?: string;
  /** For corruption: the first unverified entry. For checkpoint-head: the size recorded in the checkpoint. */
  index?: number;
  /** Position of the checkpoint in the checkpoint file (0 = oldest). */
  checkpoint?: number;
  corruption?: Corruption;
}

export interface TenantReplay {
  tenant_id: string;
  /** Verified entries. */
  size: number;
  /** Lowercase hex root over the verified entries. */
  root: string;
}

export interface AuditDirReport {
  ok: boolean;
  tenants: TenantReplay[];
  entries: number;
  /** Incomplete last records (never acknowledged); reported, not a divergence. */
  tornTails: TornTail[];
  /**
   * Every corrupt tenant chain, in tenant order, with the first unverified index, kind and byte
   * offset (`divergence` names the first). Such a tenant's entries before `index` still verify.
   */
  corruptions: Corruption[];
  checkpoints: number;
  /** The last checkpoint, when there is one. */
  lastCheckpoint: { origin: string; size: number; root: string; timestamp: string } | undefined;
  divergence: Divergence | undefined;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What replayDir read: every tenant's verified tree, and the persisted checkpoints. */
interface DirReplay {
  trees: Map<string, MerkleTree>;
  tenants: TenantReplay[];
  tornTails: TornTail[];
  entries: number;
  corruptions: Corruption[];
  checkpoints: NodeCheckpoint[];
  checkpointError: Error | undefined;
}

/** Replays every tenant file and reads the checkpoint file of `dir`, writing nothing. */
async function replayDir(dir: string): Promise<DirReplay> {
  if (typeof dir !== 'string' || dir === '') throw new AuditError('INVALID_ARGUMENT', 'dir must be a directory path', { field: 'dir' });
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new AuditError('IO_ERROR', `cannot read ${dir}: ${(e as Error).message}`, { field: 'dir', cause: e });
  }
  const out: DirReplay = {
    trees: new Map(), tenants: [], tornTails: [], entries: 0, corruptions: [], checkpoints: [], checkpointError: undefined,
  };
  const ids = names.map((n) => [n, tenantIdOfFileName(n)] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
  ids.sort((a, b) => compareTenantIds(a[1], b[1]));
  for (const [name, tenantId] of ids) {
    const fh = await open(join(dir, name), 'r');
    try {
      const { size } = await fh.stat();
      const r = await _replayTenantFile(fh.fd, tenantId, size);
      out.trees.set(tenantId, r.tree);
      out.entries += r.count;
      out.tenants.push({ tenant_id: tenantId, size: r.count, root: hex(r.tree.root()) });
      if (r.torn) out.tornTails.push(r.torn);
      if (r.corruption) out.corruptions.push(r.corruption);
    } finally {
      await fh.close();
    }
  }
  try {
    out.checkpoints = (await _readCheckpoints(join(dir, CHECKPOINT_FILE))).checkpoints;
  } catch (e) {
    out.checkpointError = e as Error;
  }
  return out;
}

/**
 * Verifies an audit directory without writing to it: replays every tenant chain (checksums,
 * indices, prev links, canonical entries), rebuilds roots, and checks every node checkpoint:
 * signature (when verifierKeys are given), note against recorded size and root, node root against
 * the recorded heads, and each head against the replayed tree at that size. Every corrupt chain is
 * listed in `corruptions`; when there is one, checkpoints are not checked (the first corruption
 * is the divergence).
 * @throws AuditError IO_ERROR when the directory cannot be read.
 */
export async function verifyAuditDir(dir: string, options: { verifierKeys?: string | readonly string[] } = {}): Promise<AuditDirReport> {
  const r = await replayDir(dir);
  const first = r.corruptions[0];
  let divergence: Divergence | undefined = first && {
    kind: 'corruption', tenantId: first.tenantId, index: first.index, corruption: first,
    message: `tenant ${JSON.stringify(first.tenantId)} is ${_corruptionWhere(first)}`,
  };
  if (r.checkpointError) divergence ??= { kind: 'checkpoint-file', message: r.checkpointError.message };
  for (let c = 0; c < r.checkpoints.length && !divergence; c++) {
    divergence = checkCheckpoint(r.checkpoints[c]!, c, r.trees, options.verifierKeys);
  }
  const last = r.checkpoints.at(-1);
  return {
    ok: divergence === undefined,
    tenants: r.tenants,
    entries: r.entries,
    tornTails: r.tornTails,
    corruptions: r.corruptions,
    checkpoints: r.checkpoints.length,
    lastCheckpoint: last && { origin: last.origin, size: last.size, root: last.root, timestamp: last.timestamp },
    divergence,
  };
}

/**
 * The receipt of entry `index` of `tenantId` from the files alone (read only), against the latest
 * persisted checkpoint that covers it within the tenant's verified entries. Only that tenant's
 * chain must verify up to the checkpoint (with the checkpoint's note and node root): an entry
 * before the damage of a corrupt chain is provable from any checkpoint that covers the chain no
 * further than the damage (AuditLedger makes such checkpoints once the chain is corrupt), and
 * other tenants' damage does not matter.
 * @throws AuditError INVALID_INDEX when no checkpoint covers the entry (make one with
 *   AuditLedger.checkpoint); LOG_CORRUPT (tenantId, index) when the entry lies in the tenant's
 *   unverified tail, when only checkpoints signed before the damage cover it, or when the chain or
 *   the checkpoint does not verify.
 */
export async function proveFromAuditDir(dir: string, tenantId: string, index: number): Promise<Receipt> {
  const r = await replayDir(dir);
  if (r.checkpointError) throw new AuditError('LOG_CORRUPT', r.checkpointError.message, { field: 'checkpoints' });
  const corruption = r.corruptions.find((c) => c.tenantId === tenantId);
  const where = corruption && `tenant ${JSON.stringify(tenantId)} is ${_corruptionWhere(corruption)}`;
  if (corruption && Number.isSafeInteger(index) && index >= corruption.index) {
    throw new AuditError('LOG_CORRUPT', `entry ${index} is not verified: ${where}`, { tenantId, index });
  }
  const tree = r.trees.get(tenantId);
  let beyond = false;
  for (let c = r.checkpoints.length - 1; c >= 0; c--) {
    const cp = r.checkpoints[c]!;
    const nodeIndex = cp.heads.findIndex((h) => h.tenant_id === tenantId);
    const head = cp.heads[nodeIndex];
    if (!head || !(Number.isSafeInteger(index) && index >= 0 && index < head.size)) continue;
    // A checkpoint signed before the damage covers entries that no longer verify: an older one may not.
    if (corruption && tree && head.size > tree.size) {
      beyond = true;
      continue;
    }
    const divergence = checkCheckpoint(cp, c, r.trees, undefined, tenantId);
    if (divergence) throw new AuditError('LOG_CORRUPT', divergence.message, { tenantId, index });
    return makeReceipt({
      tenant_id: tenantId, index, leafHash: tree!.leafHash(index),
      tenantSize: head.size, tenantRoot: tree!.root(head.size), tenantProof: tree!.inclusionProof(index, head.size),
      nodeIndex, nodeSize: cp.size, nodeProof: nodeTree(cp.heads).tree.inclusionProof(nodeIndex), checkpoint: cp.note,
    });
  }
  if (beyond) {
    throw new AuditError(
      'LOG_CORRUPT',
      `${where}; the checkpoints that cover entry ${index} were signed before the damage and cover entries that no longer verify. `
        + 'A node holding the signer key makes one of the verified entries (AuditLedger.checkpoint or receipt; the gateway does on its next receipt)',
      { tenantId, index },
    );
  }
  throw new AuditError('INVALID_INDEX', `no checkpoint in ${dir} covers entry ${String(index)} of tenant ${JSON.stringify(tenantId)}`, { field: 'index', tenantId });
}

/**
 * The first problem of checkpoint number `c` against the replayed trees: its note, its node root,
 * and its tenant heads (only the head of `onlyTenant`, when given).
 */
function checkCheckpoint(cp: NodeCheckpoint, c: number, trees: Map<string, MerkleTree>, keys: string | readonly string[] | undefined, onlyTenant?: string): Divergence | undefined {
  let note;
  try {
    note = keys === undefined ? parseCheckpoint(noteText(cp.note)) : openCheckpoint(cp.note, keys).checkpoint;
  } catch (e) {
    return { kind: 'checkpoint-signature', checkpoint: c, message: `checkpoint ${c}: ${(e as Error).message}` };
  }
  if (note.size !== cp.size || hex(note.root) !== cp.root || note.origin !== cp.origin) {
    return { kind: 'checkpoint-note', checkpoint: c, message: `checkpoint ${c}: the signed note does not match the recorded size, root or origin` };
  }
  if (hex(nodeTree(cp.heads).tree.root()) !== cp.root) {
    return { kind: 'checkpoint-node-root', checkpoint: c, message: `checkpoint ${c}: the recorded tenant heads do not give the checkpoint root` };
  }
  for (const head of cp.heads) {
    if (onlyTenant !== undefined && head.tenant_id !== onlyTenant) continue;
    const tree = trees.get(head.tenant_id);
    if (!tree || tree.size < head.size) {
      return {
        kind: 'checkpoint-head', checkpoint: c, tenantId: head.tenant_id, index: head.size,
        message: `checkpoint ${c}: tenant ${JSON.stringify(head.tenant_id)} has ${tree?.size ?? 0} verified entries, the checkpoint covers ${head.size}`,
      };
    }
    if (hex(tree.root(head.size)) !== head.root) {
      return {
        kind: 'checkpoint-head', checkpoint: c, tenantId: head.tenant_id, index: head.size,
        message: `checkpoint ${c}: tenant ${JSON.stringify(head.tenant_id)} root at size ${head.size} differs from the checkpoint`,
      };
    }
  }
  return undefined;
}

/** The text of a note without its signatures (everything up to the blank line before them). */
function noteText(note: string): string {
  const split = note.lastIndexOf('\n\n');
  return split < 0 ? note : note.slice(0, split + 1);
}
