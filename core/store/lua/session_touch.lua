-- Record activity of an active session: expiry becomes max(expiry, activity + ttl).
-- Taking the max makes concurrent and out-of-order touches lose no extension.
-- KEYS[1] session hash, KEYS[2] expiry index
-- ARGV[1] user id, ARGV[2] activity time, ARGV[3] ttl seconds, ARGV[4] commands to add,
-- ARGV[5] session id the activity belongs to
-- Returns the new expiry as a string, or false when the session is no longer active.
local s = redis.call('HMGET', KEYS[1], 'state', 'expires', 'last', 'id')
local at = tonumber(ARGV[2])
if s[1] ~= 'active' or s[4] ~= ARGV[5] or tonumber(s[2]) <= at then
  return false
end
local expires = math.max(tonumber(s[2]), at + tonumber(ARGV[3]))
local last = math.max(tonumber(s[3]), at)
redis.call('HSET', KEYS[1], 'expires', tostring(expires), 'last', tostring(last))
if tonumber(ARGV[4]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'commands', ARGV[4])
end
redis.call('ZADD', KEYS[2], expires, ARGV[1])
return tostring(expires)
