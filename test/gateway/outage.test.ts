// The gateway when the quota's Redis goes away: a request that cannot be checked is refused with the
// contract's 429 QUOTA_DENIED, reason STORE_UNAVAILABLE (fail closed); a call that already happened keeps its receipt, and its
// settlement is retried until Redis has it, charged once.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { AuditLedger, generateNoteKey } from '@tenantry/audit';
import { Gateway } from '@tenantry/gateway';
import { createPolicyEngine } from '@tenantry/policy';
import { createQuota, redisStore } from '@tenantry/quota';
import { startRedis } from '../helpers/redis.js';

const tenants = JSON.parse(await readFile(fileURLToPath(new URL('../../examples/reference-server/tenants.json', import.meta.url)), 'utf8'));
const doc = { tenant_id: 'acme', layer: 'model_access', id: 'doc-1', classification: 'internal', region: 'eu-west-1', domain: 'PROD', tool: 'chat' };
const ACME = 'Bearer acme-demo-key';

it('denies while the quota cannot be checked, and settles a finished call once Redis is back', async () => {
  const redis = await startRedis({ persist: true });
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-outage-'));
  const ledger = await AuditLedger.open(dir, { signerKey: generateNoteKey('outage.test').signerKey });
  const quota = createQuota({ store: redisStore({ url: redis.url }, { commandTimeoutMs: 500 }) });
  let haltDuringCall = true;
  const gateway = await Gateway.create({
    tenants, ledger, quota, policy: await createPolicyEngine(),
    // The upstream answers, but Redis goes down while it works: the settlement cannot land.
    upstream: async () => {
      if (haltDuringCall) await redis.halt();
      return { usd: 0.3, output: 'done' };
    },
  });
  try {
    const r = await gateway.invoke(ACME, { action: 'invoke', resource: doc, estimated_usd: 0.5 });
    expect(r.status).toBe(200);
    const receipt = (r.body as { receipt: { index: number } }).receipt;
    // The charge's entry is durable before the settlement is tried, so the receipt stands while it waits.
    const charged = (await ledger.log.entry('acme', receipt.index)).entry;
    expect(charged).toMatchObject({ kind: 'invoke', payload: { charged_usd: 0.3 } });
    expect(gateway.pendingSettlements).toBe(1);

    const refused = await gateway.invoke(ACME, { action: 'invoke', resource: doc, estimated_usd: 0.5 });
    expect([refused.status, refused.body]).toEqual([429, expect.objectContaining({ code: 'QUOTA_DENIED', reason: 'STORE_UNAVAILABLE' })]);
    expect(refused.headers?.['retry-after']).toBe('1');

    haltDuringCall = false;
    await redis.restart();
    while (gateway.pendingSettlements > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // Charged exactly once, and nothing left held.
    for (;;) {
      try {
        const u = await quota.usage('acme');
        expect(u.day).toMatchObject({ spent_usd: 0.3, reserved_usd: 0 });
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'STORE_UNAVAILABLE') throw e;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    await gateway.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
