// The history checker on hand-made histories (history.ts): a clean history passes, and each kind of violation
// is caught — so that the fault campaign's "no violation" cannot be vacuous.
import { describe, expect, it } from 'vitest';
import type { AppendRecord, FinalState, HistoryRecord, ReserveRecord } from './events.js';
import { checkHistory, type CheckOptions, type ViolationKind } from './history.js';

const OPTIONS: CheckOptions = { leaseMs: 1000, heartbeatMs: 333, caps: { hot: 5 }, tenantShards: { hot: 0 }, quietBeforeMs: 1500 };

const acquired = (node: string, shard: number, token: number, t: number): HistoryRecord => ({ ev: 'acquired', node, shard, token, t });
const stepped = (node: string, shard: number, token: number, t: number): HistoryRecord => ({ ev: 'stepped_down', node, shard, token, t, reason: 'expired' });
function append(node: string, shard: number, token: number, seq: number, sent: number, outcome: AppendRecord['outcome'], zombie = false): AppendRecord {
  const detail = outcome === 'refused' ? `STALE_TOKEN:${token + 1}` : outcome === 'error' ? 'Connection is closed.' : '';
  return { ev: 'append', node, shard, token, entry: `${token}|${node}|${seq}`, sent, t: sent + 2, outcome, detail, zombie };
}
function reserve(node: string, n: number, t: number, ok: boolean, reason?: string): ReserveRecord {
  return ok
    ? { ev: 'reserve', node, tenant: 'hot', usd: 0.01, sent: t - 1, t, ok, id: `${node}tag.${n}.hot|10000|0|2026-12-06|2026-12|` }
    : { ev: 'reserve', node, tenant: 'hot', usd: 0.01, sent: t - 1, t, ok, reason: reason ?? 'NOT_OWNER' };
}

/**
 * n1 owns shard 0 (token 1) and writes; n3 is paused past its lease and its zombie write is refused; n1 is
 * killed at 2000 and n2 takes shard 0 over at 3200 (1200 ms, within lease + 2 heartbeats = 1666) with token 2.
 * The hot tenant (shard 0) is admitted by n1 while it holds the shard, refused NOT_OWNER on n2 meanwhile.
 */
function clean(): { history: HistoryRecord[]; final: { lists: Map<number, string[]>; usage: Map<string, { day: string; spent_usd: number; reserved_usd: number }> } } {
  const history: HistoryRecord[] = [
    { ev: 'spawn', node: 'n1', t: 0 },
    { ev: 'spawn', node: 'n2', t: 0 },
    { ev: 'spawn', node: 'n3', t: 0 },
    acquired('n1', 0, 1, 100),
    acquired('n3', 1, 1, 110),
    append('n1', 0, 1, 1, 200, 'ok'),
    append('n1', 0, 1, 2, 300, 'ok'),
    append('n3', 1, 1, 1, 300, 'ok'),
    reserve('n1', 1, 400, true),
    { ev: 'settle', node: 'n1', id: 'n1tag.1.hot|10000|0|2026-12-06|2026-12|', usd: 0.007, phase: 'sent', t: 410 },
    reserve('n2', 1, 420, false),
    // n3 is stopped from 500 to 2000; n2 takes shard 1 at 1700; n3's zombie write after it wakes is refused.
    { ev: 'fault', node: 'harness', kind: 'pause', target: 'n3', start: 500, end: 2000, t: 500 },
    acquired('n2', 1, 2, 1700),
    stepped('n3', 1, 1, 2001),
    { ev: 'woke', node: 'n3', gap: 1500, tokens: { 1: 1 }, t: 2001 },
    append('n3', 1, 1, 2, 2002, 'refused', true),
    { ...reserve('n3', 1, 2003, false), zombie: true },
    append('n2', 1, 2, 1, 1800, 'ok'),
    { ev: 'fault', node: 'harness', kind: 'kill', target: 'n1', start: 4000, end: 6000, t: 4000 },
    { ev: 'exit', node: 'n1', code: null, signal: 'SIGKILL', expected: true, t: 4001 },
    acquired('n2', 0, 2, 5200),
    append('n2', 0, 2, 2, 5300, 'ok'),
    append('n1', 0, 1, 3, 3900, 'error'),
  ];
  const final = {
    lists: new Map([
      [0, ['1|n1|1', '1|n1|2', '2|n2|2']],
      [1, ['1|n3|1', '2|n2|1']],
    ]),
    usage: new Map([['hot', { day: '2026-12-06', spent_usd: 0.007, reserved_usd: 0 }]]),
  };
  return { history, final };
}

