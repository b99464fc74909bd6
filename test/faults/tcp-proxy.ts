// A loopback TCP proxy that a test owns, one per node, between the node and Redis: the fault campaign's way
// to cut one node off from Redis while every other node keeps its connections (docs/architecture.md,
// "@tenantry/federation": a node cut off from Redis can do nothing that lands).
//
//   const proxy = await startTcpProxy(redis.port);   // the node connects to proxy.url instead of redis.url
//   proxy.cut();                                      // every open connection reset, new ones refused
//   proxy.restore();                                  // new connections are forwarded again
//   await proxy.close();
//
// A cut resets (RST) both sides of every connection, as a broken network path would surface, rather than
// closing them politely; while cut, a new connection is accepted and reset at once, so the client sees the
// refusal immediately instead of a connect timeout. Bytes are forwarded as they come, in order, per
// connection; the proxy never reads or changes them. When Redis itself is down the upstream connect fails
// and the client's connection is reset the same way.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: the URL a node is given instead of Redis's own. */
  readonly url: string;
  /** True between cut() and restore(). */
  readonly isCut: boolean;
  /** Connections forwarded now. */
  readonly open: number;
  /** Resets every open connection and refuses new ones until restore(). Idempotent. */
  cut(): void;
  /** Forwards new connections again (the clients reconnect on their own). Idempotent. */
  restore(): void;
  /** Resets every connection and stops listening. */
  close(): Promise<void>;
}

/** Ends a socket at once, with a reset where the platform allows it. */
function reset(s: Socket): void {
  if (s.destroyed) return;
  if (typeof s.resetAndDestroy === 'function' && s.readyState !== 'opening') s.resetAndDestroy();
  else s.destroy();
}

/**
 * Starts a proxy on a free loopback port that forwards to 127.0.0.1:`targetPort`.
 * Precondition: `targetPort` is an integer from 1 to 65535 (the target need not be up yet).
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65_535) {
    throw new RangeError(`targetPort must be an integer from 1 to 65535, got ${String(targetPort)}`);
  }
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  let closed = false;

  const server: Server = createServer({ noDelay: true }, (client) => {
    if (cut || closed) {
      client.on('error', () => {});
      reset(client);
      return;
    }
    const upstream = connect({ port: targetPort, host: targetHost, noDelay: true });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      reset(client);
      reset(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy did not get a TCP port');
  const port = address.port;

  const resetAll = (): void => {
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      reset(pair[0]);
      reset(pair[1]);
    }
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get isCut(): boolean {
      return cut;
    },
    get open(): number {
      return pairs.size;
    },
    cut(): void {
      cut = true;
      resetAll();
    },
    restore(): void {
      cut = false;
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      resetAll();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
