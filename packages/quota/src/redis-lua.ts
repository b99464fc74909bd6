// The Lua scripts of redisStore (redis-store.ts). Redis runs a script to the end before any other command
// (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/: "atomic execution"), so
// one script that checks every cap and then holds the amount is the check-and-charge in one step that no
// other node can interleave with. The semantics are those of store.ts, the same as memory-store.ts; the
// arithmetic is the same too (integers for money, doubles for GCRA and the prod-traffic estimate, in the
// same order of operations), so both stores give the same answers.
//
// Cost model: inside a script, each redis.call costs a few microseconds of argument and reply conversion,
// more than the command itself, so the scripts make few of them:
// - one script call carries the operations of many tenants (a batch), applied one after another in order;
// - each tenant's numbers live in one hash, read with one HMGET when the batch first touches the tenant,
//   kept in Lua tables while the operations run and written back with one HSET at the end (nothing else
//   runs during the script, so this is the same as applying each operation to Redis at once);
// - a reservation's record (micros, simulation flag, day, month, experiment) travels inside its id
//   ("<node>.<serial>.<tenant>|<micros>|<0|1>|<day>|<month>|<experiment>"), so reservations are just the
//   members of one sorted set, whose score says their state (bands of B = 2^44 ms, far above any epoch ms):
//     [0, B)       open, score = expiresAt
//     [-B, 0)      expired: its amount has returned, a late settle still charges it; score = forgetAt - B
//     [-2B, -B)    settled or released while open (a repeat is a duplicate); score = expiresAt - 2B,
//                  forgotten retainMs after expiresAt
//     [-3B, -2B)   settled or released after it expired; score = forgetAt - 3B, where forgetAt is at least
//                  retainMs after the close (so every closed id is remembered retainMs after its close:
//                  restore relies on it, store.ts)
//   reserve is one ZADD; settle and release are one ZADD XX INCR -2B, whose answer (the new score) tells
//   the old state and closes the reservation in the same step (a duplicate is put back); a forged id
//   matches no member and changes nothing;
// - expiry and the forgetting of tombstones run when something is due (the hash keeps the time of the
//   next due expiry, `sweepAt`), and at most once a second otherwise.
//
// Every key a script touches is passed in KEYS, 4 per tenant, each carrying the tenant's hash tag:
//   1 h     hash  envelope: tz d m x p pct s [frozen] tenant
//                 accounts: d:<day>:s|h m:<month>:s|h s:<month>:s|h x:<experiment>:s|h (spent / held micros)
//                 open (reservations open), pw:b pw:t pw:e pw:pt pw:pe (prod-traffic buckets), sweepAt,
//                 gmax (the latest TAT in g)
//   2 run   set   running experiments
//   3 ids   zset  reservation ids, scored by state as above
//   4 g     hash  GCRA key -> theoretical arrival time (TAT)
// Scripts never read the clock: `now` comes from the caller, so an injected clock works across nodes. For
// the same reason no key has a Redis TTL: Redis would expire it by its own clock, and a rate key dropped
// while the caller's `now` is still before its TAT would hand out its burst again. The sweep deletes g
// once the caller's `now` has passed gmax (every rate key idle), as memoryStore drops idle meters.
//
// GCRA (gcra.ts, whose GcraMeter is the reference): allowAt = max(TAT, now) + cost × T − τ, admitted when
// now ≥ allowAt, then TAT = max(TAT, now) + cost × T; a refusal waits ceil(allowAt − now) ms, or forever
// when cost × T > τ. The same doubles in the same order, so both give the same answers
// (test/quota/gcra-lua.test.ts).

// Fenced admissions (fence.ts): the batch script and the fenced experiment start begin with FENCE_GUARD_LUA
// (@tenantry/core), and a fenced operation calls `tenantry_fence(fence_key, lease_key, token)` before its own
// checks. The shard's two keys are in KEYS after every tenant's (on a Redis Cluster, redis-store.ts admits a
// fence only when both keys are in its tenant's slot, and each call holds one slot); the token travels as
// decimal text, since Redis would print a Lua number with 14 digits. Defining the guard costs an unfenced
// batch one closure per call, no key and no command.
import { FENCE_GUARD_LUA } from '@tenantry/core';

