// The Lua scripts of redisStore (redis-store.ts). Redis runs a script to the end before any other command
// (https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/: "atomic execution"), so
// one script that checks every cap and then holds the amount is the check-and-charge in one step that no
// other node can interleave with. The semantics are those of store.ts, the same as memory-store.ts; the
// arithmetic is the same too (integers for money, doubles for GCRA and the prod-traffic estimate, in the
// same order of operations), so both stores give the same answers.
//
// One script call carries the operations of many tenants (a "batch"), applied one after another in order.
// Within a call each tenant's numbers are read once (HMGET), kept in Lua tables while the operations run,
// and written back once at the end (HINCRBY of the net change per field), so a reservation costs two
// commands of its own (its record and its expiry) and a settlement three; the rest is shared by the batch.
// Since nothing else runs during the script, this is the same as applying each operation to Redis at once.
//
// Every key a script touches is passed in KEYS, 7 per tenant, each carrying the tenant's hash tag:
//   1 env  hash  tz d m x p pct s [frozen]            envelope in micros; the frozen reason when frozen
//   2 acc  hash  d:<day>:s|h m:<month>:s|h s:<month>:s|h x:<experiment>:s|h open
//                                                      spent / held micros per period and experiment;
//                                                      open = reservations not yet settled, released or expired
//   3 run  set   running experiments
//   4 res  hash  id -> "micros|sim|day|month|experiment" (open), "E" .. record (expired: a late settle still
//                charges it), or "C" (settled or released: a repeat is a duplicate)
//   5 exp  zset  id by the time it needs attention: expiresAt while open, then when it is forgotten
//   6 pw   hash  b t e pt pe                           prod-traffic buckets (index, counts, previous counts)
//   7 g    hash  key -> theoretical arrival time        GCRA state (expires when every key is idle)
// Scripts never read the clock: `now` comes from the caller, so an injected clock works across nodes.

/** Keys per tenant, in the order above. */
export const KEYS_PER_TENANT = 7;

