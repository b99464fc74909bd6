// The Lua scripts of redisStore (redis-store.ts). Redis runs a script to the end before any other command
// (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/: "atomic execution"), so
// one script that checks every cap and then holds the amount is the check-and-charge in one step that no
// other node can interleave with. The semantics are those of store.ts, the same as memory-store.ts; the
// arithmetic is the same too (integers for money, doubles for GCRA and the prod-traffic estimate, in the
// same order of operations), so both stores give the same answers.
//
// Every key a script touches is passed in KEYS and carries the tenant's hash tag, so a tenant's keys live
// in one cluster slot. The keys of a tenant, in KEYS order:
//   1 env    hash  tz d m x p pct s [frozen]      envelope in micros; frozen reason when frozen
//   2 acc    hash  d:<day>:s|h m:<month>:s|h s:<month>:s|h x:<experiment>:s|h  spent / held micros
//   3 run    set   running experiments
//   4 res    hash  id -> "micros|sim|day|month|experiment"   open reservations
//   5 exp    zset  id by expiresAt
//   6 closed hash  id -> "C" (settled or released) or the record (expired: may still be settled late)
//   7 gc     zset  id by the time the closed entry is forgotten
//   8 pw     hash  b t e pt pe                     prod-traffic buckets (index, counts, previous counts)
//   9 g      hash  key -> theoretical arrival time  GCRA state
// Scripts never read the clock: `now` comes from the caller, so an injected clock works across nodes.

/** Shared Lua: sweeping, accounts, the prod-traffic window. */
const COMMON = `
local K_ENV, K_ACC, K_RUN, K_RES, K_EXP, K_CLOSED, K_GC, K_PW, K_G = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]

local function num(v) if v then return tonumber(v) end return 0 end

local function parse(rec)
  local micros, sim, day, month, exp = string.match(rec, '^(%d+)|(%d)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(micros), sim == '1', day, month, exp
end

-- The account fields a reservation counts against: period (day or simulation month), month, experiment.
local function fields(sim, day, month, exp)
  local f = {}
  if sim then f[1] = 's:' .. month else f[1] = 'd:' .. day; f[2] = 'm:' .. month end
  if exp ~= '' then f[#f + 1] = 'x:' .. exp end
  return f
end

local function add(f, suffix, micros)
  if micros == 0 then return end -- also keeps Lua's "-0" out of HINCRBY
  for i = 1, #f do redis.call('HINCRBY', K_ACC, f[i] .. suffix, micros) end
end

local function close(id, value, now, retain)
  redis.call('HSET', K_CLOSED, id, value)
  redis.call('ZADD', K_GC, now + retain, id)
end

local function sweep(now, retain)
  local due = redis.call('ZRANGEBYSCORE', K_EXP, '-inf', now, 'LIMIT', 0, 128)
  for i = 1, #due do
    local id = due[i]
    local rec = redis.call('HGET', K_RES, id)
    redis.call('ZREM', K_EXP, id)
    if rec then
      redis.call('HDEL', K_RES, id)
      local micros, sim, day, month, exp = parse(rec)
      add(fields(sim, day, month, exp), ':h', -micros)
      close(id, rec, now, retain)
    end
  end
  local old = redis.call('ZRANGEBYSCORE', K_GC, '-inf', now, 'LIMIT', 0, 128)
  for i = 1, #old do
    redis.call('HDEL', K_CLOSED, old[i])
    redis.call('ZREM', K_GC, old[i])
  end
end

-- Moves the prod-traffic window to now's bucket; returns bucket, counts and previous counts.
local function roll(now, window)
  local b = math.floor(now / window)
  local pw = redis.call('HMGET', K_PW, 'b', 't', 'e', 'pt', 'pe')
  local cb = tonumber(pw[1])
  local t, e, pt, pe = num(pw[2]), num(pw[3]), num(pw[4]), num(pw[5])
  if cb ~= b then
    if cb ~= nil and b == cb + 1 then pt, pe = t, e else pt, pe = 0, 0 end
    t, e = 0, 0
    redis.call('HSET', K_PW, 'b', b, 't', 0, 'e', 0, 'pt', pt, 'pe', pe)
  end
  return b, t, e, pt, pe
end

local function estimate(now, window, b, t, e, pt, pe)
  local weight = 1 - (now - b * window) / window
  return pt * weight + t, pe * weight + e
end
`;

/**
 * The batch script: ARGV is a list of operations, each applied atomically and in order; returns one
 * result per operation. Encodings (all strings):
 *   reserve  R id micros now expiresAt tz day month sim exp prod window retain dayEnd monthEnd n {key interval tolerance cost}×n
 *            -> {1} | {0, reason, retryAfterMs or -1}
 *   settle   S id micros now retain freeze fb [fbMicros fbSim fbDay fbMonth fbExp]
 *            -> {'S', reserved, late, froze, sim, exp} | {'D'} | {'U'}
 *   release  L id now retain -> {'L', reserved} | {'D'} | {'U'}
 */
