// Types of redis-cluster.mjs.
export interface RedisClusterNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisClusterServer {
  /** The three primaries. */
  readonly nodes: readonly RedisClusterNode[];
  /** Kills the servers and removes their directories. */
  stop(): Promise<void>;
}

/** Starts a three-primary Redis Cluster on 127.0.0.1, each server on a free port with a free bus port. */
export function startRedisCluster(): Promise<RedisClusterServer>;
