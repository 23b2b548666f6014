// Package delivery serves the DeliveryService: it streams scheduled events
// to subscribed dispatchers and feeds their acknowledgements back to the
// scheduler.
package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/ccbridge/bridge/collector/eventstore"
	"github.com/ccbridge/bridge/collector/scheduler"
	deliveryv1 "github.com/ccbridge/bridge/gen/ccbridge/delivery/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/telemetry"
)

// Server implements deliveryv1.DeliveryServiceServer over a scheduler.
type Server struct {
	deliveryv1.UnimplementedDeliveryServiceServer
	sched  *scheduler.Scheduler
	tracer trace.Tracer
	logger *slog.Logger
	maxAge time.Duration
	// onSent, when set, is told of every delivery handed to a dispatcher.
	onSent func(e eventstore.Entry, dispatcher string, redelivery int)

	mu sync.Mutex
	// live holds each dispatcher id claimed by a stream that has not ended:
	// an id is bound to one stream, so a second client cannot take its
	// interactions by reusing it.
	live map[string]holder
}

// holder is the stream that holds a dispatcher id.
type holder struct {
	peer, credential string
	since            time.Time
}

// drainGrace bounds how long an aged stream waits for its in-flight
// deliveries before it ends anyway (they are then delivered again).
const drainGrace = 30 * time.Second

// Option configures a Server.
type Option func(*Server)

// WithMaxAge makes every stream end after about d (±10 %): it stops taking
// new deliveries, lets the dispatcher settle what it holds, then ends, and
// the dispatcher subscribes again. Streams are thus rebalanced over the
// dispatchers, and their RPC spans end. 0 (the default) keeps streams open.
func WithMaxAge(d time.Duration) Option { return func(s *Server) { s.maxAge = d } }

// WithOnSent tells f of every delivery sent to a dispatcher (the timeline
// records it); f must not block.
func WithOnSent(f func(e eventstore.Entry, dispatcher string, redelivery int)) Option {
	return func(s *Server) { s.onSent = f }
}

