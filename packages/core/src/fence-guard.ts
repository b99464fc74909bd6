// The fence guard (docs/architecture.md, "@tenantry/federation": fencing at the resource), a Lua function that
// every script writing on behalf of a lease holder prepends: @tenantry/federation's fenced writes and
// @tenantry/quota's admissions in cluster mode. It lives here because two packages run it and neither may
// depend on the other.
//
// The keys it reads are the lease holder's (as @tenantry/federation names them):
//   fence_key  the highest token the resource has seen (a decimal integer; raised, never lowered)
//   lease_key  "<token>|<node id>" with a PX expiry: the current holder; absent when nobody holds it

/** What a caller passes to a fenced script: the two keys of the resource and the token it holds. */
export interface Fence {
  readonly fenceKey: string;
  readonly leaseKey: string;
  /** A positive safe integer, the lease's fencing token. */
  readonly token: number;
}

/**
 * The fence guard, a Lua function that other scripts (quota scripts, audit checkpoints) prepend to carry a
 * token (protocol 1.0). `tenantry_fence(fence_key, lease_key, token)` with `token` the decimal text:
 *   1. refuses `"STALE_TOKEN:<highest>"` when `token` is lower than the highest token `fence_key` has seen;
 *   2. when `lease_key` is not `false`, refuses `"LEASE_NOT_HELD"` unless the lease exists and is held by
 *      exactly `token` (tokens are unique per resource, so the token alone names the holder);
 *   3. otherwise raises `fence_key` to `token` when higher and answers `false` (the write may proceed).
 * Precondition: `fence_key` and `lease_key` are in the script's KEYS (and, in Redis Cluster, in one slot).
 * A script whose keys live in another slot than the lease passes `false` and gets check 1 only.
 */
export const FENCE_GUARD_LUA = `
local function tenantry_fence(fence_key, lease_key, token)
  local t = tonumber(token)
  if t == nil then return 'STALE_TOKEN:invalid' end
  local high = redis.call('GET', fence_key)
  if high and t < tonumber(high) then return 'STALE_TOKEN:' .. high end
  if lease_key ~= false then
    local cur = redis.call('GET', lease_key)
    if not cur then return 'LEASE_NOT_HELD' end
    local sep = string.find(cur, '|', 1, true)
    if tonumber(string.sub(cur, 1, sep - 1)) ~= t then return 'LEASE_NOT_HELD' end
  end
  if not high or t > tonumber(high) then redis.call('SET', fence_key, token) end
  return false
end
`;
