// The fault harness (docs/architecture.md, "@tenantry/federation"; Jepsen-style, with real processes): one
// redis-server with an fsync-always append-only file, N node processes (fixtures/fault-node.mjs), each behind a
// TCP proxy of its own (tcp-proxy.ts), every line they print collected into one history together with the
// harness's own records, and the faults:
//
//   kill           SIGKILL a node, later start it again under the same id
//   pause          SIGSTOP a node for longer than the lease, then SIGCONT
//   redis_restart  shut Redis down (its data kept) and start it again on the same port
//   cut            reset a node's connections to Redis and refuse new ones (its proxy), then restore
//   join           start a node with a new id
//   leave          SIGTERM a node: it releases its leases and leaves the membership
//
// A campaign (runCampaign) draws its plan of faults from a seed (test/helpers/random.ts), so a failing one can
// be run again with the same plan; it prints the seed. What depends on timing (which node is free when a fault
// comes up) follows the plan as closely as the cluster allows. The history checker (history.ts) reads the
// history and what Redis holds at the end (Cluster.final()).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { tenantShard } from '@tenantry/federation';
import { createQuota, redisStore } from '@tenantry/quota';
import { rng } from '../helpers/random.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { FAULT_KINDS, type FaultKind, type FaultRecord, type FinalState, type HistoryRecord, type ShardRecord } from './events.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const NODE_SCRIPT = fileURLToPath(new URL('./fixtures/fault-node.mjs', import.meta.url));
/** The key prefix of the nodes (fault-node.mjs's default PREFIX). */
const PREFIX = 'faults:';
/** A node that has not joined by then (it retries while Redis is away) fails the campaign. */
const READY_TIMEOUT_MS = 30_000;

export interface ClusterOptions {
  /** Nodes started at once, n1…nN (default 4). */
  readonly nodes?: number;
  /** Lease and membership TTL (default 1000). */
  readonly leaseMs?: number;
  /** Heartbeat and keeper tick (default 333). */
  readonly heartbeatMs?: number;
  /** Shards (default 16). */
  readonly shards?: number;
  /** Time between a node's append rounds (default 100). */
  readonly appendMs?: number;
  /** Seeds each node's own randomness (settle amounts): seed + node number. */
  readonly seed?: number;
  /** Run a fenced quota in every node (default false). */
  readonly quota?: boolean;
  /** With `quota`: the tenant every node reserves for in a steady stream (default none). */
  readonly hotTenant?: string;
  /** Daily cap in USD of the capped tenants, set as their envelope (default 5). */
  readonly capUsd?: number;
  /** Tenants whose envelope (daily cap `capUsd`) is set before the nodes start (hotTenant included). */
  readonly cappedTenants?: readonly string[];
}

interface NodeProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  /** The harness killed or stopped it: its exit is expected. */
  expectedExit: boolean;
  alive: boolean;
  /** It printed its `ready` line. */
  isReady: boolean;
  stderr: string;
}

/** Times of a campaign's faults, from the lease and heartbeat. */
export interface CampaignTiming {
  /** Re-ownership bound: lease + 2 heartbeats. */
  readonly boundMs: number;
  /** Quiet time before an isolated kill, and the checker's `quietBeforeMs`. */
  readonly quietBeforeMs: number;
}

/**
 * The quiet time covers a node still reconnecting after the faults before: each package connection retries
 * with ioredis's default backoff (up to 2 s between attempts), and the membership and the keeper of one node
 * reconnect independently, so a node can be live — and primary of shards — before its keeper can act.
 */
export function campaignTiming(leaseMs: number, heartbeatMs: number): CampaignTiming {
  return { boundMs: leaseMs + 2 * heartbeatMs, quietBeforeMs: Math.max(3 * leaseMs, 3000) };
}

/** One planned fault: its kind and the random numbers that choose its target, length and the pause after it. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly pick: number;
  readonly lengthMs: number;
  readonly gapMs: number;
  /** Kills only: run alone, so that the checker measures its re-ownership. */
  readonly isolated: boolean;
}

const WEIGHTS: Readonly<Record<FaultKind, number>> = { kill: 20, pause: 18, redis_restart: 10, cut: 27, join: 12, leave: 13 };