/** Keys per tenant, in the order above. */
export const KEYS_PER_TENANT = 4;

/** Shared Lua: per-tenant state cached for the call, sweeping, the prod-traffic window, write-back. */
const COMMON = `
local NK = ${KEYS_PER_TENANT}
local B = 17592186044416 -- 2^44
local G = {}
local ENV = {'tz', 'd', 'm', 'x', 'pct', 's', 'frozen', 'p', 'open', 'pw:b', 'pw:t', 'pw:e', 'pw:pt', 'pw:pe', 'sweepAt', 'day', 'gmax'}

local function num(v) if v then return tonumber(v) end return 0 end

-- The state of tenant group g (0-based) for this call: read on first use with one HMGET of the envelope,
-- the counters and the account fields of the first operation (sim, day, month, exp). Tables other than the
-- account values are made when first needed: creating tables is a good part of a tenant's cost per call.
local periodFields, expFields
local function group(g, sim, day, month, exp)
  local s = G[g]
  if s then return s end
  local b = g * NK
  s = { h = KEYS[b + 1], run = KEYS[b + 2], open = KEYS[b + 3], gk = KEYS[b + 4],
        vals = {}, dirty = {} }
  local p = periodFields(s, sim, day, month)
  local x = exp ~= '' and expFields(s, exp) or nil
  local e
  if #p == 4 and not x then
    e = redis.call('HMGET', s.h, 'tz', 'd', 'm', 'x', 'pct', 's', 'frozen', 'p', 'open', 'pw:b', 'pw:t', 'pw:e', 'pw:pt', 'pw:pe', 'sweepAt', 'day', 'gmax', p[1], p[2], p[3], p[4])
  else
    local want = {unpack(ENV)}
    for i = 1, #p do want[#want + 1] = p[i] end
    if x then want[#want + 1] = x[1]; want[#want + 1] = x[2] end
    e = redis.call('HMGET', s.h, unpack(want))
  end
  s.tz, s.d, s.m, s.x, s.pct, s.s, s.frozen, s.p = e[1], tonumber(e[2]), tonumber(e[3]), tonumber(e[4]), tonumber(e[5]), tonumber(e[6]), e[7], tonumber(e[8])
  local v = s.vals
  v['open'], v['pw:b'], v['pw:t'], v['pw:e'], v['pw:pt'], v['pw:pe'] = num(e[9]), tonumber(e[10]), num(e[11]), num(e[12]), num(e[13]), num(e[14])
  v['sweepAt'] = tonumber(e[15]) or -1
  s.day = e[16]
  -- gmax stays nil when absent (no rate key held): read directly, never through val().
  v['gmax'] = tonumber(e[17])
  for i = 1, #p do v[p[i]] = num(e[17 + i]) end
  if x then v[x[1]], v[x[2]] = num(e[18 + #p]), num(e[19 + #p]) end
  G[g] = s
  return s
end

-- Account fields not read yet, in one HMGET.
local function load(s, fields)
  local missing = {}
  for i = 1, #fields do if s.vals[fields[i]] == nil then missing[#missing + 1] = fields[i] end end
  if #missing == 0 then return end
  local v = redis.call('HMGET', s.h, unpack(missing))
  for i = 1, #missing do s.vals[missing[i]] = num(v[i]) end
end

local function val(s, f)
  if s.vals[f] == nil then load(s, {f}) end
  return s.vals[f]
end

local function set(s, f, v)
  s.vals[f] = v
  s.dirty[f] = true
end

local function incr(s, f, v)
  if v ~= 0 then set(s, f, val(s, f) + v) end
end

-- The record inside a reservation id: micros, simulation, day, month, experiment ('' for none).
local function record(id)
  local micros, sim, day, month, exp = string.match(id, '^[^|]*|(%d+)|(%d)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(micros), sim == '1', day, month, exp
end

-- Account field names, built once per call and tenant: {spent, held} of the day (or simulation month),
-- of the month, of an experiment.
periodFields = function(s, sim, day, month)
  local cache = s.fk
  if not cache then cache = {}; s.fk = cache end
  local key = day
  if sim then key = 'S' .. month end
  local c = cache[key]
  if not c then
    if sim then c = {'s:' .. month .. ':s', 's:' .. month .. ':h'}
    else c = {'d:' .. day .. ':s', 'd:' .. day .. ':h', 'm:' .. month .. ':s', 'm:' .. month .. ':h'} end
    cache[key] = c
  end
  return c
end

expFields = function(s, exp)
  local cache = s.xk
  if not cache then cache = {}; s.xk = cache end
  local c = cache[exp]
  if not c then c = {'x:' .. exp .. ':s', 'x:' .. exp .. ':h'}; cache[exp] = c end
  return c
end

-- Adds micros to the spent (which = 1) or held (which = 2) field of each account of a reservation.
local function add(s, p, x, which, micros)
  if micros == 0 then return end
  local v, d = s.vals, s.dirty
  for i = which, #p, 2 do local f = p[i]; v[f] = v[f] + micros; d[f] = true end
  if x then local f = x[which]; v[f] = v[f] + micros; d[f] = true end
end

-- Loads the account fields of a reservation (group() loads them at once for the first operation).
local function loadAccounts(s, p, x)
  if s.vals[p[1]] == nil or s.vals[p[#p]] == nil then load(s, p) end
  if x and (s.vals[x[1]] == nil or s.vals[x[2]] == nil) then load(s, x) end
end

-- When something is due: open reservations past expiry return their amounts and become late ones;
-- late and done ids past retention are forgotten.
local function sweep(s, now, retain)
  if now < val(s, 'sweepAt') then return end
  local due = redis.call('ZRANGEBYSCORE', s.open, 0, now, 'LIMIT', 0, 512)
  if #due > 0 then
    local late = {}
    for i = 1, #due do
      local micros, sim, day, month, exp = record(due[i])
      local p, x = periodFields(s, sim, day, month), exp ~= '' and expFields(s, exp) or nil
      loadAccounts(s, p, x)
      add(s, p, x, 2, -micros)
      late[#late + 1] = now + retain - B
      late[#late + 1] = due[i]
    end
    incr(s, 'open', -#due)
    redis.call('ZADD', s.open, 'XX', unpack(late))
  end
  -- Forget expired ids past retention, ids closed while open retainMs after their TTL would have ended,
  -- and ids closed late at their forgetAt (file comment).
  redis.call('ZREMRANGEBYSCORE', s.open, -B, now - B)
  redis.call('ZREMRANGEBYSCORE', s.open, -2 * B, now - retain - 2 * B)
  redis.call('ZREMRANGEBYSCORE', s.open, '-inf', now - 3 * B)
  -- Every rate key idle at the caller's now: drop them all (file comment).
  local gmax = s.vals['gmax']
  if gmax and gmax <= now then
    redis.call('DEL', s.gk)
    redis.call('HDEL', s.h, 'gmax')
    s.vals['gmax'], s.dirty['gmax'], s.tat, s.tatDirty = nil, nil, nil, nil
  end
  local nextAt = now + 1000
  if #due == 512 then nextAt = now else
    local head = redis.call('ZRANGEBYSCORE', s.open, 0, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    if head[2] and tonumber(head[2]) < nextAt then nextAt = tonumber(head[2]) end
  end
  set(s, 'sweepAt', nextAt)
end

-- On the first operation of a new calendar day: forget the spent / held fields of finished days that hold
-- nothing (a reservation still open keeps its day until it closes), so a tenant's hash does not grow by
-- two fields a day forever. Month fields (twelve a year) are kept.
local function newDay(s, day)
  if s.day == day then return end
  s.day = day
  s.vals['day'] = day
  s.dirty['day'] = true
  local keys = redis.call('HKEYS', s.h)
  local days = {}
  for i = 1, #keys do
    local d = string.match(keys[i], '^d:(.*):[sh]$')
    if d and d ~= day then days[d] = true end
  end
  for d, _ in pairs(days) do
    local sf, hf = 'd:' .. d .. ':s', 'd:' .. d .. ':h'
    if s.vals[sf] == nil and s.vals[hf] == nil and num(redis.call('HGET', s.h, hf)) == 0 then
      redis.call('HDEL', s.h, sf, hf)
    end
  end
end

-- The prod-traffic window moved to now's bucket.
local function roll(s, now, window)
  local b = math.floor(now / window)
  local cb = s.vals['pw:b']
  if cb ~= b then
    if cb ~= nil and b == cb + 1 then
      set(s, 'pw:pt', s.vals['pw:t']); set(s, 'pw:pe', s.vals['pw:e'])
    else
      set(s, 'pw:pt', 0); set(s, 'pw:pe', 0)
    end
    set(s, 'pw:t', 0); set(s, 'pw:e', 0); set(s, 'pw:b', b)
  end
end

-- Sliding-window estimate: the previous bucket weighted by the part of it still inside the window.
local function estimate(s, now, window)
  local v = s.vals
  local weight = 1 - (now - v['pw:b'] * window) / window
  return v['pw:pt'] * weight + v['pw:t'], v['pw:pe'] * weight + v['pw:e']
end

local function running(s, exp)
  if not s.running then s.running = {} end
  local r = s.running[exp]
  if r == nil then r = redis.call('SISMEMBER', s.run, exp) == 1; s.running[exp] = r end
  return r
end

local function tatOf(s, key, now)
  if not s.tat then s.tat, s.tatDirty = {}, {} end
  local t = s.tat[key]
  if t == nil then t = tonumber(redis.call('HGET', s.gk, key) or now); s.tat[key] = t end
  return t
end

-- Takes a rate key's units: its new TAT, and gmax kept at the latest TAT of the tenant.
local function setTat(s, key, tat)
  s.tat[key] = tat
  s.tatDirty[key] = true
  local gmax = s.vals['gmax']
  if gmax == nil or tat > gmax then set(s, 'gmax', tat) end
end

-- Writes every tenant's changes back: one HSET of the changed fields, and one of the changed TATs.
local function flush()
  for _, s in pairs(G) do
    local kv = {}
    for f, _ in pairs(s.dirty) do
      kv[#kv + 1] = f
      local v = s.vals[f]
      if type(v) == 'number' then v = string.format('%.17g', v) end
      kv[#kv + 1] = v
    end
    if #kv > 0 then redis.call('HSET', s.h, unpack(kv)) end
    local tats = {}
    for key, _ in pairs(s.tatDirty or {}) do
      tats[#tats + 1] = key
      tats[#tats + 1] = string.format('%.17g', s.tat[key])
    end
    if #tats > 0 then redis.call('HSET', s.gk, unpack(tats)) end
  end
end

`;

