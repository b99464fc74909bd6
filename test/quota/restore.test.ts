// quota.restore on each store (docs/architecture.md, "@tenantry/quota"): a cap reached before a restart
// still denies after it; charges are accounting, never denied; open reservations are held again until
// their own expiry and settle once; a charge of a reservation the store still holds settles it; the
// periods of ids that carry none; what a shared store skips; unknown tenants; malformed records.
import { describe, expect, it } from 'vitest';
import {
  createQuota, isQuotaError, type BudgetEnvelope, type Quota, type QuotaStore, type RestoreOpen, type RestoreRecord, type ReserveResult,
} from '@tenantry/quota';
import { expectCodedRejection } from '../helpers/errors.js';
import { STORES } from './stores.js';

const MINUTE = 60_000;
const ENVELOPE: BudgetEnvelope = {
  tenant_id: 'acme', monthly_budget_usd: 300, daily_budget_usd: 10, experiment_budget_cap_usd: 50,
  max_parallel_experiments: 2, max_prod_traffic_pct: 100, simulation_budget_usd: 20,
};

function idOf(r: ReserveResult): string {
  if (!r.ok) throw new Error(`expected an admitted reservation, got ${r.reason}`);
  return r.id;
}

describe.each(STORES)('quota.restore on the $name store', (kind) => {
  /** A quota on `store` (a new one by default) at a clock the test moves, with `envelopes` set. */
  async function quotaAt(iso: string, opts: { store?: QuotaStore; retainMs?: number; envelopes?: BudgetEnvelope[] } = {}) {
    const time = { now: Date.parse(iso) };
    const quota: Quota = createQuota({ store: opts.store ?? (await kind.make()), clock: () => time.now, ...(opts.retainMs ? { retainMs: opts.retainMs } : {}) });
    for (const env of opts.envelopes ?? [ENVELOPE]) await quota.setEnvelope(env);
    return { quota, time };
  }

  it('keeps a daily cap reached before a restart: reserve denies after it', async () => {
    const tenants = ['acme', 'globex'].map((tenant_id) => ({ ...ENVELOPE, tenant_id }));
    const before = await quotaAt('2025-06-10T09:00:00Z', { envelopes: tenants });
    const records: RestoreRecord[] = [];
    for (const { tenant_id } of tenants) {
      for (let i = 0; i < 6; i++) {
        const id = idOf(await before.quota.reserve({ tenant_id, usd: 1.7 }));
        records.push({ kind: 'charge', id, tenant_id, usd: 1.66, at: before.time.now });
        await before.quota.settle(id, 1.66);
        before.time.now += MINUTE;
      }
    }
    // The restart: a new quota over a new memory store, which kept nothing; or over the Redis that kept it all.
    const redis = kind.name.startsWith('redis');
    const after = await quotaAt('2025-06-10T12:00:00Z', { envelopes: tenants, ...(redis ? { store: before.quota.store } : {}) });
    if (!redis) expect((await after.quota.usage('acme')).day.spent_usd).toBe(0);
    // Redis has forgotten these closed ids (retainMs, 5 min): older than that, it is the truth, and they are skipped.
    expect(await after.quota.restore(records)).toEqual({ charged: redis ? 0 : 12, settled: 0, duplicate: 0, skipped: redis ? 12 : 0, held: 0, expired: 0, unknown_tenant: 0 });
    for (const { tenant_id } of tenants) {
      expect((await after.quota.usage(tenant_id)).day).toMatchObject({ key: '2025-06-10', spent_usd: 9.96, reserved_usd: 0, remaining_usd: 0.04 });
      expect(await after.quota.reserve({ tenant_id, usd: 0.05 })).toEqual({ ok: false, reason: 'DAILY_CAP', retry_after_ms: 12 * 3_600_000 });
      expect(await after.quota.reserve({ tenant_id, usd: 0.04 })).toMatchObject({ ok: true });
    }
  });

  it('charges above a cap without denying (accounting, not admission), and reserve then denies', async () => {
    const { quota } = await quotaAt('2025-06-10T12:00:00Z', { retainMs: 60 * MINUTE });
    const records: RestoreRecord[] = [7, 6].map((usd, i) => ({ kind: 'charge', id: `old.${i}.acme`, tenant_id: 'acme', usd, at: Date.parse('2025-06-10T11:30:00Z') }));
    expect(await quota.restore(records)).toMatchObject({ charged: 2 });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 13, remaining_usd: 0 });
    expect(await quota.reserve({ tenant_id: 'acme', usd: 0.000001 })).toMatchObject({ ok: false, reason: 'DAILY_CAP' });
  });

  it('holds open reservations again until their own expiry: each settles or releases once, or returns its amount', async () => {
    const before = await quotaAt('2025-06-10T12:00:00Z');
    const start = before.time.now;
    const reserve = async (usd: number, ttl_ms: number): Promise<RestoreOpen> => {
      const r = await before.quota.reserve({ tenant_id: 'acme', usd, ttl_ms });
      return { kind: 'open', id: idOf(r), tenant_id: 'acme', usd, at: start, expires_at: r.ok ? r.expires_at : 0 };
    };
    const a = await reserve(3, 10 * MINUTE);
    const b = await reserve(2, 10 * MINUTE);
    const c = await reserve(1, MINUTE);
    const d = await reserve(0.5, 20 * MINUTE);
    const after = await quotaAt('2025-06-10T12:02:00Z');
    const q = after.quota;
    expect(await q.restore([a, b, c, d])).toEqual({ charged: 0, settled: 0, duplicate: 0, skipped: 0, held: 3, expired: 1, unknown_tenant: 0 });
    expect(await q.usage('acme')).toMatchObject({ day: { spent_usd: 0, reserved_usd: 5.5 }, open_reservations: 3 });
    // Held under the same ids: a later settle or release of them works, once.
    expect(await q.settle(a.id, 2.5)).toMatchObject({ status: 'settled', reserved_usd: 3, charged_usd: 2.5, late: false });
    expect(await q.settle(a.id, 2.5)).toMatchObject({ status: 'duplicate' });
    expect(await q.release(d.id)).toMatchObject({ status: 'released' });
    expect(await q.release(d.id)).toMatchObject({ status: 'duplicate' });
    expect(await q.usage('acme')).toMatchObject({ day: { spent_usd: 2.5, reserved_usd: 2 }, open_reservations: 1 });
    // b expires at its own time and returns its amount; a late settle still charges it, once.
    after.time.now = b.expires_at - 1;
    expect((await q.usage('acme')).day.reserved_usd).toBe(2);
    after.time.now += 1;
    expect(await q.usage('acme')).toMatchObject({ day: { spent_usd: 2.5, reserved_usd: 0 }, open_reservations: 0 });
    expect(await q.settle(b.id, 2)).toMatchObject({ status: 'settled', late: true });
    expect(await q.settle(b.id, 2)).toMatchObject({ status: 'duplicate' });
    // Restored again, nothing is held twice.
    expect(await q.restore([a, b, c, d])).toMatchObject({ held: 0, expired: 3, duplicate: 1 });
    expect(await q.usage('acme')).toMatchObject({ day: { spent_usd: 4.5, reserved_usd: 0 }, open_reservations: 0 });
  });

  it("keeps restored ids apart from the new quota's own, whose serials start over", async () => {
    const before = await quotaAt('2025-06-10T12:00:00Z');
    const first = await before.quota.reserve({ tenant_id: 'acme', usd: 1, ttl_ms: 10 * MINUTE });
    const after = await quotaAt('2025-06-10T12:01:00Z');
    const q = after.quota;
    expect(await q.restore([{ kind: 'open', id: idOf(first), tenant_id: 'acme', usd: 1, at: before.time.now, expires_at: first.ok ? first.expires_at : 0 }])).toMatchObject({ held: 1 });
    // The new quota's first reservation has the restored one's serial: both are held, each closes alone.
    const mine = idOf(await q.reserve({ tenant_id: 'acme', usd: 2, ttl_ms: MINUTE }));
    expect(mine.split('.')[1]).toBe(idOf(first).split('.')[1]);
    expect(await q.usage('acme')).toMatchObject({ day: { reserved_usd: 3 }, open_reservations: 2 });
    expect(await q.settle(idOf(first), 1)).toMatchObject({ status: 'settled', late: false });
    // Its own, expired, still settles late: the restored id's close did not mark the serial closed.
    after.time.now += 2 * MINUTE;
    expect((await q.usage('acme')).day.reserved_usd).toBe(0);
    expect(await q.settle(mine, 2)).toMatchObject({ status: 'settled', late: true });
    expect(await q.settle(idOf(first), 1)).toMatchObject({ status: 'duplicate' });
    expect((await q.usage('acme')).day.spent_usd).toBe(3);
  });

  it('settles the charge of a reservation its store still holds (open or expired), and never holds a known id twice', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z');
    const open = idOf(await quota.reserve({ tenant_id: 'acme', usd: 2, ttl_ms: 10 * MINUTE }));
    const expiring = idOf(await quota.reserve({ tenant_id: 'acme', usd: 3, ttl_ms: MINUTE }));
    const held = await quota.reserve({ tenant_id: 'acme', usd: 1, ttl_ms: 10 * MINUTE });
    time.now += 2 * MINUTE;
    const records: RestoreRecord[] = [
      { kind: 'charge', id: open, tenant_id: 'acme', usd: 1.5, at: time.now },
      { kind: 'charge', id: expiring, tenant_id: 'acme', usd: 3.5, at: time.now },
      { kind: 'open', id: idOf(held), tenant_id: 'acme', usd: 1, at: time.now - 2 * MINUTE, expires_at: held.ok ? held.expires_at : 0 },
    ];
    expect(await quota.restore(records)).toMatchObject({ settled: 2, duplicate: 1, charged: 0, held: 0 });
    expect(await quota.usage('acme')).toMatchObject({ day: { spent_usd: 5, reserved_usd: 1 }, open_reservations: 1 });
    expect(await quota.settle(open, 1.5)).toMatchObject({ status: 'duplicate' });
    expect(await quota.settle(expiring, 3.5)).toMatchObject({ status: 'duplicate' });
    expect(await quota.restore(records)).toMatchObject({ settled: 0, duplicate: 3 });
    expect((await quota.usage('acme')).day).toMatchObject({ spent_usd: 5, reserved_usd: 1 });
  });

  it('remembers a reservation settled after its expiry for retainMs after the settle', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z', { retainMs: 5 * MINUTE });
    const id = idOf(await quota.reserve({ tenant_id: 'acme', usd: 2, ttl_ms: MINUTE }));
    time.now += 4 * MINUTE;
    await quota.reserve({ tenant_id: 'acme', usd: 0 });
    expect(await quota.settle(id, 2)).toMatchObject({ status: 'settled', late: true });
    // The next operations sweep (at most once a second), as the tenant's traffic would.
    for (const step of [2_000, 2 * MINUTE]) {
      time.now += step;
      await quota.reserve({ tenant_id: 'acme', usd: 0 });
      expect(await quota.settle(id, 2)).toMatchObject({ status: 'duplicate' });
      expect(await quota.restore([{ kind: 'charge', id, tenant_id: 'acme', usd: 2, at: time.now - step }])).toMatchObject({ duplicate: 1 });
    }
    expect((await quota.usage('acme')).day.spent_usd).toBe(2);
  });

  it(kind.name.startsWith('redis')
    ? 'charges a charge it never saw when written within retainMs, and skips an older one it may have forgotten'
    : 'charges every charge it never saw, however old: a memory store remembers nothing of the time before it', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z', { retainMs: 5 * MINUTE });
    const records: RestoreRecord[] = [
      { kind: 'charge', id: 'old.1.acme', tenant_id: 'acme', usd: 1, at: time.now - 5 * MINUTE },
      { kind: 'charge', id: 'old.2.acme', tenant_id: 'acme', usd: 2, at: time.now - 5 * MINUTE + 1 },
    ];
    const redis = kind.name.startsWith('redis');
    expect(await quota.restore(records)).toMatchObject({ charged: redis ? 1 : 2, skipped: redis ? 1 : 0 });
    expect((await quota.usage('acme')).day.spent_usd).toBe(redis ? 2 : 3);
    // Idempotent all the same, also once the window has passed.
    expect(await quota.restore(records)).toMatchObject({ charged: 0, duplicate: redis ? 1 : 2, skipped: redis ? 1 : 0 });
    time.now += 10 * MINUTE;
    expect(await quota.restore(records)).toMatchObject({ charged: 0, duplicate: redis ? 0 : 2, skipped: redis ? 2 : 0 });
    expect((await quota.usage('acme')).day.spent_usd).toBe(redis ? 2 : 3);
  });

  it('charges an id without its record to the periods of reserved_at (else at) in the tenant zone, and with one to its own', async () => {
    // Kolkata is UTC+05:30: 18:30Z is midnight between 10 and 11 June.
    const zone = (tenant_id: string): BudgetEnvelope => ({ ...ENVELOPE, tenant_id, timezone: 'Asia/Kolkata' });
    const { quota, time } = await quotaAt('2025-06-10T18:45:00Z', { retainMs: 60 * MINUTE, envelopes: ['a', 'b', 'c', 'd', 'e'].map(zone) });
    await quota.startExperiment('e', 'x');
    const at = (hm: string) => Date.parse(`2025-06-10T${hm}:00Z`);
    expect(await quota.restore([
      { kind: 'charge', id: 'old.1.a', tenant_id: 'a', usd: 1, at: at('18:29') },
      { kind: 'charge', id: 'old.2.b', tenant_id: 'b', usd: 2, at: at('18:31'), reserved_at: at('18:20') },
      { kind: 'charge', id: 'old.3.c', tenant_id: 'c', usd: 4, at: at('18:35') },
      // The id's record wins over the record's times: reserved on 9 June.
      { kind: 'charge', id: 'n.4.d|8000000|0|2025-06-09|2025-06|', tenant_id: 'd', usd: 8, at: at('18:40'), reserved_at: at('18:40') },
      { kind: 'charge', id: 'old.5.e', tenant_id: 'e', usd: 3, at: at('18:40'), simulation: true },
      { kind: 'charge', id: 'old.6.e', tenant_id: 'e', usd: 5, at: at('18:40'), experiment_id: 'x' },
      { kind: 'charge', id: 'n.7.e|1000000|1|2025-06-11|2025-06|', tenant_id: 'e', usd: 0.5, at: at('18:41') },
    ])).toMatchObject({ charged: 7 });
    const day = async (tenant: string) => (await quota.usage(tenant)).day;
    expect(await day('a')).toMatchObject({ key: '2025-06-11', spent_usd: 0 });
    expect(await day('c')).toMatchObject({ key: '2025-06-11', spent_usd: 4 });
    const e = await quota.usage('e');
    expect(e.day.spent_usd).toBe(5);
    expect(e.simulation).toMatchObject({ key: '2025-06', spent_usd: 3.5 });
    expect(e.experiments).toEqual([expect.objectContaining({ experiment_id: 'x', spent_usd: 5 })]);
    time.now = at('18:00');
    expect(await day('a')).toMatchObject({ key: '2025-06-10', spent_usd: 1 });
    expect(await day('b')).toMatchObject({ key: '2025-06-10', spent_usd: 2 });
    expect(await day('d')).toMatchObject({ key: '2025-06-10', spent_usd: 0 });
    time.now = Date.parse('2025-06-09T12:00:00Z');
    expect(await day('d')).toMatchObject({ key: '2025-06-09', spent_usd: 8 });
    for (const t of ['a', 'b', 'c', 'd']) expect((await quota.usage(t)).month.spent_usd).toBe({ a: 1, b: 2, c: 4, d: 8 }[t]);
  });

  it("keeps today's spend when a later record charges yesterday (a call admitted before midnight)", async () => {
    const { quota } = await quotaAt('2025-06-11T00:05:00Z', { retainMs: 60 * MINUTE });
    expect(await quota.restore([
      { kind: 'charge', id: 'old.1.acme', tenant_id: 'acme', usd: 3, at: Date.parse('2025-06-11T00:00:30Z'), reserved_at: Date.parse('2025-06-11T00:00:10Z') },
      { kind: 'charge', id: 'old.2.acme', tenant_id: 'acme', usd: 4, at: Date.parse('2025-06-11T00:01:00Z'), reserved_at: Date.parse('2025-06-10T23:59:00Z') },
      { kind: 'charge', id: 'old.3.acme', tenant_id: 'acme', usd: 5, at: Date.parse('2025-06-11T00:02:00Z'), reserved_at: Date.parse('2025-05-31T23:59:00Z') },
    ])).toMatchObject({ charged: 3 });
    expect(await quota.usage('acme')).toMatchObject({ day: { key: '2025-06-11', spent_usd: 3 }, month: { key: '2025-06', spent_usd: 7 } });
  });

  it(kind.name.startsWith('redis')
    ? 'skips an open record whose id carries no record: the store could not return it at expiry'
    : 'holds an open record whose id carries no record in the periods of at', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z');
    const report = await quota.restore([{ kind: 'open', id: 'old.1.acme', tenant_id: 'acme', usd: 2, at: time.now - MINUTE, expires_at: time.now + MINUTE }]);
    const redis = kind.name.startsWith('redis');
    expect(report).toMatchObject({ held: redis ? 0 : 1, skipped: redis ? 1 : 0 });
    expect((await quota.usage('acme')).day.reserved_usd).toBe(redis ? 0 : 2);
    time.now += MINUTE;
    expect((await quota.usage('acme')).day.reserved_usd).toBe(0);
  });

  it('counts and skips the records of tenants without an envelope', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z');
    expect(await quota.restore([
      { kind: 'charge', id: 'old.1.nobody', tenant_id: 'nobody', usd: 1, at: time.now },
      { kind: 'open', id: 'old.2.nobody', tenant_id: 'nobody', usd: 1, at: time.now, expires_at: time.now + MINUTE },
      { kind: 'charge', id: 'old.3.acme', tenant_id: 'acme', usd: 1, at: time.now },
    ])).toEqual({ charged: 1, settled: 0, duplicate: 0, skipped: 0, held: 0, expired: 0, unknown_tenant: 2 });
    expect(await quota.restore([])).toEqual({ charged: 0, settled: 0, duplicate: 0, skipped: 0, held: 0, expired: 0, unknown_tenant: 0 });
  });

  it.each<[string, unknown, string, string]>([
    ['not iterable', 42, 'INVALID_ARGUMENT', 'records'],
    ['a record that is not an object', [null], 'INVALID_ARGUMENT', 'records[0]'],
    ['an unknown kind', [{ kind: 'refund' }], 'INVALID_ARGUMENT', 'records[0].kind'],
    ['a field of the other kind', [{ kind: 'charge', id: 'o.1.acme', tenant_id: 'acme', usd: 1, at: 1, expires_at: 2 }], 'INVALID_ARGUMENT', 'records[0].expires_at'],
    ['reserved_at on an open record', [{ kind: 'open', id: 'o.1.acme', tenant_id: 'acme', usd: 1, at: 1, expires_at: 2, reserved_at: 1 }], 'INVALID_ARGUMENT', 'records[0].reserved_at'],
    ['a bad tenant id', [{ kind: 'charge', id: 'o.1.acme', tenant_id: '', usd: 1, at: 1 }], 'INVALID_TENANT_ID', 'records[0].tenant_id'],
    ['an id that is not a reservation id', [{ kind: 'charge', id: 'acme', tenant_id: 'acme', usd: 1, at: 1 }], 'INVALID_ARGUMENT', 'records[0].id'],
    ["another tenant's id", [{ kind: 'charge', id: 'o.1.globex', tenant_id: 'acme', usd: 1, at: 1 }], 'INVALID_ARGUMENT', 'records[0].id'],
    ['a malformed record in the id', [{ kind: 'charge', id: 'o.1.acme|12|0|2025-6-1|2025-06|', tenant_id: 'acme', usd: 1, at: 1 }], 'INVALID_ARGUMENT', 'records[0].id'],
    ['a negative amount', [{ kind: 'charge', id: 'o.1.acme', tenant_id: 'acme', usd: -1, at: 1 }], 'INVALID_AMOUNT', 'records[0].usd'],
    ['a time that is not epoch ms', [{ kind: 'charge', id: 'o.1.acme', tenant_id: 'acme', usd: 1, at: '2025-06-10T12:00:00Z' }], 'INVALID_ARGUMENT', 'records[0].at'],
    ['an open record without expiry', [{ kind: 'open', id: 'o.1.acme', tenant_id: 'acme', usd: 1, at: 1 }], 'INVALID_ARGUMENT', 'records[0].expires_at'],
    ['an open amount other than the id says', [{ kind: 'open', id: 'o.1.acme|1000000|0|2025-06-10|2025-06|', tenant_id: 'acme', usd: 2, at: 1, expires_at: 2 }], 'INVALID_ARGUMENT', 'records[0].usd'],
    ['an experiment other than the id says', [{ kind: 'charge', id: 'o.1.acme|1000000|0|2025-06-10|2025-06|x', tenant_id: 'acme', usd: 1, at: 1, experiment_id: 'y' }], 'INVALID_ARGUMENT', 'records[0].experiment_id'],
    ['a simulation flag other than the id says', [{ kind: 'charge', id: 'o.1.acme|1000000|0|2025-06-10|2025-06|', tenant_id: 'acme', usd: 1, at: 1, simulation: true }], 'INVALID_ARGUMENT', 'records[0].simulation'],
  ])('refuses %s, naming the field', async (_name, records, code, field) => {
    const { quota } = await quotaAt('2025-06-10T12:00:00Z');
    await expectCodedRejection(quota.restore(records as Iterable<RestoreRecord>), isQuotaError, code, field);
  });

  it('applies none of the records when one of them is malformed', async () => {
    const { quota, time } = await quotaAt('2025-06-10T12:00:00Z');
    const good: RestoreRecord = { kind: 'charge', id: 'old.1.acme', tenant_id: 'acme', usd: 1, at: time.now };
    const bad = { ...good, id: 'old.2.acme', usd: Number.NaN };
    await expectCodedRejection(quota.restore([good, good, good, bad] as RestoreRecord[]), isQuotaError, 'INVALID_AMOUNT', 'records[3].usd');
    expect((await quota.usage('acme')).day.spent_usd).toBe(0);
  });
});
