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
var admitScript = redis.NewScript(`
local out = {}
for i = 1, (#KEYS - 1) / 2 do
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
var settleScript = redis.NewScript(expireSeenLua + `
for i = 2, #KEYS do
  redis.call('XDEL', KEYS[1], ARGV[i])
  expire_seen(KEYS[1], KEYS[i], ARGV[i], ARGV[1])
end
return #KEYS - 1
`)

// deadLetterScript moves one event from the delivery stream to the dead
// letter stream atomically, so it is never in neither, and starts its
// dedup window (expire_seen). It is idempotent: an entry already moved is
// not dead-lettered twice.
//
// KEYS[1] events stream, KEYS[2] dead stream, KEYS[3] dedup key
// ARGV[1] entry id, ARGV[2] encoded event, ARGV[3] reason, ARGV[4] attempts,
// ARGV[5] unix ms, ARGV[6] last Regal status, ARGV[7] dedup TTL in ms
var deadLetterScript = redis.NewScript(expireSeenLua + `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1])
expire_seen(KEYS[1], KEYS[3], ARGV[1], ARGV[7])
return 1
`)

// reviveScript moves one dead letter back to the delivery stream
// atomically, as a new entry (a new id, so it is delivered after what the
// stream already holds). It is idempotent: a dead letter already revived
// is not revived twice. The event's dedup key names the new entry, without
// a TTL, as admission sets it: pending again, its key must not expire.
//
// KEYS[1] dead stream, KEYS[2] events stream, KEYS[3] dedup key
// ARGV[1] dead letter id, ARGV[2] encoded event
// Returns the new entry id, or false.
var reviveScript = redis.NewScript(`
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
local id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
redis.call('SET', KEYS[3], id)
return id
`)
