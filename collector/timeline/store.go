package timeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/collector/eventstore"
	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
	"github.com/ccbridge/bridge/internal/phone"
)

// Store is the Redis timeline. Every method is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	cfg  Config
	dims *dimsCache
	hub  *Hub
	now  func() time.Time
	// memo remembers what recent batches did to keys (see keyMemo).
	memo *keyMemo
	// scanBudget bounds the index members one listing examines.
	scanBudget int
}

// New returns a store over rdb. The caller owns rdb and closes it.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("timeline config: %w", err)
	}
	return &Store{rdb: rdb, cfg: cfg, dims: newDimsCache(cfg.DefaultRegion), hub: NewHub(), now: time.Now,
		memo:       newKeyMemo(time.Now(), expiryRefresh(cfg.Retention), trimInterval, keyMemoSize),
		scanBudget: defaultScanBudget}, nil
}

// retained is the oldest index score within retention at now (unix ms):
// listings skip older members, which the indexes keep until their next
// trim.
func (s *Store) retained() int64 { return s.now().Add(-s.cfg.Retention).UnixMilli() }

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// Hub is where written changes are published for watchers.
func (s *Store) Hub() *Hub { return s.hub }

// NormalizePhone returns raw in E.164, read as the dispatchers read it (a
// number without a country code belongs to the default region). The
// error never contains the number.
func (s *Store) NormalizePhone(raw string) (string, error) {
	return phone.Normalize(raw, s.cfg.DefaultRegion)
}

// kept reports whether the timeline keeps ev: Interaction events with an
// interaction id and a dedup key.
func kept(ev *eventv1.Event) bool {
	return ev.GetFamily() == "Interaction" && ev.GetInteractionId() != "" && ev.GetDedupKey() != "" && ev.GetTenant() != ""
}

// TraceID returns the W3C trace id of ev's traceparent, or "".
func TraceID(ev *eventv1.Event) string {
	parts := strings.Split(ev.GetTraceContext()["traceparent"], "-")
	if len(parts) != 4 || len(parts[1]) != 32 {
		return ""
	}
	return parts[1]
}

// verdictOf maps a stored verdict to eventstore's.
func verdictOf(v int64) eventstore.Verdict {
	switch v {
	case 1:
		return eventstore.VerdictNew
	case 2:
		return eventstore.VerdictDuplicatePending
	case 3:
		return eventstore.VerdictDuplicate
	}
	return 0
}

// storedVerdict maps eventstore's verdict to its stored value.
func storedVerdict(v eventstore.Verdict) int64 {
	switch v {
	case eventstore.VerdictNew:
		return 1
	case eventstore.VerdictDuplicatePending:
		return 2
	case eventstore.VerdictDuplicate:
		return 3
	}
	return 0
}
