// Package subscriber is the dispatcher's side of the DeliveryService: it
// keeps a subscription to the collector open, runs a handler per delivery,
// and sends back one acknowledgement per delivery.
//
// The collector owns every event until it receives the ack; the subscriber
// owns a delivery from receipt to ack. If the stream breaks, deliveries
// without an ack are delivered again by the collector, so the subscriber
// cancels their handlers rather than finishing them late.
package subscriber

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
)

// Handler processes one delivery and returns its acknowledgement (the
// delivery id is filled in by the subscriber). It is called concurrently,
// at most MaxInFlight times at once, and must return promptly once ctx is
// done (the stream broke or the dispatcher is stopping).
type Handler func(ctx context.Context, d *deliveryv1.Delivery) *deliveryv1.Ack

// Config configures a subscriber.
type Config struct {
	DispatcherID string
	// MaxInFlight bounds the handlers running at once.
	MaxInFlight int
	// Prefetch is how many deliveries beyond MaxInFlight the collector may
	// send ahead: they wait here, in order, for a free handler. A handler
	// that finishes then starts the next delivery at once instead of after
	// its ack's round trip through the collector, which with a slow Regal
	// would otherwise idle a share of MaxInFlight. Order is unaffected:
	// the collector never sends an interaction's next event before the
	// previous one's ack. 0 sends none ahead.
	Prefetch     int
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// WarnEvery is how often, while the collector cannot be reached or
	// refuses the stream, a warning says so (the retries in between are
	// logged at debug level). Default 15 s.
	WarnEvery time.Duration
}

func (c *Config) defaults() {
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 128
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = 100 * time.Millisecond
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 5 * time.Second
	}
	if c.WarnEvery <= 0 {
		c.WarnEvery = 15 * time.Second
	}
}

// Subscriber holds the subscription. Create with New, then Start.
type Subscriber struct {
	cfg     Config
	client  deliveryv1.DeliveryServiceClient
	handle  Handler
	logger  *slog.Logger
	stopCh  <-chan struct{}
	stopCtx context.Context // done once Shutdown is called
	stopF   context.CancelFunc
	force   context.Context
	cancelF context.CancelFunc
	done    chan struct{}
	start   sync.Once
	stop    sync.Once
	started bool
	mu      sync.Mutex
	stats   Stats
	// connected is true while a stream the collector accepted is open.
	connected atomic.Bool
	// held is the bytes of the deliveries received and not yet done with
	// (running, or waiting for a worker): see deliveryBytes.
	held *atomic.Int64
}

// Option configures a Subscriber.
type Option func(*Subscriber)

// WithHeldBytes makes the subscriber count, in held, the bytes of the
// deliveries it holds (received and not yet acknowledged or given up), for
// the dispatcher's gauge. The collector bounds them: it sends a session no
// more than collector.scheduler.max_in_flight_bytes (counted there with
// the raw frame and attached data the dispatcher never receives, so the
// dispatcher holds less).
func WithHeldBytes(held *atomic.Int64) Option { return func(s *Subscriber) { s.held = held } }

// heldDelivery is a received delivery with the bytes it was counted as.
type heldDelivery struct {
	d     *deliveryv1.Delivery
	bytes int64
}

// deliveryBytes estimates the heap a received delivery holds: its strings
// and numbers (about its encoded size) plus the message structs, the
// timestamps and the map slots around them (TestDeliveryBytesTracksTheHeap
// checks it against the measured heap).
func deliveryBytes(d *deliveryv1.Delivery) int64 {
	const structs = 1024
	return structs + 2*int64(proto.Size(d))
}

// Stats counts what the subscriber did.
type Stats struct {
	Streams    int // subscriptions opened
	Deliveries int // deliveries received
	Acks       int // acknowledgements sent
}

