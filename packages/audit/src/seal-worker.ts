// The seal worker (see seal.ts and sealer.ts): emitted as dist/seal-worker.js (ESM) and
// dist/seal-worker.cjs (CJS) and started by sealer.ts. Chunks are sealed in the order they arrive;
// each result's buffer is transferred back.
import { parentPort } from 'node:worker_threads';
import { SealState, type SealChunk } from './seal.js';

const state = new SealState();
parentPort!.on('message', (chunk: SealChunk) => {
  const r = state.handle(chunk);
  parentPort!.postMessage(r, r.buf.byteLength > 0 ? [r.buf.buffer as ArrayBuffer] : []);
});
