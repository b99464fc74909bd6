// Fairness (docs/architecture.md, "@tenantry/scheduler"): weighted shares per tenant over every window of
// 1 000 completions, no gain from spreading work over keys or services, and domain shares that are lent
// and come back at the next free slot.
import { describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '@tenantry/scheduler';
import { rng } from '../helpers/random.js';
import { deferred, settle, type Deferred } from './helpers.js';

describe('weighted fair queuing per tenant', () => {
  it('3 tenants with weights 1/2/3, backlogged: completed cost within ±5 % of the weights over every window of 1 000', async () => {
    const s = createScheduler({ concurrency: 4 });
    const weights = { a: 1, b: 2, c: 3 } as const;
    for (const [t, w] of Object.entries(weights)) s.setTenant(t, { weight: w });
    const random = rng(0x5eed01);
    const done: { t: string; cost: number }[] = [];
    const all: Promise<unknown>[] = [];
    // Interleave submits so no tenant gets a head start from submission order.
    for (let i = 0; i < 6000; i++) {
      for (const t of Object.keys(weights)) {
        const cost = 1 + (random() % 4);
        all.push(s.submit(() => {
          done.push({ t, cost });
        }, { tenant_id: t, cost }));
      }
    }
    await Promise.all(all);
    expect(done).toHaveLength(18_000);
    // Backlogged while every tenant still has work: up to the first completion after which one tenant has none left.
    const remaining = { a: 6000, b: 6000, c: 6000 } as Record<string, number>;
    let backlogged = 0;
    for (const d of done) {
      if (--remaining[d.t]! === 0) break;
      backlogged++;
    }
    expect(backlogged).toBeGreaterThan(9000);
    const prefix: Record<string, number[]> = { a: [0], b: [0], c: [0] };
    for (const d of done.slice(0, backlogged)) for (const t of ['a', 'b', 'c']) prefix[t]!.push(prefix[t]!.at(-1)! + (d.t === t ? d.cost : 0));
    let windows = 0;
    for (let i = 0; i + 1000 <= backlogged; i++) {
      const cost = (t: string) => prefix[t]![i + 1000]! - prefix[t]![i]!;
      const total = cost('a') + cost('b') + cost('c');
      for (const [t, w] of Object.entries(weights)) {
        const expected = (total * w) / 6;
        expect(Math.abs(cost(t) - expected) / expected, `window ${i}, tenant ${t}`).toBeLessThanOrEqual(0.05);
      }
      windows++;
    }
    expect(windows).toBeGreaterThan(8000);
  });

  it('a tenant flooding 10× over 100 distinct services and keys gets no more than its weight', async () => {
    const s = createScheduler({ concurrency: 2 });
    s.setTenant('flood');
    s.setTenant('calm');
    const order: string[] = [];
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 5000; i++) {
      all.push(s.submit(() => {
        order.push('flood');
      }, { tenant_id: 'flood', service: `svc-${i % 100}`, key: `k-${i % 100}-${i}` }));
    }
    for (let i = 0; i < 500; i++) {
      all.push(s.submit(() => {
        order.push('calm');
      }, { tenant_id: 'calm' }));
    }
    await Promise.all(all);
    // calm is backlogged for its first ~1 000 completions; over any 200 of those, flood has at most half (+5 %).
    const calmLast = order.lastIndexOf('calm');
    expect(calmLast).toBeLessThan(1010);
    for (let i = 0; i + 200 <= calmLast; i += 50) {
      const flood = order.slice(i, i + 200).filter((t) => t === 'flood').length;
      expect(flood, `window at ${i}`).toBeLessThanOrEqual(105);
    }
  });

  it('a weight change applies to what is served next', async () => {
    const s = createScheduler({ concurrency: 1 });
    s.setTenant('a');
    s.setTenant('b');
    const gate = deferred();
    const order: string[] = [];
    const all: Promise<unknown>[] = [s.submit(() => gate.promise, { tenant_id: 'a' })];
    for (let i = 0; i < 400; i++) for (const t of ['a', 'b']) all.push(s.submit(() => void order.push(t), { tenant_id: t }));
    s.setTenant('b', { weight: 3 });
    gate.resolve();
    await Promise.all(all);
    const b = order.slice(0, 400).filter((t) => t === 'b').length;
    expect(b).toBeGreaterThanOrEqual(290);
    expect(b).toBeLessThanOrEqual(310);
  });
});

