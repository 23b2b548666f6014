package timeline

import (
	"time"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// EventState is an event's delivery state and counters.
type EventState struct {
	State       State
	At          time.Time // when it entered State
	RegalStatus int
	Reason      string
	Dispatcher  string
	Redelivery  int
	// Attempts counts the Regal requests made so far, across deliveries.
	Attempts int
	// Sightings counts the times the event was received.
	Sightings     int
	LastDuplicate time.Time
	Replays       int
}

// Counts counts an interaction's events by state.
type Counts struct {
	Events, Pending, InDelivery, Retrying, Delivered, Skipped, DeadLettered, Duplicates int
}

// Unsettled is the number of events pending, in delivery or retrying.
func (c Counts) Unsettled() int { return c.Pending + c.InDelivery + c.Retrying }

// Interaction is a stored interaction's summary.
type Interaction struct {
	Tenant, ID    string
	Phone         string   // latest valid phone, E.164
	Phones        []string // every valid phone seen, sorted
	CampaignID    int64
	CampaignName  string
	Campaigns     []int64
	QueueID       int64
	QueueName     string
	Queues        []int64
	Agents        []string // sorted
	Type          string
	Direction     string
	MediaType     string
	First, Last   time.Time
	LastEventType string
	TraceID       string
	// States is each event's state, by event id.
	States map[string]EventState
	Counts Counts
}

// Event is one stored event.
type Event struct {
	Tenant, ID string
	// Interaction is the interaction id.
	Interaction string
	// Event is the normalized event with its raw payload (capped); nil when
	// only its state is known (the record expired or was never written).
	Event        *eventv1.Event
	RawTruncated bool
	Dims         Dims
	State        EventState
	// History is what happened to it, oldest first (filled by
	// Interaction and Event only).
	History []Change
}

// Query selects interactions or events. Zero fields match everything.
type Query struct {
	Phone      string // E.164 (see Store.NormalizePhone)
	CampaignID int64
	QueueID    int64
	AgentID    string
	// Start (inclusive) and End (exclusive) bound an interaction's latest
	// receive time, or an event's first receive time.
	Start, End time.Time
	// Status selects interactions by their events' states.
	Status StatusFilter
	// State selects events in one state (0: any).
	State State
}

// StatusFilter selects interactions by the state of their events.
type StatusFilter uint8

const (
	// AnyStatus matches every interaction.
	AnyStatus StatusFilter = iota
	// HasDeadLetters matches interactions with a dead-lettered event.
	HasDeadLetters
	// HasUnsettled matches interactions with an event pending, in
	// delivery or retrying.
	HasUnsettled
)

// Cursor is a position in a listing: the last item returned. The zero
// Cursor is the start.
type Cursor struct {
	Score  int64
	Member string
}

// IsZero reports whether c is the start.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// ReceivedAtMillis is when the event was first received (unix ms): from
// its record, else its first history entry, else its state.
func (e Event) ReceivedAtMillis() int64 {
	if t := e.Event.GetReceivedAt(); t.IsValid() {
		return t.AsTime().UnixMilli()
	}
	for _, h := range e.History {
		if h.Type == ChangeReceived {
			return h.At.UnixMilli()
		}
	}
	return e.State.At.UnixMilli()
}
