package timeline

import (
	"errors"
	"time"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// ErrNotFound is returned when an interaction or event is not stored (never
// seen, or past retention).
var ErrNotFound = errors.New("timeline: not found")

// ChangeType is the kind of a Change.
type ChangeType uint8

// Change types. Their values are stored: never renumber them.
const (
	// ChangeReceived: a sighting of the event; Verdict says new or duplicate.
	ChangeReceived ChangeType = iota + 1
	// ChangeDispatched: handed to a dispatcher.
	ChangeDispatched
	// ChangeRetrying: a delivery failed and the event will be delivered again.
	ChangeRetrying
	// ChangeDelivered: Regal accepted it.
	ChangeDelivered
	// ChangeSkipped: not sent (mapping or missing phone).
	ChangeSkipped
	// ChangeDeadLettered: given up.
	ChangeDeadLettered
	// ChangeReplayed: sent to delivery again from the dead letters.
	ChangeReplayed
)

func (t ChangeType) String() string {
	switch t {
	case ChangeReceived:
		return "received"
	case ChangeDispatched:
		return "dispatched"
	case ChangeRetrying:
		return "retrying"
	case ChangeDelivered:
		return "delivered"
	case ChangeSkipped:
		return "skipped"
	case ChangeDeadLettered:
		return "dead_lettered"
	case ChangeReplayed:
		return "replayed"
	}
	return "unknown"
}

// State is where an event stands on its way to Regal.
type State uint8

// States. Their values are stored: never renumber them.
const (
	StatePending State = iota + 1
	StateInDelivery
	StateRetrying
	StateDelivered
	StateSkipped
	StateDeadLettered
)

func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateInDelivery:
		return "in_delivery"
	case StateRetrying:
		return "retrying"
	case StateDelivered:
		return "delivered"
	case StateSkipped:
		return "skipped"
	case StateDeadLettered:
		return "dead_lettered"
	}
	return "unknown"
}

// Settled reports whether the state is final until a replay.
func (s State) Settled() bool {
	return s == StateDelivered || s == StateSkipped || s == StateDeadLettered
}

// State is the state an event is in after a change of type t.
func (t ChangeType) State() State { return stateAfter(t) }

// stateAfter is the state an event is in after a change of type t.
func stateAfter(t ChangeType) State {
	switch t {
	case ChangeDispatched:
		return StateInDelivery
	case ChangeRetrying:
		return StateRetrying
	case ChangeDelivered:
		return StateDelivered
	case ChangeSkipped:
		return StateSkipped
	case ChangeDeadLettered:
		return StateDeadLettered
	}
	return StatePending // ChangeReceived, ChangeReplayed
}

// Change is one thing that happened to one event: the unit the store
// writes, keeps in an interaction's history and hands to watchers.
type Change struct {
	Type ChangeType
	At   time.Time
	// Event is the event. For ChangeReceived it is the sighting as received (a
	// duplicate differs from the first sighting in msgInfo and time).
	Event *eventv1.Event
	// Payload is Event encoded, when the caller has it (saves encoding).
	Payload []byte
	// Verdict is the dedup verdict of a ChangeReceived.
	Verdict eventstore.Verdict
	// RegalStatus is the HTTP status of Regal's last answer, 0 if none.
	RegalStatus int
	// Attempts counts the Regal requests of this delivery.
	Attempts int
	// Reason explains a skip, a retry or a dead letter.
	Reason string
	// Dispatcher names the dispatcher involved, when known.
	Dispatcher string
	// Redelivery counts earlier deliveries of the event not settled.
	Redelivery int

	// held is what the change keeps alive while queued in a Recorder.
	held int64
}

// Published is a written change as watchers receive it.
type Published struct {
	Change
	// Dims are the index dimensions of the event (its interaction's phone,
	// campaign, queue and agents as known when the change was written).
	Dims Dims
	// Sightings and TotalAttempts are the event's counters after the change.
	Sightings     int
	TotalAttempts int
}

// Dims are what an event is indexed under.
type Dims struct {
	Phone      string // E.164; empty when none or invalid
	CampaignID int64
	QueueID    int64
	Agents     []string
}
