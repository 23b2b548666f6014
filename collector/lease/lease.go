// Package lease keeps one collector per tenant: a collector holds a lease
// in Redis for each tenant it serves, and a second collector started
// against the same Redis refuses to serve a tenant whose lease another
// live collector holds. Two collectors on one tenant would both recover its
// unsettled events and both read its SAPI stream, and the order of its
// interactions would break.
//
// A lease is one Redis key per tenant, with the tenant's fencing token
// beside it in the same slot,
//
//	<prefix>:{<tenant>}:lease       = {"id":…,"host":…,"pid":…}, PX = TTL
//	<prefix>:{<tenant>}:lease:token = the token of the latest acquisition
//
// taken (SET NX PX, and INCR of the token) by one script, renewed every
// RenewEvery by a compare-and-renew script, and released on shutdown by a
// compare-and-delete script, so a collector never extends or deletes a
// lease it does not hold. The owner is a random instance id (unique per
// process) with the host and pid, for messages.
//
// Each acquisition gets a fencing token greater than every earlier one of
// the tenant (Token): the event store refuses the writes of a collector
// whose token is older than the newest holder's, so a collector paused for
// longer than its TTL cannot change a tenant another one took over. A
// lease is lost, and the lost callback fires, when a renewal finds another
// holder or when the last confirmed renewal is so old, by the local
// monotonic clock, that the lease may have lapsed in Redis (TTL less a
// safety margin): from then on this collector neither writes nor serves
// the tenant until it is restarted, or (collector.balance.mode
// rendezvous) until it takes the lease again (TryAcquire) once it is free.
//
// A collector that crashed leaves its lease until the TTL passes: a
// collector started in its place waits for it.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// DefaultTTL is how long a lease lasts without renewal: how long a
// collector started after a crash waits for the dead one's lease.
const DefaultTTL = 15 * time.Second

// Config configures the leases of one collector.
type Config struct {
	// KeyPrefix starts the lease keys: the event store's prefix (the file
	// sets it as collector.store.key_prefix).
	KeyPrefix string `yaml:"-"`
	// TTL is how long a lease lasts unrenewed (it is renewed every third
	// of it): how long a collector started after a crash waits for the
	// dead one's lease. A second collector refuses a tenant a live one
	// holds. A collector that cannot renew a lease for nine tenths of it
	// (Redis out of reach, the process paused) stops serving the tenant.
	TTL time.Duration `yaml:"ttl"`
	// RenewEvery is how often leases are renewed; default TTL/3, so two
	// renewals may fail before a lease lapses.
	RenewEvery time.Duration `yaml:"-"`
	// Margin is how long before the TTL of its last confirmed renewal runs
	// out a lease counts as lost locally, for the difference between this
	// collector's clock and Redis's; default TTL/10.
	Margin time.Duration `yaml:"-"`
}

// DefaultConfig returns the defaults of the settings the configuration
// file gives (the key prefix comes from the event store's).
func DefaultConfig() Config { return Config{TTL: DefaultTTL} }

// SetDefaults fills the fields left at zero.
func (c *Config) SetDefaults() {
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.RenewEvery == 0 {
		c.RenewEvery = c.TTL / 3
	}
	if c.Margin == 0 {
		c.Margin = c.TTL / 10
	}
}

// Validate reports every invalid setting.
func (c *Config) Validate() error {
	var errs []error
	if c.KeyPrefix == "" {
		errs = append(errs, errors.New("lease: key_prefix must not be empty"))
	}
	if c.TTL < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("lease: ttl must be at least 10ms, got %s", c.TTL))
	}
	if c.RenewEvery <= 0 || c.RenewEvery > c.TTL/2 {
		errs = append(errs, fmt.Errorf("lease: renew_every (%s) must be positive and at most half the ttl (%s)", c.RenewEvery, c.TTL))
	}
	if c.Margin < 0 || c.RenewEvery+c.Margin >= c.TTL {
		errs = append(errs, fmt.Errorf("lease: margin (%s) must not be negative and leave time for a renewal (renew_every %s, ttl %s)", c.Margin, c.RenewEvery, c.TTL))
	}
	return errors.Join(errs...)
}

