// The history checker of the fault campaign (docs/architecture.md, "@tenantry/federation" and "Rules every
// package keeps"): a pure function over the campaign's history (events.ts) and what Redis holds at the end,
// answering every violation it finds. It reads no clock and no Redis; the same inputs give the same answer.
//
// What it checks:
//   1. One owner per token, never a stale one (fencing at the resource): every token of a shard was granted
//      once, to one node (`acquired` records); along each shard's Redis list the tokens never decrease, every
//      entry's token was granted to the node that wrote it, no entry appears twice, and no append was accepted
//      after a higher token had been granted for its shard (it was sent after that grant's answer arrived, so
//      Redis saw the grant first). No zombie write (fault-node.mjs) was accepted or landed.
//   2. Nothing acknowledged lost: every append a node reported ok is in its shard's list, whatever Redis went
//      through (its restarts included).
//   3. Re-ownership: every shard its owner held when it was SIGKILLed is acquired by another node within
//      lease + 2 heartbeats of the kill (the kill's time to the acquirer's `acquired` record). Only kills with
//      Redis up and no other fault from `quietBeforeMs` before the kill to the end of the bound are measured:
//      another fault there (a node still reconnecting, a Redis restart) is allowed to slow things down.
//   4. Zero overspend for each capped tenant: its day's spent + held in Redis at the end is within the cap,
//      and so is what the history shows admitted (acknowledged reserves, less what every settle or release that
//      was sent gives back — sent, not acknowledged, since one may land without its answer), per day. And every
//      admitted reserve overlaps a time its node held the tenant's shard (non-owners are refused), and no
//      reserve a zombie made under the token it held before its stall was admitted.
import type { AppendRecord, CloseRecord, FaultRecord, FinalState, HistoryRecord, ReserveRecord, ShardRecord } from './events.js';

export interface CheckOptions {
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** Daily cap in USD of each capped tenant. */
  readonly caps?: Readonly<Record<string, number>>;
  /** The shard of each capped tenant (tenantShard), for the owner check of its admissions. */
  readonly tenantShards?: Readonly<Record<string, number>>;
  /** A kill is measured only when no other fault was active this long before it (default 3 × leaseMs). */
  readonly quietBeforeMs?: number;
}

export type ViolationKind =
  | 'TOKEN_REUSED'
  | 'TOKEN_DECREASED'
  | 'UNGRANTED_TOKEN'
  | 'WRONG_OWNER'
  | 'DUPLICATE_ENTRY'
  | 'MALFORMED_ENTRY'
  | 'STALE_ACCEPTED'
  | 'ZOMBIE_ACCEPTED'
  | 'ZOMBIE_LANDED'
  | 'ACK_LOST'
  | 'SLOW_REOWNERSHIP'
  | 'OVERSPEND_REDIS'
  | 'OVERSPEND_HISTORY'
  | 'ADMITTED_WITHOUT_LEASE'
  | 'ZOMBIE_ADMITTED';

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  readonly shard?: number;
  readonly node?: string;
  readonly entry?: string;
}

export interface Reownership {
  readonly target: string;
  readonly shard: number;
  readonly killedAt: number;
  /** From the kill to the new owner's `acquired` record; null when no other node acquired it. */
  readonly delayMs: number | null;
  readonly by: string | null;
}

export interface CheckReport {
  readonly violations: Violation[];
  /** One per shard held by a measured kill's target. */
  readonly reownership: Reownership[];
  readonly counts: {
    readonly appends: Readonly<Record<'ok' | 'refused' | 'error', number>>;
    readonly zombie: Readonly<Record<'ok' | 'refused' | 'error', number>>;
    readonly entries: number;
    readonly grants: number;
    readonly killsMeasured: number;
    readonly reserves: Readonly<Record<string, number>>;
  };
}

const MICROS = 1_000_000;
const ENTRY = /^(\d+)\|([^|]+)\|(\d+)$/;

const micros = (usd: number): number => Math.round(usd * MICROS);

