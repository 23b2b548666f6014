package timeline

import (
	"hash/maphash"
	"slices"
	"sync"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/memo"
	"github.com/ccbridge/bridge/internal/phone"
)

// maxAgentsPerInteraction bounds the agents an interaction is indexed
// under (a transfer chain rarely has more than a few).
const maxAgentsPerInteraction = 16

// dimsCacheSize is the number of recent interactions whose dimensions are
// remembered, so that an event that lacks a field (an InteractionDeleted
// without the phone) is still indexed under its interaction's phone: the
// interactions of the last minute at 1,000 events/s (about 150 new ones a
// second), of the last quarter hour at 100 events/s. About 700 bytes each
// (5.7 MB in a heap profile at 1,000 events/s: the map slot and an array
// of 8 event ids, 512 bytes).
const dimsCacheSize = 8_000

// dimsCache remembers the dimensions of recent interactions; those in use
// stay, idle ones go (memo.Cache's generations). Safe for concurrent use.
//
// Interactions are held by a digest of tenant and id, raw phones by a
// 64-bit hash, and event ids inline (see rememberedEvent), so an
// interaction costs its cache slot, its events' array, its E.164 and its
// agents: thousands of long-lived small objects fewer (see package memo).
// Two interactions sharing a digest (about 2^-128 per pair) would share
// dimensions; an interaction's new raw phone hashing like its old one
// (2^-64) would keep the old E.164.
type dimsCache struct {
	region  string
	digests memo.Digester
	phones  maphash.Seed // for rawPhone: a change of the raw phone is all it tells

	mu      sync.Mutex // makes a read and the write after it one step
	entries *memo.Cache[memo.Digest, dimsEntry]
}

type dimsEntry struct {
	rawPhone uint64 // hash of the raw phone the E.164 was computed from (0: none yet)
	dims     Dims
	events   []rememberedEvent // the interaction's events recorded so far (the first maxRememberedEvents)
}

// eventRef is an event in an index: its id and first receive time (ms).
type eventRef struct {
	id string
	ms int64
}

// rememberedEvent is an eventRef as dimsEntry keeps it: an id of up to
// 32 bytes (a SAPI event's dedup key has 32 hex digits) inline, a longer
// one as a string.
type rememberedEvent struct {
	id   [32]byte
	n    uint8
	long string
	ms   int64
}

func remember(r eventRef) rememberedEvent {
	m := rememberedEvent{ms: r.ms}
	if len(r.id) > len(m.id) {
		m.long = r.id
		return m
	}
	m.n = uint8(copy(m.id[:], r.id))
	return m
}

func (m *rememberedEvent) is(id string) bool {
	if m.long != "" {
		return m.long == id
	}
	return string(m.id[:m.n]) == id
}

func (m *rememberedEvent) ref() eventRef {
	if m.long != "" {
		return eventRef{id: m.long, ms: m.ms}
	}
	return eventRef{id: string(m.id[:m.n]), ms: m.ms}
}

// maxRememberedEvents bounds the events remembered per interaction for
// indexing them under dimensions their interaction reveals later.
const maxRememberedEvents = 64

// rememberedEventsCap is the first capacity of an interaction's events:
// most interactions have fewer, so their array is allocated once.
const rememberedEventsCap = 8

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
	return &dimsCache{region: region, digests: memo.NewDigester(), phones: maphash.MakeSeed(),
		entries: memo.New[memo.Digest, dimsEntry](dimsCacheSize, memo.HashDigest)}
}

// of returns the dimensions of ev: its own fields, completed with what
// earlier events of its interaction carried.
func (c *dimsCache) of(ev *eventv1.Event) Dims { return c.observe(ev, nil).dims }

// observe is of for an event being received (ref not nil): it also
// remembers the event and reports the dimensions it revealed.
func (c *dimsCache) observe(ev *eventv1.Event, ref *eventRef) observation {
	f := ev.GetInteraction()
	key := c.digests.Of(ev.GetTenant(), ev.GetInteractionId())
	var rawPhone uint64
	if raw := f.GetCustomerPhone(); raw != "" {
		rawPhone = maphash.String(c.phones, raw) | 1 // never 0, which means none
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _ := c.entries.Get(key)
	var o observation
	if rawPhone != 0 && rawPhone != e.rawPhone {
		if p, err := phone.Normalize(f.GetCustomerPhone(), c.region); err == nil {
			if p != e.dims.Phone {
				o.revealed = append(o.revealed, dimPhone(p))
			}
			e.rawPhone, e.dims.Phone = rawPhone, p
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
		if len(o.revealed) > 0 && len(e.events) > 0 {
			o.earlier = make([]eventRef, len(e.events))
			for i := range e.events {
				o.earlier[i] = e.events[i].ref()
			}
		}
		if len(e.events) < maxRememberedEvents && !slices.ContainsFunc(e.events, func(m rememberedEvent) bool { return m.is(ref.id) }) {
			if e.events == nil {
				e.events = make([]rememberedEvent, 0, rememberedEventsCap)
			}
			e.events = append(e.events, remember(*ref))
		}
	}
	c.entries.Add(key, e)
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
