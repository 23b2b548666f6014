package eventstore

import "github.com/redis/go-redis/v9"

// admitScript decides whether an event is new and, if it is, stores it for
// delivery, in one atomic step: a crash can neither mark an event seen
// without storing it nor store it twice.
//
// It is idempotent, so a batch whose outcome is unknown (a connection lost
// mid-pipeline) can simply be sent again. The dedup key holds the stream
// entry id, which tells a caller whether a duplicate is still waiting for
// delivery (and must be scheduled if the caller does not know it yet).
//
// It also records the interaction's trace context the first time it sees
// the interaction, so every later event (also after a restart) joins the
// same trace.
//
// KEYS[1] dedup key, KEYS[2] events stream, KEYS[3] interaction trace key
// ARGV[1] dedup TTL in seconds, ARGV[2] the encoded event,
// ARGV[3] traceparent ("" for none), ARGV[4] trace TTL in seconds
// Returns {verdict, entry id}: 1 new, 2 duplicate still pending, 0 duplicate settled.
var admitScript = redis.NewScript(`
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[3], ARGV[3], 'NX', 'EX', ARGV[4])
end
local id = redis.call('GET', KEYS[1])
if not id then
  id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
  redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
  return {1, id}
end
if #redis.call('XRANGE', KEYS[2], id, id) > 0 then
  return {2, id}
end
return {0, id}
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
