package eventstore

import (
	"hash/fnv"
	"strconv"
)

// Key layout. Every key of one (tenant, partition) shares a hash tag, so the
// admission script, which touches a dedup key and a stream, stays in one
// Redis Cluster slot.
//
//	<prefix>:{<tenant>:<p>}:seen:<dedup_key>  string, value = stream entry id; no TTL while the
//	                                          entry is pending, DedupTTL from its settlement
//	<prefix>:{<tenant>:<p>}:events            stream of admitted, unsettled events
//	<prefix>:{<tenant>:<p>}:dead              stream of dead letters
//	<prefix>:{<tenant>:<p>}:held              hash: order key → id of the dead letter holding it (policy hold)
//	<prefix>:{<tenant>:<p>}:trace:<interaction> traceparent of the interaction's trace, TTL = TraceTTL
//	<prefix>:{<tenant>:<p>}:fence             the highest lease token raised into the slot (fence.go)
//	<prefix>:{<tenant>}:malformed             capped stream of malformed frames' prefixes
//	<prefix>:{<tenant>}:fence                 the fence of the malformed stream's slot

func (s *Store) partitionOf(orderKey string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orderKey))
	return int(h.Sum32() % uint32(s.cfg.Partitions))
}

func (s *Store) tag(tenant string, partition int) string {
	return s.cfg.KeyPrefix + ":{" + tenant + ":" + strconv.Itoa(partition) + "}:"
}

func (s *Store) eventsKey(tenant string, partition int) string {
	return s.tag(tenant, partition) + "events"
}

func (s *Store) deadKey(tenant string, partition int) string {
	return s.tag(tenant, partition) + "dead"
}

func (s *Store) heldKey(tenant string, partition int) string {
	return s.tag(tenant, partition) + "held"
}

func (s *Store) seenKey(tenant string, partition int, dedupKey string) string {
	return s.tag(tenant, partition) + "seen:" + dedupKey
}

func (s *Store) malformedKey(tenant string) string {
	return s.cfg.KeyPrefix + ":{" + tenant + "}:malformed"
}

func (s *Store) traceKey(tenant string, partition int, interactionID string) string {
	return s.tag(tenant, partition) + "trace:" + interactionID
}
