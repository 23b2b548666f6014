// Package redistest starts a real redis-server for a test: on a free
// loopback port, in the test's temporary directory, stopped by t.Cleanup.
// Tests share no state with the machine's own Redis.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by one test.
type Server struct {
	Addr string
	Dir  string
	cmd  *exec.Cmd
	port int
	args []string
	// sysProcAttr, when set, is the process's (a cluster's parent-death
	// signal).
	sysProcAttr *syscall.SysProcAttr
}

// Options tune the server.
type Options struct {
	// AppendOnly turns on AOF persistence (appendfsync always), as the
	// bridge's production settings do.
	AppendOnly bool
	// AppendFsync, with AppendOnly, replaces "always" (e.g. "everysec",
	// for benchmarks that compare the two).
	AppendFsync string
}

// Start runs redis-server and waits until it answers PING. It fails the
// test when redis-server is not installed: .ci/run installs it.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found on PATH (install the redis-server package): %v", err)
	}
	s := &Server{Dir: t.TempDir()}
	s.port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.args = []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--dir", s.Dir, "--save", "", "--maxmemory-policy", "noeviction",
		"--protected-mode", "yes",
	}
	if opts.AppendOnly {
		fsync := opts.AppendFsync
		if fsync == "" {
			fsync = "always"
		}
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", fsync)
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.start(t, bin)
	t.Cleanup(s.stop)
	return s
}

func (s *Server) start(t testing.TB, bin string) {
	t.Helper()
	if err := s.startErr(bin); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) startErr(bin string) error {
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.SysProcAttr = s.sysProcAttr
	logf, err := os.Create(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s did not answer: see %s", s.Addr, filepath.Join(s.Dir, "redis.log"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Restart stops the server (SIGKILL when hard, else SHUTDOWN) and starts it
// again on the same port and directory, so persisted data comes back.
func (s *Server) Restart(t testing.TB, hard bool) {
	t.Helper()
	if hard {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	} else {
		s.stop()
	}
	bin, _ := exec.LookPath("redis-server")
	s.start(t, bin)
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// SIGTERM is Redis's graceful shutdown: it flushes the AOF and exits.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Client returns a client for the server, closed by t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Log returns the server's log, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}
