// Package stack runs the whole bridge in one process for the end-to-end
// tests and the demo: the SAPI double, the Regal double, a collector (or
// several, each with tenants of its own or sharing the same tenants in
// rendezvous mode) and N dispatchers, wired over
// real HTTP and gRPC on loopback to a real Redis.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ccbridge/bridge/collector"
	"github.com/ccbridge/bridge/collector/balance"
	"github.com/ccbridge/bridge/dispatcher"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/doubles/sapidouble"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/secret"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// The stack's tokens: operators' (QueryService) and dispatchers'
// (DeliveryService).
const (
	QueryToken    secret.Secret = "demo-query-token-change-me"
	DeliveryToken secret.Secret = "demo-delivery-token-change-me"
)

// PhoneHashSalt keys the stack's cc.phone_hash (telemetry.phone_hash_salt,
// which has no default): known, as the demo's phones are made up.
const PhoneHashSalt secret.Secret = "demo-phone-hash-salt-change-me"

// Options choose the shape of the stack.
type Options struct {
	// RedisAddr is a running Redis.
	RedisAddr string
	// RedisCluster, when set, are nodes of a running Redis Cluster, which
	// the stack uses instead of RedisAddr.
	RedisCluster []string
	// KeyPrefix keeps this stack's Redis keys apart.
	KeyPrefix string
	// Tenant is the 8x8 tenant name.
	Tenant string
	// Dispatchers is the number of dispatchers (default 2).
	Dispatchers int
	// SAPIToken and RegalKey are the credentials both sides use.
	SAPIToken secret.Secret
	RegalKey  secret.Secret
	// SAPI tunes the SAPI double (credentials and listen address are set
	// by the stack).
	SAPI sapidouble.Config
	// QueryListen is the QueryService address (default a free port).
	QueryListen string
	// ExtraCollectors, if set, are the tenants of further collectors, one
	// collector each, beside the collector of Tenant; the dispatchers then
	// serve every tenant and find the collectors in the Redis registry
	// (dispatcher.discovery: redis, read every 100 ms). The SAPI double
	// serves every tenant with SAPIToken, Regal takes RegalKey for all.
	ExtraCollectors []string
	// SharedTenants, if set, are further tenants of the collector of
	// Tenant (the SAPI double serves them with SAPIToken).
	SharedTenants []string
	// SharedCollectors, if above 0, is the number of further collectors
	// configured with the same tenants as the collector of Tenant (Tenant
	// and SharedTenants): every collector then runs in
	// collector.balance.mode rendezvous (interval 100 ms), so they spread
	// the tenants over them, and the dispatchers find the collectors in
	// the Redis registry. AddSharedCollector starts one more.
	SharedCollectors int
	// Mutate, if set, edits the generated configuration before start (the
	// collector of Tenant's; the others and the dispatchers' are copies
	// with their tenants).
	Mutate func(*config.Config)
	Logger *slog.Logger
}

// Stack is a running bridge with its doubles.
type Stack struct {
	Config    *config.Config
	SAPI      *sapidouble.Server
	Regal     *regaldouble.Server
	Collector *collector.Collector
	// Extra are the collectors of Options.ExtraCollectors, in order.
	Extra []*collector.Collector
	// Shared are the collectors of Options.SharedCollectors and
	// AddSharedCollector, in order.
	Shared      []*collector.Collector
	Dispatchers []*dispatcher.Dispatcher
	// Metrics are the /metrics servers: "collector" and each dispatcher id.
	Metrics   map[string]*telemetry.MetricsServer
	telemetry []*telemetry.Telemetry
	collTel   *telemetry.Telemetry
	logger    *slog.Logger

	collectorAddr string // kept across StopCollector / StartCollector
}

