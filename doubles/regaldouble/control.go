package regaldouble

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Paths of the control endpoint, served only with Config.Control.
const (
	// ControlStatsPath answers GET with Stats as JSON.
	ControlStatsPath = "/_double/stats"
	// ControlReceivedPath answers GET with the accepted events as a JSON
	// array of {"at", "api_key_index", "body"}; keys are never included.
	ControlReceivedPath = "/_double/received"
	// ControlFaultsPath takes POST with a FaultsUpdate and answers with
	// the resulting FaultsState.
	ControlFaultsPath = "/_double/faults"
	// ControlResetPath takes POST and calls Reset; the answer is 204.
	ControlResetPath = "/_double/reset"
)

// FaultsUpdate is the body of POST /_double/faults. Each field sets the
// Config field or Set* method of the same name (outage: SetOutage,
// outage_for: OutageFor, applied after outage; revoked_keys: RevokeKeys);
// slow_phones, revoked_keys and rejections replace the whole set. Absent fields are left as they are; the update is checked
// whole and applied at once, or not at all (400). Durations are Go
// duration strings such as "20ms".
type FaultsUpdate struct {
	ErrorRate           *float64            `json:"error_rate,omitempty"`
	ErrorStatus         *int                `json:"error_status,omitempty"`
	Latency             *Duration           `json:"latency,omitempty"`
	Outage              *bool               `json:"outage,omitempty"`
	OutageFor           *Duration           `json:"outage_for,omitempty"`
	RateLimit           *float64            `json:"rate_limit,omitempty"`
	RateBurst           *int                `json:"rate_burst,omitempty"`
	RateLimitRetryAfter *string             `json:"rate_limit_retry_after,omitempty"`
	SlowPhones          map[string]Duration `json:"slow_phones,omitempty"`
	RevokedKeys         *[]int              `json:"revoked_keys,omitempty"`
	Rejections          *[]Rejection        `json:"rejections,omitempty"`
}

// FaultsState is the answer to POST /_double/faults: the standing
// conditions in effect, with defaults filled in.
type FaultsState struct {
	ErrorRate           float64             `json:"error_rate"`
	ErrorStatus         int                 `json:"error_status"`
	Latency             Duration            `json:"latency"`
	Outage              bool                `json:"outage"`
	RateLimit           float64             `json:"rate_limit"`
	RateBurst           int                 `json:"rate_burst"`
	RateLimitRetryAfter string              `json:"rate_limit_retry_after"`
	SlowPhones          map[string]Duration `json:"slow_phones"`
	RevokedKeys         []int               `json:"revoked_keys"`
	Rejections          []Rejection         `json:"rejections"`
}

// ReceivedEvent is one element of GET /_double/received.
type ReceivedEvent struct {
	At          time.Time       `json:"at"`
	APIKeyIndex int             `json:"api_key_index"`
	Body        json.RawMessage `json:"body"`
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// MarshalJSON writes d as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return fmt.Errorf("duration must be a string such as \"20ms\": %w", err)
	}
	parsed, err := time.ParseDuration(text)
	if err != nil {
		return err
	}
	*d = Duration(parsed)
	return nil
}

// controlRoutes adds the control endpoint to mux.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ControlStatsPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET "+ControlReceivedPath, s.handleReceived)
	mux.HandleFunc("POST "+ControlFaultsPath, s.handleFaults)
	mux.HandleFunc("POST "+ControlResetPath, func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleReceived lists the accepted events in arrival order. It reads the
// recorded bodies in place (they are never modified) and decodes no event.
func (s *Server) handleReceived(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	records := s.received.snapshot()
	s.mu.Unlock()
	out := make([]ReceivedEvent, len(records))
	for i, r := range records {
		out[i] = ReceivedEvent{At: r.at, APIKeyIndex: r.keyIndex, Body: r.body()}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleFaults applies a FaultsUpdate and answers with the FaultsState.
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	var u FaultsUpdate
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	if err := s.change(u.apply(time.Now())); err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.faultsState())
}

// apply returns the edit that makes u's changes, with an outage window
// counted from now. Outage is applied before OutageFor.
func (u FaultsUpdate) apply(now time.Time) func(*conditions) {
	return func(c *conditions) {
		setIf(&c.errorRate, u.ErrorRate)
		setIf(&c.errorStatus, u.ErrorStatus)
		setIf(&c.rateLimit, u.RateLimit)
		setIf(&c.rateBurst, u.RateBurst)
		setIf(&c.retryAfter, u.RateLimitRetryAfter)
		if u.Latency != nil {
			c.latency = time.Duration(*u.Latency)
		}
		if u.Outage != nil {
			c.outage, c.outageUntil = *u.Outage, time.Time{}
		}
		if u.OutageFor != nil {
			c.outageUntil = now.Add(time.Duration(*u.OutageFor))
		}
		if u.SlowPhones != nil {
			c.slowPhones = make(map[string]time.Duration, len(u.SlowPhones))
			for phone, d := range u.SlowPhones {
				c.slowPhones[phone] = time.Duration(d)
			}
		}
		if u.RevokedKeys != nil {
			c.revoked = append([]int(nil), *u.RevokedKeys...)
		}
		if u.Rejections != nil {
			c.rejections = append([]Rejection(nil), *u.Rejections...)
		}
	}
}

// setIf stores *v in dst when v is set.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// faultsState describes the standing conditions now in effect.
func (s *Server) faultsState() FaultsState {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cond
	slow := make(map[string]Duration, len(c.slowPhones))
	for phone, d := range c.slowPhones {
		slow[phone] = Duration(d)
	}
	return FaultsState{
		ErrorRate: c.errorRate, ErrorStatus: c.status(), Latency: Duration(c.latency),
		Outage:    c.inOutage(time.Now()),
		RateLimit: c.rateLimit, RateBurst: c.burst(), RateLimitRetryAfter: c.retryAfter,
		SlowPhones:  slow,
		RevokedKeys: append([]int{}, c.revoked...),
		Rejections:  append([]Rejection{}, c.rejections...),
	}
}

// writeJSON answers with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