export const BATCH_LUA = COMMON + `
local env = redis.call('HMGET', K_ENV, 'tz', 'd', 'm', 'x', 'pct', 's', 'frozen')
local out = {}
local i = 1
while i <= #ARGV do
  local kind = ARGV[i]
  if kind == 'R' then
    local id, micros, now, expiresAt = ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
    local tz, day, month, sim, exp = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8] == '1', ARGV[i + 9]
    local prod, window, retain = ARGV[i + 10] == '1', tonumber(ARGV[i + 11]), tonumber(ARGV[i + 12])
    local dayEnd, monthEnd, n = tonumber(ARGV[i + 13]), tonumber(ARGV[i + 14]), tonumber(ARGV[i + 15])
    local g = i + 16
    i = g + 4 * n
    local deny, retry = nil, -1
    if not env[1] then deny = 'UNKNOWN_TENANT'
    elseif env[1] ~= tz then deny = 'STALE_ZONE'
    else
      sweep(now, retain)
      env[7] = redis.call('HGET', K_ENV, 'frozen')
      if env[7] then deny = 'FROZEN'
      elseif exp ~= '' and redis.call('SISMEMBER', K_RUN, exp) == 0 then deny = 'EXPERIMENT_NOT_RUNNING'
      end
    end
    local b, t, e, pt, pe
    if not deny and prod then
      b, t, e, pt, pe = roll(now, window)
      if exp ~= '' then
        local total, exper = estimate(now, window, b, t, e, pt, pe)
        if (exper + 1) * 100 > tonumber(env[5]) * (total + 1) then deny = 'PROD_TRAFFIC' end
      end
    end
    local f
    if not deny then
      f = fields(sim, day, month, exp)
      if sim then
        local a = redis.call('HMGET', K_ACC, f[1] .. ':s', f[1] .. ':h')
        if num(a[1]) + num(a[2]) + micros > tonumber(env[6]) then deny = 'SIMULATION_CAP'; retry = monthEnd - now end
      else
        local a = redis.call('HMGET', K_ACC, f[1] .. ':s', f[1] .. ':h', f[2] .. ':s', f[2] .. ':h')
        if num(a[1]) + num(a[2]) + micros > tonumber(env[2]) then deny = 'DAILY_CAP'; retry = dayEnd - now
        elseif num(a[3]) + num(a[4]) + micros > tonumber(env[3]) then deny = 'MONTHLY_CAP'; retry = monthEnd - now end
      end
      if not deny and exp ~= '' then
        local a = redis.call('HMGET', K_ACC, 'x:' .. exp .. ':s', 'x:' .. exp .. ':h')
        if num(a[1]) + num(a[2]) + micros > tonumber(env[4]) then deny = 'EXPERIMENT_CAP' end
      end
    end
    -- Rate limits last: a reservation refused for any reason takes no rate units.
    local tats = {}
    if not deny and n > 0 then
      local worst = 0
      for k = 0, n - 1 do
        local key, interval, tolerance, cost = ARGV[g + 4 * k], tonumber(ARGV[g + 4 * k + 1]), tonumber(ARGV[g + 4 * k + 2]), tonumber(ARGV[g + 4 * k + 3])
        local tat = tonumber(redis.call('HGET', K_G, key) or now)
        if tat < now then tat = now end
        local allowAt = tat + cost * interval - tolerance
        tats[k + 1] = tat + cost * interval
        if now < allowAt then
          local w
          if cost * interval <= tolerance then w = allowAt - now else w = math.huge end
          if w > worst then worst = w end
        end
      end
      if worst > 0 then
        deny = 'RATE_LIMIT'
        if worst == math.huge then retry = -1 else retry = math.ceil(worst) end
      end
    end
    if deny then
      out[#out + 1] = {0, deny, retry}
    else
      local longest = 0
      for k = 0, n - 1 do
        redis.call('HSET', K_G, ARGV[g + 4 * k], string.format('%.17g', tats[k + 1]))
        if tats[k + 1] - now > longest then longest = tats[k + 1] - now end
      end
      if n > 0 then
        local ttl = redis.call('PTTL', K_G)
        if ttl < math.ceil(longest) then redis.call('PEXPIRE', K_G, math.ceil(longest) + 1) end
      end
      if prod then
        redis.call('HINCRBY', K_PW, 't', 1)
        if exp ~= '' then redis.call('HINCRBY', K_PW, 'e', 1) end
      end
      add(f, ':h', micros)
      local sv = '0'
      if sim then sv = '1' end
      redis.call('HSET', K_RES, id, micros .. '|' .. sv .. '|' .. day .. '|' .. month .. '|' .. exp)
      redis.call('ZADD', K_EXP, expiresAt, id)
      out[#out + 1] = {1}
    end
  elseif kind == 'S' then
    local id, micros, now, retain, freeze = ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), ARGV[i + 5] == '1'
    local hasFallback = ARGV[i + 6] == '1'
    local fb = i + 7
    if hasFallback then i = fb + 5 else i = fb end
    local rec = redis.call('HGET', K_RES, id)
    local late = 0
    local result = nil
    if rec then
      redis.call('HDEL', K_RES, id)
      redis.call('ZREM', K_EXP, id)
      local r, sim, day, month, exp = parse(rec)
      add(fields(sim, day, month, exp), ':h', -r)
    else
      local c = redis.call('HGET', K_CLOSED, id)
      if c == 'C' then result = {'D'}
      elseif c then rec = c; late = 1
      elseif hasFallback then
        local sv = '0'
        if ARGV[fb + 1] == '1' then sv = '1' end
        rec = ARGV[fb] .. '|' .. sv .. '|' .. ARGV[fb + 2] .. '|' .. ARGV[fb + 3] .. '|' .. ARGV[fb + 4]
      else result = {'U'} end
    end
    if result then
      out[#out + 1] = result
    else
      local r, sim, day, month, exp = parse(rec)
      add(fields(sim, day, month, exp), ':s', micros)
      close(id, 'C', now, retain)
      local froze = 0
      if micros > r and freeze and env[1] and not redis.call('HGET', K_ENV, 'frozen') then
        redis.call('HSET', K_ENV, 'frozen', 'OVERRUN')
        froze = 1
      end
      local sv = 0
      if sim then sv = 1 end
      out[#out + 1] = {'S', r, late, froze, sv, exp}
    end
  elseif kind == 'L' then
    local id, now, retain = ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    i = i + 4
    local rec = redis.call('HGET', K_RES, id)
    if rec then
      redis.call('HDEL', K_RES, id)
      redis.call('ZREM', K_EXP, id)
      local r, sim, day, month, exp = parse(rec)
      add(fields(sim, day, month, exp), ':h', -r)
      close(id, 'C', now, retain)
      out[#out + 1] = {'L', r}
    else
      local c = redis.call('HGET', K_CLOSED, id)
      if c == 'C' then out[#out + 1] = {'D'}
      elseif c then
        close(id, 'C', now, retain)
        out[#out + 1] = {'L', (parse(c))}
      else out[#out + 1] = {'U'} end
    end
  else
    return redis.error_reply('tenantry: unknown operation ' .. tostring(kind))
  end
end
return out
`;

