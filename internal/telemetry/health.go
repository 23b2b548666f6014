package telemetry

import (
	"net/http"
	"strings"
)

// Check is one named condition of a service's health, e.g. "redis" or
// "subscribed". Check returns nil while the condition holds, else why it
// does not (a short sentence, free of secrets: probes and operators read
// it). It must answer at once, from state kept current elsewhere: probes
// call it often, with short timeouts.
type Check struct {
	Name  string
	Check func() error
}

// failing runs checks and returns "name: reason" for each that fails.
func failing(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if err := c.Check(); err != nil {
			out = append(out, c.Name+": "+err.Error())
		}
	}
	return out
}

// probeHandler answers 200 with ok when every check holds, else 503 with
// bad and the failing checks, one per line.
func probeHandler(checks []Check, ok, bad string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fails := failing(checks)
		if len(fails) == 0 {
			_, _ = w.Write([]byte(ok + "\n"))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(bad + "\n" + strings.Join(fails, "\n") + "\n"))
	}
}
