package chaos

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// unsettledCount is the number of events admitted to Redis and not yet
// settled: the entries of every partition's delivery stream
// (<prefix>:{<tenant>:<p>}:events).
func unsettledCount(ctx context.Context, rdb *redis.Client, tenant string) (int64, error) {
	return sumStreamLengths(ctx, rdb, tenant, "events")
}

// sumStreamLengths adds the lengths of one kind of stream over the
// partitions.
func sumStreamLengths(ctx context.Context, rdb *redis.Client, tenant, kind string) (int64, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.IntCmd, partitions)
	for p := range cmds {
		cmds[p] = pipe.XLen(ctx, partitionKey(tenant, p)+kind)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// deadLetter is one entry of a dead-letter stream.
type deadLetter struct {
	id     eventID
	reason string
	status string // Regal's last HTTP status, "0" when none
}

// deadLetters reads every partition's dead-letter stream
// (<prefix>:{<tenant>:<p>}:dead).
func deadLetters(ctx context.Context, rdb *redis.Client, tenant string) ([]deadLetter, error) {
	var out []deadLetter
	for p := range partitions {
		msgs, err := rdb.XRange(ctx, partitionKey(tenant, p)+"dead", "-", "+").Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			payload, _ := m.Values["e"].(string)
			reason, _ := m.Values["reason"].(string)
			status, _ := m.Values["status"].(string)
			ev := &eventv1.Event{}
			if err := proto.Unmarshal([]byte(payload), ev); err != nil {
				return nil, fmt.Errorf("dead letter %s: %w", m.ID, err)
			}
			out = append(out, deadLetter{id: deadLetterID(ev), reason: reason, status: status})
		}
	}
	return out, nil
}

// deadLetterID is the identity a dead-lettered event would have had at
// Regal.
func deadLetterID(ev *eventv1.Event) eventID {
	id := eventID{Interaction: ev.GetInteractionId(), Name: regalNames[ev.GetEventType()]}
	if ev.GetOccurredAt().IsValid() {
		id.Timestamp = ev.GetOccurredAt().AsTime().UTC().Format(originalTimestampLayout)
	}
	return id
}
