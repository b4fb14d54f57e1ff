-- Release a batch of push messages, each all or nothing: for each, check again what can change
-- while an item waits in a queue (the session, push switched off, Do Not Disturb, the cooldown
-- and the caps, on-demand use included), then take the quota, record the push and its
-- recipients, write the outbox entry and the user's queue state as it is once this message is
-- out. Each message is decided on its own, in order (two messages of one user see each other's
-- quota); the batch is one script so that a fan-out to 100,000 users is a few hundred calls,
-- not 100,000, and Redis runs it as one step (its effects reach the AOF together).
-- A repeat of a release already done (same outgoing id) changes nothing and says 'dup', so a
-- caller that lost the reply may simply send the batch again.
-- A message with no opportunities (the "while you were away" summary) is not an alert: it takes
-- no quota, is not held by the cooldown or the caps, and does not count as the last push.
-- The opportunities a push charged count as seen (issue 15, fair quota): /opportunities shows
-- them again for free within the repeat window, as if it had listed them itself.
--
-- ARGV[1] now, [2] day counter ttl, [3] hour counter ttl, [4] last push ttl, [5] seen ttl,
--   [6] recipients ttl, [7] queue state ttl, [8] the repeat-view window in seconds (0: views not
--   recorded); then per message: opportunities in the message (n), daily cap, hourly cap
--   (0: none), cooldown seconds, the message (outbox JSON), the queue state JSON, '1' when the
--   message may pierce DND (a HIGH single for a user who allows it), the user id (for the
--   recipients sets), then its n opportunity ids
-- KEYS per message, in the same order: session hash, profile hash, quota day counter, quota hour
--   counter, last push, outbox seen mark of the outgoing id, outbox stream, the user's queue
--   state, the user's recently charged views (zset, quota_take.lua's KEYS[4]), then the
--   recipients set of each of its n opportunities
-- Returns, per message, {status, used today, used this hour, last push or '', detail} flat:
--   'ok' (detail: the outbox entry id), 'dup', 'partial' (detail: how many opportunities fit),
--   'session', 'push_off', 'dnd' (detail: DND end), 'cooldown' (detail: when it is over),
--   'daily_cap', 'hourly_cap'
local now = tonumber(ARGV[1])
local now_s = ARGV[1]
local window = tonumber(ARGV[8] or '0')
local recipients = {}  -- recipients sets touched: each gets its TTL once, after the batch
local out = {}

local function release(k, a, wanted)
  local day_cap, hour_cap = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local cooldown = tonumber(ARGV[a + 3])
  local used = redis.call('MGET', KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
  local day_used = tonumber(used[1] or '0')
  local hour_used = tonumber(used[2] or '0')
  local last = used[3] or ''

  local function answer(status, detail)
    return status, day_used, hour_used, last, detail or ''
  end

  if redis.call('EXISTS', KEYS[k + 5]) == 1 then
    return answer('dup')
  end
  local s = redis.call('HMGET', KEYS[k], 'state', 'expires')
  if s[1] ~= 'active' or tonumber(s[2] or '0') <= now then
    return answer('session')
  end
  local p = redis.call('HMGET', KEYS[k + 1], 'push', 'dnd_until')
  if p[1] == '0' then
    return answer('push_off')
  end
  local dnd = tonumber(p[2] or '')
  if dnd ~= nil and now < dnd and ARGV[a + 6] ~= '1' then
    return answer('dnd', p[2])
  end
  if wanted > 0 then
    if last ~= '' and cooldown > 0 and now - tonumber(last) < cooldown then
      return answer('cooldown', tostring(tonumber(last) + cooldown))
    end
    local fits = wanted
    if day_cap > 0 then fits = math.min(fits, day_cap - day_used) end
    if hour_cap > 0 then fits = math.min(fits, hour_cap - hour_used) end
    if fits <= 0 then
      if day_cap > 0 and day_used >= day_cap then
        return answer('daily_cap')
      end
      return answer('hourly_cap')
    end
    if fits < wanted then
      return answer('partial', tostring(fits))
    end

    day_used = redis.call('INCRBY', KEYS[k + 2], wanted)
    hour_used = redis.call('INCRBY', KEYS[k + 3], wanted)
    redis.call('EXPIRE', KEYS[k + 2], ARGV[2])
    redis.call('EXPIRE', KEYS[k + 3], ARGV[3])
    redis.call('HINCRBY', KEYS[k], 'opps', wanted)
    last = now_s
    redis.call('SET', KEYS[k + 4], last, 'EX', ARGV[4])
    if window > 0 then
      for i = 1, wanted do
        redis.call('ZADD', KEYS[k + 8], now, ARGV[a + 7 + i])
      end
      redis.call('EXPIRE', KEYS[k + 8], math.ceil(window))
    end
  end
  for i = 1, wanted do
    local set = KEYS[k + 8 + i]
    redis.call('SADD', set, ARGV[a + 7])
    recipients[set] = true
  end
  redis.call('SET', KEYS[k + 5], '1', 'EX', ARGV[5])
  local entry = redis.call('XADD', KEYS[k + 6], '*', 'm', ARGV[a + 4])
  redis.call('SET', KEYS[k + 7], ARGV[a + 5], 'EX', ARGV[7])
  return answer('ok', entry)
end

local k, a = 1, 9
while a <= #ARGV do
  local wanted = tonumber(ARGV[a])
  local status, day_used, hour_used, last, detail = release(k, a, wanted)
  out[#out + 1] = status
  out[#out + 1] = day_used
  out[#out + 1] = hour_used
  out[#out + 1] = last
  out[#out + 1] = detail
  k = k + 9 + wanted
  a = a + 8 + wanted
end
for set in pairs(recipients) do
  redis.call('EXPIRE', set, ARGV[6])
end
return out