/** Shared Lua: per-tenant state cached for the call, sweeping, the prod-traffic window, write-back. */
const COMMON = `
local NK = ${KEYS_PER_TENANT}
local G = {}

local function num(v) if v then return tonumber(v) end return 0 end

-- The state of tenant group g (0-based) for this call, read on first use.
local function group(g)
  local s = G[g]
  if s then return s end
  local b = g * NK
  s = { env = KEYS[b + 1], acc = KEYS[b + 2], run = KEYS[b + 3], res = KEYS[b + 4], exp = KEYS[b + 5], pwk = KEYS[b + 6], gk = KEYS[b + 7],
        vals = {}, dirty = {}, swept = nil, running = {}, pw = nil, tat = {}, tatDirty = {} }
  local e = redis.call('HMGET', s.env, 'tz', 'd', 'm', 'x', 'pct', 's', 'frozen', 'p')
  s.tz, s.d, s.m, s.x, s.pct, s.s, s.frozen, s.p = e[1], tonumber(e[2]), tonumber(e[3]), tonumber(e[4]), tonumber(e[5]), tonumber(e[6]), e[7], tonumber(e[8])
  G[g] = s
  return s
end

-- Account fields: loaded in one HMGET when first read; changes kept as deltas until flush.
local function load(s, fields)
  local missing = {}
  for i = 1, #fields do if s.vals[fields[i]] == nil then missing[#missing + 1] = fields[i] end end
  if #missing == 0 then return end
  local v = redis.call('HMGET', s.acc, unpack(missing))
  for i = 1, #missing do s.vals[missing[i]] = num(v[i]) + (s.dirty[missing[i]] or 0) end
end

local function val(s, f)
  if s.vals[f] == nil then load(s, {f}) end
  return s.vals[f]
end

local function incr(s, f, v)
  if v == 0 then return end
  s.dirty[f] = (s.dirty[f] or 0) + v
  if s.vals[f] ~= nil then s.vals[f] = s.vals[f] + v end
end

local function parse(rec)
  local micros, sim, day, month, exp = string.match(rec, '^(%d+)|(%d)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(micros), sim == '1', day, month, exp
end

-- The account fields (without :s / :h) a reservation counts against.
local function fields(sim, day, month, exp)
  local f = {}
  if sim then f[1] = 's:' .. month else f[1] = 'd:' .. day; f[2] = 'm:' .. month end
  if exp ~= '' then f[#f + 1] = 'x:' .. exp end
  return f
end

local function add(s, f, suffix, micros)
  for i = 1, #f do incr(s, f[i] .. suffix, micros) end
end

-- Expires open reservations due at now (their amounts return) and forgets closed ones past retention.
local function sweep(s, now, retain)
  if s.swept ~= nil and now <= s.swept then return end
  s.swept = now
  local due = redis.call('ZRANGEBYSCORE', s.exp, '-inf', now, 'LIMIT', 0, 512)
  for i = 1, #due do
    local id = due[i]
    local rec = redis.call('HGET', s.res, id)
    local first = rec and string.sub(rec, 1, 1)
    if not rec or first == 'C' or first == 'E' then
      if rec then redis.call('HDEL', s.res, id) end
      redis.call('ZREM', s.exp, id)
    else
      local micros, sim, day, month, exp = parse(rec)
      add(s, fields(sim, day, month, exp), ':h', -micros)
      incr(s, 'open', -1)
      redis.call('HSET', s.res, id, 'E' .. rec)
      redis.call('ZADD', s.exp, now + retain, id)
    end
  end
end

-- The prod-traffic window moved to now's bucket.
local function roll(s, now, window)
  local w = s.pw
  if not w then
    local v = redis.call('HMGET', s.pwk, 'b', 't', 'e', 'pt', 'pe')
    w = { b = tonumber(v[1]), t = num(v[2]), e = num(v[3]), pt = num(v[4]), pe = num(v[5]), dirty = false }
    s.pw = w
  end
  local b = math.floor(now / window)
  if w.b ~= b then
    if w.b ~= nil and b == w.b + 1 then w.pt, w.pe = w.t, w.e else w.pt, w.pe = 0, 0 end
    w.t, w.e, w.b, w.dirty = 0, 0, b, true
  end
  return w
end

-- Sliding-window estimate: the previous bucket weighted by the part of it still inside the window.
local function estimate(w, now, window)
  local weight = 1 - (now - w.b * window) / window
  return w.pt * weight + w.t, w.pe * weight + w.e
end

local function running(s, exp)
  local r = s.running[exp]
  if r == nil then r = redis.call('SISMEMBER', s.run, exp) == 1; s.running[exp] = r end
  return r
end

local function tatOf(s, key, now)
  local t = s.tat[key]
  if t == nil then t = tonumber(redis.call('HGET', s.gk, key) or now); s.tat[key] = t end
  return t
end

-- Writes every tenant's changes back.
local function flush()
  for _, s in pairs(G) do
    for f, d in pairs(s.dirty) do
      if d ~= 0 then redis.call('HINCRBY', s.acc, f, d) end
    end
    local w = s.pw
    if w and w.dirty then redis.call('HSET', s.pwk, 'b', w.b, 't', w.t, 'e', w.e, 'pt', w.pt, 'pe', w.pe) end
    local longest = nil
    for key, _ in pairs(s.tatDirty) do
      redis.call('HSET', s.gk, key, string.format('%.17g', s.tat[key]))
      local left = s.tat[key] - s.tatDirty[key]
      if longest == nil or left > longest then longest = left end
    end
    if longest ~= nil then
      local ttl = redis.call('PTTL', s.gk)
      if ttl < math.ceil(longest) then redis.call('PEXPIRE', s.gk, math.ceil(longest) + 1) end
    end
  end
end
`;

/**
 * The batch script. ARGV is a list of operations, each starting with its kind and the 0-based tenant
 * group whose 7 keys it uses; returns one result per operation. Encodings (all strings):
 *   reserve  R g id micros now expiresAt tz day month sim exp prod window retain dayEnd monthEnd n {key interval tolerance cost}×n
 *            -> {1} | {0, reason, retryAfterMs or -1}
 *   settle   S g id micros now retain freeze fb [fbMicros fbSim fbDay fbMonth fbExp]
 *            -> {'S', reserved, late, froze, sim, exp} | {'D'} | {'U'}
 *   release  L g id now retain -> {'L', reserved} | {'D'} | {'U'}
 */
