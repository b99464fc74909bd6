// The campaign's TCP proxy (tcp-proxy.ts) over a real redis-server: it forwards, a cut resets every open
// connection and refuses new ones until restore(), and close() ends everything.
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startTcpProxy } from './tcp-proxy.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

/** A client that fails at once while disconnected (as the nodes' are) and reconnects quickly. */
function client(url: string): Redis {
  const c = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, retryStrategy: () => 20 });
  c.on('error', () => {});
  return c;
}

async function untilReady(c: Redis): Promise<void> {
  for (let i = 0; c.status !== 'ready'; i++) {
    if (i > 500) throw new Error(`client still ${c.status}`);
    await sleep(10);
  }
}

describe('the fault proxy', () => {
  it('forwards, cuts every connection and refuses new ones, then forwards again after restore', async () => {
    const proxy = await startTcpProxy(redis.port);
    const a = client(proxy.url);
    try {
      await untilReady(a);
      expect(await a.set('proxy:k', 'v1')).toBe('OK');
      expect(proxy.open).toBe(1);

      proxy.cut();
      expect(proxy.isCut).toBe(true);
      expect(proxy.open).toBe(0);
      await expect(a.get('proxy:k')).rejects.toThrow();
      // While cut, new connections get nowhere (the client keeps retrying) and reach nothing.
      await sleep(200);
      expect(a.status).not.toBe('ready');
      expect(proxy.open).toBe(0);

      proxy.restore();
      await untilReady(a);
      expect(await a.get('proxy:k')).toBe('v1');
      expect(proxy.open).toBe(1);
    } finally {
      a.disconnect();
      await proxy.close();
    }
  });

  it('leaves the connections of other proxies alone', async () => {
    const p1 = await startTcpProxy(redis.port);
    const p2 = await startTcpProxy(redis.port);
    const a = client(p1.url);
    const b = client(p2.url);
    try {
      await Promise.all([untilReady(a), untilReady(b)]);
      p1.cut();
      await expect(a.ping()).rejects.toThrow();
      expect(await b.ping()).toBe('PONG');
    } finally {
      a.disconnect();
      b.disconnect();
      await p1.close();
      await p2.close();
    }
  });

  it('refuses a target port out of range', async () => {
    await expect(startTcpProxy(0)).rejects.toThrow(RangeError);
    await expect(startTcpProxy(65_536)).rejects.toThrow(/targetPort/);
  });
});
