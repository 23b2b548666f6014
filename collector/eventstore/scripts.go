package eventstore

import "github.com/redis/go-redis/v9"

// fenceLua starts every script that writes a tenant's delivery state: its
// last key is the fence of the slot it writes (the highest lease token any
// holder of the tenant raised it to) and its last argument the caller's
// token. A caller whose token is below the fence lost the tenant to a newer
// holder: the script refuses with a FENCED error before writing anything.
// An empty token (a store without fencing) is not checked. NK is the
// count of the script's own keys.
const fenceLua = `
local NK = #KEYS - 1
if ARGV[#ARGV] ~= '' then
  local fence = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
  if fence > tonumber(ARGV[#ARGV]) then
    return redis.error_reply('FENCED lease token ' .. ARGV[#ARGV] .. ' is older than ' .. fence)
  end
end
`

// fencedScript is a script that writes a tenant's delivery state, behind
// the fence check.
func fencedScript(body string) *redis.Script { return redis.NewScript(fenceLua + body) }

// raiseFenceScript raises a fence to a new holder's token, never lowering
// it, and returns the fence as it is then: greater than the token when a
// newer holder raised it already.
//
// KEYS[1] fence; ARGV[1] token.
var raiseFenceScript = redis.NewScript(`
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
local token = tonumber(ARGV[1])
if token > fence then
  redis.call('SET', KEYS[1], ARGV[1])
  return token
end
return fence
`)

// malformedScript keeps a malformed frame in the tenant's capped stream.
//
// KEYS[1] malformed stream; ARGV[1] max length, ARGV[2..9] the fields.
var malformedScript = fencedScript(`
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
`)

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
// The dedup key is set without a TTL: it cannot expire while its event is
// pending, however long that lasts (a paused tenant, a held interaction),
// so a replay by 8x8 meanwhile is always a duplicate. The settlement sets
// its TTL (settleScript, deadLetterScript) in the same atomic step that
// removes the entry, so a key lives DedupTTL past its event's settlement,
// across restarts of the collector and of Redis.
//
// It also records an interaction's trace context the first time it sees
// the interaction, so every later event (also after a restart) joins the
// same trace.
//
// KEYS[1] events stream; for event i (from 1): KEYS[2i] dedup key,
// KEYS[2i+1] interaction trace key.
// ARGV[1] trace TTL in seconds; for event i: ARGV[2i] the encoded event,
// ARGV[2i+1] traceparent ("" for none).
// Returns {verdict, entry id} per event, flattened: 1 new, 2 duplicate
// still pending, 0 duplicate settled.
var admitScript = fencedScript(`
local out = {}
for i = 1, (NK - 1) / 2 do
  local seen, trace = KEYS[2*i], KEYS[2*i+1]
  local tp = ARGV[2*i+1]
  if tp ~= '' then
    redis.call('SET', trace, tp, 'NX', 'EX', ARGV[1])
  end
  local id = redis.call('GET', seen)
  local verdict = 0
  if not id then
    id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[2*i])
    redis.call('SET', seen, id)
    verdict = 1
  elseif #redis.call('XRANGE', KEYS[1], id, id) > 0 then
    verdict = 2
  end
  out[#out+1] = verdict
  out[#out+1] = id
end
return out
`)

// expireSeenLua defines expire_seen, which starts the dedup window of a
// settled entry: its dedup key gets the dedup TTL, from now. It leaves a
// key alone that names another entry still pending in the stream (the
// event was admitted again after its key expired): that entry's
// settlement starts its window.
const expireSeenLua = `
local function expire_seen(stream, seen, id, ttl)
  local cur = redis.call('GET', seen)
  if cur == id or (cur and #redis.call('XRANGE', stream, cur, cur) == 0) then
    redis.call('PEXPIRE', seen, ttl)
  end
end
`

// settleScript removes settled entries of one partition from its stream
// and starts each one's dedup window (expire_seen), atomically: a key
// never outlives its settlement without a TTL, nor gets one while its
// entry is pending. It is idempotent; settling again restarts the window.
//
// KEYS[1] events stream; KEYS[1+i] dedup key of entry i (from 1).
// ARGV[1] dedup TTL in milliseconds; ARGV[1+i] entry id i.
var settleScript = fencedScript(expireSeenLua + `
for i = 2, NK do
  redis.call('XDEL', KEYS[1], ARGV[i])
  expire_seen(KEYS[1], KEYS[i], ARGV[i], ARGV[1])
end
return NK - 1
`)

