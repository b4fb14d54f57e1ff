-- 0: first send; 1: the mark was there (a sender died after sending): counted as a duplicate.
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
return 1
