-- KEYS: stream, sent record, sending mark, acks stream, stats
-- ARGV: group, entry id, message id ('' for a drop), sent ttl, user id, outgoing id,
--       acks maxlen, outcome counter
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[3])
if n == 0 then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*',
    'u', ARGV[5], 'o', ARGV[6], 'm', ARGV[3])
end
redis.call('HINCRBY', KEYS[5], ARGV[8], 1)
return n