/**
 * The batch script. ARGV[1] is a JSON array of operations (decoded by the cjson library Redis embeds),
 * each an array starting with its kind and the 0-based tenant group whose keys it uses; returns a JSON
 * array with one result per operation (money as decimal strings: cjson encodes numbers with 14 digits):
 *   reserve  ["R", g, id, micros, now, expiresAt, tz, day, month, sim 0|1, experiment, prod 0|1, window, retain,
 *             dayEnd, monthEnd, {key, interval, tolerance, cost}…] -> 1 | "<reason>" | "<reason>:<retryAfterMs>"
 *   fenced reserve  ["F", g, k, "<token>", then the reserve's fields from id on]: KEYS[k] and KEYS[k + 1] are
 *            the fence and lease keys; the guard refusing -> "NOT_OWNER" (nothing of the tenant read or
 *            changed), else the reserve as above
 *   settle   ["S", g, id, micros, now, retain, fallback 0|1]   (fallback: charge even if the store never saw the id)
 *            -> "S:<reserved>:<late 0|1>:<frozen 0|1>" | "D" | "U"   (frozen: the tenant was frozen; a settle never freezes)
 *   release  ["L", g, id, now, retain] -> "L:<reserved>" | "D" | "U"
 *   restore  ["T", g, id, "C" charge | "O" open, micros, now, retain, sim 0|1, day, month, experiment, at, expiresAt]
 *            -> "C" charged | "S" settled | "D" duplicate | "K" skipped | "H" held | "N" no envelope (store.ts, RestoreOp)
 */
