package regaldouble

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/internal/procbench"
	"github.com/ccbridge/bridge/internal/secret"
)

// benchKey is the key the benchmark's requests carry.
const benchKey = secret.Secret("rk_live_bench-Q7x2")

// benchClientEnv carries a benchClientSpec to TestBenchClient, the client
// process of the paced benchmarks.
const benchClientEnv = "REGALDOUBLE_BENCH_CLIENT"

// benchClientSpec tells the client process what load to make.
type benchClientSpec struct {
	URL      string        // the double's base URL
	N        int           // requests to make
	Interval time.Duration // between requests; 0: back to back
}

// benchBody is a realistic POST /events body as the bridge sends it; n
// makes the interaction and the phone differ between requests.
func benchBody(n int) []byte {
	id := "int-1963f527a2a-9wjz0hrkcolMxIqiOhxEsKFe9-phone-" + strconv.Itoa(n) + "-tenant01"
	return []byte(`{"traits":{"phones":{"+1629899` + fmt.Sprintf("%04d", n%10000) + `":{}}},"name":"Interaction Assigned",` +
		`"properties":{"agent_id":"agAglVJkg0TU28dok9y9UQKg","campaign_id":4926,"interaction_direction":"out",` +
		`"interaction_id":"` + id + `","interaction_type":"campaign","media_type":"phone","queue_id":1092,` +
		`"queue_name":"Sales Queue","queue_time":1744819092},"eventSource":"8x8","originalTimestamp":"2025-04-16 15:58:12 +00:00"}`)
}

// benchRequest sets the headers the bridge's Regal client sends.
func benchRequest(req *http.Request) {
	req.Header = http.Header{
		"Authorization": {benchKey.Reveal()},
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
		"User-Agent":    {"ccbridge-dispatcher/bench"},
	}
}

// BenchmarkPacedEvents reproduces the load bench's paced path: single
// POST /events requests, one at a time, with a realistic body, to a double
// that formats a log line per accepted event as regal-double does (into
// io.Discard, so the log file's write is not counted). The client runs in
// another process, so cpu-ns/op (from getrusage) and allocs/op are the
// double's alone. The retained cases first record that many events, as a
// long run does, to show what the recorded requests cost the GC.
func BenchmarkPacedEvents(b *testing.B) {
	cases := []struct {
		name     string
		interval time.Duration
		retained int
	}{
		{"closed-loop", 0, 0},
		{"paced-1ms", time.Millisecond, 0},
		{"closed-loop-retained-50k", 0, 50000},
		{"paced-1ms-retained-50k", time.Millisecond, 50000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			s := New(Config{APIKeys: []secret.Secret{benchKey}, Control: true, Seed: 1}, logger)
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			}()
			recordEvents(b, s, tc.retained)
			procbench.Run(b, "TestBenchClient", benchClientEnv, benchClientSpec{URL: s.URL(), N: b.N, Interval: tc.interval}, nil)
			if got := s.Count(); got != tc.retained+b.N {
				b.Fatalf("recorded %d events, want %d", got, tc.retained+b.N)
			}
		})
	}
}

// recordEvents has s accept n events, without the network.
func recordEvents(b *testing.B, s *Server, n int) {
	b.Helper()
	for i := range n {
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(benchBody(i)))
		benchRequest(req)
		rec := httptest.NewRecorder()
		s.handleEvents(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("recording: HTTP %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkGCWithRecorded times a full garbage collection while the
// double keeps 50,000 accepted requests, as after a long run: the work the
// recorded history adds to every collection. heap-objects/event is what
// each recorded request leaves on the heap.
func BenchmarkGCWithRecorded(b *testing.B) {
	const n = 50000
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := New(Config{APIKeys: []secret.Secret{benchKey}}, nil)
	recordEvents(b, s, n)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "heap-objects/event")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/event")
	runtime.KeepAlive(s)
}

// BenchmarkPacedFloor is BenchmarkPacedEvents's paced load against a bare
// net/http server whose handler only reads the body and answers: the part
// of the double's cost that is Go's HTTP server and scheduler, which no
// handler change removes.
func BenchmarkPacedFloor(b *testing.B) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(okBody)
	}))
	srv.Config.ReadHeaderTimeout = 5 * time.Second // as the double's server
	srv.Start()
	defer srv.Close()
	procbench.Run(b, "TestBenchClient", benchClientEnv, benchClientSpec{URL: srv.URL, N: b.N, Interval: time.Millisecond}, nil)
}

// TestBenchClient is the client process of BenchmarkPacedEvents and
// BenchmarkPacedFloor; it skips unless one of them started it.
func TestBenchClient(t *testing.T) {
	var spec benchClientSpec
	procbench.Client(t, benchClientEnv, &spec, func() error { return benchClient(spec) })
}

// benchClient posts spec.N events one at a time on a kept-alive
// connection, as procbench.Serve's load.
func benchClient(spec benchClientSpec) error {
	transport := &http.Transport{MaxIdleConnsPerHost: 4}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = benchBody(i)
	}
	return procbench.Serve(func() error {
		start := time.Now()
		for i := range spec.N {
			procbench.Pace(start, i, spec.Interval)
			req, err := http.NewRequest(http.MethodPost, spec.URL+"/events", bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				return err
			}
			benchRequest(req)
			if err := procbench.Do(client, req); err != nil {
				return err
			}
		}
		return nil
	})
}
