package ratelimit_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/ratelimit"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/redistest"
	"github.com/ccbridge/bridge/internal/secret"
)

// TestRedis_three_dispatchers_stay_under_regals_limit offers about 1,000
// requests/s for 3 s through three limiters sharing one key (three
// dispatchers) to a Regal double limiting the account to 300/s with the
// same burst, and counts the 429s at the double.
func TestRedis_three_dispatchers_stay_under_regals_limit(t *testing.T) {
	t.Parallel()
	const (
		rate, processes = 300.0, 3
		offeredPerSec   = 1000
		duration        = 3 * time.Second
		apiKey          = secret.Secret("rk_test_account")
	)
	burst := regaldouble.DefaultBurst(rate)
	double := startRegalDouble(t, regaldouble.Config{APIKeys: []secret.Secret{apiKey}, RateLimit: rate, RateBurst: burst})
	redisServer := redistest.Start(t, redistest.Options{})
	trips := &roundTrips{}
	limiters := make([]ratelimit.Limiter, processes)
	for i := range limiters {
		client := newClient(t, redisServer.Addr)
		client.AddHook(trips)
		limiters[i] = ratelimit.NewRedis(client, ratelimit.Key("ccb", "acme"), rate, burst,
			ratelimit.WithProcesses(processes), ratelimit.WithLogger(quiet))
	}
	httpClient := newHTTPClient(t)

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var offered int
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	ticker := time.NewTicker(time.Second / offeredPerSec)
	defer ticker.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-ticker.C:
			limiter := limiters[offered%processes]
			offered++
			wg.Go(func() {
				if limiter.Wait(ctx) != nil {
					return
				}
				sent.Add(1)
				if err := postEvent(httpClient, double.URL(), apiKey); err != nil {
					failed.Add(1)
				}
			})
		}
	}
	wg.Wait()

	st := double.Stats()
	fraction := float64(st.TooManyRequests) / float64(max(1, st.Requests))
	t.Logf("offered %d, sent %d, accepted %d, 429 %d (%.2f%%) in %s; %.3f Redis round trips per sent request",
		offered, sent.Load(), st.Accepted, st.TooManyRequests, 100*fraction, duration,
		float64(trips.n.Load())/float64(max(1, sent.Load())))
	// Without Redis each limiter would fall back to its own share of the
	// rate and the bounds below would hold all the same: the round trips
	// show the limit was taken from Redis (slots reserved in batches).
	if trips.n.Load() == 0 {
		t.Error("no Redis round trip: the limiters did not share the limit through Redis")
	}
	if failed.Load() > 0 {
		t.Errorf("%d requests failed without an answer", failed.Load())
	}
	// Three limiters that did not share the limit would offer three times
	// Regal's rate and see most requests refused; the bounds leave room
	// for the scheduling jitter of a loaded host.
	if fraction >= 0.05 {
		t.Errorf("%.2f%% of requests got 429, want under 5%%", 100*fraction)
	}
	if floor := int(0.5 * rate * duration.Seconds()); st.Accepted < floor {
		t.Errorf("accepted %d, want at least %d: the limiters hold back well below the limit", st.Accepted, floor)
	}
}

// startRegalDouble runs a Regal double until the test ends.
func startRegalDouble(t *testing.T, cfg regaldouble.Config) *regaldouble.Server {
	t.Helper()
	srv := regaldouble.New(cfg, nil)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// newHTTPClient returns a client keeping enough idle connections for a
// few hundred requests per second, closed when the test ends.
func newHTTPClient(t *testing.T) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return client
}

// postEvent sends one valid event to the double.
func postEvent(client *http.Client, baseURL string, key secret.Secret) error {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/events",
		strings.NewReader(`{"traits":{"phones":{"+15515557212":{}}},"name":"Interaction Queued"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", key.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
