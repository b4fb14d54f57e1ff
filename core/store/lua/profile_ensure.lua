-- Create a user's profile on first contact (tier "free") and keep their name current.
-- KEYS[1] profile hash, KEYS[2] the free tier's member set
-- ARGV[1] user id, ARGV[2] first name
-- Returns 1 if the profile was created now, 0 if it existed.
local created = redis.call('HSETNX', KEYS[1], 'tier', 'free')
if created == 1 then
  redis.call('SADD', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[1], 'name', ARGV[2])
return created