export const BATCH_LUA = FENCE_GUARD_LUA + COMMON + `
-- Settles (kind 'S') or releases ('L') reservation id of group g: one step reads the old state and closes
-- the reservation (file comment). fallback: charge it even if the store never saw it.
local function close(kind, g, id, micros, now, retain, fallback)
  local r, sim, day, month, exp = record(id)
  if not r then return 'U' end
  local s = G[g] or group(g, sim, day, month, exp)
  local p, x = periodFields(s, sim, day, month), exp ~= '' and expFields(s, exp) or nil
  loadAccounts(s, p, x)
  local state
  local moved = redis.call('ZADD', s.open, 'XX', 'INCR', -2 * B, id)
  local old = moved and tonumber(moved) + 2 * B
  if old and old >= 0 then
    state = 0
    add(s, p, x, 2, -r)
    set(s, 'open', s.vals['open'] - 1)
  elseif old and old >= -B then
    state = 1
    -- Closed late: remembered retainMs after this close, not only after its expiry (file comment).
    if old + B < now + retain then redis.call('ZADD', s.open, 'XX', now + retain - 3 * B, id) end
  elseif old then
    redis.call('ZADD', s.open, 'XX', old, id)
    return 'D'
  elseif fallback then
    state = 0
    redis.call('ZADD', s.open, now - 2 * B, id)
  else
    return 'U'
  end
  -- Releasing an expired reservation only closes it: its amount has already returned.
  if kind == 'L' then return 'L:' .. string.format('%d', r) end
  add(s, p, x, 1, micros)
  local frozen = 0
  if s.frozen then frozen = 1 end
  return 'S:' .. string.format('%d', r) .. ':' .. state .. ':' .. frozen
end

-- Applies one record of a log (store.ts, RestoreOp): never a denial.
local function restore(g, id, what, micros, now, retain, sim, day, month, exp, at, expiresAt)
  local s = G[g] or group(g, sim, day, month, exp)
  if not s.tz then return 'N' end
  sweep(s, now, retain)
  local known = redis.call('ZSCORE', s.open, id)
  if what == 'O' then
    if known then return 'D' end
    -- The sweep finds a reservation's accounts in its id: one without its record cannot be held here.
    if not record(id) then return 'K' end
  elseif known then
    -- Open or expired: settled now; closed: a duplicate (an id without its record is only ever closed).
    local res = close('S', g, id, micros, now, retain, false)
    if res == 'U' then return 'D' end
    return string.sub(res, 1, 1)
  elseif at <= now - retain then
    -- Older than this store's memory of closed ids: it may have charged it and forgotten it.
    return 'K'
  end
  local p, x = periodFields(s, sim, day, month), exp ~= '' and expFields(s, exp) or nil
  loadAccounts(s, p, x)
  if what == 'O' then
    add(s, p, x, 2, micros)
    set(s, 'open', s.vals['open'] + 1)
    redis.call('ZADD', s.open, expiresAt, id)
    if expiresAt < s.vals['sweepAt'] then set(s, 'sweepAt', expiresAt) end
    return 'H'
  end
  add(s, p, x, 1, micros)
  redis.call('ZADD', s.open, now - 2 * B, id)
  return 'C'
end

local ops = cjson.decode(ARGV[1])
local out = {}
for k = 1, #ops do
  local op = ops[k]
  local kind, g = op[1], op[2]
  local result
  if kind == 'F' then
    -- The fence first: a refused op does not even load its tenant.
    if tenantry_fence(KEYS[op[3]], KEYS[op[3] + 1], op[4]) then
      result = 'NOT_OWNER'
    else
      table.remove(op, 3)
      table.remove(op, 3)
      kind = 'R'
    end
  end
  if result ~= nil then
    -- Refused by the fence.
  elseif kind == 'R' then
    local id, micros, now, expiresAt, tz, day, month = op[3], op[4], op[5], op[6], op[7], op[8], op[9]
    local sim, exp, prod, window, retain, dayEnd, monthEnd = op[10] == 1, op[11], op[12] == 1, op[13], op[14], op[15], op[16]
    local n = (#op - 16) / 4
    local gi = 17
    local s = G[g] or group(g, sim, day, month, exp)
    local deny, retry = nil, nil
    if not s.tz then deny = 'UNKNOWN_TENANT'
    elseif s.tz ~= tz then deny = 'STALE_ZONE'
    else
      sweep(s, now, retain)
      newDay(s, day)
      if s.frozen then deny = 'FROZEN'
      elseif exp ~= '' and not running(s, exp) then deny = 'EXPERIMENT_NOT_RUNNING'
      end
    end
    if not deny and prod then
      roll(s, now, window)
      if exp ~= '' then
        local total, exper = estimate(s, now, window)
        if (exper + 1) * 100 > s.pct * (total + 1) then deny = 'PROD_TRAFFIC' end
      end
    end
    local p, x
    if not deny then
      p = periodFields(s, sim, day, month)
      if exp ~= '' then x = expFields(s, exp) end
      loadAccounts(s, p, x)
      local v = s.vals
      if sim then
        if v[p[1]] + v[p[2]] + micros > s.s then deny = 'SIMULATION_CAP'; retry = monthEnd - now end
      else
        if v[p[1]] + v[p[2]] + micros > s.d then deny = 'DAILY_CAP'; retry = dayEnd - now
        elseif v[p[3]] + v[p[4]] + micros > s.m then deny = 'MONTHLY_CAP'; retry = monthEnd - now end
      end
      if not deny and x and v[x[1]] + v[x[2]] + micros > s.x then deny = 'EXPERIMENT_CAP' end
    end
    -- Rate limits last: a reservation refused for any reason takes no rate units.
    local tats
    if not deny and n > 0 then
      tats = {}
      local worst = 0
      for j = 0, n - 1 do
        local key, interval, tolerance, cost = op[gi + 4 * j], op[gi + 4 * j + 1], op[gi + 4 * j + 2], op[gi + 4 * j + 3]
        local tat = tatOf(s, key, now)
        if tat < now then tat = now end
        local allowAt = tat + cost * interval - tolerance
        tats[j + 1] = tat + cost * interval
        if now < allowAt then
          local wait
          if cost * interval <= tolerance then wait = allowAt - now else wait = math.huge end
          if wait > worst then worst = wait end
        end
      end
      if worst > 0 then
        deny = 'RATE_LIMIT'
        if worst ~= math.huge then retry = math.ceil(worst) end
      end
    end
    if deny then
      if retry then result = deny .. ':' .. string.format('%d', retry) else result = deny end
    else
      for j = 0, n - 1 do setTat(s, op[gi + 4 * j], tats[j + 1]) end
      if prod then
        set(s, 'pw:t', s.vals['pw:t'] + 1)
        if exp ~= '' then set(s, 'pw:e', s.vals['pw:e'] + 1) end
      end
      add(s, p, x, 2, micros)
      set(s, 'open', s.vals['open'] + 1)
      redis.call('ZADD', s.open, expiresAt, id)
      if expiresAt < s.vals['sweepAt'] then set(s, 'sweepAt', expiresAt) end
      result = 1
    end
  elseif kind == 'S' then
    result = close('S', g, op[3], op[4], op[5], op[6], op[7] == 1)
  elseif kind == 'L' then
    result = close('L', g, op[3], 0, op[4], op[5], false)
  elseif kind == 'T' then
    result = restore(g, op[3], op[4], op[5], op[6], op[7], op[8] == 1, op[9], op[10], op[11], op[12], op[13])
  else
    return redis.error_reply('tenantry: unknown operation ' .. tostring(kind))
  end
  out[k] = result
end
flush()
return cjson.encode(out)
`;