// Start starts the doubles, the collector and the dispatchers, and waits
// until the collector's SAPI subscription is open.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.Dispatchers == 0 {
		o.Dispatchers = 2
	}
	if o.Tenant == "" {
		o.Tenant = "acmecorp01"
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "ccb"
	}
	if o.SAPIToken.IsZero() {
		o.SAPIToken = "sapi-data-request-token-demo"
	}
	if o.RegalKey.IsZero() {
		o.RegalKey = "regal-api-key-demo"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = slog.New(telemetry.NewLogHandler(o.Logger.Handler()))
	s := &Stack{logger: o.Logger, Metrics: map[string]*telemetry.MetricsServer{}}
	defer func() {
		if err != nil {
			_ = s.Shutdown(context.Background())
		}
	}()

	sc := o.SAPI
	if sc.Tenants == nil {
		sc.Tenants = map[string]sapidouble.Credentials{}
	}
	sc.Tenants[o.Tenant] = sapidouble.Credentials{Username: o.Tenant, Token: o.SAPIToken}
	for _, name := range append(slices.Clone(o.ExtraCollectors), o.SharedTenants...) {
		sc.Tenants[name] = sapidouble.Credentials{Username: name, Token: o.SAPIToken}
	}
	s.SAPI = sapidouble.New(sc, o.Logger.With("component", "sapi-double"))
	if err := s.SAPI.Start(ctx); err != nil {
		return nil, fmt.Errorf("sapi double: %w", err)
	}
	s.Regal = regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{o.RegalKey}}, o.Logger.With("component", "regal-double"))
	if err := s.Regal.Start(ctx); err != nil {
		return nil, fmt.Errorf("regal double: %w", err)
	}

	tenantOf := func(name string) config.Tenant {
		return config.Tenant{
			Name:  name,
			SAPI:  config.TenantSAPI{BaseURL: s.SAPI.URL(), Username: name, Token: o.SAPIToken, SubscriptionID: "regal-bridge"},
			Regal: config.TenantRegal{APIKey: o.RegalKey},
		}
	}
	cfg := config.Default()
	cfg.Redis.Addr = o.RedisAddr
	if len(o.RedisCluster) > 0 {
		cfg.Redis = config.Redis{Cluster: true, Addrs: o.RedisCluster}
	}
	cfg.Tenants = []config.Tenant{tenantOf(o.Tenant)}
	for _, name := range o.SharedTenants {
		cfg.Tenants = append(cfg.Tenants, tenantOf(name))
	}
	if len(o.ExtraCollectors) > 0 || o.SharedCollectors > 0 {
		cfg.Dispatcher.Discovery = config.DiscoveryRedis
		cfg.Dispatcher.DiscoveryInterval = 100 * time.Millisecond
	}
	if o.SharedCollectors > 0 {
		cfg.Collector.Balance = balance.Config{Mode: balance.ModeRendezvous, Interval: 100 * time.Millisecond, ID: "collector-0"}
	}
	cfg.Collector.GRPCListen = "127.0.0.1:0"
	cfg.Collector.DeliveryAuth.Tokens = []secret.Secret{DeliveryToken}
	cfg.Dispatcher.CollectorAuth.Token = DeliveryToken
	cfg.Collector.Query.Listen = o.QueryListen
	if cfg.Collector.Query.Listen == "" {
		cfg.Collector.Query.Listen = "127.0.0.1:0"
	}
	cfg.Collector.Query.Auth.Tokens = []secret.Secret{QueryToken}
	cfg.Collector.Store.KeyPrefix = o.KeyPrefix
	cfg.Collector.Scheduler.RetryDelayMin = 20 * time.Millisecond
	cfg.Collector.Scheduler.RetryDelayMax = 200 * time.Millisecond
	cfg.Dispatcher.Regal.BaseURL = s.Regal.URL()
	cfg.Dispatcher.Regal.BackoffInitial = 10 * time.Millisecond
	cfg.Dispatcher.Regal.BackoffMax = 100 * time.Millisecond
	cfg.Dispatcher.ShutdownGrace = 2 * time.Second
	cfg.Telemetry.PhoneHashSalt = PhoneHashSalt
	if o.Mutate != nil {
		o.Mutate(cfg)
	}
	s.Config = cfg

	s.collTel, err = s.newTelemetry(ctx, "collector", "collector", "")
	if err != nil {
		return nil, err
	}
	s.Collector, err = collector.New(cfg, o.Logger.With("service", "collector"), s.collTel)
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	if err := s.Collector.Start(ctx); err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	allTenants := slices.Clone(cfg.Tenants)
	for _, name := range o.ExtraCollectors {
		ecfg := *cfg
		ecfg.Tenants = []config.Tenant{tenantOf(name)}
		allTenants = append(allTenants, ecfg.Tenants[0])
		ecfg.Collector.GRPCListen = "127.0.0.1:0"
		ecfg.Collector.Query.Listen = "127.0.0.1:0"
		tel, err := s.newTelemetry(ctx, "collector", "collector-"+name, name)
		if err != nil {
			return nil, err
		}
		c, err := collector.New(&ecfg, o.Logger.With("service", "collector", "collector", name), tel)
		if err != nil {
			return nil, fmt.Errorf("collector of %s: %w", name, err)
		}
		s.Extra = append(s.Extra, c)
		if err := c.Start(ctx); err != nil {
			return nil, fmt.Errorf("collector of %s: %w", name, err)
		}
	}
	for range o.SharedCollectors {
		if _, err := s.startShared(ctx); err != nil {
			return nil, err
		}
	}
	for i := range o.Dispatchers {
		dcfg := *cfg
		dcfg.Tenants = allTenants
		dcfg.Dispatcher.CollectorAddr = s.Collector.Addr()
		dcfg.Dispatcher.ID = fmt.Sprintf("dispatcher-%d", i+1)
		tel, err := s.newTelemetry(ctx, "dispatcher", dcfg.Dispatcher.ID, dcfg.Dispatcher.ID)
		if err != nil {
			return nil, err
		}
		d, err := dispatcher.New(&dcfg, o.Logger.With("service", "dispatcher", "dispatcher", dcfg.Dispatcher.ID), tel)
		if err != nil {
			return nil, fmt.Errorf("dispatcher: %w", err)
		}
		s.Dispatchers = append(s.Dispatchers, d)
		if err := d.Start(ctx); err != nil {
			return nil, fmt.Errorf("dispatcher: %w", err)
		}
	}
	if err := s.WaitSessions(ctx, o.Dispatchers); err != nil {
		return nil, err
	}
	for i, c := range s.Extra {
		if err := waitSessions(ctx, c, o.Dispatchers); err != nil {
			return nil, fmt.Errorf("collector of %s: %w", o.ExtraCollectors[i], err)
		}
	}
	for _, c := range s.Shared {
		if err := waitSessions(ctx, c, o.Dispatchers); err != nil {
			return nil, fmt.Errorf("collector %s: %w", c.BalanceID(), err)
		}
	}
	for _, name := range o.SharedTenants {
		if err := s.SAPI.WaitSubscribed(ctx, name, 1); err != nil {
			return nil, fmt.Errorf("no collector of %s subscribed to the SAPI double: %w", name, err)
		}
	}
	if err := s.SAPI.WaitSubscribed(ctx, o.Tenant, 1); err != nil {
		return nil, fmt.Errorf("collector did not subscribe to the SAPI double: %w", err)
	}
	for _, name := range o.ExtraCollectors {
		if err := s.SAPI.WaitSubscribed(ctx, name, 1); err != nil {
			return nil, fmt.Errorf("collector of %s did not subscribe to the SAPI double: %w", name, err)
		}
	}
	return s, nil
}

