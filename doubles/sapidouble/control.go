package sapidouble

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ccbridge/bridge/doubles/internal/httpbody"
)

// ControlPrefix is the path prefix of the control API served with
// Config.Control. 8x8's routes all start with /api/, so it cannot collide
// with them. The routes are:
//
//	POST /_double/publish?tenant=T       body: events, one raw JSON object per line, published in order
//	     [&first=RFC3339Nano&interval=D]  PublishPaced: line i written at first + i×D, not before
//	POST /_double/cut?tenant=T           Cut
//	POST /_double/failover?tenant=T      Failover
//	POST /_double/replay-last?n=N        ReplayLast
//	POST /_double/reset?tenant=T         Reset (abort streams with a TCP RST)
//	POST /_double/stall?tenant=T[&for=D] Stall for a Go duration D, or until unstall
//	POST /_double/unstall?tenant=T       Unstall
//	POST /_double/heartbeat?tenant=T     SendHeartbeat (a ClientCheck now)
//	POST /_double/rotate-token?tenant=T  body: the new token (empty: accept none); RotateToken
//	POST /_double/restore-token?tenant=T RestoreToken
//	POST /_double/idle-heartbeat?mode=M  SetIdleHeartbeat, M one of off, x, space
//	POST /_double/ordering?reorder=P&drop=Q  SetOrderingFaults (probabilities 0-1, missing = 0)
//	GET  /_double/stats                  Stats as JSON
//
// publish answers {"published": n}; the others answer 204. A missing or
// unknown tenant is 400 or 404, a body that is not a list of events is 400
// and nothing of it is published.
const ControlPrefix = "/_double/"

// maxPublishBytes bounds one publish request's body.
const maxPublishBytes = 256 << 20

// controlRoutes adds the control API to mux.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+ControlPrefix+"publish", s.handlePublish)
	mux.HandleFunc("POST "+ControlPrefix+"cut", s.tenantControl(s.Cut))
	mux.HandleFunc("POST "+ControlPrefix+"failover", s.tenantControl(s.Failover))
	mux.HandleFunc("POST "+ControlPrefix+"replay-last", s.handleReplayLast)
	s.faultRoutes(mux)
	mux.HandleFunc("GET "+ControlPrefix+"stats", func(w http.ResponseWriter, _ *http.Request) {
		writeControlJSON(w, s.Stats())
	})
}

// handlePublish publishes the body's lines, in order, as one Publish call.
func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) {
	tenant, ok := s.controlTenant(w, r)
	if !ok {
		return
	}
	buf := publishBuffers.Get().(*[]byte)
	defer putPublishBuffer(buf)
	room := httpbody.Room(r.ContentLength, maxPooledPublishBytes)
	body, err := httpbody.AppendAll(slices.Grow((*buf)[:0], room), http.MaxBytesReader(w, r.Body, maxPublishBytes))
	*buf = body
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", maxPublishBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Publish keeps copies of the events, never the body, so the body's
	// buffer is reused by later requests.
	first, interval, err := pacing(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	events := eventLines(body)
	if first.IsZero() {
		err = s.Publish(tenant, events...)
	} else {
		err = s.PublishPaced(tenant, first, interval, events...)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// What json.Marshal writes for struct{Published int `json:"published"`}.
	answer := strconv.AppendInt(append(make([]byte, 0, 32), `{"published":`...), int64(len(events)), 10)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(answer, '}'))
}

// pacing reads a paced publish's ?first= (RFC 3339 with nanoseconds) and
// ?interval= (a Go duration); neither means publish at once.
func pacing(q url.Values) (first time.Time, interval time.Duration, err error) {
	f, i := q.Get("first"), q.Get("interval")
	if f == "" && i == "" {
		return time.Time{}, 0, nil
	}
	if first, err = time.Parse(time.RFC3339Nano, f); err != nil {
		return time.Time{}, 0, fmt.Errorf("first must be an RFC 3339 time: %w", err)
	}
	if interval, err = time.ParseDuration(i); err != nil || interval < 0 {
		return time.Time{}, 0, fmt.Errorf("interval must be a duration of 0 or more, got %q", i)
	}
	return first, interval, nil
}

// publishBuffers hold publish bodies while they are published.
var publishBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPublishBytes bounds the buffers kept for reuse, so that one
// huge publish does not stay in memory; a larger body grows its buffer as
// it arrives.
const maxPooledPublishBytes = 4 << 20

func putPublishBuffer(buf *[]byte) {
	if cap(*buf) <= maxPooledPublishBytes {
		*buf = (*buf)[:0]
		publishBuffers.Put(buf)
	}
}

// eventLines splits a body into its non-blank lines.
func eventLines(body []byte) [][]byte {
	// Sized for the usual small publish; blank lines could make a count
	// of them huge.
	events := make([][]byte, 0, min(bytes.Count(body, []byte("\n"))+1, 64))
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			events = append(events, line)
		}
	}
	return events
}

// tenantControl serves a control that acts on the ?tenant= of the request.
func (s *Server) tenantControl(act func(tenant string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if tenant, ok := s.controlTenant(w, r); ok {
			act(tenant)
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// handleReplayLast sets ReplayLast from ?n=.
func (s *Server) handleReplayLast(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 {
		http.Error(w, "n must be a number of events, 0 or more", http.StatusBadRequest)
		return
	}
	s.ReplayLast(n)
	w.WriteHeader(http.StatusNoContent)
}

// controlTenant reads ?tenant= and checks it is configured, answering the
// request when it is not.
func (s *Server) controlTenant(w http.ResponseWriter, r *http.Request) (string, bool) {
	tenant := r.URL.Query().Get("tenant")
	if tenant == "" {
		http.Error(w, "the tenant query parameter is required", http.StatusBadRequest)
		return "", false
	}
	if _, ok := s.cfg.Tenants[tenant]; !ok {
		http.Error(w, fmt.Sprintf("unknown tenant %q", tenant), http.StatusNotFound)
		return "", false
	}
	return tenant, true
}

// writeControlJSON answers 200 with v as JSON.
func writeControlJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
