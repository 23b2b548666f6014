// Package jaegertest runs a real Jaeger v2 for a test: on free loopback
// ports, with in-memory storage and the configuration of
// deploy/jaeger/config.yaml, stopped by t.Cleanup. Tests send spans to it
// over OTLP and read them back through its HTTP query API, as an operator
// would find them.
package jaegertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// startAttempts bounds retries when a free port was taken before Jaeger
	// could bind it.
	startAttempts = 3
	// readyTimeout bounds how long Jaeger may take to listen on every port.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 10 * time.Second
	// pollInterval paces readiness checks and WaitForTrace.
	pollInterval = 100 * time.Millisecond
)

// Jaeger is a Jaeger process owned by one test. Its methods are safe for
// concurrent use.
type Jaeger struct {
	otlpGRPC  string
	otlpHTTP  string
	queryHTTP string
	logPath   string
	client    *http.Client
	cmd       *exec.Cmd
	exited    chan struct{}
}

// Start runs Jaeger and waits until its query API answers and its OTLP
// receivers accept connections. The binary is $CCB_JAEGER_BIN, else
// .tmp/bin/jaeger of the repository, built first when missing or stale
// (several minutes: run `make jaeger` beforehand). Start fails the test when
// Jaeger cannot be built or started.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	root := repoRoot(t)
	bin := binary(t, root)
	config := filepath.Join(root, "deploy", "jaeger", "config.yaml")
	dir := t.TempDir()
	var errs []error
	for attempt := range startAttempts {
		j, err := start(bin, config, filepath.Join(dir, fmt.Sprintf("jaeger-%d.log", attempt)))
		if err == nil {
			t.Cleanup(j.stop)
			return j
		}
		errs = append(errs, err)
	}
	t.Fatalf("start Jaeger: %v", errors.Join(errs...))
	return nil
}

// start runs one Jaeger process on fresh free ports, logging to logPath.
func start(bin, config, logPath string) (*Jaeger, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	j := &Jaeger{
		otlpGRPC:  loopback(ports[0]),
		otlpHTTP:  loopback(ports[1]),
		queryHTTP: loopback(ports[2]),
		logPath:   logPath,
		client:    &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		exited:    make(chan struct{}),
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	j.cmd = exec.Command(bin, "--config", config)
	j.cmd.Env = append(withoutOTelEnv(os.Environ()),
		"JAEGER_OTLP_GRPC="+j.otlpGRPC,
		"JAEGER_OTLP_HTTP="+j.otlpHTTP,
		"JAEGER_QUERY_HTTP="+j.queryHTTP,
		"JAEGER_QUERY_GRPC="+loopback(ports[3]),
	)
	j.cmd.Stdout, j.cmd.Stderr = logFile, logFile
	// Jaeger must not outlive its owner, however the owner ends.
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := j.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() {
		_ = j.cmd.Wait()
		close(j.exited)
	}()
	if err := j.waitReady(); err != nil {
		j.stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, j.log())
	}
	return j, nil
}

// waitReady returns when the query API answers and both OTLP receivers
// accept connections, or an error when Jaeger exits or readyTimeout passes.
func (j *Jaeger) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		if j.ready(ctx) {
			return nil
		}
		select {
		case <-j.exited:
			return fmt.Errorf("jaeger exited before it was ready (%v)", j.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("jaeger not ready after %v", readyTimeout)
		case <-time.After(pollInterval):
		}
	}
}

func (j *Jaeger) ready(ctx context.Context) bool {
	for _, addr := range []string{j.otlpGRPC, j.otlpHTTP} {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		_ = conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.UIURL()+"/api/services", nil)
	if err != nil {
		return false
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends the process (SIGTERM, then SIGKILL after stopTimeout) and waits
// for it.
func (j *Jaeger) stop() {
	j.client.CloseIdleConnections()
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
	case <-time.After(stopTimeout):
		_ = j.cmd.Process.Kill()
		<-j.exited
	}
}

// OTLPEndpoint is Jaeger's OTLP/gRPC receiver, as
// OTEL_EXPORTER_OTLP_ENDPOINT takes it with OTEL_EXPORTER_OTLP_PROTOCOL=grpc:
// "http://127.0.0.1:PORT".
func (j *Jaeger) OTLPEndpoint() string { return "http://" + j.otlpGRPC }

// OTLPHTTPEndpoint is Jaeger's OTLP/HTTP receiver, as
// OTEL_EXPORTER_OTLP_ENDPOINT takes it with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf: "http://127.0.0.1:PORT".
func (j *Jaeger) OTLPHTTPEndpoint() string { return "http://" + j.otlpHTTP }

// UIURL is the base URL of Jaeger's UI and HTTP query API (/api/...). A
// Jaeger built from the Go module proxy carries no UI assets, so the page
// there is Jaeger's placeholder; the API is complete.
func (j *Jaeger) UIURL() string { return "http://" + j.queryHTTP }

// log returns Jaeger's output so far, for failure messages.
func (j *Jaeger) log() string {
	b, err := os.ReadFile(j.logPath)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// withoutOTelEnv drops OTEL_* variables, which a test may have set for its
// own exporters, so that Jaeger does not act on them.
func withoutOTelEnv(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OTEL_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
