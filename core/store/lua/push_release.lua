-- Release one push message, all or nothing: check again what can change while an item waits in
-- a queue (the session, push switched off, Do Not Disturb, the cooldown and the caps, on-demand
-- use included), then take the quota, record the push and its recipients, write the outbox
-- entry and the user's queue state as it is once this message is out.
-- A repeat of a release already done (same outgoing id) changes nothing and says 'dup', so a
-- caller that lost the reply may simply try again.
-- A message with no opportunities (the "while you were away" summary) is not an alert: it takes
-- no quota, is not held by the cooldown or the caps, and does not count as the last push.
--
-- KEYS[1] session hash, [2] profile hash, [3] quota day counter, [4] quota hour counter,
--   [5] last push, [6] outbox seen mark of the outgoing id, [7] outbox stream,
--   [8] the user's queue state, [9..] the recipients set of each opportunity in the message
-- ARGV[1] now, [2] opportunities in the message, [3] daily cap, [4] hourly cap (0: none),
--   [5] cooldown seconds, [6] day counter ttl, [7] hour counter ttl, [8] last push ttl,
--   [9] seen ttl, [10] recipients ttl, [11] queue state ttl, [12] the message (outbox JSON),
--   [13] the queue state JSON, [14] '1' when the message may pierce DND (a HIGH single for a
--   user who allows it), [15] the user id (for the recipients sets)
-- Returns {status, used today, used this hour, last push or '', detail}:
--   'ok' (detail: the outbox entry id), 'dup', 'partial' (detail: how many opportunities fit),
--   'session', 'push_off', 'dnd' (detail: DND end), 'cooldown' (detail: when it is over),
--   'daily_cap', 'hourly_cap'
local now = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local day_cap, hour_cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local cooldown = tonumber(ARGV[5])
local day_used = tonumber(redis.call('GET', KEYS[3]) or '0')
local hour_used = tonumber(redis.call('GET', KEYS[4]) or '0')
local last = redis.call('GET', KEYS[5]) or ''

local function answer(status, detail)
  return {status, day_used, hour_used, last, detail or ''}
end

if redis.call('EXISTS', KEYS[6]) == 1 then
  return answer('dup')
end
local s = redis.call('HMGET', KEYS[1], 'state', 'expires')
if s[1] ~= 'active' or tonumber(s[2] or '0') <= now then
  return answer('session')
end
local p = redis.call('HMGET', KEYS[2], 'push', 'dnd_until')
if p[1] == '0' then
  return answer('push_off')
end
local dnd = tonumber(p[2] or '')
if dnd ~= nil and now < dnd and ARGV[14] ~= '1' then
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

  day_used = redis.call('INCRBY', KEYS[3], wanted)
  hour_used = redis.call('INCRBY', KEYS[4], wanted)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
  redis.call('HINCRBY', KEYS[1], 'opps', wanted)
  last = ARGV[1]
  redis.call('SET', KEYS[5], last, 'EX', ARGV[8])
end
for i = 9, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[15])
  redis.call('EXPIRE', KEYS[i], ARGV[10])
end
redis.call('SET', KEYS[6], '1', 'EX', ARGV[9])
local entry = redis.call('XADD', KEYS[7], '*', 'm', ARGV[12])
redis.call('SET', KEYS[8], ARGV[13], 'EX', ARGV[11])
return answer('ok', entry)
