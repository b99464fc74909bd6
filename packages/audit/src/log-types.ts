// What AuditLog returns and reports (types only).
import type { AuditEntry } from './entry.js';
import type { Corruption, TornTail } from './replay.js';

/** What append resolves with, once the entry is on stable storage. */
export interface AppendResult {
  tenant_id: string;
  index: number;
  /** Lowercase hex RFC 6962 leaf hash of the entry's canonical bytes. */
  leaf_hash: string;
  timestamp: string;
}

/** A stored entry read back. */
export interface StoredEntry {
  entry: AuditEntry;
  /** The canonical bytes (RFC 8785, UTF-8) as stored. */
  bytes: Uint8Array;
  /** hashLeaf(bytes). */
  leafHash: Uint8Array;
}

/** A tenant's head: its size and root, as node roots and receipts use it. */
export interface LogHead {
  tenant_id: string;
  size: number;
  /** Lowercase hex root of the tenant's tree at `size`. */
  root: string;
}

export interface RepairOptions {
  /** Entries to keep: 0..the index of the corruption (keeps entries 0..truncateAfter − 1). */
  truncateAfter: number;
}

export interface RepairReport {
  tenantId: string;
  /** Entries kept (= truncateAfter). */
  kept: number;
  /** File offset where the tenant file was cut. */
  offset: number;
  /** Bytes removed from the tenant file. */
  removedBytes: number;
  /** Name (in the log directory) of the file holding the removed bytes; undefined when none were removed. */
  savedTo: string | undefined;
  /** The corruption this repair cleared. */
  corruption: Corruption;
}

/** What open found and did. */
export interface OpenReport {
  /** Tenants with at least one entry. */
  tenants: number;
  /** Verified entries over all tenants. */
  entries: number;
  /** Torn tails cut. */
  tornTails: TornTail[];
  /** Tenants whose chain stops at a corruption (they refuse appends until repair). */
  corruptions: Corruption[];
  /** Set when the lock of a dead process was taken over. */
  staleLock: { pid: number; host: string } | undefined;
  /** Files in the directory that are not tenant files (left alone). */
  ignoredFiles: string[];
}

export interface AuditLogStatus {
  dir: string;
  closed: boolean;
  tenants: number;
  entries: number;
  /** Appends accepted and not yet resolved or rejected. */
  pendingAppends: number;
  /** Current corruptions (found at open or by a later read; cleared by repair). */
  corruptions: Corruption[];
  /** Tenants refusing appends after an I/O failure that could not be rolled back (until reopen). */
  failures: { tenantId: string; message: string }[];
  tornTails: TornTail[];
  repairs: RepairReport[];
}

/** Counters of the write path (for tests and metrics). */
export interface AuditLogStats {
  /** Appends acknowledged. */
  appends: number;
  /** Group commits run. */
  flushes: number;
  /** fdatasync calls on tenant files. */
  fsyncs: number;
  /** fsync calls on the directory. */
  dirFsyncs: number;
  bytesWritten: number;
}

