package regal

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// writeCountingConn counts the writes (syscalls) made on a connection.
type writeCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c writeCountingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func TestInMemoryBodyTransport(t *testing.T) {
	tests := []struct {
		name       string
		body       []byte // nil: a GET without body
		wantWrites int64  // per request; 0: not checked
	}{
		{name: "an_event_body_goes_out_with_its_headers_in_one_write", body: bytes.Repeat([]byte("e"), 900), wantWrites: 1},
		{name: "a_body_above_the_bound_is_passed_through_untouched", body: bytes.Repeat([]byte("b"), maxInMemoryBody+1)},
		{name: "a_request_without_body_is_passed_through", body: nil, wantWrites: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var received atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				received.Store(b)
				_, _ = w.Write([]byte(`{"status":"success"}`))
			}))
			defer srv.Close()
			var writes atomic.Int64
			base := newTransport()
			base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				return writeCountingConn{Conn: c, writes: &writes}, err
			}
			defer base.CloseIdleConnections()
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			client := &http.Client{Transport: otelhttp.NewTransport(inMemoryBodyTransport{base}, otelhttp.WithMeterProvider(mp))}

			const requests = 5
			for range requests {
				method, body := http.MethodGet, io.Reader(nil)
				if tt.body != nil {
					method, body = http.MethodPost, bytes.NewReader(tt.body)
				}
				req, err := http.NewRequest(method, srv.URL+"/events", body)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if got, _ := received.Load().([]byte); !bytes.Equal(got, tt.body) && !(len(got) == 0 && tt.body == nil) {
					t.Fatalf("the server received %d bytes, want the %d sent", len(got), len(tt.body))
				}
			}
			if tt.wantWrites > 0 && writes.Load() != tt.wantWrites*requests {
				t.Fatalf("%d writes for %d requests, want %d per request", writes.Load(), requests, tt.wantWrites)
			}
			if tt.body != nil {
				if got, want := requestBodyBytes(t, reader), int64(len(tt.body)*requests); got != want {
					t.Fatalf("otelhttp counted %d request body bytes, want %d", got, want)
				}
			}
		})
	}
}

// requestBodyBytes is the sum of otelhttp's request body size histogram.
func requestBodyBytes(t *testing.T, reader *sdkmetric.ManualReader) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.Contains(m.Name, "request.body.size") {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[int64]:
				var sum int64
				for _, p := range d.DataPoints {
					sum += p.Sum
				}
				return sum
			case metricdata.Histogram[float64]:
				var sum float64
				for _, p := range d.DataPoints {
					sum += p.Sum
				}
				return int64(sum)
			}
		}
	}
	t.Fatal("otelhttp recorded no request body size")
	return 0
}
