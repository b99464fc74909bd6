// Weighted fair queuing of one domain, per tenant (docs/architecture.md, "@tenantry/scheduler").
//
// Each tenant has one flow (a FIFO of its waiting tasks) in each domain. The flow whose head would finish
// first in virtual time is served next: a flow's tag is max(V, its last finish) + head.cost / weight, and V
// (the domain's virtual time) moves to the start tag of each task served — start-time virtual clock, as in
// Goyal et al., "Start-time Fair Queuing" (SIGCOMM 1996), ordered by finish tag as in WFQ (Demers, Keshav,
// Shenker, SIGCOMM 1989). Over any stretch in which several flows stay backlogged, the cost each is served
// is proportional to its weight, to within one task's cost per flow. A flow that goes idle does not bank
// credit: on return it starts from V.
//
// The accounting unit is the tenant, never a key or a service, so spreading work over many keys buys
// nothing. Flows that may not run (their tenant is paused or at its maxConcurrent) leave the heap and come
// back with setEligible; the heap holds only flows that can be served, so dequeue never scans. Every
// operation is O(log n) in the number of tenants with waiting work, or O(1).

/** What the queue needs of a task: its cost and three private links it owns while the task waits. */
export interface FairItem {
  readonly cost: number;
  _flow: Flow<FairItem> | undefined;
  _prev: FairItem | undefined;
  _next: FairItem | undefined;
}

/** One tenant's waiting tasks in one domain. */
export class Flow<T extends FairItem> {
  head: T | undefined;
  tail: T | undefined;
  size = 0;
  /** Virtual finish tag of the last task served. */
  finish = 0;
  /** Heap key: virtual finish tag of the head. */
  tag = 0;
  /** Index in the heap, −1 when out of it. */
  pos = -1;
  eligible = true;

  constructor(readonly id: string, public weight: number, readonly seq: number) {}
}

export class FairQueue<T extends FairItem> {
  private readonly flows = new Map<string, Flow<T>>();
  private readonly heap: Flow<T>[] = [];
  private vtime = 0;
  private seq = 0;
  /** Tasks waiting, eligible or not. */
  size = 0;

  /** True when some flow can be served now. */
  get ready(): boolean {
    return this.heap.length > 0;
  }

  /** Appends `item` to the flow of `id`. */
  enqueue(id: string, weight: number, item: T): void {
    let flow = this.flows.get(id);
    if (flow === undefined) {
      flow = new Flow<T>(id, weight, this.seq++);
      this.flows.set(id, flow);
    }
    item._flow = flow as Flow<FairItem>;
    item._next = undefined;
    item._prev = flow.tail;
    if (flow.tail === undefined) flow.head = item;
    else flow.tail._next = item;
    flow.tail = item;
    flow.size++;
    this.size++;
    if (flow.size === 1 && flow.eligible) this.insert(flow);
  }

  /** Takes the next task to serve, or undefined when no eligible flow waits. */
  dequeue(): T | undefined {
    const flow = this.heap[0];
    if (flow === undefined) return undefined;
    const item = flow.head as T;
    this.vtime = flow.tag - item.cost / flow.weight;
    flow.finish = flow.tag;
    this.unlink(flow, item);
    if (flow.size === 0) this.removeAt(0);
    else {
      flow.tag = flow.finish + (flow.head as T).cost / flow.weight;
      this.down(0);
    }
    return item;
  }

  /** Removes a waiting task (cancelled); false when it was not waiting here. */
  remove(item: T): boolean {
    const flow = item._flow as Flow<T> | undefined;
    if (flow === undefined || this.flows.get(flow.id) !== flow) return false;
    const wasHead = flow.head === item;
    this.unlink(flow, item);
    if (flow.pos >= 0) {
      if (flow.size === 0) this.removeAt(flow.pos);
      else if (wasHead) this.retag(flow);
    }
    return true;
  }

  /** Lets the flow of `id` be served, or holds it (paused tenant, tenant at its maxConcurrent). */
  setEligible(id: string, eligible: boolean): void {
    const flow = this.flows.get(id);
    if (flow === undefined || flow.eligible === eligible) return;
    flow.eligible = eligible;
    if (!eligible) {
      if (flow.pos >= 0) this.removeAt(flow.pos);
    } else if (flow.size > 0) this.insert(flow);
  }

  /** A new weight, for tasks served from now on. */
  setWeight(id: string, weight: number): void {
    const flow = this.flows.get(id);
    if (flow === undefined) return;
    flow.weight = weight;
    if (flow.pos >= 0) this.retag(flow);
  }

  /** Tasks waiting in the flow of `id`. */
  waiting(id: string): number {
    return this.flows.get(id)?.size ?? 0;
  }

  /** Empties the queue, handing every waiting task to `each` (close()). */
  drain(each: (item: T) => void): void {
    const items: T[] = [];
    for (const flow of this.flows.values()) for (let i = flow.head; i !== undefined; i = i._next as T | undefined) items.push(i);
    for (const flow of this.flows.values()) {
      flow.head = flow.tail = undefined;
      flow.size = 0;
      flow.pos = -1;
    }
    this.heap.length = 0;
    this.size = 0;
    for (const i of items) {
      i._flow = i._prev = i._next = undefined;
      each(i);
    }
  }

  private unlink(flow: Flow<T>, item: T): void {
    if (item._prev === undefined) flow.head = item._next as T | undefined;
    else item._prev._next = item._next;
    if (item._next === undefined) flow.tail = item._prev as T | undefined;
    else item._next._prev = item._prev;
    item._flow = item._prev = item._next = undefined;
    flow.size--;
    this.size--;
  }

  private insert(flow: Flow<T>): void {
    flow.tag = Math.max(this.vtime, flow.finish) + (flow.head as T).cost / flow.weight;
    flow.pos = this.heap.length;
    this.heap.push(flow);
    this.up(flow.pos);
  }

  private retag(flow: Flow<T>): void {
    flow.tag = Math.max(this.vtime, flow.finish) + (flow.head as T).cost / flow.weight;
    this.up(flow.pos);
    this.down(flow.pos);
  }

  private removeAt(i: number): void {
    const heap = this.heap;
    const gone = heap[i] as Flow<T>;
    const last = heap.pop() as Flow<T>;
    gone.pos = -1;
    if (last === gone) return;
    heap[i] = last;
    last.pos = i;
    this.up(i);
    this.down(last.pos);
  }

  private less(a: Flow<T>, b: Flow<T>): boolean {
    return a.tag < b.tag || (a.tag === b.tag && a.seq < b.seq);
  }

  private up(i: number): void {
    const heap = this.heap;
    const f = heap[i] as Flow<T>;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p] as Flow<T>;
      if (!this.less(f, parent)) break;
      heap[i] = parent;
      parent.pos = i;
      i = p;
    }
    heap[i] = f;
    f.pos = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const f = heap[i] as Flow<T>;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r] as Flow<T>, heap[l] as Flow<T>) ? r : l;
      const child = heap[c] as Flow<T>;
      if (!this.less(child, f)) break;
      heap[i] = child;
      child.pos = i;
      i = c;
    }
    heap[i] = f;
    f.pos = i;
  }
}
