-- KEYS: stream, delayed, sending mark, stats; ARGV: group, entry id, due, payload
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('HINCRBY', KEYS[4], 'retried', 1)
return 1
