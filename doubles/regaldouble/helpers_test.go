package regaldouble_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ccbridge/bridge/doubles/regaldouble"
	"github.com/ccbridge/bridge/internal/secret"
)

const (
	firstKey  = secret.Secret("rk_live_first-Q7x2")
	secondKey = secret.Secret("rk_live_second-Vb91")
)

const validBody = `{"traits":{"phones":{"+15515557212":{}}},"name":"Interaction Queued",` +
	`"properties":{"campaign_id":61,"queue_name":"New Form - High Net Worth"},` +
	`"eventSource":"8x8","originalTimestamp":"2024-08-26 15:18:03 +00:00"}`

// startServer runs a double accepting firstKey and secondKey until the
// test ends.
func startServer(t *testing.T, logger *slog.Logger) *regaldouble.Server {
	t.Helper()
	srv := regaldouble.New(regaldouble.Config{APIKeys: []secret.Secret{firstKey, secondKey}}, logger)
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

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request with a fresh client and reads the answer.
func do(t *testing.T, method, url string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

// post sends body to /events with key as the raw Authorization header.
func post(t *testing.T, srv *regaldouble.Server, key secret.Secret, body string) response {
	t.Helper()
	return do(t, http.MethodPost, srv.URL()+"/events", http.Header{
		"Authorization": {key.Reveal()},
		"Content-Type":  {"application/json"},
	}, body)
}

// startConfigured runs a double with cfg, accepting firstKey and secondKey
// when cfg names no keys, until the test ends.
func startConfigured(t *testing.T, cfg regaldouble.Config) *regaldouble.Server {
	t.Helper()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []secret.Secret{firstKey, secondKey}
	}
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

// sharedClient returns a client whose connections are reused across
// requests and closed when the test ends.
func sharedClient(t *testing.T) *http.Client {
	t.Helper()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return client
}

// postStatus posts body to url/events with key through client and returns
// the status; it is safe to call from any goroutine.
func postStatus(client *http.Client, url string, key secret.Secret, body string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/events", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", key.Reveal())
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// bodyWithPhone is a valid event naming phone.
func bodyWithPhone(phone string) string {
	return `{"traits":{"phones":{"` + phone + `":{}}},"name":"Interaction Queued"}`
}
