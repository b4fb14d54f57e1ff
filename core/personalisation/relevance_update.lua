-- One learning step of the relevance model for one (user, opportunity, signal), atomically.
-- KEYS: 1 user weights, 2 tier weights, 3 user's seen alerts, 4 the unopened-alert index
-- ARGV: 1 opportunity id, 2 signal, 3 label (0/1), 4 example weight, 5 user rate,
--       6 tier rate, 7 regularisation, 8 seen TTL (s), 9 member of the unopened index
-- Returns the relevance before the step (a string: Lua numbers reply as integers), or
-- "dup" (this signal was learned already), "engaged" (an unopened/lapse signal for an alert
-- the user pressed), "unknown" (no such alert remembered).
local oid, signal = ARGV[1], ARGV[2]
local passive = signal == 'unopened' or signal == 'lapse'
if passive then redis.call('ZREM', KEYS[4], ARGV[9]) end
if redis.call('HEXISTS', KEYS[3], oid .. '#' .. signal) == 1 then return 'dup' end
if passive and redis.call('HEXISTS', KEYS[3], oid .. '#i') == 1 then return 'engaged' end
local entry = redis.call('HGET', KEYS[3], oid)
if not entry then return 'unknown' end
-- entry: sent_at;tier;prior;f1,f2,...
local _, _, prior, list = string.find(entry, '^[^;]*;[^;]*;([^;]*);(.*)$')
local feats = {}
for f in string.gmatch(list, '[^,]+') do feats[#feats + 1] = f end
local u = redis.call('HMGET', KEYS[1], unpack(feats))
local t = redis.call('HMGET', KEYS[2], unpack(feats))
local z = tonumber(prior) or 0
for i = 1, #feats do z = z + (tonumber(u[i]) or 0) + (tonumber(t[i]) or 0) end
local p
if z >= 0 then p = 1 / (1 + math.exp(-z)) else local e = math.exp(z); p = e / (1 + e) end
local g = tonumber(ARGV[4]) * (tonumber(ARGV[3]) - p)
local ur, tr, reg = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local un, tn = {}, {}
for i = 1, #feats do
  local uw, tw = tonumber(u[i]) or 0, tonumber(t[i]) or 0
  un[#un + 1] = feats[i]; un[#un + 1] = string.format('%.17g', uw + ur * (g - reg * uw))
  tn[#tn + 1] = feats[i]; tn[#tn + 1] = string.format('%.17g', tw + tr * (g - reg * tw))
end
redis.call('HSET', KEYS[1], unpack(un))
redis.call('HINCRBY', KEYS[1], '_n', 1)
if tr > 0 then redis.call('HSET', KEYS[2], unpack(tn)) end
redis.call('HSET', KEYS[3], oid .. '#' .. signal, 1)
if not passive then
  redis.call('HSET', KEYS[3], oid .. '#i', 1)
  redis.call('ZREM', KEYS[4], ARGV[9])
end
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
return string.format('%.17g', p)
