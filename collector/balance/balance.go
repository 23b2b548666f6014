// Package balance spreads the tenants of several collectors configured
// with the same tenants over them (collector.balance.mode rendezvous).
//
// Every collector registers its id in a membership set in Redis,
//
//	<prefix>:balance:collectors = { collector id → expiry (ms, Redis clock) }
//
// (an internal/registry set beside the dispatchers' one), and every
// Interval computes each tenant's owner by rendezvous hashing over the
// live ids: the id with the highest hash of (tenant, id). Every collector
// computes the same owners from the same set, a joining collector takes
// about 1/N of the tenants and a leaving one's tenants spread over the
// others, while every other tenant stays where it is. A collector serves
// the tenants it owns and does not serve (when their lease is free: a
// previous holder releases it or its TTL passes) and hands over, by
// releasing the lease, the tenants it serves and no longer owns. The
// lease, not the hash, keeps one collector per tenant: while collectors
// disagree on the set for a moment, a tenant stays with its holder.
//
// In static mode (the default) there is no balancer: a collector serves
// every tenant it is configured with, from Start.
package balance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/ccbridge/bridge/internal/registry"
)

// Mode is how a collector chooses the tenants it serves.
type Mode string

const (
	// ModeStatic serves every configured tenant from Start; a second
	// collector on a served tenant refuses to start.
	ModeStatic Mode = "static"
	// ModeRendezvous spreads the configured tenants over the live
	// collectors by rendezvous hashing, and moves them as collectors join
	// and leave.
	ModeRendezvous Mode = "rendezvous"
)

// DefaultInterval is how often a collector recomputes its share.
const DefaultInterval = time.Second

// Config configures how a collector shares its tenants with others.
type Config struct {
	// Mode is static (serve every configured tenant; the default) or
	// rendezvous (collectors configured with the same tenants share them,
	// and a tenant moves when a collector joins, leaves or dies).
	Mode Mode `yaml:"mode"`
	// Interval is how often, in rendezvous mode, a collector reads the
	// live collectors and takes or hands over tenants: a tenant moves
	// within about two intervals of a join or a clean leave.
	Interval time.Duration `yaml:"interval"`
	// ID names this collector in the membership set; empty: host/pid and
	// a random suffix, unique per process. Ids must differ between
	// collectors.
	ID string `yaml:"id"`
	// KeyPrefix starts the membership key: the event store's prefix.
	KeyPrefix string `yaml:"-"`
	// MemberTTL is how long a membership lasts unrenewed (how long a dead
	// collector still owns its share): the lease TTL.
	MemberTTL time.Duration `yaml:"-"`
}

// DefaultConfig returns the defaults: static mode.
func DefaultConfig() Config { return Config{Mode: ModeStatic, Interval: DefaultInterval} }

// Rendezvous reports whether the tenants are spread over collectors.
func (c Config) Rendezvous() bool { return c.Mode == ModeRendezvous }

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeStatic, "":
	case ModeRendezvous:
		if c.Interval < 10*time.Millisecond {
			errs = append(errs, fmt.Errorf("balance: interval must be at least 10ms, got %s", c.Interval))
		}
	default:
		errs = append(errs, fmt.Errorf("balance: mode must be %s or %s, got %q", ModeStatic, ModeRendezvous, c.Mode))
	}
	return errors.Join(errs...)
}

// Owner returns the member that owns tenant: the one with the highest
// hash of (tenant, member), ties to the smaller id; "" when there is no
// member.
func Owner(tenant string, members []string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		sc := score(tenant, m)
		if best == "" || sc > bestScore || (sc == bestScore && m < best) {
			best, bestScore = m, sc
		}
	}
	return best
}

// Assign gives every tenant an owner among members: each takes its
// rendezvous order of members (highest hash first, as Owner) and the
// first member that owns fewer than ceil(tenants/members) so far, tenants
// taken in sorted order. Plain rendezvous (Owner) is fair only over many
// tenants (12 over 3 can split 7/2/3); the bound keeps every member
// within one tenant of its share, while a member that joins or leaves
// still moves few. Every collector computes the same assignment from the
// same tenant list and membership; none when there is no member.
func Assign(tenants, members []string) map[string]string {
	out := make(map[string]string, len(tenants))
	if len(members) == 0 {
		return out
	}
	limit := (len(tenants) + len(members) - 1) / len(members)
	owned := make(map[string]int, len(members))
	for _, t := range slices.Sorted(slices.Values(tenants)) {
		ranked := slices.Clone(members)
		slices.SortFunc(ranked, func(x, y string) int {
			sx, sy := score(t, x), score(t, y)
			switch {
			case sx > sy:
				return -1
			case sx < sy:
				return 1
			}
			return strings.Compare(x, y)
		})
		for _, m := range ranked {
			if owned[m] < limit {
				out[t] = m
				owned[m]++
				break
			}
		}
	}
	return out
}

// score is the rendezvous weight of member for tenant.
func score(tenant, member string) uint64 {
	h := sha256.Sum256([]byte(tenant + "\x00" + member))
	return binary.BigEndian.Uint64(h[:8])
}

// Tenants is what the balancer moves: the collector's tenants.
type Tenants interface {
	// Serve takes the tenant's lease when it is free and serves the
	// tenant; false when another collector holds the lease.
	Serve(ctx context.Context, tenant string) (bool, error)
	// Unserve stops serving the tenant and releases its lease.
	Unserve(ctx context.Context, tenant string) error
	// Serving reports whether the tenant is served (and its lease held).
	Serving(tenant string) bool
}

