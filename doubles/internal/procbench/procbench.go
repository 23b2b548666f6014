// Package procbench measures a double's CPU per operation under a load made
// by another process: the test binary started again as the client, so
// that the CPU time read from getrusage, and the allocations counted, are
// the double's alone.
//
// The benchmark calls Run; the client process runs a test that calls
// Client, prepares its load and calls Serve. They talk over the
// client's standard input and output: the client says "ready", the
// benchmark answers "go" and times until the client says "done".
package procbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

// Run starts the client process, running the test clientTest of this
// test binary with the environment variable env set to spec as JSON. Once
// the client is ready and ready (when not nil) returns nil, it times the
// client's load and reports cpu-ns/op, page-faults/op and allocations. It
// returns the CPU time used, for metrics of the caller's own.
func Run(b *testing.B, clientTest, env string, spec any, ready func() error) time.Duration {
	b.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+clientTest+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	expect := func(want string) {
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		b.Fatalf("client process ended before %q: %v", want, lines.Err())
	}
	expect("ready")
	if ready != nil {
		if err := ready(); err != nil {
			b.Fatal(err)
		}
	}
	// Collect and return freed memory now, so that neither the setup's
	// garbage nor the scavenger's work on it is timed.
	debug.FreeOSMemory()
	b.ReportAllocs()
	b.ResetTimer()
	before, faultsBefore := usage(b)
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		b.Fatal(err)
	}
	expect("done")
	after, faultsAfter := usage(b)
	used := after - before
	b.StopTimer()
	b.ReportMetric(float64(faultsAfter-faultsBefore)/float64(b.N), "page-faults/op")
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	_, _ = io.Copy(io.Discard, stdout) // the rest of its output, before Wait
	return used
}

// usage is the user and system CPU this process has used, and its minor
// page faults (a growing heap touching fresh pages costs CPU too).
func usage(b *testing.B) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Minflt
}

// Client is the client process's test: it decodes into spec what Run
// passed in env and calls run, which prepares the load and hands it to
// Serve. It skips the test when env is not set: the client test runs only
// as Run's client process.
func Client(t *testing.T, env string, spec any, run func() error) {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		t.Skip("the client process of a benchmark; runs only when started by it")
	}
	if err := json.Unmarshal([]byte(raw), spec); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
}

// Serve is the client's side of Run, prepared load in hand: it says
// "ready", waits for "go", runs load and says "done".
func Serve(load func() error) error {
	if _, err := fmt.Fprintln(os.Stdout, "ready"); err != nil {
		return err
	}
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	if err := load(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(os.Stdout, "done")
	return err
}

// Pace sleeps until the i-th request of a load started at start is due,
// one every interval; with no interval it returns at once.
func Pace(start time.Time, i int, interval time.Duration) {
	if interval <= 0 {
		return
	}
	if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
		time.Sleep(d)
	}
}

// Do sends req, reads and discards the answer, and fails unless it is
// 200 OK.
func Do(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return nil
}
