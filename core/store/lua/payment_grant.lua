-- Grant the tier a Stars payment bought, once per telegram_payment_charge_id.
-- KEYS[1] processed charges hash, KEYS[2] the user's subscription hash, KEYS[3] due zset,
-- KEYS[4] profile hash, KEYS[5] the bought tier's member set, KEYS[6..] the other tiers' sets
-- ARGV[1] charge id, ARGV[2] user id, ARGV[3] tier, ARGV[4] amount (Stars),
-- ARGV[5] paid until (epoch s), ARGV[6] the subscription's charge id (its first payment's),
-- ARGV[7] the sessions-changed channel
-- Returns 0 if this charge was processed before (nothing changes), 1 if granted now.
-- paid_until only grows: a renewal delivered late or out of order never shortens it.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({
  user = tonumber(ARGV[2]), tier = ARGV[3], amount = tonumber(ARGV[4]),
  subscription = ARGV[6], refunded = false}))
local until_now = tonumber(redis.call('HGET', KEYS[2], 'paid_until') or '0')
local paid_until = math.max(until_now, tonumber(ARGV[5]))
local same = redis.call('HGET', KEYS[2], 'charge') == ARGV[6]
redis.call('HSET', KEYS[2], 'tier', ARGV[3], 'charge', ARGV[6], 'paid_until', paid_until)
if not same then
  redis.call('HSET', KEYS[2], 'canceled', '0')
end
redis.call('ZADD', KEYS[3], paid_until, ARGV[2])
redis.call('HSET', KEYS[4], 'tier', ARGV[3])
redis.call('SADD', KEYS[5], ARGV[2])
for i = 6, #KEYS do
  redis.call('SREM', KEYS[i], ARGV[2])
end
redis.call('PUBLISH', ARGV[7], ARGV[2])
return 1
