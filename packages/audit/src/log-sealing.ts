// A log's side of sealing (seal.ts, sealer.ts): giving each accepted append its index and prev,
// framing it and hashing its leaf, off the calling thread.
//
// Appends go to the sealer in chunks of CHUNK_APPENDS as they are made, so the worker seals while
// the caller keeps appending and while the previous flush waits for its fsync. The worker keeps
// each tenant's head (next index, prev); within a chunk it seals in rounds, append r of every
// tenant together, their leaves hashed by hashLeaves (4-lane SIMD), because within a chain each
// prev needs the previous leaf hash. A flush that finds a small chunk and nothing at the worker
// seals it on this thread instead, saving the round trip.
//
// The log decides the heads: a tenant's next chunk starts with a reset (its durable head, or the
// head after its latest seal) whenever the sealer may not know it — its first chunk, a sealer that
// lost its heads (a new generation), a seal made here, a failed flush. An append sent again is
// sealed again; results of the chunk it was sent in before are then ignored.
import type { Pending, TenantState } from './log-tenant.js';
import { SealState, type SealChunk, type SealReset, type SealResult } from './seal.js';
import { _nextChunkId, _sealer, type Sealer, type SealerKind } from './sealer.js';

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

/** The sealer's message for an open chunk: `resets` apply before its appends, `drops` after. */
function chunkMessage(c: OpenChunk, id: number, payloads: string, resets: SealReset[], drops: number[]): SealChunk {
  return {
    id, resets, drops, slots: Int32Array.from(c.slots), kinds: c.kinds, payloads,
    payloadLengths: Uint32Array.from(c.lengths), payloadBytes: Uint32Array.from(c.bytes), timestamps: c.timestamps,
  };
}

const newChunk = (): OpenChunk => ({ pendings: [], resets: [], slots: [], kinds: [], payloads: [], lengths: [], bytes: [], timestamps: [], chars: 0 });

export class SealPipeline {
  readonly #sealer: Sealer;
  /** Seals small flushes on this thread when the sealer is the worker (LOCAL_SEAL_APPENDS). */
  readonly #local: SealState | undefined;
  /** Chunks sent to the sealer whose results have not come back. */
  #inFlight = 0;
  #chunk: OpenChunk | undefined;
  /** Id of the latest chunk whose result came back, and flushes waiting for theirs. */
  #sealedThrough = 0;
  #sealWaiters: { upTo: number; resolve: () => void }[] = [];

  constructor(kind: SealerKind) {
    this.#sealer = _sealer(kind);
    this.#local = kind === 'worker' ? new SealState() : undefined;
  }

  /** Adds an accepted append to the open chunk, sending the chunk when it is full. */
  add(t: TenantState, p: Pending): void {
    let c = this.#chunk;
    if (t.sealGen !== this.#sealer.generation) {
      // A reset applies before every append of its chunk: start a new chunk for it.
      if (c !== undefined && c.pendings.length > 0) this.send();
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
    if (c.pendings.length >= CHUNK_APPENDS || c.chars >= CHUNK_CHARS) this.send();
  }

  /** Starts sealing the open chunk: here when it is small and nothing is at the worker, else there. */
  sealOpenChunk(): void {
    if (!this.#sealHere()) this.send();
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

  /** Sends the open chunk (if it holds anything) and, with it, `drops` (slots the sealer may forget). */
  send(drops: number[] = []): void {
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
  sealedUpTo(upTo: number): Promise<void> {
    if (upTo <= this.#sealedThrough) return Promise.resolve();
    return new Promise((resolve) => this.#sealWaiters.push({ upTo, resolve }));
  }
}
