// Fencing at the resource (docs/architecture.md, "@tenantry/federation"): the check that makes a lease safe.
//
// A lease tells a node it may act; it cannot stop a node that was paused past its lease (GC, SIGSTOP, a
// partition) from acting when it wakes up. So the resource checks the token carried by every write, in the
// same Lua step as the write (FENCED_WRITE_LUA, built on FENCE_GUARD_LUA in lease-lua.ts). Exactly what is
// checked, atomically, before anything is written:
//   1. the token is not lower than the highest token the resource has seen — else STALE_TOKEN. The highest
//      is raised by every acquire (to the new token) and by every accepted write, so after a takeover every
//      write of an earlier holder is refused, whether or not the new holder wrote yet;
//   2. the resource's lease exists and is held by exactly this token — else LEASE_NOT_HELD: the lease ended
//      (expired or released) and nobody took it yet, or Redis lost its data and the counter restarted.
// Only when both pass are the entries written (HSET of the resource's state, with `_token` set to the token).
// A write that was refused wrote nothing. Redis unreachable: REDIS_UNAVAILABLE, and nothing was written.
//
// Other scripts (quota scripts, audit checkpoints) carry a token by prepending FENCE_GUARD_LUA and calling
// `tenantry_fence(fence_key, lease_key, token)` before their own writes; keys in another Redis Cluster slot
// than the lease pass `false` as lease_key and get check 1 only.
import { FederationError } from './errors.js';
import type { _Connection } from './lease.js';

export { FENCE_GUARD_LUA } from './lease-lua.js';

/** Internal: the fenced write of lease.ts's `fencedWrite`; arguments are checked by the caller. */
export async function _fencedWrite(conn: _Connection, resource: string, token: number, entries: Readonly<Record<string, string>>): Promise<void> {
  const k = conn.keys(resource);
  const args: string[] = [k.fence, k.lease, k.state, String(token)];
  for (const [f, v] of Object.entries(entries)) args.push(f, v);
  const res = await conn.call((r) => r.tenantryFencedWrite(...args));
  if (res === 'OK') return;
  throw refusal(resource, token, res);
}

/** Internal: the resource's state as fenced writes left it. */
export async function _readFenced(conn: _Connection, resource: string): Promise<Record<string, string>> {
  return conn.call((r) => r.hgetall(conn.keys(resource).state));
}

/** The typed error of a guard's refusal ("STALE_TOKEN:<highest>" or "LEASE_NOT_HELD"). */
function refusal(resource: string, token: number, res: string): FederationError {
  if (res.startsWith('STALE_TOKEN:')) {
    return new FederationError('STALE_TOKEN', `token ${token} is lower than the highest token ${res.slice(12)} that ${resource} has seen: a later holder took it over`, { field: 'token' });
  }
  if (res === 'LEASE_NOT_HELD') {
    return new FederationError('LEASE_NOT_HELD', `token ${token} does not hold the lease of ${resource} (it expired or was released)`, { field: 'token' });
  }
  return new FederationError('REDIS_UNAVAILABLE', `redis gave an unexpected answer to the fenced write script: ${res}`, { field: 'redis' });
}
