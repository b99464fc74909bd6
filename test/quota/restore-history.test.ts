// quota.restore against a random history (docs/architecture.md, "@tenantry/quota"): a seeded sequence of
// reserve / settle / release over six days and two time zones (New York across its November DST change
// and a month end, Kolkata), written to a log as the gateway writes it (`invoke.admit` after reserve,
// `invoke` before settle). At checkpoints the process "restarts": a new quota restores the log and must
// show exactly the usage of the quota that lived through it (day and month spend, simulation spend,
// experiment spend, holds, open reservations); restoring the same records again changes nothing. On a
// memory store the restart has a new, empty store; on Redis, a new quota over the surviving server
// charges nothing twice, and one over an empty namespace of the same server (a Redis that lost its data)
// charges everything the log holds.
import { describe, expect, it } from 'vitest';
import { createQuota, type BudgetEnvelope, type Quota, type QuotaStore, type RestoreRecord } from '@tenantry/quota';
import { STORES } from './stores.js';
import { rng } from '../helpers/random.js';

const DAY = 86_400_000;
/** Long enough that no settle of the history finds its id forgotten, and Redis charges a whole lost log. */
const RETAIN_MS = 30 * DAY;
const TENANTS: BudgetEnvelope[] = [
  {
    tenant_id: 'ny', timezone: 'America/New_York', daily_budget_usd: 25, monthly_budget_usd: 70, experiment_budget_cap_usd: 20,
    max_parallel_experiments: 2, max_prod_traffic_pct: 100, simulation_budget_usd: 30,
  },
  {
    tenant_id: 'kolkata', timezone: 'Asia/Kolkata', daily_budget_usd: 15, monthly_budget_usd: 400, experiment_budget_cap_usd: 20,
    max_parallel_experiments: 2, max_prod_traffic_pct: 100, simulation_budget_usd: 10,
  },
];
const EXPERIMENTS = ['exp-a', 'exp-b'];
const TTLS = [30_000, 600_000, 7_200_000, 21_600_000];

/** Seeded (test/helpers/random.ts), so every run replays the same history; a float in [0, 1). */
function prng(seed: number): () => number {
  const next = rng(seed);
  return () => next() / 4294967296;
}

/** An entry of the host's log, as the gateway writes it. */
type Entry =
  | { kind: 'invoke.admit'; tenant_id: string; id: string; at: number; usd: number; expires_at: number; experiment_id?: string; simulation?: boolean }
  | { kind: 'invoke'; tenant_id: string; id: string; at: number; usd: number }
  | { kind: 'release'; tenant_id: string; id: string; at: number };

/**
 * The log read back as the host would: per tenant, oldest first, a charge for each `invoke` (with its
 * admission's time, simulation flag and experiment) and an open record for each admission neither charged
 * nor released.
 */
function recordsOf(log: readonly Entry[]): RestoreRecord[] {
  const out: RestoreRecord[] = [];
  for (const { tenant_id } of TENANTS) {
    const mine = log.filter((e) => e.tenant_id === tenant_id);
    const closed = new Set(mine.filter((e) => e.kind !== 'invoke.admit').map((e) => e.id));
    const admits = new Map(mine.flatMap((e) => (e.kind === 'invoke.admit' ? [[e.id, e] as const] : [])));
    for (const e of mine) {
      if (e.kind === 'invoke') {
        const a = admits.get(e.id)!;
        out.push({
          kind: 'charge', id: e.id, tenant_id, usd: e.usd, at: e.at, reserved_at: a.at,
          ...(a.experiment_id === undefined ? {} : { experiment_id: a.experiment_id }), ...(a.simulation === undefined ? {} : { simulation: a.simulation }),
        });
      } else if (e.kind === 'invoke.admit' && !closed.has(e.id)) {
        const { kind: _kind, ...rest } = e;
        out.push({ kind: 'open', ...rest });
      }
    }
  }
  return out;
}

/** What a restore must reproduce of a tenant's usage. */
async function snapshot(q: Quota, tenantId: string) {
  const u = await q.usage(tenantId);
  const period = (p: { key: string; spent_usd: number; reserved_usd: number }) => ({ key: p.key, spent: p.spent_usd, held: p.reserved_usd });
  return {
    day: period(u.day), month: period(u.month), simulation: period(u.simulation), open: u.open_reservations,
    experiments: u.experiments.map((x) => ({ id: x.experiment_id, running: x.running, spent: x.spent_usd, held: x.reserved_usd })),
  };
}

async function snapshots(q: Quota) {
  return Promise.all(TENANTS.map((t) => snapshot(q, t.tenant_id)));
}