/** The reservation's day: the id's record ("…|<micros>|<sim>|<day>|…", redisStore) or the UTC day of `t`. */
function dayOf(r: ReserveRecord): string {
  const parts = (r.id ?? '').split('|');
  return parts.length >= 4 && /^\d{4}-\d{2}-\d{2}$/.test(parts[3]!) ? parts[3]! : new Date(r.t).toISOString().slice(0, 10);
}

/** A node's holding intervals of each shard, [acquired, released / stepped down / exit or restart]. */
function holdings(records: readonly HistoryRecord[]): Map<string, Map<number, Array<{ token: number; from: number; to: number }>>> {
  const out = new Map<string, Map<number, Array<{ token: number; from: number; to: number }>>>();
  const open = (node: string): Map<number, Array<{ token: number; from: number; to: number }>> => {
    let m = out.get(node);
    if (m === undefined) out.set(node, (m = new Map()));
    return m;
  };
  for (const r of records) {
    if (r.ev === 'acquired') {
      const s = r as ShardRecord;
      const list = open(s.node).get(s.shard) ?? [];
      list.push({ token: s.token, from: s.t, to: Infinity });
      open(s.node).set(s.shard, list);
    } else if (r.ev === 'released' || r.ev === 'stepped_down') {
      const s = r as ShardRecord;
      const h = open(s.node).get(s.shard)?.find((x) => x.token === s.token && x.to === Infinity);
      if (h !== undefined) h.to = s.t;
    } else if (r.ev === 'exit' || r.ev === 'spawn') {
      // A process that ended holds nothing any more; a new one starts from nothing.
      for (const list of open(r.node).values()) for (const h of list) if (h.to === Infinity) h.to = r.t;
    }
  }
  return out;
}

function checkTokens(records: readonly HistoryRecord[], final: FinalState, violations: Violation[]): { grants: number; entries: number } {
  const grants = new Map<number, Map<number, ShardRecord>>();
  let grantCount = 0;
  for (const r of records) {
    if (r.ev !== 'acquired') continue;
    const s = r as ShardRecord;
    let m = grants.get(s.shard);
    if (m === undefined) grants.set(s.shard, (m = new Map()));
    const prev = m.get(s.token);
    grantCount++;
    if (prev !== undefined) {
      violations.push({ kind: 'TOKEN_REUSED', shard: s.shard, node: s.node, message: `shard ${s.shard}: token ${s.token} was granted to ${prev.node} and again to ${s.node}` });
      continue;
    }
    m.set(s.token, s);
  }

  const appends = records.filter((r): r is AppendRecord => r.ev === 'append');
  const landed = new Map<number, Set<string>>();
  let entries = 0;
  for (const [shard, list] of final.lists) {
    const seen = new Set<string>();
    landed.set(shard, seen);
    let prev = -Infinity;
    list.forEach((entry, i) => {
      entries++;
      const m = ENTRY.exec(entry);
      if (m === null) {
        violations.push({ kind: 'MALFORMED_ENTRY', shard, entry, message: `shard ${shard}: entry ${i} is not "<token>|<node>|<seq>": ${JSON.stringify(entry)}` });
        return;
      }
      if (seen.has(entry)) violations.push({ kind: 'DUPLICATE_ENTRY', shard, entry, message: `shard ${shard}: entry ${entry} appears twice` });
      seen.add(entry);
      const token = Number(m[1]);
      const node = m[2]!;
      if (token < prev) {
        violations.push({ kind: 'TOKEN_DECREASED', shard, entry, message: `shard ${shard}: entry ${i} (${entry}) has token ${token} after token ${prev}` });
      }
      prev = Math.max(prev, token);
      const grant = grants.get(shard)?.get(token);
      if (grant === undefined) {
        violations.push({ kind: 'UNGRANTED_TOKEN', shard, entry, message: `shard ${shard}: entry ${entry} carries token ${token}, which no node was granted` });
      } else if (grant.node !== node) {
        violations.push({ kind: 'WRONG_OWNER', shard, entry, node, message: `shard ${shard}: entry ${entry} was written by ${node} under token ${token}, granted to ${grant.node}` });
      }
    });
  }

  // The grants of each shard in the order their answers arrived, with the highest token granted so far.
  const timeline = new Map<number, Array<{ t: number; high: number; node: string }>>();
  for (const [shard, m] of grants) {
    const sorted = [...m.values()].sort((a, b) => a.t - b.t);
    let high = -Infinity;
    let node = '';
    timeline.set(shard, sorted.map((g) => {
      if (g.token > high) {
        high = g.token;
        node = g.node;
      }
      return { t: g.t, high, node };
    }));
  }
  /** The highest token of `shard` granted before `t` (its answer had arrived), or null. */
  const highestBefore = (shard: number, t: number): { high: number; node: string } | null => {
    const tl = timeline.get(shard);
    if (tl === undefined) return null;
    let lo = 0;
    let hi = tl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tl[mid]!.t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? null : tl[lo - 1]!;
  };

  for (const a of appends) {
    const inList = landed.get(a.shard)?.has(a.entry) ?? false;
    if (a.zombie) {
      if (a.outcome === 'ok') violations.push({ kind: 'ZOMBIE_ACCEPTED', shard: a.shard, node: a.node, entry: a.entry, message: `shard ${a.shard}: ${a.node} wrote ${a.entry} with the token it held before its stall, and Redis accepted it` });
      if (inList) violations.push({ kind: 'ZOMBIE_LANDED', shard: a.shard, node: a.node, entry: a.entry, message: `shard ${a.shard}: the zombie write ${a.entry} of ${a.node} is in the list (outcome ${a.outcome})` });
    }
    if (a.outcome !== 'ok') continue;
    if (!inList) violations.push({ kind: 'ACK_LOST', shard: a.shard, node: a.node, entry: a.entry, message: `shard ${a.shard}: ${a.entry} was acknowledged to ${a.node} and is not in the list` });
    const newer = highestBefore(a.shard, a.sent);
    if (newer !== null && newer.high > a.token) {
      violations.push({
        kind: 'STALE_ACCEPTED', shard: a.shard, node: a.node, entry: a.entry,
        message: `shard ${a.shard}: ${a.entry} (token ${a.token}) was accepted though it was sent at ${a.sent}, after token ${newer.high} had been granted to ${newer.node}`,
      });
    }
  }
  return { grants: grantCount, entries };
}

