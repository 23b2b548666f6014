package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"

	"github.com/ccbridge/bridge/dispatcher/subscriber"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/config"
	"github.com/ccbridge/bridge/internal/registry"
)

// A dispatcher subscribes to every collector it knows: each collector
// serves the tenants whose leases it holds, so a dispatcher that skipped
// one would leave those tenants undelivered. Order per interaction still
// holds: an interaction's tenant has one collector at a time, and that
// collector sends its next event only after the previous one's ack.

// link is the dispatcher's subscription to one collector.
type link struct {
	addr string
	conn *grpc.ClientConn
	sub  *subscriber.Subscriber
}

// subscribeTo opens a subscription to the collector at addr, unless one is
// open or the dispatcher is stopping.
func (d *Dispatcher) subscribeTo(addr string) error {
	d.linksMu.Lock()
	defer d.linksMu.Unlock()
	if d.linksClosed {
		return nil
	}
	if _, ok := d.links[addr]; ok {
		return nil
	}
	conn, err := grpc.NewClient(addr, append(slices.Clone(d.dialOpts),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(d.tel.TracerProvider()),
			otelgrpc.WithMeterProvider(d.tel.MeterProvider()),
		)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30e9, Timeout: 10e9, PermitWithoutStream: true}),
		// Redial a collector that was down within seconds of its return
		// (gRPC's default backoff grows to two minutes).
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond,
			Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second}, MinConnectTimeout: 5 * time.Second}),
	)...)
	if err != nil {
		return fmt.Errorf("dial collector %s: %w", addr, err)
	}
	sub := subscriber.New(conn, subscriber.Config{DispatcherID: d.cfg.ID, MaxInFlight: d.cfg.MaxInFlight, Prefetch: d.cfg.Prefetch},
		d.handleInSlot, d.logger.With("collector", addr), subscriber.WithHeldBytes(&d.inst.held))
	if err := sub.Start(context.Background()); err != nil {
		_ = conn.Close()
		return err
	}
	d.links[addr] = &link{addr: addr, conn: conn, sub: sub}
	return nil
}

// unsubscribeFrom ends the subscription to addr in the background: its
// running deliveries finish within the shutdown grace, as in Shutdown,
// which waits for it.
func (d *Dispatcher) unsubscribeFrom(addr string) {
	d.linksMu.Lock()
	l, ok := d.links[addr]
	if ok {
		delete(d.links, addr)
		d.leaving.Add(1)
	}
	d.linksMu.Unlock()
	if !ok {
		return
	}
	go func() {
		defer d.leaving.Done()
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownGrace)
		defer cancel()
		if err := l.close(ctx); err != nil {
			d.logger.Warn("leaving a collector that deregistered", "collector", addr, "err", err)
		}
	}()
}

// close ends the subscription, then the connection.
func (l *link) close(ctx context.Context) error {
	return errors.Join(l.sub.Shutdown(ctx), l.conn.Close())
}

// closeLinks ends every subscription at once, within ctx, and waits for
// those already leaving. No subscription opens after it.
func (d *Dispatcher) closeLinks(ctx context.Context) error {
	d.linksMu.Lock()
	d.linksClosed = true
	links := d.links
	d.links = map[string]*link{}
	d.linksMu.Unlock()
	errs := make(chan error, len(links))
	for _, l := range links {
		go func() { errs <- l.close(ctx) }()
	}
	var err error
	for range links {
		err = errors.Join(err, <-errs)
	}
	d.leaving.Wait()
	return err
}

// streams counts the collectors subscribed to with a stream open and
// those without one (connecting, refused, unreachable).
func (d *Dispatcher) streams() (open, down int, addrs []string) {
	d.linksMu.Lock()
	defer d.linksMu.Unlock()
	for addr, l := range d.links {
		addrs = append(addrs, addr)
		if l.sub.Connected() {
			open++
		} else {
			down++
		}
	}
	slices.Sort(addrs)
	return open, down, addrs
}

// handleInSlot is Handle within the dispatcher's max_in_flight, shared by
// the subscriptions to every collector: each subscription also runs at
// most max_in_flight deliveries, so with one collector no delivery ever
// waits here. A delivery waits for a slot in the order it arrived,
// whichever collector sent it.
func (d *Dispatcher) handleInSlot(ctx context.Context, del *deliveryv1.Delivery) *deliveryv1.Ack {
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return &deliveryv1.Ack{Outcome: deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE, Reason: "dispatcher stopped before the delivery started"}
	}
	defer func() { <-d.slots }()
	return d.Handle(ctx, del)
}

// discover follows the collector registry until stop: every interval it
// subscribes to the collectors that registered and leaves those whose
// registration is gone. A registry that cannot be read changes nothing.
func (d *Dispatcher) discover() {
	defer close(d.discoverDone)
	interval := d.cfg.DiscoveryInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		stopWait := context.AfterFunc(d.stopCtx, cancel)
		addrs, err := registry.List(ctx, d.rdb, d.keyPrefix)
		stopWait()
		cancel()
		if d.stopCtx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			d.inst.discoveryErrors.Add(context.Background(), 1)
			if !failing {
				failing = true
				d.logger.Warn("cannot read the collector registry; keeping the collectors known", "err", err)
			}
		default:
			if failing {
				failing = false
				d.logger.Info("collector registry read again")
			}
			d.follow(addrs)
		}
		select {
		case <-t.C:
		case <-d.stopCtx.Done():
			return
		}
	}
}

// follow subscribes to addrs and leaves every other collector.
func (d *Dispatcher) follow(addrs []string) {
	_, _, known := d.streams()
	for _, addr := range known {
		if !slices.Contains(addrs, addr) {
			d.logger.Info("collector deregistered; leaving it", "collector", addr)
			d.unsubscribeFrom(addr)
		}
	}
	for _, addr := range addrs {
		if slices.Contains(known, addr) {
			continue
		}
		d.logger.Info("collector registered; subscribing", "collector", addr)
		if err := d.subscribeTo(addr); err != nil {
			d.inst.discoveryErrors.Add(context.Background(), 1)
			d.logger.Warn("cannot subscribe to a registered collector", "collector", addr, "err", err)
		}
	}
}

// startCollectors subscribes to the configured collectors, or starts
// following the registry.
func (d *Dispatcher) startCollectors() error {
	if d.cfg.Discovery == config.DiscoveryRedis {
		go d.discover()
		return nil
	}
	close(d.discoverDone)
	for _, addr := range d.cfg.StaticCollectors() {
		if err := d.subscribeTo(addr); err != nil {
			return err
		}
	}
	return nil
}

// notSubscribed says why no stream is open, for /readyz.
func notSubscribed(addrs []string, discovery string) error {
	if len(addrs) == 0 && discovery == config.DiscoveryRedis {
		return errors.New("no delivery stream open: no collector registered")
	}
	return errors.New("no delivery stream open to the collector at " + strings.Join(addrs, ", "))
}
