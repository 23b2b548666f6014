package eventstore

import (
	"unsafe"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Memory estimates. The collector bounds its queues by the bytes their
// events hold, not by their count: 8x8 events range from a few hundred
// bytes to max_event_bytes, so a count bound is no memory bound. The
// estimates walk an event's fields through its getters (no reflection, no
// encoding: a fraction of a microsecond) and err on the high side;
// TestEntryBytesTracksTheHeap checks them against the heap that decoded
// events really take.
const (
	// mapSlotBytes is what one map entry costs beyond its key and value
	// bytes: two string headers in a slot, the slot's share of its group's
	// control word, and the headroom a map keeps below its load factor.
	mapSlotBytes = 64
	// entryOverheadBytes is what the collector keeps per entry besides
	// the event and its encoding: the scheduler's item and its share of
	// its interaction's queue.
	entryOverheadBytes = 256
	// tagBytes is what the encoding adds per field (tag and length).
	tagBytes = 2
)

// Fixed sizes of the decoded messages, taken from the generated types.
var (
	eventStructBytes       = int(unsafe.Sizeof(eventv1.Event{}))
	sourceStructBytes      = int(unsafe.Sizeof(eventv1.SourcePosition{}))
	interactionStructBytes = int(unsafe.Sizeof(eventv1.InteractionFields{}))
	timestampStructBytes   = int(unsafe.Sizeof(timestamppb.Timestamp{}))
)

// EventBytes estimates the heap a decoded event holds: its strings, raw
// frame and map data, rounded up as allocations are, plus the structs,
// timestamps and map slots around them.
func EventBytes(ev *eventv1.Event) int64 {
	heap, _ := measure(ev)
	return heap
}

// EntryBytes estimates the heap an entry holds: its decoded event and its
// stored encoding (Payload, which holds the raw frame a second time). It
// is what the scheduler's byte bound counts per event.
func EntryBytes(e Entry) int64 {
	return entryOverheadBytes + int64(len(e.Ref.ID)) + EventBytes(e.Event) + int64(cap(e.Payload))
}

// AdmissionBytes estimates what a decoded event waiting for admission will
// hold once admitted: the event, the encoding Admit makes of it, and the
// entry around them (about EntryBytes of its admission).
func AdmissionBytes(ev *eventv1.Event) int64 {
	if ev == nil {
		return 0
	}
	heap, encoded := measure(ev)
	return entryOverheadBytes + heap + encoded
}

// sizer adds up an event's data as it is held decoded and encoded.
type sizer struct{ data, fields, heap int }

func (z *sizer) str(ss ...string) {
	for _, s := range ss {
		if s != "" {
			z.data += len(s)
			z.fields++
		}
	}
}

func (z *sizer) ts(ts ...*timestamppb.Timestamp) {
	for _, t := range ts {
		if t != nil {
			z.heap += timestampStructBytes
			z.data += 12 // seconds and nanos, as varints
			z.fields++
		}
	}
}

func (z *sizer) strMap(m map[string]string) {
	for k, v := range m {
		z.data += len(k) + len(v)
		z.fields += 3 // the entry, its key and its value
		z.heap += mapSlotBytes
	}
}

// measure returns the heap a decoded event holds and the length of its
// encoding, both estimated. A field added to the event's messages must be
// added here (TestEntryBytesTracksTheHeap measures events with every
// field set).
func measure(ev *eventv1.Event) (heap, encoded int64) {
	if ev == nil {
		return 0, 0
	}
	z := sizer{heap: eventStructBytes}
	z.str(ev.GetTenant(), ev.GetInteractionId(), ev.GetFamily(), ev.GetEventType(), ev.GetDedupKey(), ev.GetOrderKey())
	z.str(string(ev.GetRaw())) // no copy: the conversion only measures
	z.ts(ev.GetOccurredAt(), ev.GetReceivedAt())
	if s := ev.GetSource(); s != nil {
		z.heap += sourceStructBytes
		z.str(s.GetInstanceId(), s.GetSubscriptionId())
		z.ts(s.GetTimestamp())
		z.data += 8
	}
	if in := ev.GetInteraction(); in != nil {
		z.heap += interactionStructBytes
		z.str(in.GetCallState(), in.GetDirection(), in.GetMediaType(), in.GetAgentId(), in.GetQueueName(),
			in.GetCampaignName(), in.GetInteractionType(), in.GetDispositionCode(), in.GetCustomerPhone(),
			in.GetHangupInitiator(), in.GetCallHangupReason(), in.GetOriginalInteractionId(),
			in.GetTclSelectedItems(), in.GetInboundChannelId())
		z.str(in.GetParticipatingAgents()...)
		z.heap += 16 * len(in.GetParticipatingAgents()) // the slice's string headers
		z.ts(in.GetQueueTime())
		// Each set optional number is an allocation of its own.
		for _, p := range []*int64{in.ResourceType, in.QueueId, in.CampaignId, in.TransactionNum} {
			if p != nil {
				z.heap += 8
				z.data += 8
			}
		}
	}
	z.strMap(ev.GetAttachedData())
	z.strMap(ev.GetTraceContext())
	// Allocations are rounded up to size classes (up to an eighth more).
	heap = int64(z.heap + z.data + z.data/8)
	encoded = int64(z.data + tagBytes*z.fields)
	return heap, encoded
}
