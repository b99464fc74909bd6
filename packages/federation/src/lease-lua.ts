// The Lua scripts of leases and fencing (docs/architecture.md, "@tenantry/federation"). Redis runs each one
// as a single atomic step, so there is no consensus of our own: Redis orders every acquire, renewal, release
// and fenced write of a resource.
//
// Keys of one resource (lease.ts) share one hash tag, `<prefix>{<resource>}:`, so a script that names them
// all stays inside one Redis Cluster slot:
//   …:lease   "<token>|<node id>" with a PX expiry: the current holder; absent when nobody holds it
//   …:token   the token counter (INCR only; never expires, never decreases)
//   …:fence   the highest token the resource has seen (raised by acquire and by every accepted fenced write)
//   …:state   the resource's state, a hash written only by fenced writes (field `_token`: the writer's token)
//
// Tokens are decimal integers. ACQUIRE_LUA writes the counter's value through Lua's number formatting
// (%.14g), exact below 10^14 tokens per resource; everywhere else a token travels as the decimal text given.
// The counter grows only as long as Redis keeps its data: run it with an append-only file. Should a Redis
// lose its data all the same, the guard's second check (the lease is held by exactly this token) still
// refuses the old holders.
import { FENCE_GUARD_LUA } from '@tenantry/core';

export { FENCE_GUARD_LUA };

// The fence guard (FENCE_GUARD_LUA) is @tenantry/core's: quota scripts prepend it too.

/**
 * KEYS lease, token, fence; ARGV node id, lease ms. Takes the lease unless another node holds it; a node
 * that holds it already gets a new token too (its old token is stale from then on). The new token is the
 * counter after INCR, and the fence is raised to it in the same step: once a lease changed hands, every
 * write with an older token is refused STALE_TOKEN, whether or not the new holder wrote yet.
 * Answers {1, token} or {0, holder's token, holder, remaining ms}.
 */
export const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  local holder = string.sub(cur, sep + 1)
  if holder ~= ARGV[1] then
    return {0, string.sub(cur, 1, sep - 1), holder, redis.call('PTTL', KEYS[1])}
  end
end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t .. '|' .. ARGV[1], 'PX', ARGV[2])
local high = redis.call('GET', KEYS[3])
if not high or t > tonumber(high) then redis.call('SET', KEYS[3], t) end
return {1, tostring(t)}
`;

/**
 * KEYS lease; ARGV node id, token, lease ms. Extends the lease when it is held by exactly (token, node);
 * answers 1, or 0 when it expired or another token holds it.
 */
export const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[2] .. '|' .. ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

/** KEYS lease; ARGV node id, token. Ends the lease when held by exactly (token, node); answers 1 or 0. */
export const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[2] .. '|' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/** KEYS lease; answers {token, holder, remaining ms} or false when nobody holds the lease. */
export const HOLDER_LUA = `
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local sep = string.find(cur, '|', 1, true)
return {string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1), redis.call('PTTL', KEYS[1])}
`;

/**
 * KEYS fence, lease, state; ARGV token, then field, value pairs. The fence guard with the lease check, then
 * HSET of the pairs and `_token` in the same step. Answers "OK" or the guard's refusal.
 */
export const FENCED_WRITE_LUA = `${FENCE_GUARD_LUA}
local refused = tenantry_fence(KEYS[1], KEYS[2], ARGV[1])
if refused then return refused end
redis.call('HSET', KEYS[3], '_token', ARGV[1], unpack(ARGV, 2))
return 'OK'
`;