function checkReownership(records: readonly HistoryRecord[], o: CheckOptions, violations: Violation[]): { measured: Reownership[]; kills: number } {
  const bound = o.leaseMs + 2 * o.heartbeatMs;
  const quiet = o.quietBeforeMs ?? 3 * o.leaseMs;
  const faults = records.filter((r): r is FaultRecord => r.ev === 'fault');
  const byTime = [...records].sort((a, b) => a.t - b.t);
  const measured: Reownership[] = [];
  let kills = 0;
  for (const k of faults) {
    if (k.kind !== 'kill') continue;
    const from = k.start - quiet;
    const to = k.start + bound;
    // The killed node stays down past the bound, and nothing else happens around it (Redis up included).
    if (k.end < to) continue;
    if (faults.some((f) => f !== k && f.start <= to && f.end >= from)) continue;
    kills++;
    const held = new Map<number, number>();
    for (const r of byTime) {
      if (r.t >= k.start) break;
      if (r.node !== k.target) continue;
      if (r.ev === 'acquired') held.set((r as ShardRecord).shard, (r as ShardRecord).token);
      else if ((r.ev === 'released' || r.ev === 'stepped_down') && held.get((r as ShardRecord).shard) === (r as ShardRecord).token) held.delete((r as ShardRecord).shard);
      else if (r.ev === 'exit' || r.ev === 'spawn') held.clear();
    }
    for (const shard of [...held.keys()].sort((a, b) => a - b)) {
      const next = byTime.find((r): r is ShardRecord => r.t > k.start && r.ev === 'acquired' && r.node !== k.target && (r as ShardRecord).shard === shard);
      const delay = next === undefined ? null : next.t - k.start;
      measured.push({ target: k.target, shard, killedAt: k.start, delayMs: delay, by: next?.node ?? null });
      if (delay === null || delay > bound) {
        violations.push({
          kind: 'SLOW_REOWNERSHIP', shard, node: k.target,
          message: `shard ${shard}: ${k.target} was killed at ${k.start} holding it, and ${delay === null ? 'no other node acquired it' : `${next!.node} acquired it only after ${delay} ms`} (bound: lease + 2 heartbeats = ${bound} ms)`,
        });
      }
    }
  }
  return { measured, kills };
}

