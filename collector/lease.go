package collector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ccbridge/bridge/collector/lease"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// setupLeases makes the tenant leases that keep a second collector off
// this one's tenants (see collector/lease).
func (c *Collector) setupLeases(tel *telemetry.Telemetry) error {
	var err error
	c.leases, err = lease.New(c.rdb, c.cfg.LeaseConfig(),
		lease.WithLogger(c.logger.With("component", "lease")), lease.WithMeter(tel.Meter(instrumentation)),
		lease.WithOnLost(c.leaseLost))
	if err != nil {
		return err
	}
	c.readyChecks = append(c.readyChecks, telemetry.Check{Name: "leases", Check: c.checkLeases})
	return nil
}

// checkLeases holds while the collector holds every tenant's lease: a
// collector that lost one, or has not taken them yet, serves no events of
// that tenant.
func (c *Collector) checkLeases() error {
	var missing []string
	for _, t := range c.cfg.Tenants {
		if !c.leases.Held(t.Name) {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("tenant lease not held: %s", strings.Join(missing, ", "))
	}
	return nil
}

// acquireLeases takes every tenant's lease, or says which collector serves
// a tenant already.
func (c *Collector) acquireLeases(ctx context.Context) error {
	tenants := make([]string, len(c.cfg.Tenants))
	for i, t := range c.cfg.Tenants {
		tenants[i] = t.Name
	}
	return c.leases.AcquireAll(ctx, tenants)
}

// leaseLost stops reading the tenant's SAPI stream: another collector
// took the tenant over. What was read is still admitted.
func (c *Collector) leaseLost(tenant, _ string) {
	for i, p := range c.pipelines {
		if p.tenant == tenant {
			// Not here: Shutdown waits for the read loop, whose handler
			// may be waiting for the admitter.
			go func() { _ = c.clients[i].Shutdown(context.Background()) }()
		}
	}
}

// releaseLeases gives the tenants up at the end of Shutdown, so a
// collector started next takes them at once; even when ctx has ended,
// it tries for a moment rather than leave them to expire.
func (c *Collector) releaseLeases(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return c.leases.Release(ctx)
}

// Leases are the collector's tenant leases (readiness checks them through
// checkLeases; tests and operations read them here).
func (c *Collector) Leases() *lease.Manager { return c.leases }
