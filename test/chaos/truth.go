package chaos

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
)

// eventID identifies one event at Regal: its interaction, its Regal event
// name and its originalTimestamp.
type eventID struct {
	Interaction string `json:"interaction_id"`
	Name        string `json:"name"`
	Timestamp   string `json:"original_timestamp"`
}

func (id eventID) String() string {
	return id.Interaction + " " + strconv.Quote(id.Name) + " @ " + id.Timestamp
}

// regalNames is the default mapping table of docs/mapping.md, written out here
// rather than taken from the code under test.
var regalNames = map[string]string{
	"InteractionCreated":           "Interaction Created",
	"InteractionQueued":            "Interaction Queued",
	"InteractionAssigned":          "Interaction Assigned",
	"InteractionDeassigned":        "Interaction Deassigned",
	"InteractionAccepted":          "Interaction Accepted",
	"InteractionCustomerAccepted":  "Interaction Customer Accepted",
	"InteractionParticipantChange": "Interaction Participant Change",
	"InteractionPostProcess":       "Interaction Post Process",
	"InteractionDeleted":           "Interaction Deleted",
}

// phoneKeys are the attached data that carry the customer's phone.
var phoneKeys = map[string]bool{"remotePhoneNum": true, "phoneNum": true, "pho": true}

// originalTimestampLayout is how Regal's originalTimestamp is written, in
// UTC.
const originalTimestampLayout = "2006-01-02 15:04:05 -07:00"

// groundTruth is what a run publishes and what Regal must receive.
type groundTruth struct {
	// events are the SAPI events in publishing order, each once.
	events [][]byte
	// calls is the number of scripted calls.
	calls int
	// expected lists, per interaction, the events Regal must receive, in
	// order; order lists the interactions by their first event.
	expected map[string][]eventID
	order    []string
	// position is each expected event's index in its interaction's list.
	position map[eventID]int
}

// newGroundTruth scripts calls with the scenario package, interleaves
// them wave by wave (wave calls at a time, as concurrent calls produce
// events) and derives what Regal must receive.
func newGroundTruth(seed int64, tenant string, calls, wave int, start time.Time) (*groundTruth, error) {
	mix := scenario.Mix(seed, tenant, calls, start)
	g := &groundTruth{calls: len(mix), expected: map[string][]eventID{}, position: map[eventID]int{}}
	for first := 0; first < len(mix); first += wave {
		g.events = append(g.events, scenario.Interleave(mix[first:min(first+wave, len(mix))], seed+int64(first))...)
	}
	for i, raw := range g.events {
		id, ok, err := expectedAtRegal(raw)
		if err != nil {
			return nil, fmt.Errorf("scenario event %d: %w", i, err)
		}
		if !ok {
			continue
		}
		if _, dup := g.position[id]; dup {
			return nil, fmt.Errorf("scenario event %d: %s occurs twice, the run could not tell a duplicate from it", i, id)
		}
		list := g.expected[id.Interaction]
		if list == nil {
			g.order = append(g.order, id.Interaction)
		}
		g.position[id] = len(list)
		g.expected[id.Interaction] = append(list, id)
	}
	return g, nil
}

// total is the number of events Regal must receive.
func (g *groundTruth) total() int { return len(g.position) }

// sapiInteraction holds the members of an Interaction event that decide
// what Regal receives.
type sapiInteraction struct {
	Event              string      `json:"event"`
	InteractionGUID    string      `json:"interactionGUID"`
	InteractionEventTS json.Number `json:"interactionEventTS"`
	AttachedData       struct {
		AttachedDatum []struct {
			Key string `json:"attachedDataKey"`
		} `json:"attachedDatum"`
	} `json:"attachedData"`
}

// expectedAtRegal says whether a SAPI event must reach Regal (a mapped
// Interaction event with a phone) and as what.
func expectedAtRegal(raw []byte) (eventID, bool, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(raw, &root); err != nil {
		return eventID{}, false, err
	}
	body, ok := root["Interaction"]
	if !ok {
		return eventID{}, false, nil
	}
	var in sapiInteraction
	if err := json.Unmarshal(body, &in); err != nil {
		return eventID{}, false, err
	}
	name, mapped := regalNames[in.Event]
	if !mapped || !hasPhone(in) {
		return eventID{}, false, nil
	}
	seconds, err := in.InteractionEventTS.Int64()
	if err != nil {
		return eventID{}, false, fmt.Errorf("%s of %s has no epoch-seconds interactionEventTS", in.Event, in.InteractionGUID)
	}
	ts := time.Unix(seconds, 0).UTC().Format(originalTimestampLayout)
	return eventID{Interaction: in.InteractionGUID, Name: name, Timestamp: ts}, true, nil
}

func hasPhone(in sapiInteraction) bool {
	for _, d := range in.AttachedData.AttachedDatum {
		if phoneKeys[d.Key] {
			return true
		}
	}
	return false
}
