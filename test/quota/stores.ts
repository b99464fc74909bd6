// The stores the quota suites run against: the embedded memory store, a Redis store on a real redis-server
// started on a loopback port for the file, and a Redis store on a real three-primary Redis Cluster started for
// the file (each stopped after it).
import { afterAll } from 'vitest';
import { memoryStore, redisStore, type QuotaStore } from '@tenantry/quota';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startRedisCluster, type RedisClusterServer } from '../helpers/redis-cluster.js';

export interface StoreKind {
  name: string;
  /** A fresh store with nothing in it (each call gets its own key prefix on Redis). */
  make(): Promise<QuotaStore>;
}

let server: Promise<RedisServer> | undefined;
let cluster: Promise<RedisClusterServer> | undefined;
let prefixes = 0;
const made: QuotaStore[] = [];

afterAll(async () => {
  await Promise.all(made.splice(0).map((s) => s.close()));
  if (server !== undefined) await (await server).stop();
  if (cluster !== undefined) await (await cluster).stop();
});

export const STORES: StoreKind[] = [
  { name: 'memory', make: async () => memoryStore() },
  {
    name: 'redis',
    make: async () => {
      server ??= startRedis();
      const { url } = await server;
      const s = redisStore({ url }, { prefix: `t${process.pid}.${prefixes++}:` });
      made.push(s);
      return s;
    },
  },
  {
    name: 'redis-cluster',
    make: async () => {
      cluster ??= startRedisCluster();
      const { nodes } = await cluster;
      const s = redisStore({ cluster: nodes }, { prefix: `t${process.pid}.${prefixes++}:` });
      made.push(s);
      return s;
    },
  },
];
