package timeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/redistest"
)

// startClient starts a server of b for t and returns a client for it.
func startClient(t *testing.T, b redistest.Backend) redis.UniversalClient {
	return b.Start(t, redistest.Options{}).Client(t)
}

func newStore(t *testing.T, rdb redis.UniversalClient, prefix string) *timeline.Store {
	t.Helper()
	cfg := timeline.DefaultConfig()
	cfg.KeyPrefix = prefix
	s, err := timeline.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const tenant = "acme"

// base is a fixed time the cases start from (recent, so within retention).
var base = time.Now().Add(-time.Hour).Truncate(time.Second)

// call describes an interaction's fields, carried by its events.
type call struct {
	id       string
	phone    string // as 8x8 sends it
	campaign int64
	queue    int64
	agent    string
}

// event builds a normalized Interaction event of c, received at base+offset.
func (c call) event(dedup, eventType string, offset time.Duration) *eventv1.Event {
	at := base.Add(offset)
	f := &eventv1.InteractionFields{CustomerPhone: c.phone, AgentId: c.agent, CampaignName: "", MediaType: "phone", Direction: "out"}
	if c.campaign != 0 {
		f.CampaignId = &c.campaign
		f.CampaignName = fmt.Sprintf("Campaign %d", c.campaign)
		f.InteractionType = "campaign"
	}
	if c.queue != 0 {
		f.QueueId = &c.queue
		f.QueueName = fmt.Sprintf("Queue %d", c.queue)
	}
	return &eventv1.Event{
		Tenant: tenant, InteractionId: c.id, Family: "Interaction", EventType: eventType,
		OccurredAt: timestamppb.New(at.Add(-time.Second)), ReceivedAt: timestamppb.New(at),
		DedupKey: dedup, OrderKey: c.id, Interaction: f,
		Raw:          []byte(fmt.Sprintf(`{"Interaction":{"event":%q,"interactionGUID":%q}}`, eventType, c.id)),
		TraceContext: map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
	}
}

func received(ev *eventv1.Event, v eventstore.Verdict) timeline.Change {
	return timeline.Change{Type: timeline.ChangeReceived, At: ev.GetReceivedAt().AsTime(), Event: ev, Verdict: v}
}

func settled(ev *eventv1.Event, typ timeline.ChangeType, offset time.Duration, status, attempts int, reason string) timeline.Change {
	return timeline.Change{Type: typ, At: base.Add(offset), Event: ev, RegalStatus: status, Attempts: attempts, Reason: reason}
}

func record(t *testing.T, s *timeline.Store, changes ...timeline.Change) {
	t.Helper()
	if err := s.Record(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
}

func getInteraction(t *testing.T, s *timeline.Store, id string) (timeline.Interaction, []timeline.Event) {
	t.Helper()
	in, events, err := s.Interaction(context.Background(), tenant, id)
	if err != nil {
		t.Fatalf("interaction %s: %v", id, err)
	}
	return in, events
}

// stateOf returns the event's state in events.
func stateOf(t *testing.T, events []timeline.Event, id string) timeline.EventState {
	t.Helper()
	for _, e := range events {
		if e.ID == id {
			return e.State
		}
	}
	t.Fatalf("event %s not in the timeline", id)
	return timeline.EventState{}
}

func historyTypes(e timeline.Event) []string {
	var out []string
	for _, h := range e.History {
		out = append(out, h.Type.String())
	}
	return out
}

// newRecorder starts a recorder writing to s.
func newRecorder(t *testing.T, s *timeline.Store, opts timeline.RecorderOptions) *timeline.Recorder {
	t.Helper()
	r, err := timeline.NewRecorder(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
