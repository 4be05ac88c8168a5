-- GCRA check-and-update, atomic in Redis; the twin of GCRAPolicy.step in _gcra.py.
-- KEYS[1]  the TAT key (integer microseconds since the epoch, Redis clock)
-- ARGV[1]  emission interval T in microseconds (integer)
-- ARGV[2]  burst offset T * burst in microseconds (integer)
-- ARGV[3]  max wait in microseconds (integer, 0 = no reservation of a future slot)
-- Returns {allowed (1|0), tat after the decision, now}, all integer microseconds.
-- Time comes from Redis TIME so that every proxy replica shares one clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst_offset = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3] or '0')

local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end

local new_tat = tat + interval
if new_tat - now > burst_offset + max_wait then
  return {0, tat, now}
end

-- The key is worthless once TAT has passed: let it expire then.
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, new_tat, now}
