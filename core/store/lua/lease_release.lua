-- Give a lease up, only if the caller holds it (a lapsed lease may be another's by now).
-- KEYS[1] the lease key; ARGV[1] the holder's id. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
