// The revocation feed over a real redis-server (docs/architecture.md, "@tenantry/federation"): the operator
// publishes a signed list with a compare-and-set that only moves forward, every node applies it at its next
// poll, a forged or older list is refused and un-revokes nothing, and an unreachable Redis or a lost key leaves
// the list in force. The CLI's publish-revocations is run as a user runs it (the built bin in a child process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ReplayGuard, Revocations, createRevocationFeed, generateOperatorKey, isFederationError, issueNodeKey, openMessage,
  publishRevocations, revocationsKey, signMessage, signRevocationList, type NodeKey, type RevocationFeed, type RevocationFeedEvent,
} from '@tenantry/federation';
import { expectCodedError, expectCodedRejection } from '../helpers/errors.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const require = createRequire(import.meta.url);
const pkgDir = dirname(require.resolve('@tenantry/federation/package.json'));
const bin = join(pkgDir, (require('@tenantry/federation/package.json') as { bin: Record<string, string> }).bin['tenantry-federation']!);
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const operator = generateOperatorKey('feed-test');
const impostor = generateOperatorKey('impostor');
const now = Date.now();
const keyOf = (id: string): NodeKey => issueNodeKey(operator, { node_id: id, not_before: now - 60_000, not_after: now + 86_400_000 });
const sender = keyOf('node-s');
const other = keyOf('node-o');

let redis: RedisServer;
let prefixes = 0;
const dir = mkdtempSync(join(tmpdir(), 'tenantry-revocation-feed-'));

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A node's view: its Revocations, its feed and what the feed told it. */
function nodeView(url: string, prefix: string, pollMs?: number) {
  const revocations = new Revocations(operator.public_key);
  const feed = createRevocationFeed({ url }, { operatorPublicKey: operator.public_key, revocations, prefix, ...(pollMs === undefined ? {} : { pollMs }) });
  const events: RevocationFeedEvent[] = [];
  feed.on((e) => events.push(e));
  const replayGuard = new ReplayGuard({ windowMs: 60_000 });
  const codeOpening = (key: NodeKey): string => {
    try {
      openMessage(signMessage({ target_node: 'node-r', message_type: 'ping', payload: {} }, key), { nodeId: 'node-r', operatorPublicKey: operator.public_key, revocations, replayGuard });
      return 'accepted';
    } catch (e) {
      return isFederationError(e) ? e.code : String(e);
    }
  };
  return { revocations, feed, events, codeOpening };
}

const list = (version: number, revoked: string[], by = operator) => signRevocationList(by, { version, revoked, issued_at: now + version });

describe('publishRevocations', () => {
  it('stores a list only when it is newer, and refuses a list the operator did not sign', async () => {
    const prefix = `rf${++prefixes}:`;
    const conn = { url: redis.url };
    const opts = { operatorPublicKey: operator.public_key, prefix };
    const client = new Redis(redis.url);
    try {
      expect(await publishRevocations(conn, list(1, [sender.key_id]), opts)).toBe('published');
      expect(await publishRevocations(conn, list(1, [sender.key_id]), opts)).toBe('older');
      expect(await publishRevocations(conn, list(3, [sender.key_id, other.key_id]), opts)).toBe('published');
      expect(await publishRevocations(conn, list(2, []), opts)).toBe('older');
      expect(JSON.parse((await client.get(revocationsKey(prefix)))!)).toMatchObject({ version: 3 });
      // A list signed by another key is refused before anything is written.
      await expectCodedRejection(publishRevocations(conn, list(9, [], impostor), opts), isFederationError, 'FORGED', 'list.signature');
      await expectCodedRejection(publishRevocations(conn, { ...list(9, []), revoked: ['zz'] }, opts), isFederationError, 'MALFORMED', 'list.revoked[0]');
      expect(JSON.parse((await client.get(revocationsKey(prefix)))!)).toMatchObject({ version: 3 });
      // The operator's key may be given as its 32 bytes as well.
      const bytes = new Uint8Array(Buffer.from(operator.public_key, 'base64'));
      expect(await publishRevocations({ client }, list(4, [other.key_id]), { operatorPublicKey: bytes, prefix })).toBe('published');
      expect(client.status).toBe('ready'); // a client of the caller's stays open
    } finally {
      client.disconnect();
    }
  });

  it('replaces a forged list that claims a higher version, so a writer of the key cannot block the operator', async () => {
    const prefix = `rf${++prefixes}:`;
    const client = new Redis(redis.url);
    try {
      await client.set(revocationsKey(prefix), JSON.stringify(list(1_000_000, [], impostor)));
      expect(await publishRevocations({ url: redis.url }, list(2, [sender.key_id]), { operatorPublicKey: operator.public_key, prefix })).toBe('published');
      expect(JSON.parse((await client.get(revocationsKey(prefix)))!)).toMatchObject({ version: 2, revoked: [sender.key_id] });
      await client.set(revocationsKey(prefix), 'not json {');
      expect(await publishRevocations({ url: redis.url }, list(3, [sender.key_id]), { operatorPublicKey: operator.public_key, prefix })).toBe('published');
    } finally {
      client.disconnect();
    }
  });
});

