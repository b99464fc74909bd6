// Fenced admissions (docs/architecture.md, "@tenantry/federation": fencing at the resource; "@tenantry/quota").
//
// In cluster mode each tenant belongs to a shard, held by one node under a lease with a fencing token. A node
// paused past its lease (GC, SIGSTOP) wakes up believing it still holds the shard, so the lease alone cannot
// stop it. What stops it is Redis: every admission redisStore makes for the tenant carries the owner's Fence
// (the shard's two keys and the token), and the script runs `tenantry_fence` (FENCE_GUARD_LUA of
// @tenantry/core) before its own checks, refusing a stale token with NOT_OWNER and changing nothing.
//
// The host supplies `fence(tenantId)` (`redisStore(conn, { fence })`), typically
// `(t) => keeper.fenceFor(tenantShard(t, n))` of @tenantry/federation. This file checks what it returns.
import type { Fence } from '@tenantry/core';
import { invalidArgument, QuotaError } from './errors.js';

/** The host's view of who owns a tenant: the Fence to admit under, or null when this node does not hold it. */
export type FenceOf = (tenantId: string) => Fence | null;

/**
 * The Fence for `tenantId`, checked: null when this node does not hold the tenant's shard.
 * A Fence with an empty or non-string key or a token that is not a positive safe integer, or a `fence` that
 * throws, is the host's bug, not an answer about ownership: it throws QuotaError INVALID_ARGUMENT naming
 * `options.fence` (never an admission, and never the fail-open allowance: quota.ts passes store-thrown
 * QuotaErrors through).
 */
export function checkedFence(fence: FenceOf, tenantId: string): Fence | null {
  let f: unknown;
  try {
    f = fence(tenantId);
  } catch (e) {
    throw new QuotaError('INVALID_ARGUMENT', `options.fence threw for tenant ${JSON.stringify(tenantId)}: ${e instanceof Error ? e.message : String(e)}`, {
      field: 'options.fence', cause: e,
    });
  }
  if (f === null) return null;
  if (typeof f !== 'object') throw invalidArgument('options.fence', `must return a Fence or null, got ${String(f)}`);
  const { fenceKey, leaseKey, token } = f as Partial<Fence>;
  if (typeof fenceKey !== 'string' || fenceKey === '') throw invalidArgument('options.fence', 'returned a Fence whose fenceKey is not a non-empty string');
  if (typeof leaseKey !== 'string' || leaseKey === '') throw invalidArgument('options.fence', 'returned a Fence whose leaseKey is not a non-empty string');
  if (!Number.isSafeInteger(token) || (token as number) <= 0) {
    throw invalidArgument('options.fence', `returned a Fence whose token is not a positive safe integer: ${String(token)}`);
  }
  return { fenceKey, leaseKey, token: token as number };
}
