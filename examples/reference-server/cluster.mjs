// Cluster mode of the reference gateway: NODE_ID and REDIS_URL make the node join the cluster of every node
// pointed at the same Redis (docs/architecture.md, "@tenantry/federation").
//
//   NODE_ID               this node's id (1 to 128 of A-Z a-z 0-9 . _ : -); with it, REDIS_URL is required
//   CLUSTER_NODE_KEY      file with this node's key and certificate (tenantry-federation issue-node-key --out)
//   CLUSTER_OPERATOR_KEY  the operator's public key (base64; `public_key` of tenantry-federation operator-key)
//   CLUSTER_LEASE_MS      shard lease and membership TTL (default 10000): a dead node's shards move within it
//   CLUSTER_SHARDS        number of shards (default 64); every node of a cluster must use the same
//   CLUSTER_ROLE          coordinator (default), worker or observer (owns no shard, forwards everything)
//   CLUSTER_ADDRESS       how the other nodes reach this one (default http://HOST:PORT)
import { readFile } from 'node:fs/promises';
import { createClusterNode, isFederationError, nodeIdProblem, NODE_ROLES } from '@tenantry/federation';

function refuse(message) {
  console.error(message);
  process.exit(2);
}

/** The cluster settings of the environment; null when NODE_ID is not set (one node). Exits 2 on a bad one. */
export async function clusterConfig(env, { host, port }) {
  if (env.NODE_ID === undefined) return null;
  const problem = nodeIdProblem(env.NODE_ID);
  if (problem !== undefined) refuse(`NODE_ID ${problem}`);
  // It names the node's default data directory too.
  if (/^\.+$/.test(env.NODE_ID)) refuse('NODE_ID must not be only dots (it names the node\'s data directory)');
  if (!env.REDIS_URL) refuse('NODE_ID needs REDIS_URL: the nodes of a cluster meet in one Redis');
  const leaseMs = env.CLUSTER_LEASE_MS === undefined ? 10_000 : Number(env.CLUSTER_LEASE_MS);
  if (!Number.isInteger(leaseMs) || leaseMs < 300 || leaseMs > 600_000) refuse(`CLUSTER_LEASE_MS must be an integer from 300 to 600000, got ${JSON.stringify(env.CLUSTER_LEASE_MS)}`);
  const shardCount = env.CLUSTER_SHARDS === undefined ? 64 : Number(env.CLUSTER_SHARDS);
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 65_536) refuse(`CLUSTER_SHARDS must be an integer from 1 to 65536, got ${JSON.stringify(env.CLUSTER_SHARDS)}`);
  const role = env.CLUSTER_ROLE ?? 'coordinator';
  if (!NODE_ROLES.includes(role)) refuse(`CLUSTER_ROLE must be one of ${NODE_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  if (port === 0 && env.CLUSTER_ADDRESS === undefined) refuse('cluster mode needs a fixed PORT, or CLUSTER_ADDRESS saying how the other nodes reach this one');
  const address = env.CLUSTER_ADDRESS ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    const u = new URL(address);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/') throw new Error('not an http(s) origin');
  } catch {
    refuse(`CLUSTER_ADDRESS must be an http:// or https:// origin without a path, got ${JSON.stringify(address)}`);
  }
  if (!env.CLUSTER_NODE_KEY) refuse('cluster mode needs CLUSTER_NODE_KEY, the file of this node\'s key (tenantry-federation issue-node-key --out <file>)');
  if (!env.CLUSTER_OPERATOR_KEY) refuse('cluster mode needs CLUSTER_OPERATOR_KEY, the operator\'s public key (base64)');
  let nodeKey;
  try {
    nodeKey = JSON.parse(await readFile(env.CLUSTER_NODE_KEY, 'utf8'));
  } catch (e) {
    refuse(`CLUSTER_NODE_KEY ${env.CLUSTER_NODE_KEY}: ${e.message}`);
  }
  if (nodeKey?.node_id !== env.NODE_ID) refuse(`CLUSTER_NODE_KEY ${env.CLUSTER_NODE_KEY} is the key of node ${JSON.stringify(nodeKey?.node_id)}, not of NODE_ID ${JSON.stringify(env.NODE_ID)}`);
  return { nodeId: env.NODE_ID, redisUrl: env.REDIS_URL, leaseMs, shardCount, role, address, nodeKey, operatorPublicKey: env.CLUSTER_OPERATOR_KEY };
}

/** The cluster node of a config (not started). Exits 2 when the federation package refuses a setting. */
export function clusterNode(config) {
  try {
    return createClusterNode({
      redis: { url: config.redisUrl }, nodeId: config.nodeId, role: config.role, address: config.address, leaseMs: config.leaseMs,
      shardCount: config.shardCount, nodeKey: config.nodeKey, operatorPublicKey: config.operatorPublicKey,
    });
  } catch (e) {
    if (isFederationError(e)) refuse(`cluster mode: ${e.message} (${e.code}${e.field === undefined ? '' : `, ${e.field}`})`);
    throw e;
  }
}

/** Logs what changes hands: shards lost without a handover, Redis outages, revocations. */
export function logClusterEvents(node) {
  let unavailable = false;
  return node.on((e) => {
    if (e.type === 'stepped_down') console.log(`cluster: ${node.nodeId} stepped down from ${e.resource} (token ${e.token}, ${e.reason})`);
    else if (e.type === 'unavailable') {
      if (!unavailable) console.error(`cluster: ${node.nodeId} cannot reach Redis (${e.error.message}); admissions fail closed, shards are kept only until their leases end`);
      unavailable = true;
      return;
    } else if (e.type === 'revocations') console.log(`cluster: revocation list version ${e.version} in force`);
    else if (e.type === 'members') console.log(`cluster: members ${e.members.map((m) => m.node_id).join(', ')}`);
    // Acquired and released shards are not logged (64 lines at start): GET /v1/cluster and the metrics count them.
    unavailable = false;
  });
}
