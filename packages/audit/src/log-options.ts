// Options of AuditLog.open: defaults, and the one check they get (at open).
import { isObject } from '@tenantry/core';
import { AuditError } from './errors.js';
import { nodeLogIo, type LogIo } from './log-io.js';
import { MAX_ENTRY_BYTES_LIMIT } from './record.js';
import type { SealerKind } from './sealer.js';

export interface AuditLogOptions {
  /** Milliseconds since the Unix epoch for entry timestamps (default Date.now). */
  clock?: () => number;
  /** Largest entry, in bytes of canonical JSON (default 1 MiB, at most 64 MiB). */
  maxEntryBytes?: number;
  /** Create the directory when missing (default true). */
  create?: boolean;
  /** Tenant files kept open at once (default 128; the least recently used idle one is closed). */
  maxOpenFiles?: number;
  /** The write path's file operations (default nodeLogIo); replace only to inject faults in tests. */
  io?: LogIo;
  /**
   * Where appends are sealed (entry bytes, leaf hash, CRC): `'worker'` (default), one worker thread
   * shared by the process's logs, overlapping with the caller and the fsyncs; `'inline'`, on the
   * calling thread (no extra thread; about half the throughput under load).
   */
  sealer?: SealerKind;
}

export const DEFAULTS: Required<AuditLogOptions> = {
  clock: Date.now,
  maxEntryBytes: 1 << 20,
  create: true,
  maxOpenFiles: 128,
  io: nodeLogIo,
  sealer: 'worker',
};

/** The options with defaults filled in, checked; INVALID_ARGUMENT naming `options.<name>` otherwise. */
export function _checkOptions(options: unknown): Required<AuditLogOptions> {
  if (options === undefined) return { ...DEFAULTS };
  if (!isObject(options)) {
    throw new AuditError('INVALID_ARGUMENT', 'options must be an object', { field: 'options' });
  }
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULTS)) throw new AuditError('INVALID_ARGUMENT', `options.${key} is not an option of AuditLog.open`, { field: `options.${key}` });
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o: Required<AuditLogOptions> = { ...DEFAULTS, ...defined };
  const bad = (field: string, message: string): AuditError => new AuditError('INVALID_ARGUMENT', `options.${field} ${message}`, { field: `options.${field}` });
  if (typeof o.clock !== 'function') throw bad('clock', 'must be a function returning milliseconds since the epoch');
  if (typeof o.maxEntryBytes !== 'number' || !Number.isInteger(o.maxEntryBytes) || o.maxEntryBytes < 64 || o.maxEntryBytes > MAX_ENTRY_BYTES_LIMIT) {
    throw bad('maxEntryBytes', `must be an integer in 64..${MAX_ENTRY_BYTES_LIMIT}`);
  }
  if (typeof o.create !== 'boolean') throw bad('create', 'must be a boolean');
  if (typeof o.maxOpenFiles !== 'number' || !Number.isInteger(o.maxOpenFiles) || o.maxOpenFiles < 1) throw bad('maxOpenFiles', 'must be a positive integer');
  const io = o.io as Partial<LogIo> | null;
  if (typeof io !== 'object' || io === null || typeof io.write !== 'function' || typeof io.datasync !== 'function' || typeof io.truncate !== 'function') {
    throw bad('io', 'must be an object with write, datasync and truncate functions');
  }
  if (o.sealer !== 'worker' && o.sealer !== 'inline') throw bad('sealer', "must be 'worker' or 'inline'");
  return o;
}

