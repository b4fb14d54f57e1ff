-- End an active session: "expired" (only if it is past its expiry) or "terminated" (logout,
-- blocked bot). The hash stays readable for ARGV[4] seconds so the user can be told why.
-- KEYS[1] session hash, KEYS[2] expiry index, KEYS[3] daily stats hash
-- ARGV[1] user id, ARGV[2] now, ARGV[3] new state, ARGV[4] retention seconds, ARGV[5] channel,
-- ARGV[6] how long the daily stats hash is kept (seconds)
-- Returns {id, created, last, expires, commands, opps} of the ended session, or {} if none ended.
local s = redis.call('HMGET', KEYS[1], 'state', 'expires', 'id', 'created', 'last',
                     'commands', 'opps')
local now = tonumber(ARGV[2])
if s[1] ~= 'active' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {}
end
if ARGV[3] == 'expired' and tonumber(s[2]) > now then
  -- extended since the sweeper read the index: put the right score back
  redis.call('ZADD', KEYS[2], tonumber(s[2]), ARGV[1])
  return {}
end
redis.call('HSET', KEYS[1], 'state', ARGV[3])
if ARGV[3] == 'terminated' then
  redis.call('HSET', KEYS[1], 'last', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], math.max(1, math.floor(tonumber(ARGV[4]))))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('PUBLISH', ARGV[5], ARGV[1])
return {s[3], s[4], s[5], s[2], s[6], s[7]}
