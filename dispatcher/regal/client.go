package regal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/ccbridge/bridge/internal/secret"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 64 << 10

// acknowledgement is Regal's documented success body.
const acknowledgement = "ok"

// Client posts events to Regal's events API, retrying transient failures.
// It is safe for concurrent use.
type Client struct {
	cfg        Config
	eventsURL  string
	httpClient *http.Client
	closeIdle  func()
	obs        *observer
}

// Result describes one Send.
type Result struct {
	// Attempts is the number of requests made (0 when the event was
	// rejected before any request).
	Attempts int
	// Status is the HTTP status of the last response received, 0 if none.
	Status int
	// Acknowledged is true when a successful response carried Regal's
	// documented body {"message":"ok"}. A 2xx without it still counts as
	// delivered; callers may count such answers.
	Acknowledged bool
	// FirstAttemptAt is when the first request started (after any wait
	// for the rate limit); zero when none was made.
	FirstAttemptAt time.Time
	// Err is nil when Regal accepted the event. When the caller's context
	// ended the Send, Err wraps ctx.Err() (errors.Is matches
	// context.Canceled or context.DeadlineExceeded); attempt timeouts never
	// match those. Classify tells what it means
	// for the event and its tenant.
	Err error
}

// NewClient returns a Client for cfg, whose zero fields take their
// defaults; cfg should have passed Validate. A nil httpClient selects a
// keep-alive client tuned for one host, instrumented so that each attempt
// is an OpenTelemetry CLIENT span, and that does not follow redirects (the
// API key must not travel to another URL).
func NewClient(cfg Config, httpClient *http.Client) *Client {
	cfg = cfg.WithDefaults()
	c := &Client{cfg: cfg, eventsURL: cfg.eventsURL(), httpClient: httpClient, obs: newObserver(cfg)}
	if httpClient == nil {
		base := newTransport()
		opts := []otelhttp.Option{otelhttp.WithSpanNameFormatter(
			func(_ string, r *http.Request) string { return r.Method + " /events" },
		)}
		if cfg.TracerProvider != nil {
			opts = append(opts, otelhttp.WithTracerProvider(cfg.TracerProvider))
		}
		if cfg.MeterProvider != nil {
			opts = append(opts, otelhttp.WithMeterProvider(cfg.MeterProvider))
		}
		c.httpClient = &http.Client{
			Transport:     otelhttp.NewTransport(inMemoryBodyTransport{base}, opts...),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		c.closeIdle = base.CloseIdleConnections
	} else {
		c.closeIdle = httpClient.CloseIdleConnections
	}
	return c
}

// newTransport is a keep-alive transport sized for Regal's 300 requests/s
// on a single host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 128
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 5 * time.Second
	return t
}

// CloseIdleConnections closes the kept-alive connections that are idle.
// Call it when the Client is no longer used.
func (c *Client) CloseIdleConnections() { c.closeIdle() }

// Send posts ev to {BaseURL}/events with apiKey as the raw Authorization
// header. The body is encoded once and reused by every attempt. Network
// errors, attempt timeouts, 408, 429 and 5xx are retried with exponential
// backoff and full jitter, or after the response's Retry-After (capped at
// MaxRetryAfter), up to MaxAttempts attempts; other answers end the Send
// at once. ctx bounds the whole Send, waits included. The key never
// appears in the returned error.
func (c *Client) Send(ctx context.Context, apiKey secret.Secret, ev *Event) Result {
	key := apiKey.Reveal()
	if err := checkKey(key); err != nil {
		return Result{Err: err}
	}
	if ev == nil {
		return Result{Err: &permanentError{errors.New("regal: event is nil")}}
	}
	body, err := encodeEvent(ev)
	if err != nil {
		return Result{Err: &permanentError{fmt.Errorf("regal: encode event: %w", err)}}
	}

	var res Result
	for {
		if c.cfg.Limiter != nil {
			if err := c.cfg.Limiter.Wait(ctx); err != nil {
				res.Err = stopped(ctx, res.Attempts)
				return res
			}
		}
		res.Attempts++
		if res.Attempts == 1 {
			res.FirstAttemptAt = time.Now()
		}
		out := c.observedAttempt(ctx, res.Attempts, key, body)
		c.reportRefusal(ctx, out.status)
		if out.status != 0 {
			res.Status = out.status
		}
		if out.err == nil {
			res.Acknowledged = out.acknowledged
			return res
		}
		if ctx.Err() != nil {
			res.Err = stopped(ctx, res.Attempts)
			return res
		}
		if !transient(out.err) {
			res.Err = out.err
			return res
		}
		if res.Attempts >= c.cfg.MaxAttempts {
			res.Err = &budgetSpentError{attempts: res.Attempts, last: out.err}
			return res
		}
		wait := c.wait(res.Attempts, out)
		c.obs.retry(ctx, wait, out)
		if err := sleep(ctx, wait); err != nil {
			res.Err = stopped(ctx, res.Attempts)
			return res
		}
	}
}

