package sapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// openStream is a connected stream: its bytes and the status that opened
// it (200 for HTTP streaming, 101 for a WebSocket upgrade).
type openStream struct {
	body   io.ReadCloser
	status int
}

// openHTTP sends the HTTP streaming subscribe request. It returns the
// response body on 200; otherwise a nil stream and how the attempt ended.
// It records the status in the counters.
func (c *Client) openHTTP(ctx context.Context) (*openStream, streamResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.streamURL, nil)
	if err != nil {
		return nil, streamResult{err: err}
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Token.Reveal())
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, streamResult{err: err}
	}
	c.lastHTTPStatus.Store(int32(resp.StatusCode))
	if resp.StatusCode == http.StatusOK {
		return &openStream{body: resp.Body, status: resp.StatusCode}, streamResult{}
	}
	defer func() { _ = resp.Body.Close() }()
	return nil, c.refused(resp)
}

// refused says how a subscribe request answered with a status other than
// success ended: unauthorized for 401/403, an error otherwise.
func (c *Client) refused(resp *http.Response) streamResult {
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return streamResult{status: resp.StatusCode, unauthorized: true}
	}
	return streamResult{status: resp.StatusCode, err: fmt.Errorf("unexpected HTTP status %q: %s",
		resp.Status, c.bodySnippet(resp.Body))}
}

// userAgent identifies the collector to 8x8.
const userAgent = "ccbridge-collector"
