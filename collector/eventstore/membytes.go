package eventstore

import (
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Memory estimates. The collector bounds its queues by the bytes their
// events hold, not by their count: 8x8 events range from a few hundred
// bytes to max_event_bytes, so a count bound is no memory bound. The
// estimates are cheap (no walk of the event when its encoding is at
// hand) and err on the high side; TestEntryBytesTracksTheHeap checks them
// against the heap that decoded events really take.
const (
	// mapSlotBytes is what one map entry costs beyond its key and value
	// bytes: two string headers in a slot, the slot's share of its group's
	// control word, and the headroom a map keeps below its load factor.
	mapSlotBytes = 64
	// entryOverheadBytes is what the collector keeps per entry besides
	// the event and its encoding: the stream id, the scheduler's item and
	// its share of its interaction's queue.
	entryOverheadBytes = 256
)

// Fixed sizes of the decoded messages, taken from the generated types so
// a new field is counted without anyone remembering to.
var (
	eventStructBytes       = int(unsafe.Sizeof(eventv1.Event{}))
	sourceStructBytes      = int(unsafe.Sizeof(eventv1.SourcePosition{}))
	interactionStructBytes = int(unsafe.Sizeof(eventv1.InteractionFields{}))
	timestampStructBytes   = int(unsafe.Sizeof(timestamppb.Timestamp{}))
)

// EventBytes estimates the heap a decoded event holds: its strings, raw
// frame and map data (about its encoded size, which counts each once) plus
// the structs, timestamps and map slots around them. It walks the event to
// size it; EntryBytes does not when the entry's encoding is at hand.
func EventBytes(ev *eventv1.Event) int64 {
	if ev == nil {
		return 0
	}
	return eventBytes(ev, proto.Size(ev))
}

// EntryBytes estimates the heap an entry holds: its decoded event and its
// stored encoding (Payload, which holds the raw frame a second time). It
// is what the scheduler's byte bound counts per event.
func EntryBytes(e Entry) int64 {
	size := len(e.Payload)
	if size == 0 && e.Event != nil {
		size = proto.Size(e.Event)
	}
	return entryOverheadBytes + int64(len(e.Ref.ID)) + eventBytes(e.Event, size) + int64(cap(e.Payload))
}

// AdmissionBytes estimates what a decoded event waiting for admission will
// hold once admitted: the event, the encoding Admit makes of it, and the
// entry around them (EntryBytes of its admission).
func AdmissionBytes(ev *eventv1.Event) int64 {
	if ev == nil {
		return 0
	}
	size := proto.Size(ev)
	return entryOverheadBytes + eventBytes(ev, size) + int64(size)
}

// eventBytes is EventBytes given the event's encoded size.
func eventBytes(ev *eventv1.Event, encoded int) int64 {
	if ev == nil {
		return 0
	}
	// The data's allocations are rounded up to size classes (up to an
	// eighth more).
	n := eventStructBytes + encoded + encoded/8
	n += timestamps(ev.GetOccurredAt(), ev.GetReceivedAt())
	if s := ev.GetSource(); s != nil {
		n += sourceStructBytes + timestamps(s.GetTimestamp())
	}
	if in := ev.GetInteraction(); in != nil {
		n += interactionStructBytes + timestamps(in.GetQueueTime())
		// Each set optional number is an allocation of its own.
		for _, p := range []*int64{in.ResourceType, in.QueueId, in.CampaignId, in.TransactionNum} {
			if p != nil {
				n += 8
			}
		}
		n += 16 * len(in.GetParticipatingAgents())
	}
	n += mapSlotBytes * (len(ev.GetAttachedData()) + len(ev.GetTraceContext()))
	return int64(n)
}

func timestamps(ts ...*timestamppb.Timestamp) int {
	n := 0
	for _, t := range ts {
		if t != nil {
			n += timestampStructBytes
		}
	}
	return n
}
