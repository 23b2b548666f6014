package jaegertest

import (
	"fmt"
	"os"
	"path/filepath"
)

// Run starts Jaeger outside a test (the demo uses it): bin is the binary,
// root the repository (for deploy/jaeger/config.yaml), and the log goes to
// logDir. Close stops it.
func Run(bin, root, logDir string) (*Jaeger, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("jaeger binary: %w (run make jaeger)", err)
	}
	config := filepath.Join(root, "deploy", "jaeger", "config.yaml")
	var last error
	for attempt := range startAttempts {
		j, err := start(bin, config, filepath.Join(logDir, fmt.Sprintf("jaeger-%d.log", attempt)))
		if err == nil {
			return j, nil
		}
		last = err
	}
	return nil, last
}

// Close stops a Jaeger started by Run.
func (j *Jaeger) Close() { j.stop() }

// QueryURL is the base of Jaeger's HTTP query API and UI.
func (j *Jaeger) QueryURL() string { return "http://" + j.queryHTTP }