/** The plan of `count` faults for `seed`; every fault kind appears when count ≥ FAULT_KINDS.length. */
export function planFaults(seed: number, count: number, leaseMs: number): PlannedFault[] {
  const next = rng(seed);
  const total = FAULT_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
  const out: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    // The first faults go through every kind once, so that even a short campaign covers them all.
    let w = next() % total;
    const kind = i < FAULT_KINDS.length ? FAULT_KINDS[i]! : FAULT_KINDS.find((k) => (w -= WEIGHTS[k]) < 0)!;
    const pick = next();
    const r = next();
    const lengthMs = {
      kill: 200 + (r % 1300),
      pause: leaseMs + 600 + (r % 1000),
      redis_restart: r % 800,
      cut: 150 + (r % 1850),
      join: 0,
      leave: 0,
    }[kind];
    out.push({ kind, pick, lengthMs, gapMs: 100 + (next() % 500), isolated: kind === 'kill' && next() % 4 === 0 });
  }
  return out;
}

export class Cluster {
  readonly history: HistoryRecord[] = [];
  readonly redis: RedisServer;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly shards: number;
  readonly capUsd: number;
  readonly cappedTenants: readonly string[];
  readonly hotTenant: string | null;
  readonly #o: ClusterOptions;
  readonly #nodes = new Map<string, NodeProcess>();
  readonly #proxies = new Map<string, TcpProxy>();
  #nextId = 0;

  private constructor(redis: RedisServer, o: ClusterOptions) {
    this.redis = redis;
    this.#o = o;
    this.leaseMs = o.leaseMs ?? 1000;
    this.heartbeatMs = o.heartbeatMs ?? 333;
    this.shards = o.shards ?? 16;
    this.capUsd = o.capUsd ?? 5;
    this.hotTenant = o.hotTenant ?? null;
    this.cappedTenants = [...new Set([...(o.cappedTenants ?? []), ...(this.hotTenant === null ? [] : [this.hotTenant])])];
  }