describe.each(STORES)('restore on the $name store', (kind) => {
  async function newQuota(store: QuotaStore, clock: () => number, setUp = true): Promise<Quota> {
    const q = createQuota({ store, clock, retainMs: RETAIN_MS, maxTtlMs: DAY });
    if (setUp) {
      for (const env of TENANTS) {
        await q.setEnvelope(env);
        for (const x of EXPERIMENTS) await q.startExperiment(env.tenant_id, x);
      }
    }
    return q;
  }

  it('rebuilds exactly the usage of a random history of reserve, settle and release after each restart', async () => {
    const rand = prng(0x5eed);
    let now = Date.parse('2025-10-29T12:00:00Z');
    const clock = () => now;
    const store = await kind.make();
    const original = await newQuota(store, clock);
    const log: Entry[] = [];
    const unsettled: Array<{ tenant_id: string; id: string; usd: number; expires_at: number }> = [];
    const seen = { admitted: 0, settled: 0, late: 0, released: 0, charged: 0, held: 0 };
    const denied = new Set<string>();

    for (let step = 1; step <= 720; step++) {
      now += Math.floor(rand() ** 4 * 3_600_000);
      const pick = rand();
      if (pick < 0.5 || unsettled.length === 0) {
        const env = TENANTS[Math.floor(rand() * TENANTS.length)]!;
        const usd = Math.round((0.01 + rand() * 3) * 1e6) / 1e6;
        const experiment_id = rand() < 0.2 ? EXPERIMENTS[Math.floor(rand() * EXPERIMENTS.length)] : undefined;
        const simulation = experiment_id === undefined && rand() < 0.15 ? true : undefined;
        const ttl_ms = TTLS[Math.floor(rand() * TTLS.length)]!;
        const req = { tenant_id: env.tenant_id, usd, ttl_ms, ...(experiment_id === undefined ? {} : { experiment_id }), ...(simulation ? { simulation } : {}) };
        const r = await original.reserve(req);
        if (!r.ok) {
          denied.add(r.reason);
          continue;
        }
        seen.admitted++;
        log.push({
          kind: 'invoke.admit', tenant_id: env.tenant_id, id: r.id, at: now, usd, expires_at: r.expires_at,
          ...(experiment_id === undefined ? {} : { experiment_id }), ...(simulation ? { simulation } : {}),
        });
        unsettled.push({ tenant_id: env.tenant_id, id: r.id, usd, expires_at: r.expires_at });
      } else {
        const [u] = unsettled.splice(Math.floor(rand() * unsettled.length), 1);
        if (pick < 0.85) {
          // Charged: sometimes under, sometimes over the estimate; the entry is written before settle.
          const charged = Math.round(u!.usd * (0.5 + rand() * 0.7) * 1e6) / 1e6;
          log.push({ kind: 'invoke', tenant_id: u!.tenant_id, id: u!.id, at: now, usd: charged });
          const s = await original.settle(u!.id, charged);
          expect(s.status).toBe('settled');
          seen.settled++;
          if (s.status === 'settled' && s.late) seen.late++;
        } else if (pick < 0.93) {
          log.push({ kind: 'release', tenant_id: u!.tenant_id, id: u!.id, at: now });
          expect((await original.release(u!.id)).status).toBe('released');
          seen.released++;
        }
        // Otherwise the call never reports back: the reservation stays open until it expires.
      }

      if (step % 60 !== 0) continue;
      const before = await snapshots(original);
      const records = recordsOf(log);

      // A restart with nothing kept: a new memory store, or an empty namespace on the same Redis.
      const fresh = await newQuota(await kind.make(), clock);
      const first = await fresh.restore(records);
      expect(first.duplicate + first.skipped + first.unknown_tenant).toBe(0);
      expect(first.charged + first.held + first.expired).toBe(records.length);
      expect(await snapshots(fresh)).toEqual(before);
      // Restoring again changes nothing.
      const again = await fresh.restore(records);
      expect(again).toEqual({ charged: 0, settled: 0, duplicate: first.charged + first.held, skipped: 0, held: 0, expired: first.expired, unknown_tenant: 0 });
      expect(await snapshots(fresh)).toEqual(before);
      seen.charged += first.charged;
      seen.held += first.held;

      // The quota that made the records restores them too: it knows them all.
      const own = await original.restore(records);
      expect(own.charged + own.settled + own.held + own.skipped).toBe(0);
      expect(await snapshots(original)).toEqual(before);

      if (kind.name.startsWith('redis')) {
        // A new quota over the surviving server (a gateway restart with Redis up) charges nothing twice.
        const survivor = await newQuota(store, clock, false);
        const report = await survivor.restore(records);
        expect(report).toMatchObject({ charged: 0, settled: 0, held: 0, skipped: 0, duplicate: first.charged + first.held });
        expect(await snapshots(survivor)).toEqual(before);
      }
    }
    // The history did what it claims: every kind of operation, late settles and holds restored included.
    expect([...denied].sort()).toEqual(['DAILY_CAP', 'EXPERIMENT_CAP', 'MONTHLY_CAP', 'SIMULATION_CAP']);
    expect(seen.settled).toBeGreaterThan(200);
    expect(seen.late).toBeGreaterThan(20);
    expect(seen.released).toBeGreaterThan(20);
    expect(seen.charged).toBeGreaterThan(500);
    expect(seen.held).toBeGreaterThan(10);
  });
});
