// Receipts: offline proof that an entry is in a tenant's log, that the tenant's log (at some size
// and root) is in a node's state, and that a key the verifier trusts signed that state.
//
//   entry leaf ──(RFC 9162 inclusion)──▶ tenant root ──(inclusion)──▶ node root ──▶ signed checkpoint
//
// Node root (protocol 1.0): the RFC 6962 root over one leaf per non-empty tenant,
//   leaf = RFC 8785 JCS({ tenant_id, size, root })   (root as lowercase hex)
// in ascending tenant-id order (UTF-8 bytes, as federatedRoot orders node ids). The node
// checkpoint is a C2SP tlog-checkpoint whose size is the number of tenant leaves and whose root is
// the node root, signed as a note. The node tree is rebuilt for every checkpoint (tenant heads
// move), so node checkpoints are not an append-only log: receipts prove inclusion only.
import { compareTenantIds, isTenantId, PROTOCOL_VERSION } from '@tenantry/core';
import { hashLeaf } from '@tenantry/kernels';
import { _canonicalJson } from './canonical-json.js';
import { openCheckpoint } from './checkpoint.js';
import { AuditError } from './errors.js';
import { MerkleTree } from './tree.js';
import { verifyInclusion } from './verify.js';

export { PROTOCOL_VERSION } from '@tenantry/core';

/** A tenant's log head: its size and root at that size. */
export interface TenantHead {
  tenant_id: string;
  size: number;
  /** Lowercase hex of the 32-byte root. */
  root: string;
}

/** The offline-verifiable receipt of one entry (all hashes lowercase hex). */
export interface Receipt {
  protocol_version: typeof PROTOCOL_VERSION;
  tenant_id: string;
  index: number;
  leaf_hash: string;
  tenant_size: number;
  tenant_root: string;
  /** Inclusion proof of leaf_hash at `index` in the tenant tree of `tenant_size` (RFC 9162 §2.1.3). */
  tenant_proof: string[];
  /** Position of the tenant's leaf in the node tree. */
  node_index: number;
  node_size: number;
  /** Inclusion proof of the tenant leaf in the node tree of `node_size`. */
  node_proof: string[];
  /** The signed node checkpoint (a note) whose root is the node root. */
  checkpoint: string;
}

const encoder = new TextEncoder();
const HEX32 = /^[0-9a-f]{64}$/;
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/**
 * The node-tree leaf data of a tenant head: UTF-8 of JCS({ tenant_id, size, root }). Precondition:
 * tenant_id is well-formed UTF-16 (every stored id is; verifyReceipt refuses any id that breaks the
 * tenant id rule first).
 */
export function nodeLeafData(head: TenantHead): Uint8Array {
  return encoder.encode(_canonicalJson({ tenant_id: head.tenant_id, size: head.size, root: head.root }));
}

/** The node tree over the non-empty heads, in ascending tenant-id order, and that order. */
export function nodeTree(heads: readonly TenantHead[]): { tree: MerkleTree; order: TenantHead[] } {
  const order = heads.filter((h) => h.size > 0).sort((a, b) => compareTenantIds(a.tenant_id, b.tenant_id));
  for (let i = 1; i < order.length; i++) {
    if (order[i - 1]!.tenant_id === order[i]!.tenant_id) {
      throw new AuditError('INVALID_ARGUMENT', `heads lists tenant ${JSON.stringify(order[i]!.tenant_id)} twice`, { field: 'heads' });
    }
  }
  const tree = new MerkleTree();
  for (const head of order) tree.append(nodeLeafData(head));
  return { tree, order };
}

function isHexList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && HEX32.test(x));
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Verifies a receipt with nothing but the receipt and the verifier keys (Go note key format):
 * the checkpoint is signed by one of the keys; the tenant leaf is in the node tree at the
 * checkpoint's size and root; the entry leaf is in the tenant tree. Never throws for bad receipt
 * data: anything malformed, unsigned or inconsistent gives false.
 * @param options.origin when set, the checkpoint must carry exactly this origin.
 */
export function verifyReceipt(receipt: unknown, verifierKeys: string | readonly string[], options: { origin?: string } = {}): boolean {
  if (typeof receipt !== 'object' || receipt === null) return false;
  const r = receipt as Partial<Record<keyof Receipt, unknown>>;
  if (r.protocol_version !== PROTOCOL_VERSION) return false;
  if (!isTenantId(r.tenant_id)) return false;
  if (!isCount(r.index) || !isCount(r.tenant_size) || !isCount(r.node_index) || !isCount(r.node_size)) return false;
  if (typeof r.leaf_hash !== 'string' || !HEX32.test(r.leaf_hash)) return false;
  if (typeof r.tenant_root !== 'string' || !HEX32.test(r.tenant_root)) return false;
  if (!isHexList(r.tenant_proof) || !isHexList(r.node_proof)) return false;
  if (typeof r.checkpoint !== 'string') return false;

  let checkpointRoot: Uint8Array;
  try {
    const opened = openCheckpoint(r.checkpoint, verifierKeys, options.origin === undefined ? {} : { origin: options.origin });
    if (opened.checkpoint.size !== r.node_size) return false;
    checkpointRoot = opened.checkpoint.root;
  } catch {
    return false;
  }
  const tenantLeaf = hashLeaf(nodeLeafData({ tenant_id: r.tenant_id, size: r.tenant_size, root: r.tenant_root }));
  if (!verifyInclusion(tenantLeaf, r.node_index, r.node_size, r.node_proof.map(unhex), checkpointRoot)) return false;
  return verifyInclusion(unhex(r.leaf_hash), r.index, r.tenant_size, r.tenant_proof.map(unhex), unhex(r.tenant_root));
}

/** Assembles a receipt from its parts (no checks beyond what the types say). */
export function makeReceipt(parts: {
  tenant_id: string; index: number; leafHash: Uint8Array;
  tenantSize: number; tenantRoot: Uint8Array; tenantProof: readonly Uint8Array[];
  nodeIndex: number; nodeSize: number; nodeProof: readonly Uint8Array[]; checkpoint: string;
}): Receipt {
  return {
    protocol_version: PROTOCOL_VERSION,
    tenant_id: parts.tenant_id,
    index: parts.index,
    leaf_hash: hex(parts.leafHash),
    tenant_size: parts.tenantSize,
    tenant_root: hex(parts.tenantRoot),
    tenant_proof: parts.tenantProof.map(hex),
    node_index: parts.nodeIndex,
    node_size: parts.nodeSize,
    node_proof: parts.nodeProof.map(hex),
    checkpoint: parts.checkpoint,
  };
}
