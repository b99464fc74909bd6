// Where sealing (seal.ts) runs: in one worker thread shared by every AuditLog of the process
// (`sealer: 'worker'`, the default), or on the calling thread (`sealer: 'inline'`).
//
// In the worker, sealing an append (entry envelope, UTF-8, leaf hash, CRC) overlaps with the
// caller's next appends and with the fsync of the previous flush, using a second core. The worker
// starts on the first chunk, is unref'd whenever it has nothing to do (an idle log does not keep
// the process alive) and lives as long as the process. Results come back in the order chunks were
// sent. If it stops (it should not: SealState never throws), every chunk in flight fails, the
// generation changes, and the next chunk starts a new worker: the logs then reset their heads.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SealState, _failedSeal, type SealChunk, type SealResult } from './seal.js';

export type SealerKind = 'worker' | 'inline';

export interface Sealer {
  /** Seals `chunk` and calls `done` with the result, asynchronously and in order of sending. */
  send(chunk: SealChunk, done: (r: SealResult) => void): void;
  /** Changes when the sealer lost its heads (the worker stopped): every slot needs a reset. */
  readonly generation: number;
}

let nextChunkId = 1;
let nextSlot = 1;

/** A process-unique chunk id (ids grow in the order chunks are made). */
export function _nextChunkId(): number {
  return nextChunkId++;
}

/** A process-unique tenant slot. */
export function _nextSlot(): number {
  return nextSlot++;
}

/** Seals on the calling thread, one chunk per macrotask (setImmediate keeps them in order). */
class InlineSealer implements Sealer {
  readonly generation = 0;
  readonly #state = new SealState();

  send(chunk: SealChunk, done: (r: SealResult) => void): void {
    setImmediate(() => done(this.#state.handle(chunk)));
  }
}

/** dist/seal-worker.js beside the ESM bundle, dist/seal-worker.cjs beside the CJS one. */
function workerFilename(): string {
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.cjs') ? './seal-worker.cjs' : './seal-worker.js', here));
}

class WorkerSealer implements Sealer {
  generation = 0;
  #worker: Worker | undefined;
  /** Chunks sent and not answered, oldest first. */
  #inFlight: { chunk: SealChunk; done: (r: SealResult) => void }[] = [];
  #head = 0;

  send(chunk: SealChunk, done: (r: SealResult) => void): void {
    const w = (this.#worker ??= this.#start());
    if (this.#inFlight.length === this.#head) w.ref();
    this.#inFlight.push({ chunk, done });
    w.postMessage(chunk);
  }

  #start(): Worker {
    // No flags of the parent (--input-type, -e, loaders, …): the worker is a plain bundled file.
    const w = new Worker(workerFilename(), { execArgv: [] });
    w.on('message', (r: SealResult) => {
      const f = this.#inFlight[this.#head];
      if (f === undefined || f.chunk.id !== r.id) {
        this.#lost(w, new Error(`the seal worker answered chunk ${r.id} out of order`));
        return;
      }
      this.#inFlight[this.#head++] = undefined!;
      if (this.#head === this.#inFlight.length) {
        this.#inFlight = [];
        this.#head = 0;
        w.unref();
      } else if (this.#head > 1024 && this.#head * 2 > this.#inFlight.length) {
        this.#inFlight = this.#inFlight.slice(this.#head);
        this.#head = 0;
      }
      f.done(r);
    });
    w.on('error', (e) => this.#lost(w, e));
    w.on('exit', (code) => this.#lost(w, new Error(`the seal worker exited with code ${code}`)));
    w.unref();
    return w;
  }

  /** The worker is gone (or misbehaved): fail what it held; the next send starts another. */
  #lost(w: Worker, e: Error): void {
    if (this.#worker !== w) return;
    this.#worker = undefined;
    this.generation++;
    void w.terminate();
    const lost = this.#inFlight.slice(this.#head);
    this.#inFlight = [];
    this.#head = 0;
    for (const f of lost) f.done(_failedSeal(f.chunk.id, e.message));
  }

  /** Stops the worker as if it had crashed (tests of the recovery path). */
  _crash(): Promise<number> | undefined {
    return this.#worker?.terminate();
  }
}

let shared: WorkerSealer | undefined;

/** The sealer a log of this kind uses: the process's worker sealer, or a new inline one. */
export function _sealer(kind: SealerKind): Sealer {
  if (kind === 'inline') return new InlineSealer();
  return (shared ??= new WorkerSealer());
}

/** Stops the shared seal worker as if it had crashed (tests only); resolves when it has stopped. */
export async function _crashSealWorker(): Promise<void> {
  await shared?._crash();
}
