package ratelimit_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/internal/redistest"
)

// BenchmarkRedisLimiter measures the cost of Wait on a real redis-server
// when the rate does not pace (1,000,000/s), and reports the Redis round
// trips per Wait counted by a go-redis hook.
func BenchmarkRedisLimiter(b *testing.B) {
	benchmarks := []struct {
		name      string
		burst     int
		processes int
		// callersPerCPU, when set, runs Wait from that many goroutines per
		// GOMAXPROCS, spread over the processes.
		callersPerCPU int
		opts          []ratelimit.Option
	}{
		{name: "one_process_one_caller", burst: 30, processes: 1},
		{name: "three_processes_one_caller_per_cpu", burst: 30, processes: 3, callersPerCPU: 1},
		{name: "three_processes_16_callers_per_cpu", burst: 30, processes: 3, callersPerCPU: 16},
		{name: "three_processes_16_callers_per_cpu_no_prefetch", burst: 30, processes: 3, callersPerCPU: 16,
			opts: []ratelimit.Option{ratelimit.WithPrefetch(0)}},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			server := redistest.Start(b, redistest.Options{})
			trips := &roundTrips{}
			limiters := make([]ratelimit.Limiter, bm.processes)
			for i := range limiters {
				client := newClient(b, server.Addr)
				client.AddHook(trips)
				opts := append([]ratelimit.Option{ratelimit.WithProcesses(bm.processes), ratelimit.WithLogger(quiet)}, bm.opts...)
				limiters[i] = ratelimit.NewRedis(client, ratelimit.Key("bench", "acme"), 1e6, bm.burst, opts...)
				if err := limiters[i].Wait(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			trips.n.Store(0)
			b.ResetTimer()
			if bm.callersPerCPU > 0 {
				b.SetParallelism(bm.callersPerCPU)
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					limiter := limiters[int(next.Add(1))%len(limiters)]
					for pb.Next() {
						if err := limiter.Wait(context.Background()); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if err := limiters[0].Wait(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(trips.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
