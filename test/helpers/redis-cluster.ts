// A real, throw-away three-primary Redis Cluster for tests: scripts/lib/redis-cluster.mjs, which the benchmarks
// share.
//
//   const cluster = await startRedisCluster();   // cluster.nodes = [{ host: "127.0.0.1", port }, …] (3 primaries)
//   ...
//   await cluster.stop();                         // idempotent; also done at process exit if a test forgot
export { startRedisCluster } from '../../scripts/lib/redis-cluster.mjs';
export type { RedisClusterNode, RedisClusterServer } from '../../scripts/lib/redis-cluster.mjs';
