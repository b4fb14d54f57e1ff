-- KEYS: stream, dead, sending mark, stats; ARGV: group, entry id, payload, reason, maxlen, now
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*',
  'm', ARGV[3], 'reason', ARGV[4], 'at', ARGV[6], 'entry', ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('HINCRBY', KEYS[4], 'dead', 1)
return 1
