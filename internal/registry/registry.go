// Package registry is where collectors say at which address they serve
// the DeliveryService, and where dispatchers find them. It lives below
// both services: the collector registers through it, the dispatcher reads
// it, and neither imports the other.
//
// The registry is one sorted set in Redis,
//
//	<prefix>:collectors = { advertised address → expiry (ms, Redis clock) }
//
// a single key, so it works the same on a Redis Cluster. A collector adds
// its address when it starts serving, renews the expiry every third of
// the TTL, and removes it on a clean shutdown; a collector that crashed
// drops out once its TTL passes. Expiries are computed and compared with
// Redis's own clock (TIME), so the clocks of collectors and dispatchers
// never matter. Two collectors advertising the same address are one entry:
// each collector needs an address of its own.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTTL is how long a registration lasts unrenewed: how long
// dispatchers keep subscribing to a collector that crashed.
const DefaultTTL = 15 * time.Second

// Config configures a collector's registration.
type Config struct {
	// KeyPrefix starts the registry's key: the event store's prefix (the
	// file sets it as collector.store.key_prefix).
	KeyPrefix string `yaml:"-"`
	// TTL is how long a collector's registration lasts unrenewed (it is
	// renewed every third of it): how long dispatchers keep trying a
	// collector that crashed. A collector that stops cleanly removes its
	// registration at once.
	TTL time.Duration `yaml:"ttl"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{KeyPrefix: "ccb", TTL: DefaultTTL} }

// Validate reports invalid settings.
func (c Config) Validate() error {
	var errs []error
	if c.KeyPrefix == "" {
		errs = append(errs, errors.New("key_prefix is required"))
	}
	if c.TTL < time.Second {
		errs = append(errs, errors.New("ttl must be at least 1s"))
	}
	return errors.Join(errs...)
}

// Key is the registry's key for prefix.
func Key(prefix string) string { return prefix + ":collectors" }

// redisNowMS is Redis's clock in milliseconds; scripts run it first.
const redisNowMS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// registerScript adds or renews ARGV[1] for ARGV[2] ms and drops the
// entries that lapsed.
var registerScript = redis.NewScript(redisNowMS + `
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1
`)

// listScript returns the addresses whose registration has not lapsed.
var listScript = redis.NewScript(redisNowMS + `
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`)

// List returns the addresses of the collectors registered under prefix
// whose registration has not lapsed, sorted.
func List(ctx context.Context, rdb redis.Scripter, prefix string) ([]string, error) {
	addrs, err := listScript.Run(ctx, rdb, []string{Key(prefix)}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("read the collector registry: %w", err)
	}
	slices.Sort(addrs) // the set orders them by expiry
	return addrs, nil
}

// Registration keeps one collector's address in the registry from Start
// to Shutdown.
type Registration struct {
	rdb    redis.Scripter
	cfg    Config
	addr   string
	logger *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	stop    chan struct{}
	done    chan struct{}
}

// Option configures a Registration.
type Option func(*Registration)

// WithLogger logs failed renewals to logger.
func WithLogger(logger *slog.Logger) Option { return func(r *Registration) { r.logger = logger } }

// NewRegistration returns a registration of addr, not yet made.
func NewRegistration(rdb redis.Scripter, cfg Config, addr string, opts ...Option) (*Registration, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if addr == "" {
		return nil, errors.New("registry: an address is required")
	}
	r := &Registration{rdb: rdb, cfg: cfg, addr: addr, logger: slog.New(slog.DiscardHandler),
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Addr is the address registered.
func (r *Registration) Addr() string { return r.addr }

// Start registers the address, failing if Redis does not take it, then
// renews it in the background until Shutdown. It starts once.
func (r *Registration) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return errors.New("registry: registration already started or shut down")
	}
	if err := r.register(ctx); err != nil {
		return err
	}
	r.started = true
	go r.renew()
	return nil
}

func (r *Registration) register(ctx context.Context) error {
	if err := registerScript.Run(ctx, r.rdb, []string{Key(r.cfg.KeyPrefix)}, r.addr, r.cfg.TTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("register %s in the collector registry: %w", r.addr, err)
	}
	return nil
}

// renew renews the registration every third of its TTL, so two renewals
// may fail before it lapses.
func (r *Registration) renew() {
	defer close(r.done)
	every := r.cfg.TTL / 3
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		err := r.register(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			failing = true
			r.logger.Warn("cannot renew this collector's registration; dispatchers drop it once it lapses", "err", err, "ttl", r.cfg.TTL)
		case err == nil && failing:
			failing = false
			r.logger.Info("collector registration renewed again", "addr", r.addr)
		}
	}
}

// Shutdown stops renewing and removes the registration, so dispatchers
// stop subscribing at their next look. Even when ctx has ended it tries
// for a moment rather than leave the entry to lapse. Idempotent and safe
// before Start.
func (r *Registration) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	r.stopped = true
	if !r.started {
		return nil
	}
	close(r.stop)
	<-r.done
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := removeScript.Run(rmCtx, r.rdb, []string{Key(r.cfg.KeyPrefix)}, r.addr).Err(); err != nil {
		return fmt.Errorf("remove %s from the collector registry: %w", r.addr, err)
	}
	return nil
}

var removeScript = redis.NewScript(`return redis.call('ZREM', KEYS[1], ARGV[1])`)
