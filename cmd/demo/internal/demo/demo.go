// Package demo runs the bridge on one machine with both doubles, plays a
// scripted set of calls with repeated lines, and prints what happened.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/ccbridge/bridge/doubles/sapidouble/scenario"
	"github.com/ccbridge/bridge/internal/jaegertest"
	"github.com/ccbridge/bridge/test/stack"
)

// Options shape a demo run.
type Options struct {
	Calls       int   // scripted calls to play
	Seed        int64 // scenario seed
	Dispatchers int
	// RepeatEvery repeats every n-th SAPI line (a duplicate, as 8x8 sends
	// around reconnects); 0 = no repeats.
	RepeatEvery int
	// QueryListen is the QueryService address.
	QueryListen string
	// Wait bounds the time for every event to reach Regal.
	Wait   time.Duration
	Logger *slog.Logger
	// JaegerBin, when set, is started and receives every trace; RepoRoot
	// locates deploy/jaeger/config.yaml.
	JaegerBin, RepoRoot string
}

// Report is what a run observed.
type Report struct {
	Calls, Lines, Repeats, ExpectedRegal                  int
	Received, Duplicates, Admitted, Malformed, Heartbeats int64
	Delivered                                             int
	Skipped                                               map[string]int
	RegalAccepted                                         int
	ByName                                                map[string]int
	ByDispatcher                                          map[string]int
	// SampleInteraction is an answered campaign call of the script.
	SampleInteraction string
}

// Match reports whether the counts are what the script implies: every
// distinct mapped event delivered once, every repeat dropped as duplicate.
func (r Report) Match() bool {
	return r.RegalAccepted == r.ExpectedRegal && r.Delivered == r.ExpectedRegal &&
		r.Duplicates == int64(r.Repeats) && r.Malformed == 0
}

// Demo is a running demo. Close stops it.
type Demo struct {
	Stack  *stack.Stack
	redis  func()
	RedisD string
	// Jaeger receives the traces when its binary is available, else nil.
	Jaeger *jaegertest.Jaeger
	dir    string
}

// Start starts Redis (a redis-server on a free port when installed, else an
// embedded Redis), the doubles, a collector and the dispatchers.
func Start(ctx context.Context, o Options, out io.Writer) (*Demo, error) {
	d := &Demo{}
	dir, err := os.MkdirTemp("", "ccbridge-demo-")
	if err != nil {
		return nil, err
	}
	d.dir = dir
	if o.JaegerBin != "" {
		j, err := jaegertest.Run(o.JaegerBin, o.RepoRoot, dir)
		if err != nil {
			fmt.Fprintf(out, "WARNING: Jaeger did not start (%v); running without traces.\n", err)
		} else {
			d.Jaeger = j
			// The services export to it through the standard variables.
			os.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint())
			os.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
			os.Setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
		}
	}
	addr, desc, stop, err := startRedis(out)
	if err != nil {
		d.closeJaeger()
		return nil, err
	}
	d.redis, d.RedisD = stop, desc
	d.Stack, err = stack.Start(ctx, stack.Options{RedisAddr: addr, KeyPrefix: "demo", Dispatchers: o.Dispatchers, Logger: o.Logger,
		QueryListen: o.QueryListen})
	if err != nil {
		stop()
		d.closeJaeger()
		return nil, err
	}
	return d, nil
}

// Close stops everything.
func (d *Demo) Close(ctx context.Context) error {
	err := d.Stack.Shutdown(ctx)
	d.redis()
	d.closeJaeger()
	return err
}

func (d *Demo) closeJaeger() {
	if d.Jaeger != nil {
		d.Jaeger.Close()
	}
	_ = os.RemoveAll(d.dir)
}

// TraceLinks returns Jaeger links for one interaction: the UI search and
// the query API (which also answers where the UI is not bundled), and the
// number of spans the API returns for it, which proves the link works.
func (d *Demo) TraceLinks(ctx context.Context, interactionID string) (ui, api string, spans int, err error) {
	if d.Jaeger == nil {
		return "", "", 0, errors.New("no Jaeger running")
	}
	tags := url.QueryEscape(`{"cc.interaction_id":"` + interactionID + `"}`)
	base := d.Jaeger.QueryURL()
	ui = base + "/search?service=collector&tags=" + tags
	api = base + "/api/traces?service=collector&tags=" + tags
	traces, err := d.Jaeger.WaitForTrace(ctx, "dispatcher", map[string]string{"cc.interaction_id": interactionID},
		func(ts []jaegertest.Trace) bool { return len(ts) > 0 })
	if err != nil {
		return ui, api, 0, err
	}
	full, err := d.Jaeger.GetTrace(ctx, traces[0].TraceID)
	return ui, api, len(full.Spans), err
}

