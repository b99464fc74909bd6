// Argument checks at the public boundary. Each names the argument it rejects.
import { KernelRangeError, KernelTypeError } from './errors.js';

export const HASH_BYTES = 32;
export const MAX_SHARD_COUNT = 0xffffffff;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  if (typeof v === 'string') return `a string`;
  return `${typeof v} ${String(v)}`;
}

export function checkBytes(v: unknown, field: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new KernelTypeError('INVALID_BYTES', `${field} must be a Uint8Array, got ${describe(v)}`, field);
  }
}

export function checkHash(v: unknown, field: string): asserts v is Uint8Array {
  checkBytes(v, field);
  if (v.length !== HASH_BYTES) {
    throw new KernelRangeError('INVALID_LENGTH', `${field} must be ${HASH_BYTES} bytes, got ${v.length}`, field);
  }
}

export function checkArray(v: unknown, field: string): asserts v is readonly unknown[] {
  if (!Array.isArray(v)) {
    throw new KernelTypeError('INVALID_ARGUMENT', `${field} must be an array, got ${describe(v)}`, field);
  }
}

export function checkString(v: unknown, field: string): asserts v is string {
  if (typeof v !== 'string') {
    throw new KernelTypeError('INVALID_ID', `${field} must be a string, got ${describe(v)}`, field);
  }
}

export function checkShardCount(v: unknown, field = 'shardCount'): asserts v is number {
  if (typeof v !== 'number') {
    throw new KernelTypeError('INVALID_SHARD_COUNT', `${field} must be a number, got ${describe(v)}`, field);
  }
  if (!Number.isInteger(v) || v < 1 || v > MAX_SHARD_COUNT) {
    throw new KernelRangeError('INVALID_SHARD_COUNT', `${field} must be an integer in 1..${MAX_SHARD_COUNT}, got ${v}`, field);
  }
}

export function checkPositiveInteger(v: unknown, field: string): asserts v is number {
  if (typeof v !== 'number') {
    throw new KernelTypeError('INVALID_ARGUMENT', `${field} must be a number, got ${describe(v)}`, field);
  }
  if (!Number.isInteger(v) || v < 1) {
    throw new KernelRangeError('INVALID_ARGUMENT', `${field} must be a positive integer, got ${describe(v)}`, field);
  }
}
