package regal

import (
	"context"
	"net/http"
)

// throttler is a Limiter that adapts its rate to refusals (as
// ratelimit.Adaptive does).
type throttler interface {
	Throttled(ctx context.Context)
}

// reportRefusal tells the limiter, when it listens, that Regal refused an
// attempt for the account's rate (429), so that the rate shared by the
// dispatchers backs off. Retry-After still decides this attempt's retry.
func (c *Client) reportRefusal(ctx context.Context, status int) {
	if status != http.StatusTooManyRequests {
		return
	}
	if t, ok := c.cfg.Limiter.(throttler); ok {
		t.Throttled(ctx)
	}
}