// New returns a subscriber over an established client connection; the
// caller owns conn and closes it after Shutdown.
func New(conn grpc.ClientConnInterface, cfg Config, handle Handler, logger *slog.Logger, opts ...Option) *Subscriber {
	cfg.defaults()
	force, cancel := context.WithCancel(context.Background())
	stopCtx, stop := context.WithCancel(context.Background())
	s := &Subscriber{
		cfg: cfg, client: deliveryv1.NewDeliveryServiceClient(conn), handle: handle, logger: logger,
		stopCh: stopCtx.Done(), stopCtx: stopCtx, stopF: stop, force: force, cancelF: cancel, done: make(chan struct{}),
		held: &atomic.Int64{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Connected reports whether a delivery stream is open and accepted by the
// collector: the dispatcher's readiness.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

// Start opens the subscription in the background and keeps it open,
// reconnecting with backoff, until Shutdown. It fails after Shutdown.
func (s *Subscriber) Start(context.Context) error {
	if s.stopping() {
		return errors.New("subscriber: shut down")
	}
	s.start.Do(func() {
		s.mu.Lock()
		s.started = true
		s.mu.Unlock()
		go s.run()
	})
	return nil
}

// Shutdown stops taking deliveries, lets the running handlers finish and
// acknowledges them, then closes the stream. When ctx ends first, the
// handlers are cancelled (they acknowledge as retryable, or not at all; the
// collector delivers those events again). A subscription not yet accepted
// by the collector (it cannot be reached, or refuses) ends at once.
// Idempotent and safe before Start.
func (s *Subscriber) Shutdown(ctx context.Context) error {
	s.stop.Do(s.stopF)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		s.cancelF()
		return nil
	}
	select {
	case <-s.done:
		s.cancelF()
		return nil
	case <-ctx.Done():
		s.cancelF()
		<-s.done
		return fmt.Errorf("dispatcher shutdown: grace period over, in-flight work cancelled: %w", ctx.Err())
	}
}

// Stats returns a snapshot of the counters.
func (s *Subscriber) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Subscriber) stopping() bool {
	select {
	case <-s.stopCh:
		return true
	default:
		return false
	}
}

func (s *Subscriber) run() {
	defer close(s.done)
	backoff := s.cfg.ReconnectMin
	// While no stream is accepted, a warning every WarnEvery says so; the
	// retries in between are logged at debug level.
	var downSince, lastWarn time.Time
	for !s.stopping() {
		start := time.Now()
		accepted, err := s.session()
		if s.stopping() {
			return
		}
		if time.Since(start) > 10*time.Second {
			backoff = s.cfg.ReconnectMin
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		switch {
		case accepted && errors.Is(err, io.EOF):
			// The collector ended the stream on purpose (max age, rebalancing).
			s.logger.Info("delivery stream ended by the collector; subscribing again")
			wait = 0
			downSince, lastWarn = time.Time{}, time.Time{}
		case accepted:
			s.logger.Warn("delivery stream ended; reconnecting", "err", err, "in", wait)
			downSince, lastWarn = time.Now(), time.Now()
		default:
			now := time.Now()
			if downSince.IsZero() {
				downSince = now
			}
			if lastWarn.IsZero() || now.Sub(lastWarn) >= s.cfg.WarnEvery {
				lastWarn = now
				s.logger.Warn("cannot subscribe to the collector; retrying: no event is delivered meanwhile",
					"err", err, "down_for", now.Sub(downSince).Round(time.Second), "next_warning_in", s.cfg.WarnEvery)
			} else {
				s.logger.Debug("cannot subscribe to the collector; retrying", "err", err, "in", wait)
			}
		}
		select {
		case <-time.After(wait):
		case <-s.stopCh:
			return
		}
		backoff = min(backoff*2, s.cfg.ReconnectMax)
	}
}

// session runs one stream from Hello to its end. accepted says whether the
// collector took the stream (it sent its response headers, or a delivery).
func (s *Subscriber) session() (accepted bool, err error) {
	// The stream ends when the shutdown grace runs out, whatever it waits
	// for.
	streamCtx, cancelStream := context.WithCancel(s.force)
	defer cancelStream()
	// Until the collector accepts the stream nothing is in flight, so a
	// stop ends it at once. Without WaitForReady, a collector that cannot
	// be reached fails the call (and is reported) instead of holding it.
	stopWait := context.AfterFunc(s.stopCtx, cancelStream)
	stream, err := s.client.Subscribe(streamCtx)
	if err != nil {
		stopWait()
		return false, fmt.Errorf("subscribe: %w", err)
	}
	hello := &deliveryv1.SubscribeRequest{Kind: &deliveryv1.SubscribeRequest_Hello{Hello: &deliveryv1.Hello{
		DispatcherId: s.cfg.DispatcherID, MaxInFlight: uint32(s.cfg.MaxInFlight + s.cfg.Prefetch)}}}
	if err := stream.Send(hello); err != nil && !errors.Is(err, io.EOF) {
		stopWait()
		return false, fmt.Errorf("send hello: %w", err)
	}
	// The collector sends its headers once it has accepted the Hello; a
	// refusal (authentication, an id held by another stream) ends the
	// stream without them, and its status comes from Recv.
	if md, err := stream.Header(); err != nil || md == nil {
		stopWait()
		if _, rerr := stream.Recv(); rerr != nil {
			return false, fmt.Errorf("subscribe: %w", rerr)
		}
		return false, fmt.Errorf("subscribe: stream ended before the collector accepted it: %v", err)
	}
	if !stopWait() {
		return false, errors.New("subscriber stopping")
	}
	s.connected.Store(true)
	defer s.connected.Store(false)
	s.mu.Lock()
	s.stats.Streams++
	s.mu.Unlock()
	s.logger.Info("subscribed to collector", "dispatcher", s.cfg.DispatcherID)

	// Work is cancelled when the stream breaks (its deliveries will be
	// redelivered) or when the shutdown grace runs out.
	workCtx, cancelWork := context.WithCancel(s.force)
	defer cancelWork()
	window := s.cfg.MaxInFlight + s.cfg.Prefetch // unacknowledged deliveries the collector may send
	acks := make(chan *deliveryv1.Ack, window)
	closeAcks := sync.OnceFunc(func() { close(acks) })
	var handlers sync.WaitGroup
	sendErr := make(chan error, 1)
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		for ack := range acks {
			if err := stream.Send(&deliveryv1.SubscribeRequest{Kind: &deliveryv1.SubscribeRequest_Ack{Ack: ack}}); err != nil {
				select {
				case sendErr <- err:
				default:
				}
				cancelWork()
				continue
			}
			s.mu.Lock()
			s.stats.Acks++
			s.mu.Unlock()
		}
	}()

	received := make(chan *deliveryv1.Delivery)
	recvErr := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			if d := resp.GetDelivery(); d != nil {
				select {
				case received <- d:
				case <-streamCtx.Done():
					recvErr <- streamCtx.Err()
					return
				}
			}
		}
	}()

	// Deliveries run on workers that live as long as the stream: a
	// goroutine per delivery grew a fresh stack through the HTTP and
	// tracing calls every time (a few percent of a dispatcher's CPU). At
	// most MaxInFlight workers; deliveries beyond them (Prefetch) wait in
	// work, which holds the whole window so that receiving never blocks.
	work := make(chan heldDelivery, window)
	workers := 0
	defer close(work) // after handlers.Wait below: every worker is idle
	handleOne := func(h heldDelivery) {
		defer handlers.Done()
		defer s.held.Add(-h.bytes)
		d := h.d
		ack := s.handle(workCtx, d)
		ack.DeliveryId = d.GetDeliveryId()
		if workCtx.Err() != nil && ack.GetOutcome() != deliveryv1.Outcome_OUTCOME_DELIVERED {
			return // the stream is gone or work was cancelled; redelivered
		}
		acks <- ack
	}
	worker := func() {
		for h := range work {
			handleOne(h)
		}
	}

	var endErr error