export const BATCH_LUA = COMMON + `
local out = {}
local i = 1
while i <= #ARGV do
  local kind, s = ARGV[i], group(tonumber(ARGV[i + 1]))
  if kind == 'R' then
    local id, micros, now, expiresAt = ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
    local tz, day, month, sim, exp = ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9] == '1', ARGV[i + 10]
    local prod, window, retain = ARGV[i + 11] == '1', tonumber(ARGV[i + 12]), tonumber(ARGV[i + 13])
    local dayEnd, monthEnd, n = tonumber(ARGV[i + 14]), tonumber(ARGV[i + 15]), tonumber(ARGV[i + 16])
    local gi = i + 17
    i = gi + 4 * n
    local deny, retry = nil, -1
    if not s.tz then deny = 'UNKNOWN_TENANT'
    elseif s.tz ~= tz then deny = 'STALE_ZONE'
    else
      sweep(s, now, retain)
      if s.frozen then deny = 'FROZEN'
      elseif exp ~= '' and not running(s, exp) then deny = 'EXPERIMENT_NOT_RUNNING'
      end
    end
    local w
    if not deny and prod then
      w = roll(s, now, window)
      if exp ~= '' then
        local total, exper = estimate(w, now, window)
        if (exper + 1) * 100 > s.pct * (total + 1) then deny = 'PROD_TRAFFIC' end
      end
    end
    local f
    if not deny then
      f = fields(sim, day, month, exp)
      if sim then
        load(s, {f[1] .. ':s', f[1] .. ':h'})
        if val(s, f[1] .. ':s') + val(s, f[1] .. ':h') + micros > s.s then deny = 'SIMULATION_CAP'; retry = monthEnd - now end
      else
        load(s, {f[1] .. ':s', f[1] .. ':h', f[2] .. ':s', f[2] .. ':h'})
        if val(s, f[1] .. ':s') + val(s, f[1] .. ':h') + micros > s.d then deny = 'DAILY_CAP'; retry = dayEnd - now
        elseif val(s, f[2] .. ':s') + val(s, f[2] .. ':h') + micros > s.m then deny = 'MONTHLY_CAP'; retry = monthEnd - now end
      end
      if not deny and exp ~= '' then
        local xf = 'x:' .. exp
        load(s, {xf .. ':s', xf .. ':h'})
        if val(s, xf .. ':s') + val(s, xf .. ':h') + micros > s.x then deny = 'EXPERIMENT_CAP' end
      end
    end
    -- Rate limits last: a reservation refused for any reason takes no rate units.
    local tats = {}
    if not deny and n > 0 then
      local worst = 0
      for k = 0, n - 1 do
        local key, interval, tolerance, cost = ARGV[gi + 4 * k], tonumber(ARGV[gi + 4 * k + 1]), tonumber(ARGV[gi + 4 * k + 2]), tonumber(ARGV[gi + 4 * k + 3])
        local tat = tatOf(s, key, now)
        if tat < now then tat = now end
        local allowAt = tat + cost * interval - tolerance
        tats[k + 1] = tat + cost * interval
        if now < allowAt then
          local wait
          if cost * interval <= tolerance then wait = allowAt - now else wait = math.huge end
          if wait > worst then worst = wait end
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
      for k = 0, n - 1 do
        local key = ARGV[gi + 4 * k]
        s.tat[key] = tats[k + 1]
        s.tatDirty[key] = now
      end
      if prod then
        w.t = w.t + 1
        if exp ~= '' then w.e = w.e + 1 end
        w.dirty = true
      end
      add(s, f, ':h', micros)
      incr(s, 'open', 1)
      local sv = '0'
      if sim then sv = '1' end
      redis.call('HSET', s.res, id, micros .. '|' .. sv .. '|' .. day .. '|' .. month .. '|' .. exp)
      redis.call('ZADD', s.exp, expiresAt, id)
      out[#out + 1] = {1}
    end
  elseif kind == 'S' then
    local id, micros, now, retain, freeze = ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), ARGV[i + 6] == '1'
    local hasFallback = ARGV[i + 7] == '1'
    local fb = i + 8
    if hasFallback then i = fb + 5 else i = fb end
    local rec = redis.call('HGET', s.res, id)
    local late = 0
    local result = nil
    if rec == 'C' then result = {'D'}
    elseif rec and string.sub(rec, 1, 1) == 'E' then rec = string.sub(rec, 2); late = 1
    elseif rec then
      local r, sim, day, month, exp = parse(rec)
      add(s, fields(sim, day, month, exp), ':h', -r)
      incr(s, 'open', -1)
    elseif hasFallback then
      local sv = '0'
      if ARGV[fb + 1] == '1' then sv = '1' end
      rec = ARGV[fb] .. '|' .. sv .. '|' .. ARGV[fb + 2] .. '|' .. ARGV[fb + 3] .. '|' .. ARGV[fb + 4]
    else result = {'U'} end
    if result then
      out[#out + 1] = result
    else
      local r, sim, day, month, exp = parse(rec)
      add(s, fields(sim, day, month, exp), ':s', micros)
      redis.call('HSET', s.res, id, 'C')
      redis.call('ZADD', s.exp, now + retain, id)
      local froze = 0
      if micros > r and freeze and s.tz and not s.frozen then
        redis.call('HSET', s.env, 'frozen', 'OVERRUN')
        s.frozen = 'OVERRUN'
        froze = 1
      end
      local sv = 0
      if sim then sv = 1 end
      out[#out + 1] = {'S', r, late, froze, sv, exp}
    end
  elseif kind == 'L' then
    local id, now, retain = ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
    i = i + 5
    local rec = redis.call('HGET', s.res, id)
    if rec == 'C' then out[#out + 1] = {'D'}
    elseif not rec then out[#out + 1] = {'U'}
    else
      if string.sub(rec, 1, 1) == 'E' then
        -- Expired: its amount has already returned; releasing only closes it.
        rec = string.sub(rec, 2)
      else
        local r, sim, day, month, exp = parse(rec)
        add(s, fields(sim, day, month, exp), ':h', -r)
        incr(s, 'open', -1)
        redis.call('ZADD', s.exp, now + retain, id)
      end
      redis.call('HSET', s.res, id, 'C')
      out[#out + 1] = {'L', (parse(rec))}
    end
  else
    return redis.error_reply('tenantry: unknown operation ' .. tostring(kind))
  end
end
flush()
return out
`;