// newTelemetry sets up one component's telemetry (traces exported where
// OTEL_EXPORTER_OTLP_ENDPOINT says) and serves its /metrics on a free port.
func (s *Stack) newTelemetry(ctx context.Context, service, name, instance string) (*telemetry.Telemetry, error) {
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: service, ServiceVersion: "dev", InstanceID: instance})
	if err != nil {
		return nil, fmt.Errorf("%s telemetry: %w", name, err)
	}
	s.telemetry = append(s.telemetry, tel)
	ms, err := telemetry.ServeMetrics("127.0.0.1:0", tel, s.logger)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", name, err)
	}
	s.Metrics[name] = ms
	return tel, nil
}

// startShared starts a further collector with the configuration of the
// collector of Tenant (rendezvous mode), with an id of its own.
func (s *Stack) startShared(ctx context.Context) (*collector.Collector, error) {
	ecfg := *s.Config
	ecfg.Collector.Balance.ID = fmt.Sprintf("collector-%d", len(s.Shared)+1)
	ecfg.Collector.GRPCListen = "127.0.0.1:0"
	ecfg.Collector.Query.Listen = "127.0.0.1:0"
	id := ecfg.Collector.Balance.ID
	tel, err := s.newTelemetry(ctx, "collector", id, id)
	if err != nil {
		return nil, err
	}
	c, err := collector.New(&ecfg, s.logger.With("service", "collector", "collector", id), tel)
	if err != nil {
		return nil, fmt.Errorf("collector %s: %w", id, err)
	}
	s.Shared = append(s.Shared, c)
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("collector %s: %w", id, err)
	}
	return c, nil
}

