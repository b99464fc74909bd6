// Sealing: turning accepted appends into framed, hashed records of a tenant's chain.
//
// An entry's bytes hold its index and the previous entry's leaf hash (prev), so the entries of one
// tenant are sealed one after another; entries of different tenants are independent, and their
// leaves are hashed together (hashLeaves, 4-lane SIMD). SealState keeps, per tenant slot, the head
// the next entry extends (its index and prev) and seals chunks of appends in the order they come.
// It runs in the seal worker (seal-worker.ts) or, with `sealer: 'inline'`, on the calling thread
// (sealer.ts); the messages below are what crosses between the two.
//
// The AuditLog decides the head: it sends a reset (the durable size and head) before a tenant's
// first chunk and again whenever what was sealed is void (a failed write: the queued appends are
// sent again and sealed on the durable head). Messages are handled strictly in order, so a chunk
// sent after a reset is sealed on that reset's head.
import { hashLeaf, hashLeaves } from '@tenantry/kernels';
import { _entryJson, _entryLength } from './entry.js';
import { RECORD_HEADER_BYTES, _writeRecordHeader } from './record.js';

/** Sets the head of a tenant slot: the next entry gets `next` as its index and `prev` as prev. */
export interface SealReset {
  slot: number;
  /** RFC 8785 of the tenant id (a JSON string). */
  idJson: string;
  next: number;
  /** Lowercase hex leaf hash of entry next − 1 (GENESIS_PREV for 0). */
  prev: string;
}

/** Appends to seal, in call order. Payloads are concatenated; `payloadLengths` cut them again. */
export interface SealChunk {
  id: number;
  /** Heads to set before sealing this chunk, in order. */
  resets: SealReset[];
  /** Slots whose state is no longer needed (their log closed), dropped after sealing. */
  drops: number[];
  slots: Int32Array;
  kinds: string[];
  /** RFC 8785 payloads, concatenated (one flat string crosses to the worker faster than many). */
  payloads: string;
  /** UTF-16 length of each payload in `payloads`. */
  payloadLengths: Uint32Array;
  /** UTF-8 length of each payload (the AuditLog computed it for its size check). */
  payloadBytes: Uint32Array;
  timestamps: string[];
}

/**
 * A sealed chunk. Records are laid out in `buf` grouped by slot (the slots in order of their first
 * append in the chunk, each slot's records in call order), so that consecutive records of one
 * tenant are adjacent. For append i of the chunk: its framed record is buf[starts[i], ends[i]), its
 * index indices[i], its leaf hash leaves[32i, 32i + 32) and, in hex, hexes[64i, 64i + 64).
 */
export interface SealResult {
  id: number;
  buf: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
  indices: Float64Array;
  leaves: Uint8Array;
  hexes: string;
  /** Set when sealing failed (a bug): nothing else is meaningful then. */
  error?: string;
}

interface Head {
  idJson: string;
  idJsonBytes: number;
  next: number;
  prev: string;
}

/** The result of a chunk that could not be sealed. */
export function _failedSeal(id: number, error: string): SealResult {
  const empty = new Uint32Array(0);
  return { id, buf: new Uint8Array(0), starts: empty, ends: empty, indices: new Float64Array(0), leaves: new Uint8Array(0), hexes: '', error };
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The tenant heads of one sealer and the sealing itself. */
export class SealState {
  readonly #heads = new Map<number, Head>();

  /** Seals a chunk; never throws (a failure is reported in `error`). */
  handle(chunk: SealChunk): SealResult {
    try {
      for (const r of chunk.resets) {
        this.#heads.set(r.slot, { idJson: r.idJson, idJsonBytes: Buffer.byteLength(r.idJson, 'utf8'), next: r.next, prev: r.prev });
      }
      const result = this.#seal(chunk);
      for (const s of chunk.drops) this.#heads.delete(s);
      return result;
    } catch (e) {
      for (const s of chunk.drops) this.#heads.delete(s);
      return _failedSeal(chunk.id, e instanceof Error ? e.message : String(e));
    }
  }

  /** Number of tenant heads held (for tests). */
  get slots(): number {
    return this.#heads.size;
  }

  #seal(chunk: SealChunk): SealResult {
    const { slots, kinds, payloads, payloadLengths, payloadBytes, timestamps } = chunk;
    const n = slots.length;
    if (kinds.length !== n || payloadLengths.length !== n || payloadBytes.length !== n || timestamps.length !== n) {
      throw new Error('internal: a seal chunk has arrays of different lengths');
    }
    // Group the appends by slot, keeping call order within a slot; size every record.
    const groups = new Map<number, number[]>();
    const indices = new Float64Array(n);
    const starts = new Uint32Array(n);
    const ends = new Uint32Array(n);
    const payloadAt = new Uint32Array(n);
    let total = 0;
    for (let i = 0, at = 0; i < n; i++) {
      const slot = slots[i]!;
      const head = this.#heads.get(slot);
      if (head === undefined) throw new Error(`internal: slot ${slot} has no head`);
      let g = groups.get(slot);
      if (g === undefined) groups.set(slot, (g = []));
      indices[i] = head.next + g.length;
      g.push(i);
      payloadAt[i] = at;
      at += payloadLengths[i]!;
      ends[i] = RECORD_HEADER_BYTES + _entryLength(indices[i]!, kinds[i]!, payloadBytes[i]!, head.idJsonBytes);
      total += ends[i]!;
    }
    // Its own ArrayBuffer (never the shared pool's): the worker transfers it.
    const buf = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const g of groups.values()) {
      for (const i of g) {
        // ends[i] holds the record's length until here.
        starts[i] = at;
        at += ends[i]!;
        ends[i] = at;
      }
    }
    // Rounds: append r of every slot, their leaves hashed together.
    const leaves = new Uint8Array(32 * n);
    const hexes: string[] = new Array<string>(n);
    const lists = [...groups.entries()];
    const views: Buffer[] = [];
    for (let r = 0; lists.length > 0; r++) {
      views.length = 0;
      for (const [slot, g] of lists) {
        const i = g[r]!;
        const head = this.#heads.get(slot)!;
        const bodyAt = starts[i]! + RECORD_HEADER_BYTES;
        const payload = payloads.slice(payloadAt[i]!, payloadAt[i]! + payloadLengths[i]!);
        const length = buf.write(_entryJson(indices[i]!, kinds[i]!, payload, head.prev, head.idJson, timestamps[i]!), bodyAt, 'utf8');
        if (bodyAt + length !== ends[i]) throw new Error(`internal: entry ${indices[i]} has an unexpected length`);
        _writeRecordHeader(buf, starts[i]!, length);
        views.push(buf.subarray(bodyAt, bodyAt + length));
      }
      const hashed = views.length === 1 ? hashLeaf(views[0]!) : hashLeaves(views);
      for (let j = 0; j < lists.length; j++) {
        const [slot, g] = lists[j]!;
        const i = g[r]!;
        const leaf = hashed.subarray(32 * j, 32 * j + 32);
        leaves.set(leaf, 32 * i);
        const head = this.#heads.get(slot)!;
        head.prev = hexes[i] = hexOf(leaf);
        head.next++;
      }
      for (let j = lists.length - 1; j >= 0; j--) if (lists[j]![1].length === r + 1) lists.splice(j, 1);
    }
    return { id: chunk.id, buf, starts, ends, indices, leaves, hexes: hexes.join('') };
  }
}