const START_EXPERIMENT = `
local s = group(0, false, '', '', '')
if not s.tz then return 'UNKNOWN_TENANT' end
if redis.call('SISMEMBER', s.run, ARGV[1]) == 1 then return 'R' end
if s.frozen then return 'FROZEN' end
if redis.call('SCARD', s.run) >= s.p then return 'MAX_PARALLEL' end
redis.call('SADD', s.run, ARGV[1])
return 'S'
`;

/** KEYS: one tenant; ARGV: experiment -> 'S' started | 'R' already running | reason. */
export const START_EXPERIMENT_LUA = COMMON + START_EXPERIMENT;

/**
 * KEYS: one tenant, then the fence and lease keys; ARGV: experiment, token (decimal) -> 'NOT_OWNER' when the
 * guard refuses (nothing changed), else as START_EXPERIMENT_LUA.
 */
export const FENCED_START_EXPERIMENT_LUA = FENCE_GUARD_LUA + COMMON + `
if tenantry_fence(KEYS[NK + 1], KEYS[NK + 2], ARGV[2]) then return 'NOT_OWNER' end
` + START_EXPERIMENT;

/** KEYS: one tenant; ARGV: reason ('' to unfreeze) -> 1, or 0 for a tenant without an envelope. */
export const SET_FROZEN_LUA = COMMON + `
local s = group(0, false, '', '', '')
if not s.tz then return 0 end
if ARGV[1] == '' then redis.call('HDEL', s.h, 'frozen') else redis.call('HSET', s.h, 'frozen', ARGV[1]) end
return 1
`;

