package sapidouble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/internal/procbench"
	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
)

// benchClientEnv carries a benchClientSpec to the client process of
// BenchmarkPacedPublish.
const benchClientEnv = "SAPIDOUBLE_BENCH_CLIENT"

// benchClientSpec tells the client process what load to make.
type benchClientSpec struct {
	URL      string        // the double's base URL
	N        int           // publish requests to make
	Chunk    int           // lines per publish request
	Interval time.Duration // between publish requests; 0: each waits for the previous chunk to arrive
	Padding  bool          // the stream starts with Atmosphere's padding line
}

// BenchmarkPacedPublish reproduces the load bench's paced path: one
// subscriber streams NEWLINE_JSON while small publish requests (2 lines,
// as the bench sends at 1,000 lines/s) arrive through the control API.
// The client runs in another process, so cpu-ns/op (from getrusage) is the
// double's CPU alone; allocs/op are the double's too. An op is one publish
// request; cpu-ns/event divides by the lines it carries.
func BenchmarkPacedPublish(b *testing.B) {
	cases := []struct {
		name     string
		split    bool // SplitChunks and Padding, as sapi-double runs by default
		interval time.Duration
	}{
		{"closed-loop-split", true, 0},
		{"paced-2ms-split", true, 2 * time.Millisecond},
		{"closed-loop-plain", false, 0},
		{"paced-2ms-plain", false, 2 * time.Millisecond},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s := New(Config{
				Tenants:     map[string]Credentials{tenant: {Username: username, Token: testToken}},
				Padding:     tc.split,
				SplitChunks: tc.split,
				Seed:        1,
				Control:     true,
			}, nil)
			if err := s.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			}()
			spec := benchClientSpec{URL: s.URL(), N: b.N, Chunk: 2, Interval: tc.interval, Padding: tc.split}
			used := procbench.Run(b, "TestBenchClient", benchClientEnv, spec, func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return s.WaitSubscribed(ctx, tenant, 1)
			})
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N*spec.Chunk), "cpu-ns/event")
		})
	}
}

// TestBenchClient is the client process of BenchmarkPacedPublish; it skips
// unless that benchmark started it.
func TestBenchClient(t *testing.T) {
	var spec benchClientSpec
	procbench.Client(t, benchClientEnv, &spec, func() error { return benchClient(spec) })
}

// benchClient subscribes, then, as procbench.Serve's load, publishes
// spec.N chunks and waits until they all arrived.
func benchClient(spec benchClientSpec) error {
	transport := &http.Transport{MaxIdleConnsPerHost: 4}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.URL+streamPath("bench", "NEWLINE_JSON"), nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(username, testToken)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribe: HTTP %d", resp.StatusCode)
	}
	var received atomic.Int64
	arrived := make(chan struct{}, 1)
	readDone := make(chan struct{})
	defer func() {
		cancel()
		<-readDone
	}()
	go func() {
		defer close(readDone)
		buf := make([]byte, 64<<10)
		skip := 0
		if spec.Padding {
			skip = 1
		}
		for {
			n, err := resp.Body.Read(buf)
			lines := bytes.Count(buf[:n], []byte("\n"))
			if skip > 0 && lines > 0 {
				lines, skip = lines-1, 0
			}
			if lines > 0 {
				received.Add(int64(lines))
				select {
				case arrived <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()

	events := scenario.Interleave(scenario.Mix(1, tenant, 200, time.Unix(1724685483, 0)), 1)
	waitFor := func(n int64) error {
		deadline := time.NewTimer(30 * time.Second)
		defer deadline.Stop()
		for received.Load() < n {
			select {
			case <-arrived:
			case <-readDone:
				return errors.New("stream ended early")
			case <-deadline.C:
				return fmt.Errorf("%d of %d events arrived", received.Load(), n)
			}
		}
		return nil
	}
	publishURL := spec.URL + ControlPrefix + "publish?tenant=" + tenant
	return procbench.Serve(func() error {
		start := time.Now()
		next := 0
		for i := range spec.N {
			chunk := make([][]byte, spec.Chunk)
			for j := range chunk {
				chunk[j] = events[next%len(events)]
				next++
			}
			procbench.Pace(start, i, spec.Interval)
			req, err := http.NewRequest(http.MethodPost, publishURL, bytes.NewReader(bytes.Join(chunk, []byte("\n"))))
			if err != nil {
				return err
			}
			if err := procbench.Do(client, req); err != nil {
				return err
			}
			if spec.Interval == 0 {
				if err := waitFor(int64((i + 1) * spec.Chunk)); err != nil {
					return err
				}
			}
		}
		return waitFor(int64(spec.N * spec.Chunk))
	})
}
