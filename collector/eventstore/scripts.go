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
// KEYS[1] events stream, KEYS[2] dead stream
// ARGV[1] entry id, ARGV[2] encoded event, ARGV[3] reason, ARGV[4] attempts,
// ARGV[5] unix ms, ARGV[6] last Regal status
var deadLetterScript = redis.NewScript(`
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2], 'reason', ARGV[3], 'attempts', ARGV[4], 'at', ARGV[5], 'status', ARGV[6], 'from', ARGV[1])
return 1
`)

// reviveScript moves one dead letter back to the delivery stream
// atomically, as a new entry (a new id, so it is delivered after what the
// stream already holds). It is idempotent: a dead letter already revived
// is not revived twice.
//
// KEYS[1] dead stream, KEYS[2] events stream
// ARGV[1] dead letter id, ARGV[2] encoded event
// Returns the new entry id, or false.
var reviveScript = redis.NewScript(`
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return false
end
return redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
`)
