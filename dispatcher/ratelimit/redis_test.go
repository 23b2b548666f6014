package ratelimit_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/internal/redistest"
)

func TestKey_is_one_cluster_slot_per_account(t *testing.T) {
	t.Parallel()
	if got, want := ratelimit.Key("ccb", "acme"), "ccb:{regal:acme}:ratelimit"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
}

func TestNewRedis_rejects_invalid_limits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rate  float64
		burst int
	}{
		{name: "zero_rate", rate: 0, burst: 1},
		{name: "negative_rate", rate: -1, burst: 1},
		{name: "zero_burst", rate: 1, burst: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name, build := range map[string]func(){
				"NewLocal": func() { ratelimit.NewLocal(tt.rate, tt.burst) },
				"NewRedis": func() { ratelimit.NewRedis(nil, "k", tt.rate, tt.burst) },
			} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s(%v, %d) did not panic", name, tt.rate, tt.burst)
						}
					}()
					build()
				}()
			}
		})
	}
}

func TestNewRedis_falls_back_to_a_local_share_when_redis_is_unreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{name: "connection_refused", addr: closedAddr},
		{name: "no_answer", addr: silentServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const rate, burst, processes = 100.0, 10, 2
			logs := &logCounter{}
			limiter := ratelimit.NewRedis(newClient(t, tt.addr(t)), ratelimit.Key("test", "acme"), rate, burst,
				ratelimit.WithProcesses(processes), ratelimit.WithRedisTimeout(50*time.Millisecond),
				ratelimit.WithRetryInterval(time.Hour), ratelimit.WithLogger(slog.New(logs)))

			granted, elapsed := hammer(t, limiter, 4, 600*time.Millisecond)
			share := rate / processes
			if ceiling := share*elapsed.Seconds() + burst/processes + 2; float64(granted) > ceiling {
				t.Errorf("%d grants in %s, want at most %v (the local share)", granted, elapsed, ceiling)
			}
			if floor := 0.5 * share * elapsed.Seconds(); float64(granted) < floor {
				t.Errorf("%d grants in %s, want at least %v: the fallback does not grant", granted, elapsed, floor)
			}
			if warnings := logs.count(slog.LevelWarn); warnings != 1 {
				t.Errorf("%d warnings, want exactly 1 for the outage", warnings)
			}
		})
	}
}

func TestNewRedis_uses_redis_again_when_it_is_back(t *testing.T) {
	t.Parallel()
	server := miniredis.RunT(t)
	key := ratelimit.Key("test", "acme")
	logs := &logCounter{}
	limiter := ratelimit.NewRedis(newClient(t, server.Addr()), key, 1000, 10,
		ratelimit.WithRetryInterval(20*time.Millisecond), ratelimit.WithLogger(slog.New(logs)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if err := limiter.Wait(ctx); err != nil || !server.Exists(key) {
		t.Fatalf("Wait = %v, key exists = %v; want the limit kept in Redis", err, server.Exists(key))
	}
	server.Close()
	for logs.count(slog.LevelWarn) == 0 {
		if err := limiter.Wait(ctx); err != nil {
			t.Fatalf("Wait while Redis is down = %v, want the local fallback to grant", err)
		}
	}
	if err := server.Restart(); err != nil {
		t.Fatal(err)
	}
	server.FlushAll()
	for logs.count(slog.LevelInfo) == 0 {
		if err := limiter.Wait(ctx); err != nil {
			t.Fatalf("Wait after Redis came back = %v, want a notice that the shared limit is back", err)
		}
	}
	if !server.Exists(key) {
		t.Error("the limit is not kept in Redis again")
	}
	if warnings, notices := logs.count(slog.LevelWarn), logs.count(slog.LevelInfo); warnings != 1 || notices != 1 {
		t.Errorf("%d warnings and %d notices, want 1 of each: down once, back once", warnings, notices)
	}
}

func TestNewRedis_survives_a_redis_restart(t *testing.T) {
	t.Parallel()
	server := redistest.Start(t, redistest.Options{})
	limiter := ratelimit.NewRedis(newClient(t, server.Addr), ratelimit.Key("test", "acme"), 1000, 10,
		ratelimit.WithRetryInterval(20*time.Millisecond), ratelimit.WithLogger(quiet))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 20 {
		if err := limiter.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	server.Restart(t, true)
	for range 200 {
		if err := limiter.Wait(ctx); err != nil {
			t.Fatalf("Wait across a Redis restart = %v, want grants throughout", err)
		}
	}
}

func TestNewRedis_batches_round_trips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     []ratelimit.Option
		burst    int
		waits    int
		maxTrips int64
	}{
		// One process: each reservation takes one slot and prefetches
		// (64-1)/2 = 31 more, so 32 Waits per round trip; plus one EVAL
		// after the first EVALSHA finds no script.
		{name: "one_process_prefetches", burst: 64, waits: 320, maxTrips: 320/32 + 1},
		// Three processes share the burst: (64-1)/6 = 10 each.
		{name: "three_processes_prefetch_less", burst: 64, waits: 330, opts: []ratelimit.Option{ratelimit.WithProcesses(3)}, maxTrips: 330/11 + 1},
		{name: "no_prefetch_is_one_trip_per_wait", burst: 64, waits: 50, opts: []ratelimit.Option{ratelimit.WithPrefetch(0)}, maxTrips: 50 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newClient(t, miniredis.RunT(t).Addr())
			trips := &roundTrips{}
			client.AddHook(trips)
			// Connecting costs a few commands once.
			if err := client.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			limiter := ratelimit.NewRedis(client, ratelimit.Key("test", "acme"), 1e6, tt.burst,
				append([]ratelimit.Option{ratelimit.WithLogger(quiet)}, tt.opts...)...)
			trips.n.Store(0)
			for range tt.waits {
				if err := limiter.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := trips.n.Load(); got > tt.maxTrips {
				t.Errorf("%d round trips for %d Waits, want at most %d", got, tt.waits, tt.maxTrips)
			}
		})
	}
}

// hammer calls Wait from callers goroutines for about d and returns the
// number of grants and the time taken.
func hammer(t *testing.T, limiter ratelimit.Limiter, callers int, d time.Duration) (int64, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var granted atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				err := limiter.Wait(ctx)
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Wait = %v", err)
					}
					return
				}
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	return granted.Load(), time.Since(start)
}

// silentServer accepts connections and never answers, like a Redis behind
// a network partition, until the test ends.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}
