// The records of a fault campaign's history (docs/architecture.md, "@tenantry/federation"): what each node
// process prints, one JSON line per event (fixtures/fault-node.mjs describes each), and what the harness adds —
// the faults it injected and the processes it started and saw exit. The checker (history.ts) reads nothing
// else besides what Redis holds at the end (FinalState).
//
// Every record has `t`, wall-clock ms (Date.now(), one clock for every process of the one machine), and `node`:
// the node it is about ("harness" for a fault record, whose `target` names what it hit). Records a node printed
// also carry `mono`, that process's monotonic clock; `spawn` and `exit` are the harness's, about a node.

/** The faults a campaign injects. */
export const FAULT_KINDS = ['kill', 'pause', 'redis_restart', 'cut', 'join', 'leave'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

interface Base {
  readonly node: string;
  readonly t: number;
  readonly mono?: number;
}

export type ShardRecord = Base & {
  readonly ev: 'acquired' | 'released' | 'stepped_down';
  readonly shard: number;
  readonly token: number;
  readonly reason?: string;
};

export type AppendRecord = Base & {
  readonly ev: 'append';
  readonly shard: number;
  readonly token: number;
  /** "<token>|<node>|<seq>", the value pushed onto the shard's list. */
  readonly entry: string;
  /** When the script was sent (wall clock). */
  readonly sent: number;
  readonly outcome: 'ok' | 'refused' | 'error';
  /** The refusal ("STALE_TOKEN:<highest>", "LEASE_NOT_HELD") or the error. */
  readonly detail: string;
  /** Written after a stall with the token held before it, without asking the keeper (fault-node.mjs). */
  readonly zombie: boolean;
};

export type WokeRecord = Base & { readonly ev: 'woke'; readonly gap: number; readonly tokens: Readonly<Record<string, number>> };

export type ReserveRecord = Base & {
  readonly ev: 'reserve';
  readonly tenant: string;
  readonly usd: number;
  readonly sent: number;
  readonly ok: boolean;
  readonly id?: string;
  readonly reason?: string;
  readonly burst?: string;
  /** Admitted under the token held before a stall (fault-node.mjs): Redis must refuse it. */
  readonly zombie?: boolean;
  readonly detail?: string;
};

export type CloseRecord = Base & {
  readonly ev: 'settle' | 'release';
  readonly id: string;
  readonly usd: number;
  /** "sent" before the first attempt (it may land even if no answer comes back), "done" with Redis's answer. */
  readonly phase: 'sent' | 'done';
  readonly status?: string;
};

export type FaultRecord = Base & {
  readonly ev: 'fault';
  readonly kind: FaultKind;
  /** A node id, or "redis". */
  readonly target: string;
  readonly start: number;
  readonly end: number;
  /** Isolated by the harness: no other fault from shortly before it until its re-ownership bound has passed. */
  readonly isolated?: boolean;
};

/** A node process ended: `expected` when the harness killed or stopped it. */
export type ExitRecord = Base & { readonly ev: 'exit'; readonly code: number | null; readonly signal: string | null; readonly expected: boolean };

export type OtherRecord = Base & { readonly ev: 'ready' | 'stopped' | 'unavailable' | 'available' | 'burst_done' | 'crash' | 'spawn' | 'garbage'; readonly [k: string]: unknown };

export type HistoryRecord = ShardRecord | AppendRecord | WokeRecord | ReserveRecord | CloseRecord | FaultRecord | ExitRecord | OtherRecord;

/** What Redis holds at the end of a campaign. */
export interface FinalState {
  /** Each shard's history list, oldest first ("<token>|<node>|<seq>"). */
  readonly lists: ReadonlyMap<number, readonly string[]>;
  /** Per capped tenant: its current day's spend and holds as Redis counts them. */
  readonly usage: ReadonlyMap<string, { readonly day: string; readonly spent_usd: number; readonly reserved_usd: number }>;
}
