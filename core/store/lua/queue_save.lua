-- Save many users' queue states in one call: SET each key to its value with the same TTL.
-- One script per chunk rather than one SET per queue in a pipeline: a fan-out saves every
-- eligible user's queue, and the per-command round of packing and parsing on the client cost
-- more than the writes themselves. Each SET replaces a whole state, so a retry after a lost
-- reply writes the same values again.
--
-- KEYS[i] the queue state key of user i; ARGV[1] ttl seconds, ARGV[i + 1] the state JSON of user i
-- Returns how many were written.
local ttl = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ttl)
end
return #KEYS
