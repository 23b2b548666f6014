package query

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// DeadLetterReader lists a tenant's dead letters, oldest first (limit 0:
// all). *eventstore.Store implements it.
type DeadLetterReader interface {
	DeadLetters(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, limit int) ([]eventstore.DeadEntry, error)
}

// ReplayFunc sends a tenant's dead letters matching f to delivery again,
// or with dryRun only lists them; it returns the matched dead letters and
// how many were sent. It is the collector's ReplayDeadLetters, which must
// record the replay in the timeline (timeline.Recorder.Replayed) before
// enqueueing the revived entries.
type ReplayFunc func(ctx context.Context, tenant string, f eventstore.DeadLetterFilter, dryRun bool) (matched []eventstore.DeadEntry, replayed int, err error)

// Options are what the service reads from and acts through.
type Options struct {
	// Tenants are the tenant names the collector serves.
	Tenants []string
	// Timeline answers the interaction and event queries and its hub feeds
	// WatchEvents.
	Timeline *timeline.Store
	// DeadLetters answers ListDeadLetters.
	DeadLetters DeadLetterReader
	// Replay serves ReplayDeadLetters.
	Replay ReplayFunc
	// WatchBuffer is how many changes a watcher may fall behind before it
	// is disconnected (default 4096).
	WatchBuffer int
	Logger      *slog.Logger
}

// Service implements queryv1.QueryServiceServer.
type Service struct {
	queryv1.UnimplementedQueryServiceServer
	tenants     []string
	tl          *timeline.Store
	dead        DeadLetterReader
	replay      ReplayFunc
	watchBuffer int
	logger      *slog.Logger

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop: watches end
}

// NewService returns the service over o.
func NewService(o Options) (*Service, error) {
	if o.Timeline == nil || o.DeadLetters == nil || o.Replay == nil {
		return nil, errors.New("query: Timeline, DeadLetters and Replay are required")
	}
	if len(o.Tenants) == 0 {
		return nil, errors.New("query: at least one tenant is required")
	}
	if o.WatchBuffer <= 0 {
		o.WatchBuffer = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	tenants := slices.Clone(o.Tenants)
	slices.Sort(tenants)
	return &Service{tenants: tenants, tl: o.Timeline, dead: o.DeadLetters, replay: o.Replay,
		watchBuffer: o.WatchBuffer, logger: o.Logger, stopping: make(chan struct{})}, nil
}

// Stop ends the running watches (with UNAVAILABLE), so a graceful server
// stop does not wait for them. Idempotent.
func (s *Service) Stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// tenantOf reads a parent and checks that the tenant is served.
func (s *Service) tenantOf(parent string) (string, error) {
	tenant, ok := parseParent(parent)
	if !ok {
		return "", invalid("parent must be \"tenants/{tenant}\"")
	}
	if !s.serves(tenant) {
		return "", notFound("tenant")
	}
	return tenant, nil
}

func (s *Service) serves(tenant string) bool {
	_, found := slices.BinarySearch(s.tenants, tenant)
	return found
}
