package regal_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

// testKey is distinctive so that a leak into any text is easy to find.
const testKey = secret.Secret("rk_test_Zq81-LEAKCANARY-7c4f")

// startDouble runs a Regal double accepting testKey until the test ends.
func startDouble(t *testing.T) *regaldouble.Server {
	t.Helper()
	srv := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{testKey}}, nil)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown double: %v", err)
		}
	})
	return srv
}

// fastConfig is a client configuration whose backoffs keep tests short.
// Its attempt timeout is long, so that a slow machine causes no retry (and
// so no duplicate event) that a test did not ask for.
func fastConfig(baseURL string) regal.Config {
	return regal.Config{
		BaseURL:        baseURL,
		Timeout:        10 * time.Second,
		MaxAttempts:    3,
		BackoffInitial: time.Millisecond,
		BackoffMax:     5 * time.Millisecond,
		MaxRetryAfter:  100 * time.Millisecond,
	}
}

// newClient returns a client with the default transport, closing its idle
// connections when the test ends.
func newClient(t *testing.T, cfg regal.Config) *regal.Client {
	t.Helper()
	c := regal.NewClient(cfg, nil)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// newHTTPClient returns a plain client closed when the test ends.
func newHTTPClient(t *testing.T) *http.Client {
	t.Helper()
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// sampleEvent is a typical translated 8x8 event.
func sampleEvent() *regal.Event {
	return &regal.Event{
		Traits: &regal.Traits{Phones: map[string]regal.PhoneTrait{"+15515557212": {}}},
		Name:   "Interaction Queued",
		Properties: map[string]any{
			"interaction_id": "int-1918f43ff2b-3AGMeob4DFLnS6Ubya5YMycm3-phone-01-regalvoice2demo01",
			"campaign_id":    int64(61),
			"queue_time":     int64(1724685483),
		},
		EventSource:       "8x8",
		OriginalTimestamp: "2024-08-26 15:18:03 +00:00",
	}
}
