package regaldouble

import (
	"context"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ccbridge/bridge/doubles/internal/httpbody"
)

// maxBodyBytes bounds a request body; larger bodies get 413.
const maxBodyBytes = 1 << 20

// rateLimitedBody is the answer of Regal's gateway above its rate limit.
const rateLimitedBody = `{"statusCode":429,"message":"Too many requests","error":"Rate Limit Exceeded"}`

// routes serves POST /events, and the control endpoint when configured;
// the mux answers 405 for other methods on these paths and 404 for other
// paths.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", s.handleEvents)
	if s.cfg.Control {
		s.controlRoutes(mux)
	}
	return mux
}

// handleEvents answers like Regal, in this order:
//
//  1. Latency holds every answer back.
//  2. A scripted fault (SetFaults) is played, before authentication.
//  3. During an outage the answer is 503, before authentication, as from
//     a load balancer with no healthy backend.
//  4. A missing, wrong or revoked key gets 401.
//  5. Above the key's rate limit the answer is 429; a rejected request
//     does not use up the limit.
//  6. An oversized body gets 413, a body breaking the OpenAPI gets 400,
//     and so does a body a rejection picks (with the rejection's message).
//  7. A request naming a slow phone is held back by its delay.
//  8. ErrorRate picks requests to answer with its 5xx status.
//  9. The event is recorded and the answer is 200 {"message":"ok"}.
//
// When the client goes away or the server shuts down while an answer is
// held back, the connection is dropped without an answer.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	latency := s.cond.latency
	fault, hasFault := s.nextFault()
	s.mu.Unlock()

	s.holdBack(r.Context(), latency)
	if hasFault && s.playFault(w, r, fault) {
		return
	}

	s.mu.Lock()
	outage := s.cond.inOutage(time.Now())
	s.mu.Unlock()
	if outage {
		s.answer(w, http.StatusServiceUnavailable, ReasonOutage, http.StatusText(http.StatusServiceUnavailable))
		return
	}

	keyIndex, ok := s.authorize(r.Header.Values("Authorization"))
	if ok {
		s.mu.Lock()
		ok = !s.cond.isRevoked(keyIndex)
		s.mu.Unlock()
	}
	if !ok {
		s.logger.Debug("regal double rejected request", "status", http.StatusUnauthorized)
		s.answer(w, http.StatusUnauthorized, ReasonUnauthorized, "Unauthorized")
		return
	}
	if !s.admitRate(w, keyIndex) {
		return
	}

	// The header to record and the body are read into one buffer, kept
	// as is when the event is accepted.
	data := appendHeader(make([]byte, 0, headerSize(r.Header)+httpbody.Room(r.ContentLength, maxBodyBytes)), r.Header)
	bodyAt := len(data)
	data, err := httpbody.AppendAll(data, http.MaxBytesReader(w, r.Body, maxBodyBytes))
	body := data[bodyAt:]
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.answer(w, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, "Payload Too Large")
			return
		}
		s.answer(w, http.StatusBadRequest, ReasonBadRequest, "Bad Request: body could not be read")
		return
	}
	ev, err := decodeEvent(body)
	if err != nil {
		s.logger.Debug("regal double rejected request", "status", http.StatusBadRequest, "reason", err.Error())
		s.answer(w, http.StatusBadRequest, ReasonBadRequest, "Bad Request: "+err.Error())
		return
	}

	s.mu.Lock()
	slow := s.cond.slowDelay(ev)
	refusal, refused := s.cond.rejection(ev)
	s.mu.Unlock()
	if refused {
		s.answer(w, http.StatusBadRequest, ReasonRejected, refusal)
		return
	}
	s.holdBack(r.Context(), slow)

	s.mu.Lock()
	failed, status := s.cond.errorRate > 0 && s.rng.Float64() < s.cond.errorRate, s.cond.status()
	s.mu.Unlock()
	if failed {
		s.answer(w, status, ReasonErrorRate, http.StatusText(status))
		return
	}

	s.record(record{at: time.Now(), keyIndex: keyIndex, data: data, bodyAt: bodyAt})
	s.logAccepted(keyIndex, ev)
	writeMessage(w, http.StatusOK, "ok")
}

// headerSize is at least what appendHeader writes for h.
func headerSize(h http.Header) int {
	n := binary.MaxVarintLen64
	for k, vv := range h {
		n += len(k) + 2*binary.MaxVarintLen64
		for _, v := range vv {
			n += len(v) + binary.MaxVarintLen64
		}
	}
	return n
}

// admitRate applies the key's rate limit, answering 429 when it is
// exceeded, and reports whether the request may go on.
func (s *Server) admitRate(w http.ResponseWriter, keyIndex int) bool {
	s.mu.Lock()
	allowed, retryAfter := s.allow(keyIndex, time.Now()), s.cond.retryAfter
	if !allowed {
		s.stats.count(http.StatusTooManyRequests, ReasonRateLimited)
	}
	s.mu.Unlock()
	if allowed {
		return true
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = io.WriteString(w, rateLimitedBody)
	return false
}

// holdBack waits d. When ctx ends first (the client left, or the server is
// shutting down) it counts the request as unanswered and drops the
// connection by panicking with http.ErrAbortHandler, which net/http
// recovers from silently.
func (s *Server) holdBack(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		s.mu.Lock()
		s.stats.count(0, ReasonUnanswered)
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
}

// answer sends Regal's {"message": ...} body with status and counts it
// under reason.
func (s *Server) answer(w http.ResponseWriter, status int, reason, message string) {
	s.mu.Lock()
	s.stats.count(status, reason)
	s.mu.Unlock()
	writeMessage(w, status, message)
}

// authorize finds the configured key equal to the request's only
// Authorization header value, comparing in constant time.
func (s *Server) authorize(values []string) (int, bool) {
	if len(values) != 1 {
		return 0, false
	}
	for i, key := range s.cfg.APIKeys {
		if subtle.ConstantTimeCompare([]byte(values[0]), []byte(key.Reveal())) == 1 {
			return i, true
		}
	}
	return 0, false
}

// logAccepted writes the one-line summary of an accepted event, with phone
// numbers masked and no property values.
func (s *Server) logAccepted(keyIndex int, ev Event) {
	// Masking the phones costs more than the logger's own check.
	if !s.logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	var phones string
	if ev.Traits != nil {
		phones = maskedPhones(ev.Traits.Phones)
	}
	s.logger.Info("regal double accepted event",
		slog.String("name", ev.Name),
		slog.String("event_source", ev.EventSource),
		slog.String("phones", phones),
		slog.Int("properties", len(ev.Properties)),
		slog.Int("api_key_index", keyIndex),
	)
}

// okBody is writeMessage's body for "ok", made once: it answers every
// accepted event.
var okBody = []byte(`{"message":"ok"}`)

// writeMessage answers with Regal's {"message": ...} JSON body.
func writeMessage(w http.ResponseWriter, status int, message string) {
	body := okBody
	if message != "ok" {
		body, _ = json.Marshal(Answer{Message: message})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