loop:
	for {
		select {
		case d := <-received:
			if s.stopping() {
				continue // not started: the collector delivers it again
			}
			s.mu.Lock()
			s.stats.Deliveries++
			s.mu.Unlock()
			h := heldDelivery{d: d, bytes: deliveryBytes(d)}
			s.held.Add(h.bytes)
			handlers.Add(1)
			if workers < s.cfg.MaxInFlight {
				workers++
				go worker()
			}
			select {
			case work <- h:
			default:
				// Beyond the window the collector was told: never block
				// receiving on its mistake; run the delivery on its own.
				go handleOne(h)
			}
		case err := <-recvErr:
			endErr = err
			cancelWork()
			break loop
		case <-s.stopCh:
			// Stop taking work; finish what runs, then close our side.
			go func() {
				handlers.Wait()
				closeAcks()
				<-senderDone
				_ = stream.CloseSend()
			}()
			force := s.force.Done()
			for {
				select {
				case <-received:
				case err := <-recvErr:
					endErr = err
					break loop
				case <-force:
					force = nil
					cancelWork()
					cancelStream()
				}
			}
		}
	}
	handlers.Wait()
	closeAcks()
	<-senderDone
	select {
	case err := <-sendErr:
		return true, errors.Join(endErr, err)
	default:
	}
	return true, endErr
}
