package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Ceiling is what a bare keep-alive load generator gets from the same
// Regal double: no bridge, pre-built bodies, concurrency requests in
// flight.
type Ceiling struct {
	Concurrency    int     `json:"concurrency"`
	Seconds        float64 `json:"seconds"`
	Requests       int64   `json:"requests"`
	Accepted       int64   `json:"accepted"` // 200 answers
	Failed         int64   `json:"failed"`   // other answers and errors
	AcceptedPerSec float64 `json:"accepted_per_second"`
	DistinctBodies int     `json:"distinct_bodies"`
}

// runCeiling POSTs bodies round robin to url+"/events" with the key for
// duration, from concurrency workers on keep-alive connections.
func runCeiling(ctx context.Context, url, key string, bodies [][]byte, concurrency int, duration time.Duration) Ceiling {
	transport := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	var requests, accepted, failed, next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				body := bodies[int(next.Add(1)-1)%len(bodies)]
				ok, err := post(ctx, client, url+"/events", key, body)
				if ctx.Err() != nil && err != nil {
					return // cut by the end of the run, not counted
				}
				requests.Add(1)
				if ok {
					accepted.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	return Ceiling{
		Concurrency: concurrency, Seconds: elapsed, Requests: requests.Load(),
		Accepted: accepted.Load(), Failed: failed.Load(),
		AcceptedPerSec: float64(accepted.Load()) / elapsed, DistinctBodies: len(bodies),
	}
}

// post sends one Regal event and reports whether it was accepted.
func post(ctx context.Context, client *http.Client, url, key string, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}
