package eventstore

import "github.com/redis/go-redis/v9"

// admitScript decides whether each event of a batch is new and, if it is,
// stores it for delivery, in one atomic step per event: a crash can neither
// mark an event seen without storing it nor store it twice.
//
// It takes every event of one partition in one call, in order: with
// appendfsync always Redis fsyncs after each event-loop pass that wrote,
// and one call per event let a batch of large events span dozens of passes
// (and fsyncs); one call per partition is written, and fsynced, once.
//
// It is idempotent, so a batch whose outcome is unknown (a connection lost
// mid-pipeline) can simply be sent again. The dedup key holds the stream
// entry id, which tells a caller whether a duplicate is still waiting for
// delivery (and must be scheduled if the caller does not know it yet).
//
// It also records an interaction's trace context the first time it sees
// the interaction, so every later event (also after a restart) joins the
// same trace.
//
// KEYS[1] events stream; for event i (from 1): KEYS[2i] dedup key,
// KEYS[2i+1] interaction trace key.
// ARGV[1] dedup TTL in seconds, ARGV[2] trace TTL in seconds; for event i:
// ARGV[2i+1] the encoded event, ARGV[2i+2] traceparent ("" for none).
// Returns {verdict, entry id} per event, flattened: 1 new, 2 duplicate
// still pending, 0 duplicate settled.
var admitScript = redis.NewScript(`
local out = {}
for i = 1, (#KEYS - 1) / 2 do
  local seen, trace = KEYS[2*i], KEYS[2*i+1]
  local tp = ARGV[2*i+2]
  if tp ~= '' then
    redis.call('SET', trace, tp, 'NX', 'EX', ARGV[2])
  end
  local id = redis.call('GET', seen)
  local verdict = 0
  if not id then
    id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[2*i+1])
    redis.call('SET', seen, id, 'EX', ARGV[1])
    verdict = 1
  elseif #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    verdict = 2
  end
  out[#out+1] = verdict
  out[#out+1] = id
end
return out
`)

// deadLetterScript moves one event from the delivery stream to the dead
// letter stream atomically, so it is never in neither. It is idempotent: an
// entry already moved is not dead-lettered twice.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash (unused)
// ARGV[1] entry id, ARGV[2] encoded event, ARGV[3] reason, ARGV[4] attempts,
// ARGV[5] unix ms, ARGV[6] last Regal status, ARGV[7] order key
var deadLetterScript = redis.NewScript(`
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1], 'key', ARGV[7])
return 1
`)

// parkScript dead-letters one event under policy hold, atomically: the
// event is recorded in the dead-letter stream (for listing, alerting and
// replay) but stays in the delivery stream at its place, and the held hash
// records that its interaction waits behind it. It is idempotent: an
// interaction already held, or an entry no longer pending, is left alone.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash
// ARGV as deadLetterScript's.
var parkScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[3], ARGV[7]) == 1 then
  return 0
end
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then
  return 0
end
local id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1], 'key', ARGV[7])
redis.call('HSET', KEYS[3], ARGV[7], id)
return 1
`)

// replayScript sends one dead letter to delivery again, atomically and
// idempotently:
//
//   - a parked letter (its interaction is held behind it) is un-parked:
//     the letter and the hold go, and the event, still at its place in
//     the delivery stream, is delivered before the interaction's later
//     events;
//   - any other letter moves back to the delivery stream as a new entry
//     (after what the stream holds);
//   - a letter already gone (replayed or dropped by someone else) is left.
//
// KEYS[1] dead stream, KEYS[2] held hash, KEYS[3] events stream
// ARGV[1] dead letter id, ARGV[2] order key ("" when not recorded),
// ARGV[3] encoded event
// Returns {1} un-parked, {2, new entry id} moved, {0} gone.
var replayScript = redis.NewScript(`
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[1])
  return {1}
end
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return {0}
end
return {2, redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])}
`)

// trimScript drops dead letters beyond the stream's bounds, oldest first:
// those older than the cutoff, then those beyond the length bound, at most
// ARGV[3] of each per call. A dropped letter that holds its interaction
// takes its parked event out of the delivery stream and ends the hold.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash
// ARGV[1] greatest unix ms to drop by age ("": no age bound), ARGV[2] length bound,
// ARGV[3] most entries per bound
// Returns {dropped by age, dropped by length, released order keys...}.
var trimScript = redis.NewScript(`
local released = {}
local function drop(m)
  local id, f = m[1], m[2]
  local key, from
  for i = 1, #f, 2 do
    if f[i] == 'key' then key = f[i+1] elseif f[i] == 'from' then from = f[i+1] end
  end
  if key and redis.call('HGET', KEYS[3], key) == id then
    redis.call('HDEL', KEYS[3], key)
    if from then redis.call('XDEL', KEYS[1], from) end
    released[#released+1] = key
  end
  redis.call('XDEL', KEYS[2], id)
end
local byAge, byLen = 0, 0
if ARGV[1] ~= '' then
  for _, m in ipairs(redis.call('XRANGE', KEYS[2], '-', ARGV[1], 'COUNT', ARGV[3])) do
    drop(m)
    byAge = byAge + 1
  end
end
local over = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[2])
if over > 0 then
  for _, m in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', math.min(over, tonumber(ARGV[3])))) do
    drop(m)
    byLen = byLen + 1
  end
end
local out = {byAge, byLen}
for _, k in ipairs(released) do out[#out+1] = k end
return out
`)

// unholdScript ends every hold of a partition (policy skip, after hold):
// each parked event leaves the delivery stream, its dead letter stays (a
// replay then moves it back as a new entry), and its interaction goes on.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash
// Returns the released order keys.
var unholdScript = redis.NewScript(`
local out = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local key, id = all[i], all[i+1]
  local m = redis.call('XRANGE', KEYS[2], id, id)
  if #m > 0 then
    local f = m[1][2]
    for j = 1, #f, 2 do
      if f[j] == 'from' then redis.call('XDEL', KEYS[1], f[j+1]) end
    end
  end
  redis.call('HDEL', KEYS[3], key)
  out[#out+1] = key
end
return out
`)
