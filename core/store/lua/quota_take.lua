-- Take up to ARGV[1] opportunities from a user's daily and hourly caps, atomically.
-- A cap of 0 means unlimited. Grants what both caps still allow (possibly 0).
-- KEYS[1] day counter, KEYS[2] hour counter, KEYS[3] session hash
-- ARGV[1] wanted, ARGV[2] daily cap, ARGV[3] hourly cap, ARGV[4] day ttl, ARGV[5] hour ttl
-- Returns {granted, used today, used this hour}
local wanted = tonumber(ARGV[1])
local day_cap, hour_cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local day_used = tonumber(redis.call('GET', KEYS[1]) or '0')
local hour_used = tonumber(redis.call('GET', KEYS[2]) or '0')
local granted = wanted
if day_cap > 0 then granted = math.min(granted, day_cap - day_used) end
if hour_cap > 0 then granted = math.min(granted, hour_cap - hour_used) end
if granted <= 0 then
  return {0, day_used, hour_used}
end
day_used = redis.call('INCRBY', KEYS[1], granted)
hour_used = redis.call('INCRBY', KEYS[2], granted)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'opps', granted)
end
return {granted, day_used, hour_used}