// NewServer returns a server handing out the scheduler's deliveries. Each
// delivery is a span ("collector.deliver", in the event's trace) from the
// moment it is sent until the dispatcher settles it or the stream ends.
func NewServer(sched *scheduler.Scheduler, tracer trace.Tracer, logger *slog.Logger, opts ...Option) *Server {
	s := &Server{sched: sched, tracer: tracer, logger: logger, live: map[string]holder{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// MaxDispatcherIDBytes bounds a dispatcher id (it is logged and kept per
// stream).
const MaxDispatcherIDBytes = 256

// SessionHeader is the response header sent once the collector has
// accepted a Subscribe stream (its Hello is valid and its dispatcher id
// free): a dispatcher that reads it knows it is connected, before any
// delivery. Its value is "subscribed".
const SessionHeader = "ccbridge-session"

// checkID reports an id the collector will not take.
func checkID(id string) error {
	switch {
	case id == "":
		return status.Error(codes.InvalidArgument, "the first message must be a Hello with a dispatcher_id")
	case len(id) > MaxDispatcherIDBytes:
		return status.Errorf(codes.InvalidArgument, "dispatcher_id is longer than %d bytes", MaxDispatcherIDBytes)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return status.Error(codes.InvalidArgument, "dispatcher_id must be printable, without spaces")
		}
	}
	return nil
}

// claim binds id to the stream of ctx until release is called, or refuses
// with AlreadyExists while another stream holds it.
func (s *Server) claim(ctx context.Context, id string, logger *slog.Logger) (release func(), err error) {
	h := holder{peer: "unknown", credential: "none", since: time.Now()}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		h.peer = p.Addr.String()
	}
	if i, ok := grpcauth.TokenIndex(ctx); ok {
		h.credential = "tokens[" + strconv.Itoa(i) + "]"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, taken := s.live[id]; taken {
		logger.Warn("refused a stream claiming a dispatcher id held by a live stream: two dispatchers share an id, or a client impersonates one",
			"peer", h.peer, "credential", h.credential, "holder_peer", old.peer, "holder_credential", old.credential,
			"held_for", time.Since(old.since).Round(time.Second))
		return nil, status.Errorf(codes.AlreadyExists,
			"dispatcher id %q is held by another live stream; give each dispatcher its own id (dispatcher.id or -id), "+
				"or retry once the other stream has ended", id)
	}
	s.live[id] = h
	return func() {
		s.mu.Lock()
		delete(s.live, id)
		s.mu.Unlock()
	}, nil
}

// Subscribe runs one dispatcher session for the life of the stream. When the
// stream ends for any reason, the session's unacknowledged deliveries are
// delivered again.
func (s *Server) Subscribe(stream deliveryv1.DeliveryService_SubscribeServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first message must be a Hello with a dispatcher_id")
	}
	if err := checkID(hello.GetDispatcherId()); err != nil {
		return err
	}
	logger := s.logger.With("dispatcher", hello.GetDispatcherId())
	release, err := s.claim(stream.Context(), hello.GetDispatcherId(), logger)
	if err != nil {
		return err
	}
	// Released after Leave (defers run last in, first out): the id is free
	// once the session's deliveries are back in the queue.
	defer release()
	sess := s.sched.Join(hello.GetDispatcherId(), int(hello.GetMaxInFlight()))
	defer s.sched.Leave(sess)
	if err := stream.SendHeader(metadata.Pairs(SessionHeader, "subscribed")); err != nil {
		return err
	}
	if i, ok := grpcauth.TokenIndex(stream.Context()); ok {
		logger = logger.With("credential", "tokens["+strconv.Itoa(i)+"]")
	}
	logger.Info("dispatcher subscribed", "max_in_flight", hello.GetMaxInFlight())

	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	spans := newOpenSpans()
	defer spans.endAll("the delivery stream ended before the dispatcher settled it; delivered again")
	go func() { cancel(s.receiveAcks(stream, sess, spans, logger)) }()
	aged := make(chan struct{})
	if s.maxAge > 0 {
		age := time.AfterFunc(s.maxAge-s.maxAge/10+rand.N(s.maxAge/5+1), func() {
			sess.Drain()
			deadline := time.Now().Add(drainGrace)
			for sess.InFlight() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			close(aged)
		})
		defer age.Stop()
	}
	go func() {
		select {
		case <-aged:
			cancel(errAged)
		case <-ctx.Done():
		}
	}()

	for {
		d, err := sess.Next(ctx)
		if err != nil {
			cause := context.Cause(ctx)
			switch {
			case errors.Is(err, scheduler.ErrClosed):
				logger.Info("delivery session closed by the collector")
				return status.Error(codes.Unavailable, "collector is shutting down")
			case errors.Is(cause, io.EOF):
				logger.Info("dispatcher unsubscribed")
				return nil
			case errors.Is(cause, errAged):
				logger.Info("delivery stream reached its max age; the dispatcher subscribes again")
				return nil
			case cause != nil && !errors.Is(cause, context.Canceled):
				logger.Warn("dispatcher stream ended", "err", cause)
				return status.FromContextError(cause).Err()
			}
			return nil
		}
		ev := d.Entry.Event
		spanCtx, span := s.tracer.Start(telemetry.Extract(context.Background(), ev.GetTraceContext()), "collector.deliver "+ev.GetEventType(),
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(
				telemetry.InteractionIDKey.String(ev.GetInteractionId()),
				telemetry.EventTypeKey.String(ev.GetEventType()),
				telemetry.TenantKey.String(ev.GetTenant()),
				telemetry.DeliveryIDKey.Int64(int64(d.ID)),
				telemetry.DispatcherIDKey.String(hello.GetDispatcherId()),
				attribute.Int("cc.redelivery", d.Redelivery),
			))
		spans.add(d.ID, span)
		tc := map[string]string{}
		telemetry.Inject(spanCtx, tc)
		resp := &deliveryv1.EncodedSubscribeResponse{Kind: &deliveryv1.EncodedSubscribeResponse_Delivery{Delivery: &deliveryv1.EncodedDelivery{
			DeliveryId:   d.ID,
			Redelivery:   uint32(d.Redelivery),
			Event:        encodedForDispatcher(d.Entry),
			TraceContext: tc,
		}}}
		if err := stream.SendMsg(resp); err != nil {
			logger.Warn("send delivery failed; it will be delivered again", "err", err)
			return err
		}
		if s.onSent != nil {
			s.onSent(d.Entry, hello.GetDispatcherId(), d.Redelivery)
		}
	}
}

// encodedForDispatcher is the entry's event as a dispatcher receives it:
// the stored encoding without raw and attached data. Stored bytes that do
// not parse (never written by this collector) are encoded again from the
// event.
func encodedForDispatcher(e eventstore.Entry) []byte {
	if b, err := dispatcherView(e.Payload); err == nil && len(b) > 0 {
		return b
	}
	b, _ := proto.MarshalOptions{}.Marshal(e.Event)
	b, _ = dispatcherView(b)
	return b
}

// errAged ends a stream that reached its max age.
var errAged = errors.New("stream reached its max age")

// receiveAcks settles deliveries until the stream ends, and returns why.
func (s *Server) receiveAcks(stream deliveryv1.DeliveryService_SubscribeServer, sess *scheduler.Session, spans *openSpans, logger *slog.Logger) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		ack := req.GetAck()
		if ack == nil {
			return status.Error(codes.InvalidArgument, "after the Hello, only Acks are accepted")
		}
		res, err := resultOf(ack)
		if err != nil {
			return err
		}
		spans.settle(ack)
		if err := s.sched.Ack(sess, ack.GetDeliveryId(), res); err != nil {
			// A late ack for a delivery already handed to someone else is
			// harmless: that delivery is settled by its new owner.
			logger.Debug("ack not applied", "delivery_id", ack.GetDeliveryId(), "err", err)
		}
	}
}

func resultOf(ack *deliveryv1.Ack) (scheduler.Result, error) {
	res := scheduler.Result{Reason: ack.GetReason(), Attempts: int(ack.GetAttempts()), Status: int(ack.GetRegalStatus())}
	switch ack.GetOutcome() {
	case deliveryv1.Outcome_OUTCOME_DELIVERED:
		res.Outcome = scheduler.Delivered
	case deliveryv1.Outcome_OUTCOME_SKIPPED:
		res.Outcome = scheduler.Skipped
	case deliveryv1.Outcome_OUTCOME_FAILED_RETRYABLE:
		res.Outcome = scheduler.FailedRetryable
	case deliveryv1.Outcome_OUTCOME_FAILED_PERMANENT:
		res.Outcome = scheduler.FailedPermanent
	case deliveryv1.Outcome_OUTCOME_TENANT_PAUSED:
		res.Outcome = scheduler.Paused
		res.Attempts = 0 // a paused delivery is not an attempt
		if ra := ack.GetRetryAfter(); ra != nil {
			res.RetryAfter = ra.AsDuration()
		}
	default:
		return res, status.Errorf(codes.InvalidArgument, "ack %d has no outcome", ack.GetDeliveryId())
	}
	return res, nil
}