function kinds(history: HistoryRecord[], final: FinalState, options: CheckOptions = OPTIONS): ViolationKind[] {
  return [...new Set(checkHistory(history, final, options).violations.map((v) => v.kind))].sort();
}

describe('the history checker', () => {
  it('passes a clean history, measuring the re-ownership after the kill', () => {
    const { history, final } = clean();
    const report = checkHistory(history, final, OPTIONS);
    expect(report.violations).toEqual([]);
    expect(report.reownership).toEqual([{ target: 'n1', shard: 0, killedAt: 4000, delayMs: 1200, by: 'n2' }]);
    expect(report.counts).toMatchObject({
      appends: { ok: 5, refused: 0, error: 1 }, zombie: { ok: 0, refused: 1, error: 0 }, entries: 5, grants: 4, killsMeasured: 1,
      reserves: { ok: 1, NOT_OWNER: 1, 'zombie NOT_OWNER': 1 },
    });
  });

  it('catches one token granted to two nodes', () => {
    const { history, final } = clean();
    history.push(acquired('n3', 0, 2, 5250));
    expect(kinds(history, final)).toEqual(['TOKEN_REUSED']);
  });

  it('catches tokens that decrease along a list', () => {
    const { history, final } = clean();
    final.lists.set(0, ['1|n1|1', '2|n2|2', '1|n1|2']);
    expect(kinds(history, final)).toEqual(['TOKEN_DECREASED']);
  });

  it('catches an entry under a token nobody was granted, and one written by a node that was not granted its token', () => {
    const a = clean();
    a.final.lists.get(0)!.push('7|n2|9');
    expect(kinds(a.history, a.final)).toEqual(['UNGRANTED_TOKEN']);
    const b = clean();
    b.final.lists.get(0)!.push('2|n3|9');
    expect(kinds(b.history, b.final)).toEqual(['WRONG_OWNER']);
  });

  it('catches an entry that landed twice and one that is not an entry', () => {
    const a = clean();
    a.final.lists.get(1)!.push('2|n2|1');
    expect(kinds(a.history, a.final)).toEqual(['DUPLICATE_ENTRY']);
    const b = clean();
    b.final.lists.get(1)!.push('garbage');
    expect(kinds(b.history, b.final)).toEqual(['MALFORMED_ENTRY']);
  });

  it('catches a write accepted under a stale token after a newer one was granted, even before the new owner wrote', () => {
    const { history, final } = clean();
    // n3, woken at 2001, writes without its zombie flag and Redis takes it: shard 1 was granted to n2 at 1700.
    history.push(append('n3', 1, 1, 3, 2005, 'ok'));
    final.lists.set(1, ['1|n3|1', '1|n3|3', '2|n2|1']);
    expect(kinds(history, final)).toEqual(['STALE_ACCEPTED']);
  });

  it('catches a zombie write that was accepted, or that landed though its answer was lost', () => {
    const a = clean();
    a.history.push(append('n3', 1, 1, 4, 2003, 'ok', true));
    expect(kinds(a.history, a.final)).toEqual(['ACK_LOST', 'STALE_ACCEPTED', 'ZOMBIE_ACCEPTED']);
    const b = clean();
    b.history.push(append('n3', 1, 1, 4, 2003, 'error', true));
    b.final.lists.set(1, ['1|n3|1', '1|n3|4', '2|n2|1']);
    expect(kinds(b.history, b.final)).toEqual(['ZOMBIE_LANDED']);
  });

  it('catches an admission a zombie made under the token it held before its stall', () => {
    const { history, final } = clean();
    history.push({ ...reserve('n3', 2, 2004, true), zombie: true });
    expect(kinds(history, final)).toEqual(['ADMITTED_WITHOUT_LEASE', 'ZOMBIE_ADMITTED']);
  });

  it('catches an acknowledged append missing from its list (a restart that lost it)', () => {
    const { history, final } = clean();
    final.lists.set(0, ['1|n1|1', '2|n2|2']);
    expect(kinds(history, final)).toEqual(['ACK_LOST']);
  });

  it('catches a shard re-owned too late after its owner was killed, or never', () => {
    const slow = clean();
    const i = slow.history.findIndex((r) => r.ev === 'acquired' && r.t === 5200);
    slow.history[i] = acquired('n2', 0, 2, 5700);
    const report = checkHistory(slow.history, slow.final, OPTIONS);
    expect(report.violations.map((v) => v.kind)).toEqual(['SLOW_REOWNERSHIP']);
    expect(report.reownership[0]!.delayMs).toBe(1700);
    const never = clean();
    never.history.splice(i, 2);
    never.final.lists.set(0, ['1|n1|1', '1|n1|2']);
    expect(kinds(never.history, never.final)).toEqual(['SLOW_REOWNERSHIP']);
  });

  it('does not measure a kill with another fault around it, or one restarted within the bound', () => {
    const i = (h: HistoryRecord[]): number => h.findIndex((r) => r.ev === 'acquired' && r.t === 5200);
    const overlapped = clean();
    overlapped.history[i(overlapped.history)] = acquired('n2', 0, 2, 5900);
    overlapped.history.push({ ev: 'fault', node: 'harness', kind: 'redis_restart', target: 'redis', start: 4500, end: 5500, t: 4500 });
    expect(checkHistory(overlapped.history, overlapped.final, OPTIONS)).toMatchObject({ violations: [], reownership: [], counts: { killsMeasured: 0 } });
    const before = clean();
    before.history[i(before.history)] = acquired('n2', 0, 2, 5900);
    before.history.push({ ev: 'fault', node: 'harness', kind: 'cut', target: 'n3', start: 2000, end: 3000, t: 2000 });
    expect(checkHistory(before.history, before.final, OPTIONS).counts.killsMeasured).toBe(0);
    // The same cut ending longer ago than quietBeforeMs leaves the kill measured, and the slow takeover caught.
    before.history.pop();
    before.history.push({ ev: 'fault', node: 'harness', kind: 'cut', target: 'n3', start: 2000, end: 2400, t: 2000 });
    expect(kinds(before.history, before.final)).toEqual(['SLOW_REOWNERSHIP']);
    const restarted = clean();
    const k = restarted.history.findIndex((r) => r.ev === 'fault' && r.kind === 'kill');
    restarted.history[k] = { ev: 'fault', node: 'harness', kind: 'kill', target: 'n1', start: 4000, end: 4500, t: 4000 };
    expect(checkHistory(restarted.history, restarted.final, OPTIONS).counts.killsMeasured).toBe(0);
  });

  it('catches spend over the cap in Redis', () => {
    const { history, final } = clean();
    final.usage.set('hot', { day: '2026-12-06', spent_usd: 4.99, reserved_usd: 0.02 });
    expect(kinds(history, final)).toEqual(['OVERSPEND_REDIS']);
  });

  it('catches admissions over the cap in the history, counting what settles and releases gave back', () => {
    const { history, final } = clean();
    // 500 more admissions of 0.01 on top of the first (settled at 0.007): 5.007 USD admitted.
    for (let n = 2; n <= 501; n++) history.push(reserve('n1', n, 500 + n, true));
    expect(kinds(history, final)).toEqual(['OVERSPEND_HISTORY']);
    // A release that was sent gives its 0.01 back, answered or not: 4.997 USD.
    history.push({ ev: 'release', node: 'n1', id: 'n1tag.2.hot|10000|0|2026-12-06|2026-12|', usd: 0.01, phase: 'sent', t: 1100 });
    expect(kinds(history, final)).toEqual([]);
    // Admissions of another day count against that day's cap only.
    const other = clean();
    for (let n = 2; n <= 400; n++) other.history.push(reserve('n1', n, 500 + n, true));
    for (let n = 401; n <= 600; n++) {
      const r = reserve('n1', n, 500 + n, true);
      other.history.push({ ...r, id: r.id!.replace('2026-12-06', '2026-12-07') });
    }
    expect(kinds(other.history, other.final)).toEqual([]);
  });

  it('catches an admission by a node that did not hold the tenant\'s shard', () => {
    const { history, final } = clean();
    history.push(reserve('n2', 9, 450, true));
    expect(kinds(history, final)).toEqual(['ADMITTED_WITHOUT_LEASE']);
    // After the kill n2 holds shard 0: the same admission then is the owner's.
    const later = clean();
    later.history.push(reserve('n2', 9, 5250, true));
    expect(kinds(later.history, later.final)).toEqual([]);
  });
});