// checkKey rejects keys that cannot be sent: empty, or holding characters
// a header value cannot carry. The error never quotes the key.
func checkKey(key string) error {
	if key == "" {
		return &configError{errors.New("regal: API key is empty"), PauseKeyUnusable}
	}
	if strings.ContainsAny(key, "\r\n\x00") || strings.TrimSpace(key) != key {
		return &configError{errors.New("regal: API key has whitespace or control characters"), PauseKeyUnusable}
	}
	return nil
}

// stopped is the error of a Send that ctx ended.
func stopped(ctx context.Context, attempts int) error {
	return fmt.Errorf("regal: send stopped after %d attempt(s): %w", attempts, ctx.Err())
}

// wait is the pause before the attempt after failed attempt number attempt.
func (c *Client) wait(attempt int, out attemptOutcome) time.Duration {
	if out.hasRetryAfter {
		return min(out.retryAfter, c.cfg.MaxRetryAfter)
	}
	return backoff(attempt, c.cfg.BackoffInitial, c.cfg.BackoffMax)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attemptOutcome is what one request produced.
type attemptOutcome struct {
	status        int
	acknowledged  bool
	retryAfter    time.Duration
	hasRetryAfter bool
	err           error
}

// attempt makes one request, bounded by the configured Timeout.
func (c *Client) attempt(parent context.Context, key string, body []byte) attemptOutcome {
	ctx, cancel := context.WithTimeout(parent, c.cfg.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.eventsURL, bytes.NewReader(body))
	if err != nil {
		return attemptOutcome{err: &configError{fmt.Errorf("regal: build request: %w", err), PauseEndpoint}}
	}
	req.Header = c.header(key)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			// Reported apart from the caller's own deadline, which alone
			// matches context.DeadlineExceeded.
			return attemptOutcome{err: fmt.Errorf("regal: POST /events: attempt timed out after %s", c.cfg.Timeout)}
		}
		return attemptOutcome{err: fmt.Errorf("regal: POST /events: %w", err)}
	}
	defer resp.Body.Close()
	buf := responseBuffers.Get().(*bytes.Buffer)
	defer putResponseBuffer(buf)
	buf.Reset()
	_, readErr := buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes))
	data := buf.Bytes() // valid until the buffer goes back to the pool

	out := attemptOutcome{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Regal has accepted the event; a body that cannot be read or
		// differs from the documented one does not undo that.
		out.acknowledged = readErr == nil && isAcknowledgement(data)
		return out
	}
	out.err = newStatusError(resp.StatusCode, data, key)
	if retryableStatus(resp.StatusCode) {
		out.retryAfter, out.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return out
}

// header is the request header of one attempt. It is built whole rather
// than with Header.Set: the keys are already canonical, and one array holds
// every value.
func (c *Client) header(key string) http.Header {
	if c.cfg.UserAgent == "" {
		v := [...]string{key, "application/json", "application/json"}
		return http.Header{"Authorization": v[0:1:1], "Content-Type": v[1:2:2], "Accept": v[2:3:3]}
	}
	v := [...]string{key, "application/json", "application/json", c.cfg.UserAgent}
	return http.Header{"Authorization": v[0:1:1], "Content-Type": v[1:2:2], "Accept": v[2:3:3], "User-Agent": v[3:4:4]}
}

// responseBuffers hold response bodies while an attempt reads them.
var responseBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putResponseBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxResponseBytes {
		responseBuffers.Put(b)
	}
}

// ackBody is Regal's documented success body as Regal writes it.
var ackBody = []byte(`{"message":"ok"}`)

// isAcknowledgement reports whether body is {"message":"ok"}.
func isAcknowledgement(body []byte) bool {
	// Regal's usual answer, recognized without decoding.
	if bytes.Equal(bytes.TrimSpace(body), ackBody) {
		return true
	}
	var ack struct {
		Message string `json:"message"`
	}
	return json.Unmarshal(body, &ack) == nil && ack.Message == acknowledgement
}