describe('domain shares', () => {
  function held(s: Scheduler, tenant: string, domain: 'PROD' | 'SHADOW' | 'LAB', n: number): Deferred<void>[] {
    const gates: Deferred<void>[] = [];
    for (let i = 0; i < n; i++) {
      const g = deferred();
      gates.push(g);
      // close() at the end rejects what is still queued (CLOSED); that is expected here.
      s.submit(async () => {
        await g.promise;
      }, { tenant_id: tenant, domain }).catch(() => undefined);
    }
    return gates;
  }

  // The tasks hold their slot until released in start order, so the queue's own choices are visible.
  function starts(s: Scheduler): string[] {
    const log: string[] = [];
    s.on((e) => {
      if (e.type === 'started') log.push(e.domain);
    });
    return log;
  }

  it('a LAB flood does not starve PROD, and PROD gets the lent capacity back at the next free slot', async () => {
    const s = createScheduler({ concurrency: 10 });
    s.setTenant('lab-tenant');
    s.setTenant('prod-tenant');
    const log = starts(s);
    const lab = held(s, 'lab-tenant', 'LAB', 1000);
    await settle();
    // LAB alone: it borrows every slot.
    expect(s.stats().domains.LAB.running).toBe(10);
    const prod = held(s, 'prod-tenant', 'PROD', 50);
    await settle();
    expect(s.stats().domains.PROD.running).toBe(0); // no preemption: running tasks keep their slots
    // Each LAB task that finishes hands its slot to PROD, until PROD holds its share (6 of 10) and more:
    // running / share decides, so PROD climbs to 8 (8 / 0.6 vs 2 / 0.15) before LAB wins a slot again.
    for (let i = 0; i < 8; i++) {
      lab[i]!.resolve();
      await settle();
      expect(s.stats().domains.PROD.running, `after ${i + 1} LAB completions`).toBe(i + 1);
    }
    expect(s.stats().domains.LAB.running).toBe(2);
    lab[8]!.resolve();
    await settle();
    expect(s.stats().domains.LAB.running).toBe(2);
    expect(s.stats().domains.PROD.running).toBe(8);
    expect(log.slice(10, 19)).toEqual([...Array(8).fill('PROD'), 'LAB']);
    // PROD leaves: LAB borrows the idle share again.
    for (const g of prod) g.resolve();
    await settle(6);
    expect(s.stats().domains.LAB.running).toBe(10);
    for (const g of lab) g.resolve();
    await s.close();
  });

  it('every domain with demand keeps at least its share', async () => {
    const s = createScheduler({ concurrency: 20, domains: { PROD: 0.5, SHADOW: 0.3, LAB: 0.2 } });
    s.setTenant('t');
    const lab = held(s, 't', 'LAB', 100);
    const others = [...held(s, 't', 'SHADOW', 100), ...held(s, 't', 'PROD', 100)];
    await settle();
    expect(s.stats().domains.LAB.running).toBe(20);
    // The 20 LAB tasks that borrowed every slot finish one by one; each free slot goes to the domain
    // furthest below its share, so the split ends at the shares: 10 / 6 / 4.
    for (let i = 0; i < 20; i++) {
      lab[i]!.resolve();
      await settle();
    }
    const d = s.stats().domains;
    expect([d.PROD.running, d.SHADOW.running, d.LAB.running]).toEqual([10, 6, 4]);
    for (const g of [...lab, ...others]) g.resolve();
    await s.close();
  });
});
