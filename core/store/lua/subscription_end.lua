-- End a user's Stars subscription: lapsed (paid_until passed) or refunded.
-- KEYS[1] processed charges hash, KEYS[2] the user's subscription hash, KEYS[3] due zset,
-- KEYS[4] profile hash, KEYS[5] the Free tier's member set, KEYS[6..] the other tiers' sets
-- ARGV[1] user id, ARGV[2] now (epoch s), ARGV[3] refunded charge id ('' for a lapse),
-- ARGV[4] the sessions-changed channel
-- Returns {outcome, tier}: outcome 0 nothing to do (no subscription, renewed meanwhile, or the
-- charge already refunded), 1 fell back to Free, 2 ended but the tier was kept (a SuperAdmin
-- set another tier since the payment: a paid plan's end never overrides an admin's choice),
-- -1 unknown charge (refunds only).
local refund = ARGV[3] ~= ''
if refund then
  local raw = redis.call('HGET', KEYS[1], ARGV[3])
  if not raw then
    return {-1, ''}
  end
  local charge = cjson.decode(raw)
  if tostring(charge.user) ~= ARGV[1] then
    return {-1, ''}
  end
  if charge.refunded then
    return {0, charge.tier}
  end
  charge.refunded = true
  redis.call('HSET', KEYS[1], ARGV[3], cjson.encode(charge))
  -- Only a refund of the current subscription's payment ends it.
  if redis.call('HGET', KEYS[2], 'charge') ~= charge.subscription then
    return {2, charge.tier}
  end
end
local tier = redis.call('HGET', KEYS[2], 'tier')
if not tier then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return {0, ''}
end
if not refund and tonumber(redis.call('HGET', KEYS[2], 'paid_until')) > tonumber(ARGV[2]) then
  return {0, tier}
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[4], 'tier') ~= tier then
  return {2, tier}
end
redis.call('HSET', KEYS[4], 'tier', 'free')
redis.call('SADD', KEYS[5], ARGV[1])
for i = 6, #KEYS do
  redis.call('SREM', KEYS[i], ARGV[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[1])
return {1, tier}