describe('a revocation feed', () => {
  it('puts a published revocation in force on three nodes at their next poll; a forged or older list un-revokes nothing', async () => {
    const prefix = `rf${++prefixes}:`;
    const nodes = [nodeView(redis.url, prefix), nodeView(redis.url, prefix), nodeView(redis.url, prefix)];
    const client = new Redis(redis.url);
    try {
      // Nothing published yet: version 0 everywhere, messages accepted.
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(0);
        expect(n.codeOpening(sender)).toBe('accepted');
      }
      expect(await publishRevocations({ url: redis.url }, list(1, [other.key_id]), { operatorPublicKey: operator.public_key, prefix })).toBe('published');
      expect(await publishRevocations({ url: redis.url }, list(2, [other.key_id, sender.key_id]), { operatorPublicKey: operator.public_key, prefix })).toBe('published');
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(2);
        expect(n.feed.version()).toBe(2);
        expect(n.events).toEqual([{ type: 'updated', version: 2 }]);
        expect(n.codeOpening(sender)).toBe('REVOKED');
        expect(n.codeOpening(other)).toBe('REVOKED');
      }

      // Whoever can write the key writes a list that revokes nothing: signed by another key, then the older
      // genuine list. Both are refused; the keys stay revoked.
      await client.set(revocationsKey(prefix), JSON.stringify(list(7, [], impostor)));
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(2);
        expect(n.events.at(-1)).toMatchObject({ type: 'refused', error: { code: 'FORGED' } });
        expect(n.codeOpening(sender)).toBe('REVOKED');
      }
      await client.set(revocationsKey(prefix), JSON.stringify(list(1, [other.key_id])));
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(2);
        expect(n.events.at(-1)).toMatchObject({ type: 'refused', error: { code: 'REVOCATION_ROLLBACK' } });
        expect(n.codeOpening(sender)).toBe('REVOKED');
        // The same stored text is judged once: polling again says nothing more.
        const told = n.events.length;
        expect(await n.feed.poll()).toBe(2);
        expect(n.events.length).toBe(told);
      }
      await client.set(revocationsKey(prefix), '{"version": 99');
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(2);
        expect(n.events.at(-1)).toMatchObject({ type: 'refused', error: { code: 'MALFORMED' } });
      }
      // The key lost altogether (a Redis that lost its data): the list in force stays.
      await client.del(revocationsKey(prefix));
      for (const n of nodes) {
        expect(await n.feed.poll()).toBe(2);
        expect(n.codeOpening(sender)).toBe('REVOKED');
      }
    } finally {
      client.disconnect();
      await Promise.all(nodes.map((n) => n.feed.close()));
    }
  });

  it('keeps the list in force while Redis is unreachable, says so, and catches up when it is back', async () => {
    const own = await startRedis();
    const prefix = `rf${++prefixes}:`;
    const n = nodeView(own.url, prefix);
    try {
      await publishRevocations({ url: own.url }, list(1, [sender.key_id]), { operatorPublicKey: operator.public_key, prefix });
      expect(await n.feed.poll()).toBe(1);
      await own.halt();
      expect(await n.feed.poll()).toBe(1);
      const last = n.events.at(-1);
      expect(last?.type).toBe('unavailable');
      expect(last?.type === 'unavailable' && last.error.code).toBe('REDIS_UNAVAILABLE');
      expect(n.codeOpening(sender)).toBe('REVOKED');
      // Back without its data (no persistence): nothing published, the list in force stays; then a newer one.
      await own.restart();
      await untilReachable(own.url);
      await publishRevocations({ url: own.url }, list(2, [sender.key_id, other.key_id]), { operatorPublicKey: operator.public_key, prefix });
      // The feed's connection reconnects by itself (with backoff); until then a poll says `unavailable`.
      let version = await n.feed.poll();
      for (let i = 0; i < 400 && version !== 2; i++) {
        await sleep(25);
        version = await n.feed.poll();
      }
      expect(version).toBe(2);
      expect(n.codeOpening(other)).toBe('REVOKED');
    } finally {
      await n.feed.close();
      await own.stop();
    }
  });

  it('polls on its own once started, until stopped', async () => {
    const prefix = `rf${++prefixes}:`;
    const n = nodeView(redis.url, prefix, 20);
    try {
      const updated = new Promise<number>((resolve) => {
        n.feed.on((e) => {
          if (e.type === 'updated') resolve(e.version);
        });
      });
      n.feed.start();
      n.feed.start(); // a no-op
      await publishRevocations({ url: redis.url }, list(5, [sender.key_id]), { operatorPublicKey: operator.public_key, prefix });
      expect(await updated).toBe(5);
      expect(n.revocations.isRevoked(sender.key_id)).toBe(true);
      n.feed.stop();
    } finally {
      await n.feed.close();
    }
  });

  it('checks its options with a typed error naming the option', () => {
    const revocations = new Revocations(operator.public_key);
    const conn = { url: redis.url };
    expectCodedError(() => createRevocationFeed(conn, { operatorPublicKey: operator.public_key, revocations, pollMs: 0 }), isFederationError, 'INVALID_ARGUMENT', 'options.pollMs');
    expectCodedError(() => createRevocationFeed(conn, { operatorPublicKey: operator.public_key, revocations: {} as Revocations }), isFederationError, 'INVALID_ARGUMENT', 'options.revocations');
    expectCodedError(() => createRevocationFeed(conn, { operatorPublicKey: 'AAAA', revocations }), isFederationError, 'INVALID_KEY', 'options.operatorPublicKey');
    expectCodedError(() => createRevocationFeed(conn, { operatorPublicKey: new Uint8Array(31), revocations }), isFederationError, 'INVALID_KEY', 'options.operatorPublicKey');
    expectCodedError(() => createRevocationFeed(conn, { operatorPublicKey: operator.public_key, revocations, poll: 5 } as never), isFederationError, 'INVALID_ARGUMENT', 'options.poll');
    expectCodedError(() => createRevocationFeed({ url: 'http://x' }, { operatorPublicKey: operator.public_key, revocations }), isFederationError, 'INVALID_ARGUMENT', 'connection.url');
  });
});