function checkSpend(records: readonly HistoryRecord[], final: FinalState, o: CheckOptions, violations: Violation[], reserveCounts: Record<string, number>): void {
  const caps = o.caps ?? {};
  const held = holdings(records);
  const reserves = new Map<string, ReserveRecord>();
  const refunds = new Map<string, number>();
  for (const r of records) {
    if (r.ev === 'reserve') {
      const x = r as ReserveRecord;
      const key = `${x.zombie === true ? 'zombie ' : ''}${x.ok ? 'ok' : String(x.reason)}`;
      reserveCounts[key] = (reserveCounts[key] ?? 0) + 1;
      if (x.ok && x.zombie === true) {
        violations.push({ kind: 'ZOMBIE_ADMITTED', node: x.node, message: `tenant ${x.tenant}: ${x.node} admitted ${x.id} under the token it held before its stall` });
      }
      if (x.ok && x.id !== undefined) reserves.set(x.id, x);
    }
  }
  for (const r of records) {
    if ((r.ev !== 'settle' && r.ev !== 'release') || (r as CloseRecord).phase !== 'sent') continue;
    const c = r as CloseRecord;
    const res = reserves.get(c.id);
    if (res === undefined || refunds.has(c.id)) continue;
    refunds.set(c.id, c.ev === 'release' ? micros(res.usd) : Math.max(0, micros(res.usd) - micros(c.usd)));
  }
  for (const [tenant, capUsd] of Object.entries(caps)) {
    const cap = micros(capUsd);
    const perDay = new Map<string, number>();
    for (const [id, r] of reserves) {
      if (r.tenant !== tenant) continue;
      const day = dayOf(r);
      perDay.set(day, (perDay.get(day) ?? 0) + micros(r.usd) - (refunds.get(id) ?? 0));
      const shard = o.tenantShards?.[tenant];
      if (shard !== undefined) {
        const spans = held.get(r.node)?.get(shard) ?? [];
        if (!spans.some((h) => h.from <= r.t && h.to >= r.sent)) {
          violations.push({ kind: 'ADMITTED_WITHOUT_LEASE', shard, node: r.node, message: `tenant ${tenant}: ${r.node} admitted ${r.id} between ${r.sent} and ${r.t} without holding shard ${shard}` });
        }
      }
    }
    for (const [day, admitted] of perDay) {
      if (admitted > cap) {
        violations.push({ kind: 'OVERSPEND_HISTORY', message: `tenant ${tenant}, ${day}: ${admitted / MICROS} USD admitted (reserves acknowledged, less settle and release refunds) over the cap of ${capUsd} USD` });
      }
    }
    const u = final.usage.get(tenant);
    if (u !== undefined && micros(u.spent_usd) + micros(u.reserved_usd) > cap) {
      violations.push({ kind: 'OVERSPEND_REDIS', message: `tenant ${tenant}, ${u.day}: Redis holds ${u.spent_usd} USD spent + ${u.reserved_usd} USD reserved, over the cap of ${capUsd} USD` });
    }
  }
}

/**
 * Every violation of the campaign's invariants in `history` and `final` (see the file comment).
 * Precondition: `history` holds every record of the campaign (any order); `final` was read after every node
 * process had ended.
 */
export function checkHistory(history: readonly HistoryRecord[], final: FinalState, options: CheckOptions): CheckReport {
  const violations: Violation[] = [];
  const { grants, entries } = checkTokens(history, final, violations);
  const { measured, kills } = checkReownership(history, options, violations);
  const reserves: Record<string, number> = {};
  checkSpend(history, final, options, violations, reserves);
  const appends = { ok: 0, refused: 0, error: 0 };
  const zombie = { ok: 0, refused: 0, error: 0 };
  for (const r of history) if (r.ev === 'append') ((r as AppendRecord).zombie ? zombie : appends)[(r as AppendRecord).outcome]++;
  return { violations, reownership: measured, counts: { appends, zombie, entries, grants, killsMeasured: kills, reserves } };
}
