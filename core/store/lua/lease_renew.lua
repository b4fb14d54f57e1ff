-- Renew a lease only if the caller still holds it: 1 if renewed, 0 if it lapsed or another
-- process holds it now (the caller must stop what the lease guards).
-- KEYS[1] the lease key; ARGV[1] the holder's id; ARGV[2] the new lifetime in milliseconds.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
