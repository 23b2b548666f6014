package ratelimit

import "github.com/redis/go-redis/v9"

// Key is the Redis key of one Regal account's shared limit:
// "<prefix>:{regal:<tenant>}:ratelimit". The braces are a Redis Cluster
// hash tag, so the key's slot depends on the tenant only; the adaptive
// rate is kept next to it, under the key followed by ":adaptive", in the
// same slot.
func Key(prefix, tenant string) string {
	return prefix + ":{regal:" + tenant + "}:ratelimit"
}

// adaptiveKey is where the adaptive rate of the limit kept in key lives.
// A key without a hash tag may land in another Redis Cluster slot; Key
// has one.
func adaptiveKey(key string) string { return key + ":adaptive" }

// currentRateLua defines current_rate(key, now, ceiling, step): the
// adaptive rate kept in the hash key at now (microseconds), with the rate
// set by the last decrease and its time ("rate", "at"). Without a
// decrease (a missing key) the rate is the ceiling; after one it regains
// step requests/s per second up to the ceiling. The key expires once the
// ceiling is regained, when a missing key means the same.
const currentRateLua = `
local function current_rate(key, now, ceiling, step)
  local state = redis.call('HMGET', key, 'rate', 'at')
  local set_rate, at = tonumber(state[1]), tonumber(state[2])
  if not set_rate or not at then
    return ceiling, ceiling, 0
  end
  return math.min(ceiling, set_rate + step * (now - at) / 1000000), set_rate, at
end
`

// reserveScript reserves n consecutive slots of the GCRA limit kept in
// KEYS[1], at the adaptive rate kept in KEYS[2], on the Redis server's
// clock, so the processes' clocks do not matter.
//
// KEYS[1] holds the theoretical arrival time (TAT) of the next slot in
// microseconds; it expires once the TAT has passed, when a missing key
// means the same (a full burst).
// ARGV[1] is the ceiling in requests/s, ARGV[2] the recovery in requests/s
// per second, ARGV[3] the burst (>= 1), ARGV[4] the number of slots n
// (>= 1).
//
// It returns {now, base, interval, rate, at}: now and base in
// microseconds, slot k (0-based) may be used at max(now, base +
// k·interval); interval in nanoseconds (1 s / rate, rounded up so that
// rounding never raises the rate); rate (in thousandths of a request/s)
// and at (microseconds, 0 if none) are the last decrease, from which the
// caller follows the rate. Slots are never refused, only placed later, so
// a reservation always succeeds and the caller waits.
var reserveScript = redis.NewScript(currentRateLua + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
local rate, set_rate, at = current_rate(KEYS[2], now, tonumber(ARGV[1]), tonumber(ARGV[2]))
local interval_ns = math.max(1, math.ceil(1000000000 / rate))
local interval = interval_ns / 1000
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return {now, math.ceil(tat - (burst - 1) * interval), interval_ns, math.floor(set_rate * 1000), at}
`)

// throttleScript decreases the adaptive rate kept in KEYS[2] after a
// refusal, unless the last decrease is more recent than the hold-off. A
// decrease also spends the burst of the limit kept in KEYS[1]: the
// destination's own burst is used up when it refuses, so the limit's TAT
// moves (burst − 1) intervals of the new rate ahead, no further than the
// hold-off (so that pauses never add up). The slots still to come then
// come with a pause that lets the destination's burst refill, at the new
// rate.
//
// ARGV[1] is the ceiling in requests/s, ARGV[2] the recovery in requests/s
// per second, ARGV[3] the decrease factor, ARGV[4] the floor in
// requests/s, ARGV[5] the hold-off in microseconds, ARGV[6] the burst.
//
// It returns {now, rate, at, decreased}: the last decrease as
// reserveScript does (now and at in microseconds, rate in thousandths of a
// request/s) and 1 when this call made it, 0 when it fell in the
// hold-off.
var throttleScript = redis.NewScript(currentRateLua + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local ceiling = tonumber(ARGV[1])
local step = tonumber(ARGV[2])
local hold_off = tonumber(ARGV[5])
local rate, set_rate, at = current_rate(KEYS[2], now, ceiling, step)
if at > 0 and now - at < hold_off then
  return {now, math.floor(set_rate * 1000), at, 0}
end
local new_rate = math.max(tonumber(ARGV[4]), rate * tonumber(ARGV[3]))
redis.call('HSET', KEYS[2], 'rate', string.format('%.6f', new_rate), 'at', string.format('%.0f', now))
local regained_ms = math.max((ceiling - new_rate) / step * 1000, hold_off / 1000)
redis.call('PEXPIRE', KEYS[2], math.ceil(regained_ms) + 1000)
local pause = math.min(hold_off, (tonumber(ARGV[6]) - 1) * math.max(1, math.ceil(1000000000 / new_rate)) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local next_tat = tat + pause
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return {now, math.floor(new_rate * 1000), now, 1}
`)
