package subscriber

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/ccbridge/bridge/internal/lifecycletest"
	"github.com/ccbridge/bridge/internal/poll"
)

// logRecorder keeps every log record, for assertions on what was logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// matching returns the records at level whose message contains msg.
func (r *logRecorder) matching(level slog.Level, msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.records {
		if rec.Level == level && strings.Contains(rec.Message, msg) {
			out = append(out, rec)
		}
	}
	return out
}

func attr(rec slog.Record, key string) string {
	var v string
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// unreachable returns a connection to a loopback port nobody listens on.
func unreachable(t *testing.T) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// shutdownWithin calls Shutdown with a context of grace and fails the test
// if it has not returned a few seconds after that deadline.
func shutdownWithin(t *testing.T, sub *Subscriber, grace time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sub.Shutdown(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("Shutdown did not return within %v of its %v grace", 5*time.Second, grace)
		return nil
	}
}

// TestShutdownReturnsWhileTheCollectorIsUnreachable: a dispatcher started
// while its collector cannot be reached exits on SIGTERM; it used to wait
// for the collector forever.
func TestShutdownReturnsWhileTheCollectorIsUnreachable(t *testing.T) {
	conn := unreachable(t)
	sub := New(conn, Config{DispatcherID: "d1"}, delivered, slog.New(slog.DiscardHandler))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The connection fails only once the subscriber has tried to use it.
	poll.Until(t, "the subscriber to have tried the collector", func() bool { return conn.GetState() == connectivity.TransientFailure })
	if err := shutdownWithin(t, sub, 2*time.Second); err != nil {
		t.Fatalf("Shutdown with nothing in flight: %v", err)
	}
}

func TestAnUnreachableCollectorIsReportedAtASteadyPace(t *testing.T) {
	logs := &logRecorder{}
	const every = 150 * time.Millisecond
	sub := New(unreachable(t), Config{DispatcherID: "d1", ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond, WarnEvery: every},
		delivered, slog.New(logs))
	if err := sub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "three warnings", func() bool { return len(logs.matching(slog.LevelWarn, "cannot subscribe")) >= 3 })
	if sub.Connected() {
		t.Fatal("Connected while the collector is unreachable")
	}
	if err := shutdownWithin(t, sub, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	warns := logs.matching(slog.LevelWarn, "cannot subscribe")
	for i := 1; i < len(warns); i++ {
		// The records' times are taken a moment after the subscriber's
		// own clock reading; retries come every 1-5 ms, far under this.
		if gap := warns[i].Time.Sub(warns[i-1].Time); gap < every*9/10 {
			t.Errorf("warnings %d and %d are %v apart, want about %v", i-1, i, gap, every)
		}
	}
	if attr(warns[0], "err") == "" || attr(warns[len(warns)-1], "down_for") == "" {
		t.Errorf("a warning lacks the error or the outage's length: %v", warns[0])
	}
	retries := 0
	for _, d := range logs.matching(slog.LevelDebug, "cannot subscribe") {
		if d.Time.After(warns[0].Time) && d.Time.Before(warns[2].Time) {
			retries++
		}
	}
	if retries == 0 {
		t.Error("no retry between the warnings: the pace is the retries', not a steady one")
	}
}

func TestConnectedFollowsTheStreamTheCollectorAccepted(t *testing.T) {
	f := startCollector(t)
	logs := &logRecorder{}
	first := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 2}, delivered, slog.New(slog.DiscardHandler))
	if first.Connected() {
		t.Fatal("Connected before Start")
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the first subscriber connected", first.Connected)
	// A second subscriber with the same id is refused while the first
	// lives, says so, and is not ready.
	second := New(f.conn, Config{DispatcherID: "d1", MaxInFlight: 2, ReconnectMax: 20 * time.Millisecond}, delivered, slog.New(logs))
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the refusal logged", func() bool {
		for _, w := range logs.matching(slog.LevelWarn, "cannot subscribe") {
			if strings.Contains(attr(w, "err"), "AlreadyExists") {
				return true
			}
		}
		return false
	})
	if second.Connected() {
		t.Fatal("the refused subscriber reports Connected")
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first.Connected() {
		t.Fatal("Connected after Shutdown")
	}
	poll.Until(t, "the second subscriber connected once the id was free", second.Connected)
	f.enqueue(t, "a", "b")
	poll.Until(t, "two settlements", func() bool { return f.sink.count() == 2 })
	if err := second.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSubscriberLifecycle(t *testing.T) {
	f := startCollector(t)
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			conn := f.dial(t)
			t.Cleanup(func() { _ = conn.Close() })
			return New(conn, Config{DispatcherID: "d1"}, delivered, slog.New(slog.DiscardHandler))
		},
	})
}

func TestSubscriberLifecycleWithAnUnreachableCollector(t *testing.T) {
	lifecycletest.Run(t, lifecycletest.Options{
		New: func(t *testing.T) lifecycletest.Component {
			return New(unreachable(t), Config{DispatcherID: "d1"}, delivered, slog.New(slog.DiscardHandler))
		},
	})
}
