package regaldouble

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/ccbridge/bridge/dispatcher/regal"
)

// maxBodyBytes bounds a request body; larger bodies get 413.
const maxBodyBytes = 1 << 20

// routes serves POST /events; the mux answers 405 for other methods on
// /events and 404 for other paths.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", s.handleEvents)
	return mux
}

// handleEvents answers like Regal: scripted faults first, then 401 for a
// missing or wrong key, 413 for an oversized body, 400 for a body that
// breaks the OpenAPI, and 200 {"message":"ok"} after recording the event.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	fault, hasFault := s.nextFault()
	s.mu.Unlock()
	if hasFault && applyFault(w, r, fault) {
		return
	}

	keyIndex, ok := s.authorize(r.Header.Values("Authorization"))
	if !ok {
		s.logger.Debug("regal double rejected request", "status", http.StatusUnauthorized)
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeMessage(w, http.StatusRequestEntityTooLarge, "Payload Too Large")
			return
		}
		writeMessage(w, http.StatusBadRequest, "Bad Request: body could not be read")
		return
	}
	ev, err := decodeEvent(body)
	if err != nil {
		s.logger.Debug("regal double rejected request", "status", http.StatusBadRequest, "reason", err.Error())
		writeMessage(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}

	header := r.Header.Clone()
	header.Del("Authorization")
	s.record(Received{At: time.Now(), APIKeyIndex: keyIndex, Header: header, Body: body, Event: ev})
	s.logAccepted(keyIndex, ev)
	writeMessage(w, http.StatusOK, "ok")
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
func (s *Server) logAccepted(keyIndex int, ev regal.Event) {
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

// writeMessage answers with Regal's {"message": ...} JSON body.
func writeMessage(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
