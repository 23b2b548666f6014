// Command demo runs the whole bridge on this machine with the 8x8 and Regal
// doubles, plays scripted calls and prints what was received, dropped as
// duplicate and delivered. It keeps running until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ccbridge/bridge/cmd/demo/internal/demo"
	"github.com/ccbridge/bridge/internal/logging"
	"github.com/ccbridge/bridge/internal/process"
	"github.com/ccbridge/bridge/test/stack"
)

func main() {
	o := demo.Options{}
	flag.IntVar(&o.Calls, "calls", 25, "scripted calls to play")
	flag.Int64Var(&o.Seed, "seed", 1, "scenario seed")
	flag.IntVar(&o.Dispatchers, "dispatchers", 2, "dispatchers to run")
	flag.IntVar(&o.RepeatEvery, "repeat-every", 4, "repeat every n-th SAPI line as a duplicate (0: none)")
	flag.StringVar(&o.QueryListen, "query-listen", "127.0.0.1:7071", "QueryService address")
	flag.DurationVar(&o.Wait, "wait", 30*time.Second, "how long to wait for every event to reach Regal")
	exit := flag.Bool("exit", false, "exit after the report instead of running until Ctrl-C")
	verbose := flag.Bool("v", false, "print the services' logs")
	flag.StringVar(&o.JaegerBin, "jaeger", process.EnvOr("CCB_JAEGER_BIN", ".tmp/bin/jaeger"), "Jaeger binary to start for traces (\"\": none)")
	flag.Parse()
	o.RepoRoot, _ = os.Getwd()
	o.Logger = slog.New(slog.DiscardHandler)
	if *verbose {
		o.Logger = logging.New(os.Stderr, "info", "demo")
	}
	if err := run(o, *exit); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(o demo.Options, exit bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := os.Stdout
	d, err := demo.Start(ctx, o, out)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = d.Close(sctx)
	}()
	s := d.Stack
	fmt.Fprintln(out, "ccbridge demo")
	fmt.Fprintln(out, "  Redis         ", d.RedisD)
	fmt.Fprintln(out, "  SAPI double   ", s.SAPI.URL(), "(tenant", s.Config.Tenants[0].Name+")")
	fmt.Fprintln(out, "  Regal double  ", s.Regal.URL()+"/events")
	fmt.Fprintln(out, "  collector     ", s.Collector.Addr(), "(gRPC DeliveryService)")
	for _, disp := range s.Dispatchers {
		fmt.Fprintln(out, "  dispatcher    ", disp.ID())
	}
	r, err := d.Play(ctx, o)
	r.Print(out)
	if err != nil {
		return err
	}
	if !r.Match() {
		return fmt.Errorf("counts do not match")
	}
	if d.Jaeger != nil && r.SampleInteraction != "" {
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		ui, api, spans, err := d.TraceLinks(tctx, r.SampleInteraction)
		cancel()
		fmt.Fprintf(out, "\nTrace of interaction %s (%d spans in one trace):\n", r.SampleInteraction, spans)
		fmt.Fprintln(out, "  Jaeger search:", ui)
		fmt.Fprintln(out, "  Jaeger API:   ", api)
		if err != nil {
			fmt.Fprintln(out, "  (the trace was not found:", err, ")")
		}
	}
	if r.SampleInteraction != "" {
		tenant := s.Config.Tenants[0].Name
		fmt.Fprintf(out, "\nQuery it (QueryService on %s):\n", s.Collector.QueryAddr())
		fmt.Fprintf(out, "  export CCB_ADDR=%s CCB_TOKEN=%s\n", s.Collector.QueryAddr(), stack.QueryToken.Reveal())
		fmt.Fprintf(out, "  go run ./cmd/ccb interaction get %s\n", r.SampleInteraction)
		fmt.Fprintf(out, "  grpcurl -plaintext -H \"authorization: Bearer $CCB_TOKEN\" -d '{\"name\":\"tenants/%s/interactions/%s\"}' $CCB_ADDR ccbridge.query.v1.QueryService/GetInteraction\n", tenant, r.SampleInteraction)
	}
	if exit {
		return nil
	}
	fmt.Fprintln(out, "\nRunning; press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
