// Waiting for a connection to become ready, shared by the packages that hold Redis connections
// (@tenantry/quota's store, @tenantry/federation's leases and membership): their clients connect lazily and
// fail closed, so the first use waits for 'ready', at most `timeoutMs`.

/** What untilReady listens on: an EventEmitter such as an ioredis client. */
export interface ReadyEmitter {
  once(event: 'ready' | 'error', listener: (e?: Error) => void): unknown;
  off(event: 'ready' | 'error', listener: (e?: Error) => void): unknown;
}

/**
 * Resolves at the emitter's next 'ready'; rejects at its next 'error', or after `timeoutMs` with
 * "<what> did not become ready in time". Leaves no listener behind either way.
 */
export function untilReady(emitter: ReadyEmitter, timeoutMs: number, what = 'Redis'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what} did not become ready in time`)), timeoutMs);
    const ready = (): void => done();
    const fail = (e?: Error): void => done(e ?? new Error(`${what} failed`));
    function done(e?: Error): void {
      clearTimeout(timer);
      emitter.off('ready', ready);
      emitter.off('error', fail);
      if (e === undefined) resolve();
      else reject(e);
    }
    emitter.once('ready', ready);
    emitter.once('error', fail);
  });
}
