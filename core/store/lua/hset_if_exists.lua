-- Set hash fields only if the hash exists (so a late write cannot resurrect a dropped key).
-- KEYS[1] hash; ARGV field, value, field, value, ...
-- Returns 1 if written, 0 if the hash did not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