/** KEYS: one tenant; ARGV: experiment -> 'S' started | 'R' already running | reason. */
export const START_EXPERIMENT_LUA = COMMON + `
local s = group(0)
if not s.tz then return 'UNKNOWN_TENANT' end
if redis.call('SISMEMBER', s.run, ARGV[1]) == 1 then return 'R' end
if s.frozen then return 'FROZEN' end
if redis.call('SCARD', s.run) >= s.p then return 'MAX_PARALLEL' end
redis.call('SADD', s.run, ARGV[1])
return 'S'
`;

/** KEYS: one tenant; ARGV: reason ('' to unfreeze) -> 1, or 0 for a tenant without an envelope. */
export const SET_FROZEN_LUA = COMMON + `
local s = group(0)
if not s.tz then return 0 end
if ARGV[1] == '' then redis.call('HDEL', s.env, 'frozen') else redis.call('HSET', s.env, 'frozen', ARGV[1]) end
return 1
`;

/**
 * KEYS: one tenant; ARGV: now day month window retain -> false for an unknown tenant, else
 * {frozen, day s h, month s h, sim s h, {experiment, running, s, h}…, prod total (string), prod exp (string), open}.
 */
export const USAGE_LUA = COMMON + `
local now, day, month, window, retain = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local s = group(0)
if not s.tz then return false end
sweep(s, now, retain)
local w = roll(s, now, window)
local total, exper = estimate(w, now, window)
local names = {}
for _, x in ipairs(redis.call('SMEMBERS', s.run)) do names[x] = 1 end
for _, f in ipairs(redis.call('HKEYS', s.acc)) do
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