  /** Starts Redis (persistent), sets the capped tenants' envelopes and starts the first nodes, each ready. */
  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    const redis = await startRedis({ persist: true });
    const c = new Cluster(redis, o);
    try {
      if (c.cappedTenants.length > 0) {
        const quota = createQuota({ store: redisStore({ url: redis.url }) });
        try {
          for (const tenant_id of c.cappedTenants) {
            await quota.setEnvelope({
              tenant_id, daily_budget_usd: c.capUsd, monthly_budget_usd: 1000, experiment_budget_cap_usd: 0, max_parallel_experiments: 0,
              max_prod_traffic_pct: 100,
            });
          }
        } finally {
          await quota.close();
        }
      }
      const first: Array<Promise<void>> = [];
      for (let i = 0; i < (o.nodes ?? 4); i++) first.push(c.startNode(c.newId()));
      await Promise.all(first);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** The shard of each capped tenant. */
  tenantShards(): Record<string, number> {
    return Object.fromEntries(this.cappedTenants.map((t) => [t, tenantShard(t, this.shards)]));
  }

  /** Ids of the node processes running now (including paused ones), ascending. */
  running(): string[] {
    return [...this.#nodes.values()].filter((n) => n.alive).map((n) => n.id).sort(byId);
  }

  /** Ids of the running nodes that are ready (joined, ticking), ascending: the ones a fault may hit. */
  ready(): string[] {
    return [...this.#nodes.values()].filter((n) => n.alive && n.isReady).map((n) => n.id).sort(byId);
  }

  newId(): string {
    return `n${++this.#nextId}`;
  }

  #record(r: HistoryRecord): void {
    this.history.push(r);
  }

  /** Starts the node `id` behind its proxy (made on first use, kept for its restarts) and waits until it is ready. */
  async startNode(id: string): Promise<void> {
    let proxy = this.#proxies.get(id);
    if (proxy === undefined) {
      proxy = await startTcpProxy(this.redis.port);
      this.#proxies.set(id, proxy);
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ID: id,
      REDIS_URL: proxy.url,
      LEASE_MS: String(this.leaseMs),
      HEARTBEAT_MS: String(this.heartbeatMs),
      SHARDS: String(this.shards),
      PREFIX,
      APPEND_MS: String(this.#o.appendMs ?? 100),
      SEED: String((this.#o.seed ?? 1) + Number(id.slice(1))),
      QUOTA: this.#o.quota === true ? '1' : '',
      HOT_TENANT: this.hotTenant ?? '',
    };
    const child = spawn(process.execPath, [NODE_SCRIPT], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#record({ ev: 'spawn', node: id, t: Date.now(), pid: child.pid });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    ready.catch(() => {});
    const node: NodeProcess = {
      id, child, ready, expectedExit: false, alive: true, isReady: false, stderr: '',
      // 'close', not 'exit': every line the node printed has been read by then.
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          node.alive = false;
          this.#record({ ev: 'exit', node: id, t: Date.now(), code, signal, expected: node.expectedExit });
          readyReject(new Error(`node ${id} exited (${code ?? signal}) before it was ready: ${node.stderr.slice(-2000)}`));
        });
        child.once('close', () => resolve());
      }),
    };
    this.#nodes.set(id, node);
    child.stderr!.on('data', (d: Buffer) => {
      node.stderr = (node.stderr + d.toString()).slice(-8000);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let r: HistoryRecord;
      try {
        r = JSON.parse(line) as HistoryRecord;
      } catch {
        this.#record({ ev: 'garbage', node: id, t: Date.now(), line });
        return;
      }
      this.#record(r);
      if (r.ev === 'ready') {
        node.isReady = true;
        readyResolve();
      }
    });
    // stdin stays open: the node's commands (bursts), and its end tells the node the harness is gone.
    child.stdin!.on('error', () => {});
    const timer = setTimeout(() => readyReject(new Error(`node ${id} was not ready within ${READY_TIMEOUT_MS} ms: ${node.stderr.slice(-2000)}`)), READY_TIMEOUT_MS);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a command line to a node (fault-node.mjs: `burst`). */
  command(id: string, cmd: object): void {
    const n = this.#nodes.get(id);
    if (n === undefined || !n.alive) throw new Error(`node ${id} is not running`);
    n.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Records a fault that ran from `start` to now. */
  #fault(kind: FaultKind, target: string, start: number, isolated?: boolean): void {
    const r: FaultRecord = { ev: 'fault', node: 'harness', t: start, kind, target, start, end: Date.now(), ...(isolated ? { isolated } : {}) };
    this.#record(r);
  }

  #node(id: string): NodeProcess {
    const n = this.#nodes.get(id);
    if (n === undefined || !n.alive) throw new Error(`node ${id} is not running`);
    return n;
  }

  /** SIGKILL, `downMs` down, then the same id started again (the fault ends when it is spawned). */
  async kill(id: string, downMs: number, isolated = false): Promise<void> {
    const n = this.#node(id);
    n.expectedExit = true;
    const start = Date.now();
    n.child.kill('SIGKILL');
    await n.exited;
    await sleep(Math.max(0, downMs - (Date.now() - start)));
    const started = this.startNode(id);
    this.#fault('kill', id, start, isolated);
    await started;
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  async pause(id: string, ms: number): Promise<void> {
    const n = this.#node(id);
    const start = Date.now();
    n.child.kill('SIGSTOP');
    await sleep(ms);
    n.child.kill('SIGCONT');
    this.#fault('pause', id, start);
  }

  /** The node's connections to Redis reset and refused for `ms`. */
  async cut(id: string, ms: number): Promise<void> {
    const proxy = this.#proxies.get(id);
    if (proxy === undefined) throw new Error(`node ${id} has no proxy`);
    const start = Date.now();
    proxy.cut();
    await sleep(ms);
    proxy.restore();
    this.#fault('cut', id, start);
  }

  /** Redis shut down (its append-only file kept), `downMs` later started again on the same port. */
  async restartRedis(downMs: number): Promise<void> {
    const start = Date.now();
    await this.redis.halt();
    await sleep(downMs);
    await this.redis.restart();
    this.#fault('redis_restart', 'redis', start);
  }

  /** A node with a new id joins (the fault ends when it is ready). */
  async join(): Promise<string> {
    const id = this.newId();
    const start = Date.now();
    await this.startNode(id);
    this.#fault('join', id, start);
    return id;
  }

  /** SIGTERM: the node releases its leases, leaves and exits (SIGKILL after 10 s). */
  async leave(id: string): Promise<void> {
    const start = Date.now();
    await this.#stop(id);
    this.#fault('leave', id, start);
  }

  async #stop(id: string): Promise<void> {
    const n = this.#node(id);
    n.expectedExit = true;
    n.child.kill('SIGTERM');
    const timer = setTimeout(() => n.child.kill('SIGKILL'), 10_000);
    await n.exited;
    clearTimeout(timer);
  }

  /** Stops every node cleanly (SIGTERM) and waits until they have exited. */
  async stopNodes(): Promise<void> {
    await Promise.all(this.running().map((id) => this.#stop(id)));
  }

  /**
   * What a campaign must not produce: node output that is not a history line, crashes, exits the harness did
   * not cause, and settlements or releases that failed otherwise than by an unreachable store.
   */
  problems(): HistoryRecord[] {
    return this.history.filter((r) => r.ev === 'garbage' || r.ev === 'crash' || (r.ev === 'exit' && !r.expected) || ((r.ev === 'settle' || r.ev === 'release') && r.status === 'failed'));
  }

  /** What Redis holds now. Precondition: every node has stopped (stopNodes), so nothing changes while it reads. */
  async final(): Promise<FinalState> {
    const client = new Redis(this.redis.url, { maxRetriesPerRequest: 20 });
    const quota = createQuota({ store: redisStore({ url: this.redis.url }) });
    try {
      const lists = new Map<number, string[]>();
      for (let s = 0; s < this.shards; s++) lists.set(s, await client.lrange(`${PREFIX}{shard:${s}}:history`, 0, -1));
      const usage = new Map<string, { day: string; spent_usd: number; reserved_usd: number }>();
      for (const t of this.cappedTenants) {
        const u = await quota.usage(t);
        usage.set(t, { day: u.day.key, spent_usd: u.day.spent_usd, reserved_usd: u.day.reserved_usd });
      }
      return { lists, usage };
    } finally {
      client.disconnect();
      await quota.close();
    }
  }

  /** Kills every node process, closes the proxies and stops Redis. Safe to call more than once. */
  async close(): Promise<void> {
    for (const n of this.#nodes.values()) {
      if (!n.alive) continue;
      n.expectedExit = true;
      n.child.kill('SIGKILL');
    }
    await Promise.all([...this.#nodes.values()].map((n) => n.exited));
    await Promise.all([...this.#proxies.values()].map((p) => p.close()));
    await this.redis.stop();
  }
}

const byId = (a: string, b: string): number => Number(a.slice(1)) - Number(b.slice(1));

export interface CampaignOptions {
  readonly faults: number;
  readonly seed: number;
  /** Most faults at once (default 3). */
  readonly concurrency?: number;
  /** Cluster size kept by joins and leaves (default 3 to 6 nodes). */
  readonly minNodes?: number;
  readonly maxNodes?: number;
  /** Progress lines (default none). */
  readonly log?: (line: string) => void;
}

export interface CampaignReport {
  readonly seed: number;
  readonly counts: Record<FaultKind, number>;
  readonly isolatedKills: number;
  readonly durationMs: number;
}

/**
 * Runs the seeded plan of faults against `cluster`, then ends every fault and lets the cluster settle for two
 * leases. Each fault needs its target free (one fault per node at a time; one Redis restart at a time) and at
 * most `concurrency` run together; an isolated kill waits until every other fault has ended and the cluster
 * was quiet for `quietBeforeMs`, and nothing else starts until its re-ownership bound has passed.
 */
/** The node that last acquired the shard of `tenant`, as the history says; undefined when none or no tenant. */
function holderOf(cluster: Cluster, tenant: string | null): string | undefined {
  if (tenant === null) return undefined;
  const shard = cluster.tenantShards()[tenant];
  const last = cluster.history.filter((r) => (r.ev === 'acquired' || r.ev === 'released' || r.ev === 'stepped_down') && (r as ShardRecord).shard === shard).at(-1);
  return last?.ev === 'acquired' ? (last as ShardRecord).node : undefined;
}

export async function runCampaign(cluster: Cluster, o: CampaignOptions): Promise<CampaignReport> {
  const began = Date.now();
  const timing = campaignTiming(cluster.leaseMs, cluster.heartbeatMs);
  const plan = planFaults(o.seed, o.faults, cluster.leaseMs);
  const concurrency = o.concurrency ?? 3;
  const minNodes = o.minNodes ?? 3;
  const maxNodes = o.maxNodes ?? 6;
  const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const busy = new Set<string>();
  const active = new Set<Promise<void>>();
  let redisBusy = false;
  let lastEnd = Date.now();
  let isolatedKills = 0;
  /** Nodes counted by joins and leaves: running, or killed and coming back. */
  let members = cluster.running().length;
  o.log?.(`fault campaign: seed ${o.seed}, ${o.faults} faults, lease ${cluster.leaseMs} ms, heartbeat ${cluster.heartbeatMs} ms`);

  const failures: unknown[] = [];
  /** Starts a fault; its promise never rejects (a failure is kept and ends the campaign). */
  const run = (targets: string[], f: () => Promise<unknown>): void => {
    for (const t of targets) busy.add(t);
    const p: Promise<void> = f().then(
      () => undefined,
      (e: unknown) => void failures.push(e),
    ).finally(() => {
      for (const t of targets) busy.delete(t);
      active.delete(p);
      lastEnd = Date.now();
    });
    active.add(p);
  };
  const waitForSlot = async (): Promise<void> => {
    while (active.size >= concurrency) await Promise.race(active);
  };
  const drain = async (): Promise<void> => {
    await Promise.all(active);
  };
  /** The running, idle nodes: candidates for a node fault. */
  const idle = (): string[] => cluster.ready().filter((id) => !busy.has(id));

  for (const [i, f] of plan.entries()) {
    if (failures.length > 0) break;
    if (f.kind === 'kill' && f.isolated) {
      await drain();
      // A little past the checker's quiet time: a fault's record ends just before its slot is freed here.
      const quietFor = timing.quietBeforeMs + 100 - (Date.now() - lastEnd);
      if (quietFor > 0) await sleep(quietFor);
      const targets = idle();
      const id = targets[f.pick % targets.length]!;
      counts.kill++;
      isolatedKills++;
      busy.add(id);
      await cluster.kill(id, timing.boundMs + 500, true).finally(() => busy.delete(id));
      lastEnd = Date.now();
      continue;
    }
    // The cluster's size stays within [minNodes, maxNodes]: a join at the top becomes a leave, and the reverse.
    let kind = f.kind;
    if (kind === 'join' && members >= maxNodes) kind = 'leave';
    else if (kind === 'leave' && members <= minNodes) kind = 'join';
    // Wait until the fault can run: a free slot and a target that suits it (another node stays untouched).
    for (;;) {
      await waitForSlot();
      const free = idle().length;
      if (kind === 'redis_restart' ? !redisBusy : kind === 'join' || free > 1) break;
      if (active.size === 0) throw new Error(`fault ${i} (${kind}) cannot run: nodes running ${JSON.stringify(cluster.running())}, none busy`);
      await Promise.race([sleep(50), ...active]);
    }
    const candidates = idle();
    // The first pause freezes the hot tenant's owner when it can, so that every campaign has admissions under a
    // stale token to refuse (the checker's non-vacuity does not rest on chance).
    const hotOwner = kind === 'pause' && counts.pause === 0 ? holderOf(cluster, cluster.hotTenant) : undefined;
    const id = hotOwner !== undefined && candidates.includes(hotOwner) ? hotOwner : candidates[f.pick % candidates.length]!;
    counts[kind]++;
    switch (kind) {
      case 'kill':
        run([id], () => cluster.kill(id, f.lengthMs));
        break;
      case 'pause':
        run([id], () => cluster.pause(id, f.lengthMs));
        break;
      case 'cut':
        run([id], () => cluster.cut(id, f.lengthMs));
        break;
      case 'redis_restart':
        redisBusy = true;
        run([], () => cluster.restartRedis(f.lengthMs).finally(() => (redisBusy = false)));
        break;
      case 'join':
        members++;
        run([], () => cluster.join());
        break;
      case 'leave':
        members--;
        run([id], () => cluster.leave(id));
        break;
    }
    if ((i + 1) % 50 === 0) o.log?.(`fault campaign: ${i + 1} faults started, ${Math.round((Date.now() - began) / 1000)} s`);
    await sleep(f.gapMs);
  }
  await drain();
  if (failures.length > 0) throw failures[0];
  // Every fault has ended: let every node reconnect, rejoin and take its shards back.
  await sleep(2 * cluster.leaseMs);
  return { seed: o.seed, counts, isolatedKills, durationMs: Date.now() - began };
}
