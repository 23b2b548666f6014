package ratelimit

import "github.com/redis/go-redis/v9"

// Key is the Redis key of one Regal account's shared limit:
// "<prefix>:{regal:<tenant>}:ratelimit". The braces are a Redis Cluster
// hash tag, so the key's slot depends on the tenant only.
func Key(prefix, tenant string) string {
	return prefix + ":{regal:" + tenant + "}:ratelimit"
}

// reserveScript reserves n consecutive slots of the GCRA limit kept in
// KEYS[1], on the Redis server's clock, so the processes' clocks do not
// matter.
//
// KEYS[1] holds the theoretical arrival time (TAT) of the next slot in
// microseconds; it expires once the TAT has passed, when a missing key
// means the same (a full burst).
// ARGV[1] is the interval between slots in microseconds (may be
// fractional), ARGV[2] the burst (>= 1), ARGV[3] the number of slots n
// (>= 1).
//
// It returns {now, base}, both in microseconds: slot k (0-based) may be
// used at max(now, base + k·interval). Slots are never refused, only
// placed later, so a reservation always succeeds and the caller waits.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return {now, math.ceil(tat - (burst - 1) * interval)}
`)