// deadLetterScript moves one event from the delivery stream to the dead
// letter stream atomically, so it is never in neither, and starts its
// dedup window (expire_seen). It is idempotent: an entry already moved is
// not dead-lettered twice.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash (unused),
// KEYS[4] dedup key
// ARGV[1] entry id, ARGV[2] encoded event, ARGV[3] reason, ARGV[4] attempts,
// ARGV[5] unix ms, ARGV[6] last Regal status, ARGV[7] order key,
// ARGV[8] dedup TTL in ms
var deadLetterScript = fencedScript(expireSeenLua + `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1], 'key', ARGV[7], 'seen', KEYS[4])
expire_seen(KEYS[1], KEYS[4], ARGV[1], ARGV[8])
return 1
`)

// parkScript dead-letters one event under policy hold, atomically: the
// event is recorded in the dead-letter stream (for listing, alerting and
// replay) but stays in the delivery stream at its place, and the held hash
// records that its interaction waits behind it. Still pending, its dedup
// key keeps no TTL. It is idempotent: an interaction already held, or an
// entry no longer pending, is left alone.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash,
// KEYS[4] dedup key (recorded, for a trim that drops the parked event)
// ARGV as deadLetterScript's.
var parkScript = fencedScript(`
if redis.call('HEXISTS', KEYS[3], ARGV[7]) == 1 then
  return 0
end
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then
  return 0
end
local id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1], 'key', ARGV[7], 'seen', KEYS[4])
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
//     (after what the stream holds), and its dedup key names the new
//     entry without a TTL, as admission sets it: pending again, its key
//     must not expire;
//   - a letter already gone (replayed or dropped by someone else) is left.
//
// KEYS[1] dead stream, KEYS[2] held hash, KEYS[3] events stream,
// KEYS[4] dedup key
// ARGV[1] dead letter id, ARGV[2] order key ("" when not recorded),
// ARGV[3] encoded event
// Returns {1} un-parked, {2, new entry id} moved, {0} gone.
var replayScript = fencedScript(`
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('XDEL', KEYS[1], ARGV[1])
  return {1}
end
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return {0}
end
local id = redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])
redis.call('SET', KEYS[4], id)
return {2, id}
`)

// dropParkedLua defines drop_parked, which takes a parked event out of the
// delivery stream for good and starts its dedup window, from the fields
// of its dead letter ('from' the entry id, 'seen' its dedup key; letters
// written before 'seen' was recorded leave the key as it is).
const dropParkedLua = expireSeenLua + `
local function drop_parked(stream, f, ttl)
  local from, seen
  for i = 1, #f, 2 do
    if f[i] == 'from' then from = f[i+1] elseif f[i] == 'seen' then seen = f[i+1] end
  end
  if from then
    redis.call('XDEL', stream, from)
    if seen then expire_seen(stream, seen, from, ttl) end
  end
end
`

// trimScript drops dead letters beyond the stream's bounds, oldest first:
// those older than the cutoff, then those beyond the length bound, at most
// ARGV[3] of each per call. A dropped letter that holds its interaction
// takes its parked event out of the delivery stream and ends the hold.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash
// ARGV[1] greatest unix ms to drop by age ("": no age bound), ARGV[2] length bound,
// ARGV[3] most entries per bound, ARGV[4] dedup TTL in ms
// Returns {dropped by age, dropped by length, released order keys...}.
var trimScript = fencedScript(dropParkedLua + `
local released = {}
local function drop(m)
  local id, f = m[1], m[2]
  local key
  for i = 1, #f, 2 do
    if f[i] == 'key' then key = f[i+1] end
  end
  if key and redis.call('HGET', KEYS[3], key) == id then
    redis.call('HDEL', KEYS[3], key)
    drop_parked(KEYS[1], f, ARGV[4])
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
// each parked event leaves the delivery stream (its dedup window starts),
// its dead letter stays (a replay then moves it back as a new entry), and
// its interaction goes on.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] held hash
// ARGV[1] dedup TTL in ms
// Returns the released order keys.
var unholdScript = fencedScript(dropParkedLua + `
local out = {}
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local key, id = all[i], all[i+1]
  local m = redis.call('XRANGE', KEYS[2], id, id)
  if #m > 0 then
    drop_parked(KEYS[1], m[1][2], ARGV[1])
  end
  redis.call('HDEL', KEYS[3], key)
  out[#out+1] = key
end
return out
`)
