-- Post one opportunity to a linked channel, all or nothing: once per channel and opportunity,
-- within the channel's own per-minute and per-hour limits, the outbox entry written with the
-- mark that it was posted (a broadcaster that dies after this step never posts it twice, one
-- that dies before it posts it on its next pass).
--
-- KEYS[1] the channel's posted zset, [2] its minute counter, [3] its hour counter,
--   [4] the outbox seen mark of the outgoing id, [5] the outbox stream
-- ARGV[1] opportunity id, [2] now, [3] per-minute limit, [4] per-hour limit, [5] minute ttl,
--   [6] hour ttl, [7] seen ttl, [8] the message (outbox JSON), [9] how long posted ids are kept
-- Returns {status, detail}: 'ok' (detail: the outbox entry id), 'dup' (posted before),
--   'minute' or 'hour' (the limit is reached)
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. tostring(now - tonumber(ARGV[9])))
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('EXISTS', KEYS[4]) == 1 then
  return {'dup', ''}
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then
  return {'minute', ''}
end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  return {'hour', ''}
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[6])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('SET', KEYS[4], '1', 'EX', ARGV[7])
return {'ok', redis.call('XADD', KEYS[5], '*', 'm', ARGV[8])}
