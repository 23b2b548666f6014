package sapidouble

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbridge/bridge/collector/sapi"
)

const (
	tenant    = "acmecorp01"
	username  = "acmecorp01"
	testToken = "0123456789abcdef0123456789abcdef"
)

// startDouble runs a double with one tenant, test timings and no heartbeat.
func startDouble(t *testing.T, tweak func(*Config)) *Server {
	t.Helper()
	cfg := Config{Tenants: map[string]Credentials{tenant: {Username: username, Token: testToken}}}
	if tweak != nil {
		tweak(&cfg)
	}
	s := New(cfg, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

// subscriber is a test client reading one stream with the collector's
// framer.
type subscriber struct {
	resp   *http.Response
	frames chan string
	done   chan error // the stream's end: nil for a clean end
	cancel context.CancelFunc
	// read counts the bytes read from the stream, idle padding included
	// (the framer drops it).
	read atomic.Int64
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// streamPath returns the subscribe path and query for a subsId.
func streamPath(subsID, format string) string {
	return "/api/streaming/v1/clientconnect/subscribe/TenantUpdates-" + tenant + "-" + subsID +
		"?desiredOutputType=" + format + "&tenantId=" + tenant + "&subsId=" + subsID + "&X-Atmosphere-Transport=streaming"
}

// get performs a request with a client of its own, closed with the test.
func get(t *testing.T, ctx context.Context, url string, auth bool) *http.Response {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(username, testToken)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp
}

// subscribe opens a stream and frames it in the background.
func subscribe(t *testing.T, s *Server, subsID, format string, query ...string) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := s.URL() + streamPath(subsID, format) + strings.Join(query, "")
	resp := get(t, ctx, url, true)
	if resp.StatusCode != http.StatusOK {
		cancel()
		_ = resp.Body.Close()
		t.Fatalf("subscribe %s: HTTP %d", subsID, resp.StatusCode)
	}
	sub := &subscriber{resp: resp, frames: make(chan string, 10000), done: make(chan error, 1), cancel: cancel}
	parsed, _ := sapi.ParseFormat(format)
	go func() {
		framer := sapi.NewFramer(countingReader{resp.Body, &sub.read}, parsed, 0)
		for {
			b, err := framer.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				sub.done <- err
				close(sub.frames)
				return
			}
			sub.frames <- string(b)
		}
	}()
	t.Cleanup(sub.close)
	return sub
}

func (s *subscriber) close() {
	s.cancel()
	_ = s.resp.Body.Close()
	for range s.frames {
	}
}

// next returns the next frame, skipping heartbeats unless asked for.
func (s *subscriber) next(t *testing.T) string {
	t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			t.Fatal("stream ended while waiting for a frame")
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a frame")
	}
	return ""
}

// nextEvent returns the next frame that is not a ClientCheck.
func (s *subscriber) nextEvent(t *testing.T) string {
	t.Helper()
	for {
		if f := s.next(t); !strings.Contains(f, "ClientCheck") {
			return f
		}
	}
}

// waitEnd waits for the stream to end and returns how.
func (s *subscriber) waitEnd(t *testing.T) error {
	t.Helper()
	for {
		select {
		case _, ok := <-s.frames:
			if !ok {
				return <-s.done
			}
		case <-time.After(5 * time.Second):
			t.Fatal("stream did not end")
		}
	}
}

func waitSubscribed(t *testing.T, s *Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitSubscribed(ctx, tenant, n); err != nil {
		t.Fatal(err)
	}
}

// decode decodes a frame with the collector's decoder.
func decode(t *testing.T, frame string) (key, instance string, seq int64) {
	t.Helper()
	ev, err := sapi.Decode([]byte(frame), tenant, "s", time.Now())
	if err != nil {
		t.Fatalf("Decode(%s): %v", frame, err)
	}
	return ev.DedupKey, ev.Source.GetInstanceId(), ev.Source.GetSequenceId()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func basicToken() string { return "Basic " + b64(username+":"+testToken) }
