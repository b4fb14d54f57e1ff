-- Take up to ARGV[1] opportunities from a user's daily and hourly caps, atomically.
-- A cap of 0 means unlimited. Grants what both caps still allow (possibly 0).
-- KEYS[1] day counter, KEYS[2] hour counter, KEYS[3] session hash,
-- KEYS[4] (optional) the user's recently charged views: zset of opportunity id -> charged at
-- ARGV[1] wanted, ARGV[2] daily cap, ARGV[3] hourly cap, ARGV[4] day ttl, ARGV[5] hour ttl,
-- with KEYS[4]: ARGV[6] now, ARGV[7] repeat window (s), ARGV[8..] the ids to show, best first
-- (ARGV[1] is then ignored: only ids not charged within the window are wanted).
-- Returns {granted, used today, used this hour}, and with KEYS[4] the ids shown, in order:
-- each as (id, '1' if it was charged within the window, so free, else '0'): every such id,
-- and new ids as far as the caps allow.
local day_cap, hour_cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local day_used = tonumber(redis.call('GET', KEYS[1]) or '0')
local hour_used = tonumber(redis.call('GET', KEYS[2]) or '0')
local views = #KEYS >= 4
local now, window, wanted = 0, 0, tonumber(ARGV[1])
local repeat_view = {}
if views then
  now, window = tonumber(ARGV[6]), tonumber(ARGV[7])
  -- A charge older than the window is forgotten: seeing it again costs again.
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
  wanted = 0
  for i = 8, #ARGV do
    if redis.call('ZSCORE', KEYS[4], ARGV[i]) then
      repeat_view[i] = true
    else
      wanted = wanted + 1
    end
  end
end
local granted = wanted
if day_cap > 0 then granted = math.min(granted, day_cap - day_used) end
if hour_cap > 0 then granted = math.min(granted, hour_cap - hour_used) end
if granted < 0 then granted = 0 end
if granted > 0 then
  day_used = redis.call('INCRBY', KEYS[1], granted)
  hour_used = redis.call('INCRBY', KEYS[2], granted)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('HINCRBY', KEYS[3], 'opps', granted)
  end
end
local out = {granted, day_used, hour_used}
if views then
  local left = granted
  for i = 8, #ARGV do
    if repeat_view[i] then
      table.insert(out, ARGV[i])
      table.insert(out, '1')
    elseif left > 0 then
      left = left - 1
      redis.call('ZADD', KEYS[4], now, ARGV[i])
      table.insert(out, ARGV[i])
      table.insert(out, '0')
    end
  end
  if granted > 0 then
    redis.call('EXPIRE', KEYS[4], math.ceil(window))
  end
end
return out
