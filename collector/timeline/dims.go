package timeline

import (
	"container/list"
	"slices"
	"sync"

	"github.com/ccbridge/bridge/dispatcher/translate"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// maxAgentsPerInteraction bounds the agents an interaction is indexed
// under (a transfer chain rarely has more than a few).
const maxAgentsPerInteraction = 16

// dimsCacheSize is the number of recent interactions whose dimensions are
// remembered, so that an event that lacks a field (an InteractionDeleted
// without the phone) is still indexed under its interaction's phone: the
// interactions of the last minute at 1,000 events/s (about 150 new ones a
// second), of the last quarter hour at 100 events/s. About 750 bytes each.
const dimsCacheSize = 8_000

// dimsCache remembers the dimensions of recent interactions. Safe for
// concurrent use.
type dimsCache struct {
	mu     sync.Mutex
	region string
	order  *list.List // front = most recent; values are *dimsEntry
	byKey  map[string]*list.Element
}

type dimsEntry struct {
	key      string
	rawPhone string // the raw phone the E.164 was computed from
	dims     Dims
	events   []eventRef // the interaction's events recorded so far (the first maxRememberedEvents)
}

// eventRef is an event in an index: its id and first receive time (ms).
type eventRef struct {
	id string
	ms int64
}

// maxRememberedEvents bounds the events remembered per interaction for
// indexing them under dimensions their interaction reveals later.
const maxRememberedEvents = 64

// observation is what dimsCache.observe learned from an event.
type observation struct {
	// dims are the interaction's dimensions, this event's included.
	dims Dims
	// revealed are index dimensions this event added to the interaction,
	// and earlier the interaction's events recorded before it: those
	// must be indexed under revealed too.
	revealed []string
	earlier  []eventRef
}

func newDimsCache(region string) *dimsCache {
	return &dimsCache{region: region, order: list.New(), byKey: map[string]*list.Element{}}
}

// of returns the dimensions of ev: its own fields, completed with what
// earlier events of its interaction carried.
func (c *dimsCache) of(ev *eventv1.Event) Dims { return c.observe(ev, nil).dims }

// observe is of for an event being received (ref not nil): it also
// remembers the event and reports the dimensions it revealed.
func (c *dimsCache) observe(ev *eventv1.Event, ref *eventRef) observation {
	f := ev.GetInteraction()
	key := ev.GetTenant() + "\x00" + ev.GetInteractionId()
	c.mu.Lock()
	defer c.mu.Unlock()
	var e *dimsEntry
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		e = el.Value.(*dimsEntry)
	} else {
		e = &dimsEntry{key: key}
		c.byKey[key] = c.order.PushFront(e)
		if c.order.Len() > dimsCacheSize {
			old := c.order.Back()
			c.order.Remove(old)
			delete(c.byKey, old.Value.(*dimsEntry).key)
		}
	}
	var o observation
	if raw := f.GetCustomerPhone(); raw != "" && raw != e.rawPhone {
		if p, err := translate.NormalizePhone(raw, c.region); err == nil {
			if p != e.dims.Phone {
				o.revealed = append(o.revealed, dimPhone(p))
			}
			e.rawPhone, e.dims.Phone = raw, p
		}
	}
	if id := f.GetCampaignId(); id != 0 && id != e.dims.CampaignID {
		e.dims.CampaignID = id
		o.revealed = append(o.revealed, dimCampaign(id))
	}
	if id := f.GetQueueId(); id != 0 && id != e.dims.QueueID {
		e.dims.QueueID = id
		o.revealed = append(o.revealed, dimQueue(id))
	}
	if a := f.GetAgentId(); a != "" && !slices.Contains(e.dims.Agents, a) && len(e.dims.Agents) < maxAgentsPerInteraction {
		// A new slice: earlier Dims values share the old one.
		e.dims.Agents = append(slices.Clip(e.dims.Agents), a)
		o.revealed = append(o.revealed, dimAgent(a))
	}
	o.dims = e.dims
	if ref != nil {
		if len(o.revealed) > 0 {
			o.earlier = slices.Clone(e.events)
		}
		if len(e.events) < maxRememberedEvents && !slices.ContainsFunc(e.events, func(r eventRef) bool { return r.id == ref.id }) {
			e.events = append(e.events, *ref)
		}
	}
	return o
}

// dims lists the index dimensions of d, "all" first.
func (d Dims) dims() []string {
	out := make([]string, 0, 4+len(d.Agents))
	out = append(out, dimAll)
	if d.Phone != "" {
		out = append(out, dimPhone(d.Phone))
	}
	if d.CampaignID != 0 {
		out = append(out, dimCampaign(d.CampaignID))
	}
	if d.QueueID != 0 {
		out = append(out, dimQueue(d.QueueID))
	}
	for _, a := range d.Agents {
		out = append(out, dimAgent(a))
	}
	return out
}

// Matches reports whether an event with dimensions d matches q's phone,
// campaign, queue and agent.
func (d Dims) Matches(q Query) bool {
	return (q.Phone == "" || d.Phone == q.Phone) &&
		(q.CampaignID == 0 || d.CampaignID == q.CampaignID) &&
		(q.QueueID == 0 || d.QueueID == q.QueueID) &&
		(q.AgentID == "" || slices.Contains(d.Agents, q.AgentID))
}