// AddSharedCollector starts one more collector sharing the tenants
// (Options.SharedCollectors) and waits until every dispatcher subscribed
// to it.
func (s *Stack) AddSharedCollector(ctx context.Context) (*collector.Collector, error) {
	c, err := s.startShared(ctx)
	if err != nil {
		return nil, err
	}
	return c, waitSessions(ctx, c, len(s.Dispatchers))
}

// StopCollector stops the collector; StartCollector starts a new one on
// the same address (so the dispatchers reconnect to it) and the same Redis,
// and it delivers what the old one left unsettled.
func (s *Stack) StopCollector(ctx context.Context) error {
	s.collectorAddr = s.Collector.Addr()
	if err := s.Collector.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop collector: %w", err)
	}
	return nil
}

// StartCollector starts a collector after StopCollector.
func (s *Stack) StartCollector(ctx context.Context) error {
	cfg := *s.Config
	cfg.Collector.GRPCListen = s.collectorAddr
	c, err := collector.New(&cfg, s.logger.With("service", "collector"), s.collTel)
	if err != nil {
		return err
	}
	s.Collector = c
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("restart collector: %w", err)
	}
	return s.WaitSessions(ctx, len(s.Dispatchers))
}

// WaitSessions waits until n dispatchers are subscribed to the collector.
func (s *Stack) WaitSessions(ctx context.Context, n int) error {
	return waitSessions(ctx, s.Collector, n)
}

// waitSessions waits until n dispatchers are subscribed to c.
func waitSessions(ctx context.Context, c *collector.Collector, n int) error {
	for c.Scheduler().Stats().Sessions < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d dispatcher sessions: %w", n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// WaitIdle waits until the collector holds no unsettled event.
func (s *Stack) WaitIdle(ctx context.Context) error {
	for {
		st := s.Collector.Scheduler().Stats()
		if st.Buffered == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("collector still holds %d events: %w", st.Buffered, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Shutdown stops everything in order: dispatchers, collector, doubles.
func (s *Stack) Shutdown(ctx context.Context) error {
	var errs []error
	for _, d := range s.Dispatchers {
		errs = append(errs, d.Shutdown(ctx))
	}
	if s.Collector != nil {
		errs = append(errs, s.Collector.Shutdown(ctx))
	}
	for _, c := range s.Extra {
		errs = append(errs, c.Shutdown(ctx))
	}
	for _, c := range s.Shared {
		errs = append(errs, c.Shutdown(ctx))
	}
	if s.Regal != nil {
		errs = append(errs, s.Regal.Shutdown(ctx))
	}
	if s.SAPI != nil {
		errs = append(errs, s.SAPI.Shutdown(ctx))
	}
	for _, m := range s.Metrics {
		errs = append(errs, m.Shutdown(ctx))
	}
	for _, t := range s.telemetry {
		errs = append(errs, t.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
