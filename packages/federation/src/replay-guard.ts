// The receiving node's memory of cluster messages: ids already accepted, and counts of what was refused
// (docs/architecture.md, "@tenantry/federation").
//
// Why the memory is bounded without reopening a replay: openMessage refuses a message whose timestamp is more than
// maxSkewMs from now, and maxSkewMs may not exceed the guard's windowMs. An id is kept until now passes its
// message's timestamp + windowMs; after that the same message is refused as STALE anyway, so forgetting the id lets
// nothing through. "Now" is the highest clock reading the guard has seen, so a clock that steps back does not bring a
// forgotten message back into the window. Ids are kept per source node (a node's ids need only be unique to it).
// Expired ids are swept at most every windowMs / 4, so the guard holds at most the ids of 1.25 windows of traffic;
// `maxEntries` bounds it even under a flood, and when it is reached new messages are refused (REPLAY_GUARD_FULL:
// fail closed) rather than old ids forgotten early.
import { isObject } from '@tenantry/core';
import { FederationError, type FederationErrorCode } from './errors.js';

export interface ReplayGuardOptions {
  /** How long an accepted message id is remembered, in ms; openMessage's maxSkewMs must not exceed it. */
  windowMs: number;
  /** Most ids held at once (default 1 000 000). */
  maxEntries?: number;
}

/** Counts since the guard was made: messages accepted, refusals by code, ids held now. */
export interface ReplayGuardStats {
  accepted: number;
  refused: Partial<Record<FederationErrorCode, number>>;
  remembered: number;
}

const DEFAULTS = { maxEntries: 1_000_000 };

export class ReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** `${source_node}\n${message_id}` → the time after which the id is forgotten. */
  readonly #seen = new Map<string, number>();
  #now = -Infinity;
  #nextSweep = -Infinity;
  #accepted = 0;
  readonly #refused: Partial<Record<FederationErrorCode, number>> = {};

  constructor(options: ReplayGuardOptions) {
    if (!isObject(options)) throw new FederationError('INVALID_ARGUMENT', 'options must be an object', { field: 'options' });
    const o = { ...DEFAULTS, ...options };
    if (!Number.isSafeInteger(o.windowMs) || o.windowMs <= 0) {
      throw new FederationError('INVALID_ARGUMENT', 'options.windowMs must be a positive integer', { field: 'options.windowMs' });
    }
    if (!Number.isSafeInteger(o.maxEntries) || o.maxEntries <= 0) {
      throw new FederationError('INVALID_ARGUMENT', 'options.maxEntries must be a positive integer', { field: 'options.maxEntries' });
    }
    this.windowMs = o.windowMs;
    this.maxEntries = o.maxEntries;
  }

  /** The guard's now: the highest of the readings it was given (see the file comment). */
  _advance(clockReading: number): number {
    if (clockReading > this.#now) this.#now = clockReading;
    return this.#now;
  }

  /**
   * Remembers (source, id) of a message with `timestamp`, or throws REPLAYED (field `message_id`) when it is held
   * already, REPLAY_GUARD_FULL when maxEntries ids are held. Precondition: `now` came from _advance.
   */
  _remember(source: string, id: string, timestamp: number, now: number): void {
    if (now >= this.#nextSweep || this.#seen.size >= this.maxEntries) this.#sweep(now);
    const key = `${source}\n${id}`;
    const until = this.#seen.get(key);
    if (until !== undefined && until >= now) {
      throw new FederationError('REPLAYED', `message_id ${JSON.stringify(id)} from ${JSON.stringify(source)} was seen already`, { field: 'message_id' });
    }
    if (until === undefined && this.#seen.size >= this.maxEntries) {
      throw new FederationError('REPLAY_GUARD_FULL', `the replay guard holds ${this.maxEntries} message ids; refused rather than forgetting one early`, { field: 'message_id' });
    }
    this.#seen.set(key, timestamp + this.windowMs);
  }

  #sweep(now: number): void {
    for (const [key, until] of this.#seen) if (until < now) this.#seen.delete(key);
    this.#nextSweep = now + Math.max(1, Math.floor(this.windowMs / 4));
  }

  /** Counts one outcome of openMessage. */
  _count(outcome: FederationErrorCode | 'accepted'): void {
    if (outcome === 'accepted') this.#accepted++;
    else this.#refused[outcome] = (this.#refused[outcome] ?? 0) + 1;
  }

  stats(): ReplayGuardStats {
    return { accepted: this.#accepted, refused: { ...this.#refused }, remembered: this.#seen.size };
  }
}