/**
 * KEYS: one tenant; ARGV: now day month window retain -> false for an unknown tenant, else
 * {frozen, day s h, month s h, sim s h, {experiment, running, s, h}…, prod total (string), prod exp (string), open}.
 */
export const USAGE_LUA = COMMON + `
local now, day, month, window, retain = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local s = group(0, false, '', '', '')
if not s.tz then return false end
sweep(s, now, retain)
roll(s, now, window)
local total, exper = estimate(s, now, window)
local names = {}
for _, x in ipairs(redis.call('SMEMBERS', s.run)) do names[x] = 1 end
for _, f in ipairs(redis.call('HKEYS', s.h)) do
  local x = string.match(f, '^x:(.*):s$')
  if x then names[x] = 1 end
end
local exps = {}
for x, _ in pairs(names) do
  local r = 0
  if running(s, x) then r = 1 end
  exps[#exps + 1] = {x, r, val(s, 'x:' .. x .. ':s'), val(s, 'x:' .. x .. ':h')}
end
local result = {s.frozen or false, val(s, 'd:' .. day .. ':s'), val(s, 'd:' .. day .. ':h'), val(s, 'm:' .. month .. ':s'),
  val(s, 'm:' .. month .. ':h'), val(s, 's:' .. month .. ':s'), val(s, 's:' .. month .. ':h'), exps,
  string.format('%.17g', total), string.format('%.17g', exper), val(s, 'open')}
flush()
return result
`;

