// The reference server's cluster settings (examples/reference-server/cluster.mjs) are checked before anything is
// served: a bad setting, a node key of another node, a node key file with a flipped byte or cut short stop the
// start with exit 2 and a message naming what is wrong — never a node that joins with a key it cannot use.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOperatorKey, issueNodeKey } from '@tenantry/federation';
import { MAIN } from '../helpers/server.js';

let dir: string;
const operator = generateOperatorKey('cluster-config.test');
const key = issueNodeKey(operator, { node_id: 'node-a', not_before: Date.now() - 60_000, not_after: Date.now() + 86_400_000 });
const text = JSON.stringify(key);
/** `text` with the first character of `field`'s value changed. */
const flipped = (field: string): string => text.replace(new RegExp(`("${field}":")(.)`), (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenantry-cluster-config-'));
  await writeFile(join(dir, 'good.key'), text);
  await writeFile(join(dir, 'signature.key'), flipped('signature'));
  await writeFile(join(dir, 'secret.key'), flipped('secret_key'));
  await writeFile(join(dir, 'short.key'), text.slice(0, -5));
  await writeFile(join(dir, 'other.key'), JSON.stringify(issueNodeKey(operator, { node_id: 'node-b', not_before: Date.now(), not_after: Date.now() + 86_400_000 })));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const base = {
    PORT: '18999', DATA_DIR: join(dir, 'data'), NODE_ID: 'node-a', REDIS_URL: 'redis://127.0.0.1:1', CLUSTER_NODE_KEY: join(dir, 'good.key'),
    CLUSTER_OPERATOR_KEY: operator.public_key,
  };
  const merged: Record<string, string | undefined> = { ...process.env, ...base, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k];
  const child = spawn(process.execPath, [MAIN], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('cluster settings of the reference server', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['NODE_ID without REDIS_URL', { REDIS_URL: '' }, /NODE_ID needs REDIS_URL/],
    ['a NODE_ID outside the node id rule', { NODE_ID: 'a b' }, /NODE_ID must be 1 to 128 characters/],
    ['a NODE_ID of dots only', { NODE_ID: '..' }, /NODE_ID must not be only dots/],
    ['a lease out of range', { CLUSTER_LEASE_MS: '5' }, /CLUSTER_LEASE_MS must be an integer/],
    ['a shard count out of range', { CLUSTER_SHARDS: '0' }, /CLUSTER_SHARDS must be an integer/],
    ['an unknown role', { CLUSTER_ROLE: 'king' }, /CLUSTER_ROLE must be one of/],
    ['an address with a path', { CLUSTER_ADDRESS: 'http://127.0.0.1:1/x' }, /CLUSTER_ADDRESS must be an http/],
    ['PORT 0 without an address', { PORT: '0' }, /needs a fixed PORT, or CLUSTER_ADDRESS/],
    ['no node key', { CLUSTER_NODE_KEY: '' }, /needs CLUSTER_NODE_KEY/],
    ['no operator key', { CLUSTER_OPERATOR_KEY: '' }, /needs CLUSTER_OPERATOR_KEY/],
    ['the key of another node', { CLUSTER_NODE_KEY: join('DIR', 'other.key') }, /is the key of node "node-b", not of NODE_ID "node-a"/],
    ['a flipped byte in the certificate signature', { CLUSTER_NODE_KEY: join('DIR', 'signature.key') }, /signature is not the operator key's signature/],
    ['a flipped byte in the secret key', { CLUSTER_NODE_KEY: join('DIR', 'secret.key') }, /do not belong to secret_key/],
    ['a key file cut short', { CLUSTER_NODE_KEY: join('DIR', 'short.key') }, /CLUSTER_NODE_KEY .*short\.key: .*JSON/],
    ['another operator', { CLUSTER_OPERATOR_KEY: generateOperatorKey('other').public_key }, /not the operator key's signature|operator/],
  ];
  for (const [name, env, message] of cases) {
    it(`refuses ${name} (exit 2, named)`, async () => {
      const fixed = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/^DIR/, dir)]));
      const r = await run(fixed);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    });
  }
});