describe('tenantry-federation publish-revocations', () => {
  it('publishes the list that revoke wrote, refuses an older or foreign one, and exits 2, 3 and 4 as documented', async () => {
    const prefix = `rf${++prefixes}:`;
    const opFile = join(dir, 'operator.json');
    writeFileSync(opFile, JSON.stringify(operator), { mode: 0o600 });
    const pubFile = join(dir, 'operator.pub');
    writeFileSync(pubFile, `${operator.public_key}\n`);
    const listFile = join(dir, 'revoked.json');
    expect(cli('revoke', '--operator', opFile, '--list', listFile, '--key', sender.key_id).code).toBe(0);

    const n = nodeView(redis.url, prefix);
    try {
      const first = cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', pubFile, '--prefix', prefix);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('published version 1');
      expect(await n.feed.poll()).toBe(1);
      expect(n.codeOpening(sender)).toBe('REVOKED');
      // The same version again: refused, nothing changes. The key as base64, and the operator key file, work too.
      expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', operator.public_key, '--prefix', prefix).code).toBe(1);
      expect(cli('revoke', '--operator', opFile, '--list', listFile, '--key', other.key_id).code).toBe(0);
      expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', opFile, '--prefix', prefix).code).toBe(0);
      expect(await n.feed.poll()).toBe(2);
      expect(n.codeOpening(other)).toBe('REVOKED');
      // A list checked against another operator's key: FORGED, refused.
      const foreign = cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', impostor.public_key, '--prefix', prefix);
      expect(foreign.code).toBe(1);
      expect(foreign.stderr).toContain('FORGED');
    } finally {
      await n.feed.close();
    }
    expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url).code).toBe(2);
    expect(cli('publish-revocations', '--list', listFile, '--redis', 'http://x', '--operator-public', operator.public_key).code).toBe(2);
    expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', operator.public_key, '--key', 'x').code).toBe(2);
    expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', listFile).code).toBe(2);
    expect(cli('publish-revocations', '--list', join(dir, 'missing.json'), '--redis', redis.url, '--operator-public', operator.public_key).code).toBe(3);
    expect(cli('publish-revocations', '--list', listFile, '--redis', redis.url, '--operator-public', join(dir, 'missing.pub')).code).toBe(3);
    const gone = await startRedis();
    await gone.stop();
    const unreachable = cli('publish-revocations', '--list', listFile, '--redis', gone.url, '--operator-public', operator.public_key);
    expect(unreachable.code, unreachable.stderr).toBe(4);
    expect(unreachable.stderr).toContain('REDIS_UNAVAILABLE');
  });
});

/** Waits until a restarted redis-server answers. */
async function untilReachable(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => {});
  try {
    for (let i = 0; ; i++) {
      try {
        if (client.status === 'wait') await client.connect();
        await client.ping();
        return;
      } catch (e) {
        if (i === 400) throw e;
        await sleep(25);
      }
    }
  } finally {
    client.disconnect();
  }
}
