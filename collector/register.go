package collector

import (
	"context"

	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/registry"
)

// register puts the collector's DeliveryService address in the collector
// registry when dispatchers find collectors there (dispatcher.discovery:
// redis), and keeps it there until Shutdown.
func (c *Collector) register(ctx context.Context) error {
	if c.cfg.Dispatcher.Discovery != config.DiscoveryRedis {
		return nil
	}
	addr := c.cfg.Collector.AdvertiseAddr
	if addr == "" {
		addr = c.lis.Addr().String() // with the port a grpc_listen of port 0 got
	}
	r, err := registry.NewRegistration(c.rdb, c.cfg.RegistryConfig(), addr,
		registry.WithLogger(c.logger.With("component", "registry")))
	if err != nil {
		return err
	}
	c.registration = r
	if err := r.Start(ctx); err != nil {
		return err
	}
	c.logger.Info("registered for dispatchers", "addr", addr)
	return nil
}

// Registered is the address the collector registered for dispatchers; ""
// when it registers none (static discovery) or before Start.
func (c *Collector) Registered() string {
	if c.registration == nil {
		return ""
	}
	return c.registration.Addr()
}