// HeldError is the refusal to serve a tenant another live collector
// serves.
type HeldError struct {
	Tenant string
	// Holder names the other collector: "host/pid N".
	Holder string
	// ExpiresIn is how long the lease had left when last seen; 0 when it
	// has no expiry.
	ExpiresIn time.Duration
}

// Error implements error.
func (e *HeldError) Error() string {
	expiry := "no expiry"
	if e.ExpiresIn > 0 {
		expiry = "expires in " + e.ExpiresIn.Round(time.Second).String()
	}
	return fmt.Sprintf("tenant %s is served by collector %s (lease held, %s); stop it first", e.Tenant, e.Holder, expiry)
}

// owner is what a lease key holds.
type owner struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	PID  int    `json:"pid"`
}

// describe names the holder of a lease from its value, for messages.
func describe(value string) string {
	var o owner
	if err := json.Unmarshal([]byte(value), &o); err != nil || o.Host == "" {
		return strconv.Quote(value)
	}
	return o.Host + "/pid " + strconv.Itoa(o.PID)
}

// Scripts: take-and-count, compare-and-renew and compare-and-delete, so a
// collector never touches a lease it does not hold.
var (
	// acquireScript takes the lease when nobody holds it, with a new
	// fencing token (the INCR of the token key, in the lease's slot), or
	// returns the token of a lease this collector holds already; it
	// returns false when another holds it.
	//
	// KEYS[1] lease, KEYS[2] token; ARGV[1] owner value, ARGV[2] TTL in ms.
	acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
end
if v == ARGV[1] then
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return false`)
	// renewScript extends the lease when it is still ours (1), takes it
	// again when it lapsed and nobody acquired it since (2: the token is
	// still ours, so no store write was fenced against it), or returns the
	// other holder's value ("" when it lapsed and was acquired since).
	//
	// KEYS[1] lease, KEYS[2] token; ARGV[1] owner value, ARGV[2] TTL in ms,
	// ARGV[3] our token.
	renewScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  if redis.call('GET', KEYS[2]) ~= ARGV[3] then
    return ''
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return v`)
	// releaseScript deletes the lease when it is ours.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
	// peekScript returns the holder and its time to live in ms, at one
	// instant.
	peekScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}`)
)

// state is one tenant's lease as this collector knows it.
type state struct {
	acquired   bool      // taken and neither released nor lost
	validUntil time.Time // the last confirmed hold lasts until then (less the margin)
	lost       bool      // another collector took it over, or it ran out unrenewed
	token      uint64    // the fencing token of this acquisition
}

// Manager holds the leases of the tenants one collector serves. Its
// methods are safe for concurrent use.
type Manager struct {
	rdb    redis.UniversalClient
	cfg    Config
	value  string // this collector's owner value
	self   string // its description
	log    *slog.Logger
	onLost func(tenant, holder string)
	meter  metric.Meter

	mu      sync.Mutex
	tenants map[string]*state
	order   []string // tenants in the order first acquired
	stop    chan struct{}
	done    chan struct{}

	lost metric.Int64Counter
	// taken counts acquisitions (ccb.collector.lease.acquired).
	taken metric.Int64Counter
	// gauge is the held gauge's callback, unregistered by Release so that
	// a collector made after this one in the same process reports alone.
	gauge metric.Registration
}

// Option configures a Manager.
type Option func(*Manager)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(m *Manager) { m.log = l } }

// WithOnLost calls f, once per tenant and from the renewal goroutine, when
// a renewal finds that another collector holds the tenant's lease (holder
// names it, "" when unknown), or when the lease ran out unrenewed by the
// local clock: the caller must stop serving the tenant.
func WithOnLost(f func(tenant, holder string)) Option { return func(m *Manager) { m.onLost = f } }

// WithMeter exports ccb.collector.lease.held (1 while the tenant's lease is
// held, else 0), ccb.collector.lease.token (the fencing token held, 0 when
// none), ccb.collector.lease.acquired (acquisitions) and
// ccb.collector.lease.lost (leases another collector took over) on meter.
func WithMeter(meter metric.Meter) Option {
	return func(m *Manager) { m.meter = meter }
}

// New returns a Manager holding no lease yet.
func New(rdb redis.UniversalClient, cfg Config, opts ...Option) (*Manager, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails
	o := owner{ID: hex.EncodeToString(id), Host: host, PID: os.Getpid()}
	value, _ := json.Marshal(o)
	m := &Manager{rdb: rdb, cfg: cfg, value: string(value), self: describe(string(value)),
		log: slog.New(slog.DiscardHandler), tenants: map[string]*state{}}
	for _, opt := range opts {
		opt(m)
	}
	if m.meter != nil {
		if err := m.instrument(m.meter); err != nil {
			return nil, fmt.Errorf("lease metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Manager) instrument(meter metric.Meter) error {
	held, err := meter.Int64ObservableGauge("ccb.collector.lease.held",
		metric.WithDescription("1 while this collector holds the tenant's lease (it serves the tenant), else 0."))
	if err != nil {
		return err
	}
	token, err := meter.Int64ObservableGauge("ccb.collector.lease.token",
		metric.WithDescription("The fencing token of the tenant's lease while this collector holds it, else 0: it grows with every acquisition of the tenant by any collector."))
	if err != nil {
		return err
	}
	if m.taken, err = meter.Int64Counter("ccb.collector.lease.acquired",
		metric.WithDescription("Tenant leases this collector acquired (at start, or taking a tenant over from another collector).")); err != nil {
		return err
	}
	if m.lost, err = meter.Int64Counter("ccb.collector.lease.lost",
		metric.WithDescription("Tenant leases lost while this collector served the tenant (another collector took it over, or it ran out unrenewed): its stream was stopped.")); err != nil {
		return err
	}
	m.gauge, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		now := time.Now()
		for _, t := range m.order {
			v, tok := int64(0), int64(0)
			if m.heldLocked(t, now) {
				v, tok = 1, int64(m.tenants[t].token)
			}
			attrs := metric.WithAttributes(attribute.String("tenant", t))
			o.ObserveInt64(held, v, attrs)
			o.ObserveInt64(token, tok, attrs)
		}
		return nil
	}, held, token)
	return err
}

// Owner describes this collector as lease messages name it: "host/pid N".
func (m *Manager) Owner() string { return m.self }

func (m *Manager) key(tenant string) string { return m.cfg.KeyPrefix + ":{" + tenant + "}:lease" }

// tokenKey holds the tenant's latest fencing token, in the lease's slot.
func (m *Manager) tokenKey(tenant string) string { return m.key(tenant) + ":token" }

// Token returns the fencing token of the tenant's lease while this
// collector holds it (as Held says), and false otherwise: a writer must
// then write nothing of the tenant.
func (m *Manager) Token(tenant string) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.heldLocked(tenant, time.Now()) {
		return 0, false
	}
	return m.tenants[tenant].token, true
}

// AcquireAll takes the lease of every tenant, in order, and starts renewing
// them. It fails with a *HeldError when another live collector holds one
// (after releasing those it took), or when ctx ends or Redis fails.
func (m *Manager) AcquireAll(ctx context.Context, tenants []string) error {
	for i, t := range tenants {
		if err := m.Acquire(ctx, t); err != nil {
			releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for _, taken := range tenants[:i] {
				_ = m.release(releaseCtx, taken)
			}
			return err
		}
	}
	return nil
}

// Acquire takes the tenant's lease and starts renewing it.
//
// When another collector holds it, Acquire watches the lease: a holder
// that renews it is alive, and Acquire fails at once with a *HeldError; a
// holder that does not (it crashed) lets it expire within its TTL, and
// Acquire takes it then. It fails when ctx ends or Redis fails.
func (m *Manager) Acquire(ctx context.Context, tenant string) error {
	key := m.key(tenant)
	poll := min(max(m.cfg.TTL/20, 10*time.Millisecond), 500*time.Millisecond)
	var lastValue string
	var lastTTL time.Duration
	waiting := false
	for {
		sentAt := time.Now()
		token, err := acquireScript.Run(ctx, m.rdb, []string{key, m.tokenKey(tenant)}, m.value, m.cfg.TTL.Milliseconds()).Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("lease of tenant %s: %w", tenant, err)
		}
		if err == nil {
			m.acquired(tenant, sentAt, token)
			m.log.Info("tenant lease taken", "tenant", tenant, "owner", m.self, "ttl", m.cfg.TTL, "token", token)
			return nil
		}
		value, ttl, err := m.peek(ctx, key)
		switch {
		case err != nil:
			return fmt.Errorf("lease of tenant %s: %w", tenant, err)
		case value == "":
			continue // it lapsed just now
		case value == m.value:
			continue // ours already (taken earlier by this process): the script returns its token
		case ttl < 0:
			return &HeldError{Tenant: tenant, Holder: describe(value)}
		case waiting && (value != lastValue || ttl > lastTTL):
			// Renewed, or taken by yet another collector: alive.
			return &HeldError{Tenant: tenant, Holder: describe(value), ExpiresIn: ttl}
		case !waiting:
			m.log.Warn("tenant lease held by another collector; waiting to see whether it is alive (a crashed one's lease expires)",
				"tenant", tenant, "holder", describe(value), "expires_in", ttl.Round(time.Millisecond))
		}
		waiting, lastValue, lastTTL = true, value, ttl
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the lease of tenant %s held by %s: %w", tenant, describe(value), ctx.Err())
		case <-time.After(poll):
		}
	}
}

// TryAcquire takes the tenant's lease when nobody holds it (free, or
// lapsed) and starts renewing it, without waiting: it reports false, with
// the holder's description, when another collector holds it. A lease
// this collector holds already is reported taken. It fails when Redis
// does.
func (m *Manager) TryAcquire(ctx context.Context, tenant string) (bool, string, error) {
	key := m.key(tenant)
	sentAt := time.Now()
	token, err := acquireScript.Run(ctx, m.rdb, []string{key, m.tokenKey(tenant)}, m.value, m.cfg.TTL.Milliseconds()).Uint64()
	switch {
	case errors.Is(err, redis.Nil):
		value, _, perr := m.peek(ctx, key)
		if perr != nil {
			return false, "", fmt.Errorf("lease of tenant %s: %w", tenant, perr)
		}
		return false, describe(value), nil
	case err != nil:
		return false, "", fmt.Errorf("lease of tenant %s: %w", tenant, err)
	}
	m.acquired(tenant, sentAt, token)
	m.log.Info("tenant lease taken", "tenant", tenant, "owner", m.self, "ttl", m.cfg.TTL, "token", token)
	return true, "", nil
}

// ReleaseTenant gives up one tenant's lease, if this collector holds it,
// so another collector can take it at once; the others stay held.
func (m *Manager) ReleaseTenant(ctx context.Context, tenant string) error {
	return m.release(ctx, tenant)
}

// peek returns the lease's value ("" when there is none) and time to live
// (negative when it has no expiry).
func (m *Manager) peek(ctx context.Context, key string) (string, time.Duration, error) {
	res, err := peekScript.Run(ctx, m.rdb, []string{key}).Slice()
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil || len(res) != 2 {
		return "", 0, fmt.Errorf("read lease: %w", err)
	}
	value, _ := res[0].(string)
	ms, _ := res[1].(int64)
	if ms < 0 {
		return value, -1, nil
	}
	return value, time.Duration(ms) * time.Millisecond, nil
}

// acquired records a lease taken at sentAt (when the command left) and
// starts the renewal loop if it is not running.
func (m *Manager) acquired(tenant string, sentAt time.Time, token uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.tenants[tenant]
	if st == nil {
		st = &state{}
		m.tenants[tenant] = st
		m.order = append(m.order, tenant)
	}
	fresh := st.token != token // not the lease held already, taken again
	*st = state{acquired: true, validUntil: m.deadline(sentAt), token: token}
	if m.taken != nil && fresh {
		m.taken.Add(context.Background(), 1, metric.WithAttributes(attribute.String("tenant", tenant)))
	}
	if m.stop == nil {
		m.stop, m.done = make(chan struct{}), make(chan struct{})
		go m.renewLoop(m.stop, m.done)
	}
}

// deadline is when a lease confirmed by a command sent at sentAt counts as
// lost unless renewed: its TTL less the margin, by the monotonic clock.
func (m *Manager) deadline(sentAt time.Time) time.Time { return sentAt.Add(m.cfg.TTL - m.cfg.Margin) }

// Held reports whether this collector holds the tenant's lease now: taken,
// neither lost nor released, and confirmed by Redis less than a TTL ago.
// While Redis cannot be reached, it turns false when the last confirmed
// hold runs out.
func (m *Manager) Held(tenant string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.heldLocked(tenant, time.Now())
}

func (m *Manager) heldLocked(tenant string, now time.Time) bool {
	st := m.tenants[tenant]
	return st != nil && st.acquired && !st.lost && now.Before(st.validUntil)
}

// AllHeld reports whether every tenant acquired is held now (false before
// any is): the collector's readiness as far as leases go.
func (m *Manager) AllHeld() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for _, t := range m.order {
		if !m.heldLocked(t, now) {
			return false
		}
	}
	return len(m.order) > 0
}

// CheckHeld reports the tenants whose lease this collector does not hold
// now (not taken yet, lost, or lapsed): a collector serves no events of
// those. It is the collector's readiness check as far as leases go.
func (m *Manager) CheckHeld(tenants []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	var missing []string
	for _, t := range tenants {
		if !m.heldLocked(t, now) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("tenant lease not held: %s", strings.Join(missing, ", "))
	}
	return nil
}

// renewLoop renews every acquired lease each RenewEvery until stop closes,
// and checks, beside it, whether one ran out unrenewed: a renewal may wait
// on Redis for longer than the lease lasts.
func (m *Manager) renewLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var checker sync.WaitGroup
	defer checker.Wait()
	checker.Go(func() {
		check := time.NewTicker(max(min(m.cfg.Margin, m.cfg.RenewEvery)/2, time.Millisecond))
		defer check.Stop()
		for {
			select {
			case <-stop:
				return
			case <-check.C:
				m.checkDeadlines()
			}
		}
	})
	// After a failed renewal the next comes sooner: once Redis answers
	// again, the lease is renewed before its deadline if it still can be.
	retry := max(m.cfg.RenewEvery/10, 10*time.Millisecond)
	t := time.NewTimer(m.cfg.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		var tenants []string
		for _, name := range m.order {
			if st := m.tenants[name]; st.acquired && !st.lost {
				tenants = append(tenants, name)
			}
		}
		m.mu.Unlock()
		next := m.cfg.RenewEvery
		for _, tenant := range tenants {
			if !m.renew(tenant) {
				next = retry
			}
		}
		t.Reset(next)
	}
}

// checkDeadlines declares lost every lease whose last confirmed renewal is
// too old: another collector may take it over any moment now.
func (m *Manager) checkDeadlines() {
	now := time.Now()
	m.mu.Lock()
	var expired []string
	for _, name := range m.order {
		if st := m.tenants[name]; st.acquired && !st.lost && !now.Before(st.validUntil) {
			st.lost = true
			expired = append(expired, name)
		}
	}
	m.mu.Unlock()
	for _, tenant := range expired {
		m.log.Error("ALERT: this tenant's lease ran out unrenewed (Redis out of reach, or this process paused, for longer than its ttl): its SAPI stream stops here; restart the collector to serve it again",
			"tenant", tenant, "ttl", m.cfg.TTL, "owner", m.self)
		m.reportLost(tenant, "")
	}
}

// reportLost counts a lost lease and tells the caller.
func (m *Manager) reportLost(tenant, holder string) {
	if m.lost != nil {
		m.lost.Add(context.Background(), 1, metric.WithAttributes(attribute.String("tenant", tenant)))
	}
	if m.onLost != nil {
		m.onLost(tenant, holder)
	}
}

// renew renews one lease and records the outcome; it reports false when
// Redis did not answer.
func (m *Manager) renew(tenant string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.RenewEvery)
	defer cancel()
	m.mu.Lock()
	token := m.tenants[tenant].token
	m.mu.Unlock()
	sentAt := time.Now()
	res, err := renewScript.Run(ctx, m.rdb, []string{m.key(tenant), m.tokenKey(tenant)},
		m.value, m.cfg.TTL.Milliseconds(), token).Result()
	m.mu.Lock()
	st := m.tenants[tenant]
	if !st.acquired || st.lost { // released, or ran out, meanwhile
		m.mu.Unlock()
		return true
	}
	switch v := res.(type) {
	case int64:
		st.validUntil = m.deadline(sentAt)
		m.mu.Unlock()
		if v == 2 {
			m.log.Warn("tenant lease had lapsed in Redis and nobody took it since: taken again with its token",
				"tenant", tenant, "ttl", m.cfg.TTL)
		}
		return true
	case string:
		st.lost = true
		m.mu.Unlock()
		holder := "another collector (since gone)"
		if v != "" {
			holder = describe(v)
		}
		m.log.Error("ALERT: another collector took over this tenant's lease: its SAPI stream stops here",
			"tenant", tenant, "holder", holder, "owner", m.self)
		m.reportLost(tenant, holder)
		return true
	}
	m.mu.Unlock()
	// Redis is out of reach: keep trying; the lease is lost when the last
	// confirmed hold runs out (checkDeadlines).
	m.log.Warn("tenant lease not renewed; retrying", "tenant", tenant, "err", err)
	return false
}

// Release stops renewing and gives up every lease this collector holds, so
// another collector can take its tenants at once, and stops reporting the
// held gauge. Idempotent.
func (m *Manager) Release(ctx context.Context) error {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.stop = nil
	tenants := append([]string(nil), m.order...)
	gauge := m.gauge
	m.gauge = nil
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	var errs []error
	for _, t := range tenants {
		errs = append(errs, m.release(ctx, t))
	}
	if gauge != nil {
		errs = append(errs, gauge.Unregister())
	}
	return errors.Join(errs...)
}

// Abandon stops renewing the leases without giving them up: they lapse
// after their TTL. For a collector whose SAPI readers did not stop in
// time: another collector must not take a tenant while this one may still
// read its stream.
func (m *Manager) Abandon() error {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.stop = nil
	gauge := m.gauge
	m.gauge = nil
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if gauge != nil {
		return gauge.Unregister()
	}
	return nil
}

// release gives up one tenant's lease if this collector holds it.
func (m *Manager) release(ctx context.Context, tenant string) error {
	m.mu.Lock()
	st := m.tenants[tenant]
	if st == nil || !st.acquired || st.lost {
		if st != nil {
			st.acquired = false
		}
		m.mu.Unlock()
		return nil
	}
	st.acquired = false
	m.mu.Unlock()
	if err := releaseScript.Run(ctx, m.rdb, []string{m.key(tenant)}, m.value).Err(); err != nil {
		return fmt.Errorf("release the lease of tenant %s (it expires within %s): %w", tenant, m.cfg.TTL, err)
	}
	m.log.Info("tenant lease released", "tenant", tenant)
	return nil
}