// Balancer keeps one collector's share of the tenants. Create with New,
// then Start; Shutdown hands every tenant over.
type Balancer struct {
	rdb     redis.Scripter
	cfg     Config
	tenants []string
	t       Tenants
	logger  *slog.Logger
	reg     *registry.Registration

	mu      sync.Mutex
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// Option configures a Balancer.
type Option func(*Balancer)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(b *Balancer) { b.logger = l } }

// NewID returns a collector id unique per process: host/pid and a random
// suffix.
func NewID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(suffix)
}

// New returns a balancer of tenants (cfg.ID, or NewID, names it), not yet
// started. meter, if not nil, reports ccb.collector.tenants_served.
func New(rdb redis.Scripter, cfg Config, tenants []string, t Tenants, meter metric.Meter, opts ...Option) (*Balancer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		cfg.ID = NewID()
	}
	ttl := max(cfg.MemberTTL, time.Second)
	reg, err := registry.NewRegistration(rdb, registry.Config{KeyPrefix: memberPrefix(cfg.KeyPrefix), TTL: ttl}, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	b := &Balancer{rdb: rdb, cfg: cfg, tenants: slices.Clone(tenants), t: t, logger: slog.New(slog.DiscardHandler), reg: reg,
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(b)
	}
	if meter != nil {
		served, err := meter.Int64ObservableGauge("ccb.collector.tenants_served",
			metric.WithDescription("Tenants this collector serves now (holds the lease of and reads); in rendezvous mode its share of the configured tenants."))
		if err != nil {
			return nil, fmt.Errorf("balance metrics: %w", err)
		}
		if _, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			o.ObserveInt64(served, int64(len(b.Served())))
			return nil
		}, served); err != nil {
			return nil, fmt.Errorf("balance metrics: %w", err)
		}
	}
	return b, nil
}

// memberPrefix keeps the membership set apart from the dispatchers'
// registry of addresses.
func memberPrefix(prefix string) string { return prefix + ":balance" }

// Members returns the ids of the live collectors under prefix, sorted.
func Members(ctx context.Context, rdb redis.Scripter, prefix string) ([]string, error) {
	return registry.List(ctx, rdb, memberPrefix(prefix))
}

// ID names this collector in the membership set.
func (b *Balancer) ID() string { return b.cfg.ID }

// Served returns the tenants served now, in configuration order.
func (b *Balancer) Served() []string {
	var out []string
	for _, t := range b.tenants {
		if b.t.Serving(t) {
			out = append(out, t)
		}
	}
	return out
}

// Start registers the collector as a member, takes its share at once, and
// keeps it every Interval until Shutdown.
func (b *Balancer) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.stopped {
		return errors.New("balance: already started or shut down")
	}
	if err := b.reg.Start(ctx); err != nil {
		return err
	}
	b.started = true
	b.logger.Info("collector joins the tenant balancing", "id", b.cfg.ID, "tenants", len(b.tenants))
	b.Round(ctx)
	go b.loop()
	return nil
}

func (b *Balancer) loop() {
	defer close(b.done)
	t := time.NewTicker(b.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(10*b.cfg.Interval, 10*time.Second))
		b.Round(ctx)
		cancel()
	}
}

// Round reads the live collectors once, hands over the tenants this
// collector serves and no longer owns, then takes those it owns and does
// not serve (a lease another collector still holds is tried again next
// round). A collector missing from the set (its membership lapsed) takes
// nothing.
func (b *Balancer) Round(ctx context.Context) {
	members, err := Members(ctx, b.rdb, b.cfg.KeyPrefix)
	if err != nil {
		b.logger.Warn("cannot read the live collectors; the tenants stay where they are", "err", err)
		return
	}
	self := slices.Contains(members, b.cfg.ID)
	owners := Assign(b.tenants, members)
	var take []string
	for _, t := range b.tenants {
		owned := self && owners[t] == b.cfg.ID
		serving := b.t.Serving(t)
		switch {
		case serving && !owned && self:
			if err := b.t.Unserve(ctx, t); err != nil {
				b.logger.Warn("could not hand the tenant over; trying again", "tenant", t, "err", err)
				continue
			}
			b.logger.Info("tenant handed over to its owner", "tenant", t, "owner", owners[t])
		case !serving && owned:
			take = append(take, t)
		}
	}
	for _, t := range take {
		ok, err := b.t.Serve(ctx, t)
		switch {
		case err != nil:
			b.logger.Warn("could not take the tenant; trying again", "tenant", t, "err", err)
		case ok:
			b.logger.Info("tenant taken", "tenant", t, "id", b.cfg.ID)
		}
	}
}

// Shutdown leaves the membership first, so that the others own this
// collector's tenants at their next round, then hands every tenant it
// serves over by releasing its lease, so they take it at once. Idempotent
// and safe before Start.
func (b *Balancer) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return nil
	}
	b.stopped = true
	started := b.started
	b.mu.Unlock()
	if !started {
		return nil
	}
	close(b.stop)
	<-b.done
	errs := []error{b.reg.Shutdown(ctx)}
	// At once for every tenant: each may wait for its deliveries in
	// flight to settle.
	served := b.Served()
	unserved := make([]error, len(served))
	var wg sync.WaitGroup
	for i, t := range served {
		wg.Go(func() { unserved[i] = b.t.Unserve(ctx, t) })
	}
	wg.Wait()
	return errors.Join(append(errs, unserved...)...)
}
