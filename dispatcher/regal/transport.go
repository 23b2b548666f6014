package regal

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// maxInMemoryBody bounds the request bodies inMemoryBodyTransport reads
// ahead; Regal events are a few hundred bytes to a few KB.
const maxInMemoryBody = 64 << 10

// inMemoryBodyTransport sits between otelhttp's transport and net/http's.
// otelhttp wraps the request body to count its bytes, and net/http sends
// the headers of a body it does not know to be in memory in a write of
// their own: two syscalls per event instead of one. It reads the wrapped
// body (so otelhttp still counts every byte and sees it closed) and hands
// net/http the same bytes as a *bytes.Reader.
type inMemoryBodyTransport struct{ base http.RoundTripper }

func (t inMemoryBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength <= 0 || r.ContentLength > maxInMemoryBody {
		return t.base.RoundTrip(r)
	}
	body := make([]byte, r.ContentLength)
	_, err := io.ReadFull(r.Body, body)
	if closeErr := r.Body.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	out := r.WithContext(r.Context()) // a shallow copy: RoundTrip must not modify r
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(out)
}
