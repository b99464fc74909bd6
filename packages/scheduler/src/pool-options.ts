// Options of createTenantPools, with their defaults, validated once at the boundary (docs/architecture.md,
// "Rules every package keeps": a typed error naming the field). The result is a fresh copy; the caller's
// objects are never kept or changed.
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObject, describeValue } from '@tenantry/core';
import { invalidArgument } from './errors.js';

/**
 * V8 heap limits of each worker thread (Node's `worker_threads` ResourceLimits). A task that needs more
 * than `maxOldGenerationSizeMb` ends its worker with ERR_WORKER_OUT_OF_MEMORY instead of the process.
 */
export interface PoolResourceLimits {
  /** Main heap, MB (default DEFAULT_RESOURCE_LIMITS.maxOldGenerationSizeMb). */
  maxOldGenerationSizeMb?: number;
  /** Heap space for recently created objects, MB (default: V8's). */
  maxYoungGenerationSizeMb?: number;
  /** Space for generated code, MB (default: V8's). */
  codeRangeSizeMb?: number;
  /** The thread's stack, MB (default: Node's, 4). */
  stackSizeMb?: number;
}

export interface TenantPoolsOptions {
  /** The host's worker module (a piscina task file): an absolute path, a `file:` URL string or a URL. */
  filename: string | URL;
  /** Most pools alive at once, one per tenant (default DEFAULT_MAX_POOLS). */
  maxPools?: number;
  /** Worker threads of each tenant's pool, 1..MAX_THREADS_PER_POOL (default 1). */
  threadsPerPool?: number;
  /** Heap limits of every worker; merged over DEFAULT_RESOURCE_LIMITS. */
  resourceLimits?: PoolResourceLimits;
  /** A pool without work for this long is closed, ms; Infinity keeps it until evicted (default DEFAULT_POOL_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/** Default of `maxPools`. */
export const DEFAULT_MAX_POOLS = 8;

/** Upper bound of `maxPools` and of `threadsPerPool`: beyond it a setting is a mistake, not a size. */
export const MAX_POOLS = 1024;
export const MAX_THREADS_PER_POOL = 256;

/** Default of `idleTimeoutMs`: keeps a tenant's workers warm across bursts. */
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 30_000;

/**
 * Default heap limits: 256 MB of old generation per worker, so the defaults (8 pools of 1 thread) bound
 * pooled heaps near 2 GB whatever the tenants send.
 */
export const DEFAULT_RESOURCE_LIMITS: Readonly<PoolResourceLimits> = Object.freeze({ maxOldGenerationSizeMb: 256 });

/** The options after defaults and checks. */
export interface ResolvedPoolsOptions {
  /** Absolute path of the worker module. */
  filename: string;
  maxPools: number;
  threadsPerPool: number;
  resourceLimits: Readonly<PoolResourceLimits>;
  idleTimeoutMs: number;
}

const OPTION_NAMES = ['filename', 'maxPools', 'threadsPerPool', 'resourceLimits', 'idleTimeoutMs'];
const LIMIT_NAMES = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;
// setTimeout fires at once for delays above 2^31 − 1 ms (about 24.8 days).
const MAX_TIMEOUT = 2 ** 31 - 1;

function _onlyKnown(v: Record<string, unknown>, names: readonly string[], prefix: string): void {
  for (const k of Object.keys(v)) if (!names.includes(k)) throw invalidArgument(`${prefix}${k}`, `is not an option (known: ${names.join(', ')})`);
}

function _intIn(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw invalidArgument(field, `must be an integer in ${min}..${max}, got ${typeof v === 'number' ? v : describeValue(v)}`);
  }
  return v;
}

// Relative paths are refused: piscina would resolve them against the process's working directory, not the host's module.
function _filename(v: unknown): string {
  let path: string;
  try {
    if (v instanceof URL || (typeof v === 'string' && v.startsWith('file:'))) path = fileURLToPath(v);
    else if (typeof v === 'string') path = v;
    else throw invalidArgument('filename', `must be an absolute path or a file: URL, got ${describeValue(v)}`);
  } catch (e) {
    if (e instanceof TypeError) throw invalidArgument('filename', `must be a file: URL (${e.message})`);
    throw e;
  }
  if (!isAbsolute(path)) throw invalidArgument('filename', `must be an absolute path or a file: URL, got ${JSON.stringify(path)}`);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw invalidArgument('filename', `must name an existing file, got ${JSON.stringify(path)}`);
  return path;
}

function _resourceLimits(v: unknown): Readonly<PoolResourceLimits> {
  if (!isObject(v)) throw invalidArgument('resourceLimits', `must be { maxOldGenerationSizeMb?, … }, got ${describeValue(v)}`);
  _onlyKnown(v, LIMIT_NAMES, 'resourceLimits.');
  const out: PoolResourceLimits = { ...DEFAULT_RESOURCE_LIMITS };
  for (const k of LIMIT_NAMES) {
    const x = v[k];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isFinite(x) || x <= 0) {
      throw invalidArgument(`resourceLimits.${k}`, `must be a finite number of MB > 0, got ${typeof x === 'number' ? x : describeValue(x)}`);
    }
    out[k] = x;
  }
  return Object.freeze(out);
}

/** createTenantPools' options with defaults, checked. @throws SchedulerError INVALID_ARGUMENT naming the field. */
export function resolvePoolsOptions(v: unknown): ResolvedPoolsOptions {
  if (!isObject(v)) throw invalidArgument('options', `must be an object { filename, … }, got ${describeValue(v)}`);
  _onlyKnown(v, OPTION_NAMES, '');
  if (v.filename === undefined) throw invalidArgument('filename', 'is required');
  const idle = v.idleTimeoutMs;
  if (idle !== undefined && idle !== Infinity && (typeof idle !== 'number' || !Number.isSafeInteger(idle) || idle < 0 || idle > MAX_TIMEOUT)) {
    throw invalidArgument('idleTimeoutMs', `must be an integer in 0..${MAX_TIMEOUT} or Infinity, got ${typeof idle === 'number' ? idle : describeValue(idle)}`);
  }
  return {
    filename: _filename(v.filename),
    maxPools: v.maxPools === undefined ? DEFAULT_MAX_POOLS : _intIn(v.maxPools, 'maxPools', 1, MAX_POOLS),
    threadsPerPool: v.threadsPerPool === undefined ? 1 : _intIn(v.threadsPerPool, 'threadsPerPool', 1, MAX_THREADS_PER_POOL),
    resourceLimits: v.resourceLimits === undefined ? DEFAULT_RESOURCE_LIMITS : _resourceLimits(v.resourceLimits),
    idleTimeoutMs: (idle as number | undefined) ?? DEFAULT_POOL_IDLE_TIMEOUT_MS,
  };
}
