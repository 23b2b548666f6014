package sapidouble

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// outputFormat is a desiredOutputType.
type outputFormat int

const (
	formatXML outputFormat = iota // 8x8's default
	formatNewlineXML
	formatJSON
	formatNewlineJSON
)

func parseOutputFormat(s string) (outputFormat, error) {
	switch strings.ToUpper(s) {
	case "", "XML":
		return formatXML, nil
	case "NEWLINE_XML":
		return formatNewlineXML, nil
	case "JSON":
		return formatJSON, nil
	case "NEWLINE_JSON":
		return formatNewlineJSON, nil
	}
	return 0, fmt.Errorf("unknown desiredOutputType %q", s)
}

// handleSubscribe serves one TenantUpdates subscription.
func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tenant, subsID, err := subscriptionOf(r.PathValue("updates"), q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	format, err := parseOutputFormat(q.Get("desiredOutputType"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !s.authorized(tenant, r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="8x8"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	sub, st, status := s.attach(tenant, subsID)
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	defer s.release(sub, st)
	s.log.Info("subscriber connected", "tenant", tenant, "subscription_id", subsID)
	trackSize := strings.EqualFold(q.Get("X-Atmosphere-TrackMessageSize"), "true") ||
		strings.EqualFold(r.Header.Get("X-Atmosphere-TrackMessageSize"), "true")
	if wantsWebSocket(r) {
		s.serveWebSocket(w, r, tenant, sub, st, format, trackSize)
		s.log.Info("subscriber websocket ended", "tenant", tenant, "subscription_id", subsID, "reset", st.reset.Load())
		return
	}
	s.serveStream(w, r, tenant, sub, st, format, trackSize)
	if st.reset.Load() {
		resetConnection(w)
		s.log.Info("subscriber stream reset", "tenant", tenant, "subscription_id", subsID)
		return
	}
	s.log.Info("subscriber stream ended", "tenant", tenant, "subscription_id", subsID)
}

// subscriptionOf reads tenant and subsId from the path segment
// "TenantUpdates-{tenant}-{subsId}", using the tenantId query parameter to
// split it when present (a tenant name may contain "-"), and checks the
// subsId (or subscriptionId) parameter agrees.
func subscriptionOf(segment string, q url.Values) (tenant, subsID string, err error) {
	rest, ok := strings.CutPrefix(segment, "TenantUpdates-")
	if !ok {
		return "", "", errors.New("path must end in TenantUpdates-{tenant}-{subsId}")
	}
	if tenant = q.Get("tenantId"); tenant != "" {
		if subsID, ok = strings.CutPrefix(rest, tenant+"-"); !ok {
			return "", "", errors.New("tenantId does not match the path")
		}
	} else {
		tenant, subsID, _ = strings.Cut(rest, "-")
	}
	querySubs := q.Get("subsId")
	if querySubs == "" {
		querySubs = q.Get("subscriptionId")
	}
	switch {
	case tenant == "" || subsID == "":
		return "", "", errors.New("path must end in TenantUpdates-{tenant}-{subsId}")
	case querySubs != "" && querySubs != subsID:
		return "", "", errors.New("subsId does not match the path")
	}
	return tenant, subsID, nil
}

// authorized checks HTTP Basic credentials, from the Authorization header
// or from ?token=Basic+<base64>.
func (s *Server) authorized(tenant string, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		user, pass, ok = basicFromQuery(r.URL.Query().Get("token"))
	}
	creds, known := s.cfg.Tenants[tenant]
	token := s.tokenOf(tenant)
	if !ok || !known || token.IsZero() {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(creds.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(token.Reveal())) == 1
	return userOK && passOK
}

// basicFromQuery parses "Basic <base64(user:password)>".
func basicFromQuery(token string) (user, pass string, ok bool) {
	scheme, encoded, found := strings.Cut(strings.TrimSpace(token), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(decoded), ":")
}

// attach connects a stream to a subscription, creating it on first use. A
// stream already open on the same subsId is replaced (the newer connection
// wins). It returns a non-zero HTTP status when the tenant is at its limit.
func (s *Server) attach(tenant, subsID string) (*subscription, *stream, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, nil, http.StatusServiceUnavailable
	}
	now := time.Now()
	t := s.tenantState(tenant)
	t.prune(now, s.cfg.Retention)
	sub := t.subs[subsID]
	if (sub == nil || sub.live == nil) && t.liveCount() >= s.cfg.MaxSubscriptionsPerTenant {
		return nil, nil, s.cfg.LimitStatus
	}
	switch {
	case sub == nil:
		sub = &subscription{id: subsID}
		t.subs[subsID] = sub
	case sub.live != nil:
		sub.detach(now)
	case sub.connected && s.replayLast > 0:
		replay := sub.recent[max(0, len(sub.recent)-s.replayLast):]
		sub.pending = append(append([]item(nil), replay...), sub.pending...)
	}
	st := &stream{wake: make(chan struct{}, 1), end: make(chan struct{})}
	sub.live, sub.connected = st, true
	s.notifyChanged()
	return sub, st, 0
}

// release detaches a stream that ended on its own.
func (s *Server) release(sub *subscription, st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub.live == st {
		sub.detach(time.Now())
	}
	s.notifyChanged()
}

// tenantState returns the state of a tenant, creating it; s.mu held.
func (s *Server) tenantState(name string) *tenantState {
	t := s.tenants[name]
	if t == nil {
		t = newTenantState(name)
		s.tenants[name] = t
	}
	return t
}