/**
 * KEYS: one tenant; ARGV: kind (budget | spend | remaining | reset), key ('' for the tenant total), micros ->
 * false for a tenant without an envelope, else {ok 0|1, remaining micros (string)}. The accounting of
 * epsilon.ts (EpsilonAccounts): fields eps:tb / eps:ts (the tenant's budget and spent) and eps:kb:<key> /
 * eps:ks:<key> in the tenant's hash.
 */
export const EPSILON_LUA = `
local h = KEYS[1]
local kind, key, micros = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HEXISTS', h, 'tz') == 0 then return false end
local function left()
  local v = redis.call('HMGET', h, 'eps:tb', 'eps:ts', 'eps:kb:' .. key, 'eps:ks:' .. key)
  local l = nil
  if v[1] then l = math.max(0, tonumber(v[1]) - tonumber(v[2] or '0')) end
  if key ~= '' and v[3] then
    local k = math.max(0, tonumber(v[3]) - tonumber(v[4] or '0'))
    if l == nil or k < l then l = k end
  end
  return l
end
local fmt = function(n) return string.format('%d', n) end
if kind == 'budget' then
  if key == '' then redis.call('HSET', h, 'eps:tb', fmt(micros)) else redis.call('HSET', h, 'eps:kb:' .. key, fmt(micros)) end
elseif kind == 'reset' then
  if key == '' then
    redis.call('HSET', h, 'eps:ts', '0')
    for _, f in ipairs(redis.call('HKEYS', h)) do
      if string.sub(f, 1, 7) == 'eps:ks:' then redis.call('HSET', h, f, '0') end
    end
  else
    local spent = tonumber(redis.call('HGET', h, 'eps:ks:' .. key) or '0')
    if spent > 0 then
      redis.call('HINCRBY', h, 'eps:ts', -spent)
      redis.call('HSET', h, 'eps:ks:' .. key, '0')
    end
  end
elseif kind == 'spend' then
  local l = left()
  if l == nil or micros > l then return {0, fmt(l or 0)} end
  if micros > 0 then
    redis.call('HINCRBY', h, 'eps:ts', micros)
    if key ~= '' then redis.call('HINCRBY', h, 'eps:ks:' .. key, micros) end
  end
  return {1, fmt(l - micros)}
end
return {1, fmt(left() or 0)}
`;
