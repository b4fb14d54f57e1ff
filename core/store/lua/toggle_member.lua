-- Add or remove one member of a comma-separated list field of a hash, atomically.
-- KEYS[1] hash; ARGV[1] field, ARGV[2] member, ARGV[3] "add", "remove" or "toggle",
-- ARGV[4] the list an absent field stands for (e.g. "every type" for opportunity types),
-- ARGV[5] "1" to keep at least one member: a change that would empty the list is not made
-- (here, in one step, so two concurrent removals can never leave it empty).
-- ARGV[6] (optional) comma-separated members of which one must stay: removing the last of
-- them is not made either (e.g. the last opportunity type the user's plan includes).
-- Returns the list value after the call (unchanged when refused).
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ARGV[4] or ''
local items, present = {}, false
for item in string.gmatch(current, '([^,]+)') do
  if item == ARGV[2] then present = true else table.insert(items, item) end
end
local add = ARGV[3] == 'add' or (ARGV[3] == 'toggle' and not present)
if add then table.insert(items, ARGV[2]) end
if #items == 0 and ARGV[5] == '1' then
  return current
end
if present and not add and ARGV[6] and ARGV[6] ~= '' then
  local keep = {}
  for k in string.gmatch(ARGV[6], '([^,]+)') do keep[k] = true end
  if keep[ARGV[2]] then
    local kept = false
    for _, item in ipairs(items) do
      if keep[item] then kept = true end
    end
    if not kept then return current end
  end
end
table.sort(items)
local value = table.concat(items, ',')
redis.call('HSET', KEYS[1], ARGV[1], value)
return value
