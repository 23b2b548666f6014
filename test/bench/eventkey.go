package bench

import "hash/fnv"

// eventKey is a 64-bit hash of an event's Regal key (interaction, Regal
// event name, originalTimestamp): a soak publishes millions of lines, and
// a hash keeps the harness's maps small. Two events colliding among a
// few million has a probability below 10⁻⁶.
type eventKey uint64

func keyOf(regalKey string) eventKey {
	h := fnv.New64a()
	_, _ = h.Write([]byte(regalKey))
	return eventKey(h.Sum64())
}
