-- Start a session for a user, or resume the active one, in one atomic step.
-- KEYS[1] session hash, KEYS[2] expiry index, KEYS[3] profile hash, KEYS[4] daily stats hash
-- ARGV[1] new session id, ARGV[2] user id, ARGV[3] now, ARGV[4] ttl seconds, ARGV[5] channel,
-- ARGV[6] how long the daily stats hash is kept (seconds)
-- Returns {outcome, previous state, id, created, last, expires, onboarding, commands, opps,
--          lapsed id, lapsed created, lapsed last}
-- outcome is "resumed" or "started"; a session that is past its expiry but not yet swept is
-- reported as lapsed (previous state "expired") so that the caller records its expiry.
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'state', 'expires', 'id', 'created', 'last')
local state, expires = s[1], tonumber(s[2] or '0')

if state == 'active' and expires > now then
  local new_expires = math.max(expires, now + ttl)
  redis.call('HSET', KEYS[1], 'last', ARGV[3], 'expires', tostring(new_expires))
  redis.call('ZADD', KEYS[2], new_expires, ARGV[2])
  local r = redis.call('HMGET', KEYS[1], 'id', 'created', 'last', 'expires', 'onboarding',
                       'commands', 'opps')
  return {'resumed', 'active', r[1], r[2], r[3], r[4], r[5], r[6], r[7], '', '', ''}
end

local previous = state or 'none'
local lapsed_id, lapsed_created, lapsed_last = '', '', ''
if state == 'active' then
  previous = 'expired'
  lapsed_id, lapsed_created, lapsed_last = s[3], s[4], s[5]
  redis.call('HINCRBY', KEYS[4], 'expired', 1)
  redis.call('EXPIRE', KEYS[4], ARGV[6])
end

local onboarding = redis.call('HGET', KEYS[3], 'onboarding')
if onboarding ~= 'completed' then onboarding = 'pending' end
local new_expires = tostring(now + ttl)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'user', ARGV[2], 'state', 'active',
           'created', ARGV[3], 'last', ARGV[3], 'expires', new_expires,
           'onboarding', onboarding, 'commands', '0', 'opps', '0')
redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])
redis.call('HINCRBY', KEYS[4], 'started', 1)
redis.call('EXPIRE', KEYS[4], ARGV[6])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return {'started', previous, ARGV[1], ARGV[3], ARGV[3], new_expires, onboarding, '0', '0',
        lapsed_id, lapsed_created, lapsed_last}