// Play publishes the scripted calls and waits until Regal has every event
// the script implies (or the wait is over), then reports.
func (d *Demo) Play(ctx context.Context, o Options) (Report, error) {
	s := d.Stack
	tenant := s.Config.Tenants[0].Name
	calls := scenario.Mix(o.Seed, tenant, o.Calls, time.Now().Add(-time.Hour).Truncate(time.Second))
	events := scenario.Interleave(calls, o.Seed)
	r := Report{Calls: len(calls), ExpectedRegal: expectedRegal(events)}
	for _, c := range calls {
		if c.Name == scenario.FlowOutboundCampaignAnswered && r.SampleInteraction == "" {
			r.SampleInteraction = c.InteractionID
		}
	}
	var stream [][]byte
	for i, e := range events {
		stream = append(stream, e)
		if o.RepeatEvery > 0 && i%o.RepeatEvery == 0 {
			stream = append(stream, e)
			r.Repeats++
		}
	}
	r.Lines = len(stream)
	if err := s.SAPI.Publish(tenant, stream...); err != nil {
		return r, err
	}
	wctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	waitErr := s.Regal.WaitCount(wctx, r.ExpectedRegal)
	if waitErr == nil {
		waitErr = s.WaitIdle(wctx)
	}
	st := s.Collector.Stats()
	r.Received, r.Duplicates, r.Admitted, r.Malformed, r.Heartbeats = st.Received, st.Duplicates, st.Admitted, st.Malformed, st.Heartbeats
	r.Skipped, r.ByDispatcher, r.ByName = map[string]int{}, map[string]int{}, map[string]int{}
	for _, disp := range s.Dispatchers {
		ds := disp.Stats()
		r.Delivered += ds.Delivered
		r.ByDispatcher[disp.ID()] = ds.Delivered
		for k, v := range ds.Skipped {
			r.Skipped[k] += v
		}
	}
	for _, rec := range s.Regal.Received() {
		r.RegalAccepted++
		r.ByName[rec.Event.Name]++
	}
	return r, waitErr
}

// Print writes the report for a person.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nPlayed %d scripted calls: %d SAPI lines, of which %d repeated (duplicates).\n", r.Calls, r.Lines, r.Repeats)
	fmt.Fprintf(w, "Collector   received %d events, dropped %d as duplicate, admitted %d new; %d malformed frames.\n",
		r.Received, r.Duplicates, r.Admitted, r.Malformed)
	fmt.Fprintf(w, "Dispatchers delivered %d to Regal, skipped %d %v.\n", r.Delivered, sum(r.Skipped), r.Skipped)
	for _, k := range sortedKeys(r.ByDispatcher) {
		fmt.Fprintf(w, "              %-14s %d\n", k, r.ByDispatcher[k])
	}
	fmt.Fprintf(w, "Regal double accepted %d events; the script implies %d distinct mapped events.\n", r.RegalAccepted, r.ExpectedRegal)
	for _, k := range sortedKeys(r.ByName) {
		fmt.Fprintf(w, "              %-32s %d\n", k, r.ByName[k])
	}
	if r.Match() {
		fmt.Fprintln(w, "MATCH: every distinct mapped event reached Regal once; every repeat was dropped as a duplicate.")
	} else {
		fmt.Fprintln(w, "MISMATCH: the counts above differ from what the script implies.")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// startRedis runs redis-server on a free port with AOF in a temporary
// directory, or, where it is not installed, an embedded Redis.
func startRedis(out io.Writer) (addr, desc string, stop func(), err error) {
	bin, lookErr := exec.LookPath("redis-server")
	if lookErr != nil {
		fmt.Fprintln(out, "WARNING: redis-server is not installed; using an embedded in-process Redis (no persistence).")
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return "", "", nil, err
		}
		return m.Addr(), "embedded Redis " + m.Addr(), m.Close, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err := os.MkdirTemp("", "ccbridge-demo-redis-")
	if err != nil {
		return "", "", nil, err
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction")
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return "", "", nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Redis must not outlive the demo, however the demo ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return "", "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
		_ = os.RemoveAll(dir)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			stop()
			return "", "", nil, errors.New("redis-server did not answer; see " + filepath.Join(dir, "redis.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, "redis-server " + addr + " (AOF on, in " + dir + ")", stop, nil
}
