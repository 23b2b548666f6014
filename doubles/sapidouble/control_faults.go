package sapidouble

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ccbridge/bridge/internal/secret"
)

// maxTokenBytes bounds a rotate-token body.
const maxTokenBytes = 4 << 10

// faultRoutes adds the fault controls to the control API (see
// ControlPrefix).
func (s *Server) faultRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+ControlPrefix+"reset", s.tenantControl(s.Reset))
	mux.HandleFunc("POST "+ControlPrefix+"heartbeat", s.tenantControl(s.SendHeartbeat))
	mux.HandleFunc("POST "+ControlPrefix+"unstall", s.tenantControl(s.Unstall))
	mux.HandleFunc("POST "+ControlPrefix+"restore-token", s.tenantControl(s.RestoreToken))
	mux.HandleFunc("POST "+ControlPrefix+"stall", s.handleStall)
	mux.HandleFunc("POST "+ControlPrefix+"rotate-token", s.handleRotateToken)
	mux.HandleFunc("POST "+ControlPrefix+"idle-heartbeat", s.handleIdleHeartbeat)
	mux.HandleFunc("POST "+ControlPrefix+"ordering", s.handleOrdering)
}

// handleStall stalls ?tenant= for ?for= (a Go duration; absent: until
// unstall).
func (s *Server) handleStall(w http.ResponseWriter, r *http.Request) {
	var d time.Duration
	if v := r.URL.Query().Get("for"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			http.Error(w, "for must be a positive duration such as 30s", http.StatusBadRequest)
			return
		}
	}
	if tenant, ok := s.controlTenant(w, r); ok {
		s.Stall(tenant, d)
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleRotateToken rotates ?tenant='s token to the body, trimmed; the
// token travels in the body so it stays out of access logs.
func (s *Server) handleRotateToken(w http.ResponseWriter, r *http.Request) {
	tenant, ok := s.controlTenant(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenBytes))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.RotateToken(tenant, secret.Secret(strings.TrimSpace(string(body))))
	w.WriteHeader(http.StatusNoContent)
}

// handleIdleHeartbeat sets the idle padding from ?mode=.
func (s *Server) handleIdleHeartbeat(w http.ResponseWriter, r *http.Request) {
	h, err := ParseIdleHeartbeat(r.URL.Query().Get("mode"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.SetIdleHeartbeat(h)
	w.WriteHeader(http.StatusNoContent)
}

// handleOrdering sets the ordering faults from ?reorder= and ?drop=.
func (s *Server) handleOrdering(w http.ResponseWriter, r *http.Request) {
	var probs [2]float64
	for i, name := range []string{"reorder", "drop"} {
		v := r.URL.Query().Get(name)
		if v == "" {
			continue
		}
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p < 0 || p > 1 {
			http.Error(w, name+" must be a probability between 0 and 1", http.StatusBadRequest)
			return
		}
		probs[i] = p
	}
	s.SetOrderingFaults(probs[0], probs[1])
	w.WriteHeader(http.StatusNoContent)
}