/** ARGV: experiment -> 'S' started | 'R' already running | reason. */
export const START_EXPERIMENT_LUA = COMMON + `
local env = redis.call('HMGET', K_ENV, 'tz', 'p', 'frozen')
if not env[1] then return 'UNKNOWN_TENANT' end
if redis.call('SISMEMBER', K_RUN, ARGV[1]) == 1 then return 'R' end
if env[3] then return 'FROZEN' end
if redis.call('SCARD', K_RUN) >= tonumber(env[2]) then return 'MAX_PARALLEL' end
redis.call('SADD', K_RUN, ARGV[1])
return 'S'
`;

/** ARGV: reason ('' to unfreeze) -> 1, or 0 for a tenant without an envelope. */
export const SET_FROZEN_LUA = COMMON + `
if redis.call('EXISTS', K_ENV) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', K_ENV, 'frozen') else redis.call('HSET', K_ENV, 'frozen', ARGV[1]) end
return 1
`;

/**
 * ARGV: now day month window retain -> false for an unknown tenant, else
 * {env fields…, frozen, day s h, month s h, sim s h, {exp running s h}…, prod total (string), prod exp (string), open}.
 */
export const USAGE_LUA = COMMON + `
local now, day, month, window, retain = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local env = redis.call('HMGET', K_ENV, 'tz', 'd', 'm', 'x', 'p', 'pct', 's', 'frozen')
if not env[1] then return false end
sweep(now, retain)
local a = redis.call('HMGET', K_ACC, 'd:' .. day .. ':s', 'd:' .. day .. ':h', 'm:' .. month .. ':s', 'm:' .. month .. ':h', 's:' .. month .. ':s', 's:' .. month .. ':h')
local b, t, e, pt, pe = roll(now, window)
local total, exper = estimate(now, window, b, t, e, pt, pe)
local exps = {}
local seen = {}
for _, x in ipairs(redis.call('SMEMBERS', K_RUN)) do seen[x] = 1 end
for _, f in ipairs(redis.call('HKEYS', K_ACC)) do
  local x = string.match(f, '^x:(.*):s$')
  if x and not seen[x] then seen[x] = 0 end
end
for x, _ in pairs(seen) do
  local v = redis.call('HMGET', K_ACC, 'x:' .. x .. ':s', 'x:' .. x .. ':h')
  exps[#exps + 1] = {x, redis.call('SISMEMBER', K_RUN, x), num(v[1]), num(v[2])}
end
return {env[8] or false, num(a[1]), num(a[2]), num(a[3]), num(a[4]), num(a[5]), num(a[6]), exps,
  string.format('%.17g', total), string.format('%.17g', exper), redis.call('HLEN', K_RES)}
`;
