package bench

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ccbridge/bridge/internal/poll"
)

// processState is the state letter of /proc/<pid>/stat: T when stopped.
func processState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

func TestStallProcess(t *testing.T) {
	// watch is how long the process's state is watched: a case that must
	// not stop it waits it out.
	const watch = 2 * time.Second
	tests := []struct {
		name      string
		at, d     time.Duration
		stopEarly bool // call stop while the stall would still run
		wantStop  bool // the process is seen stopped
	}{
		{name: "no_duration_stalls_nothing", at: 0, d: 0},
		{name: "stopped_for_its_duration_then_continued", at: 0, d: 300 * time.Millisecond, wantStop: true},
		{name: "ended_early_is_continued_at_once", at: 0, d: time.Hour, stopEarly: true, wantStop: true},
		{name: "due_after_the_run_is_not_made", at: time.Hour, d: time.Second, stopEarly: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				t.Skip("no sleep command:", err)
			}
			pid := cmd.Process.Pid
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

			stop := stallProcess(context.Background(), pid, time.Now(), tt.at, tt.d)
			seenStopped := poll.Wait(watch, func() bool { return processState(t, pid) == "T" })
			if seenStopped != tt.wantStop {
				t.Fatalf("seen stopped: %v, want %v", seenStopped, tt.wantStop)
			}
			if tt.stopEarly {
				stop()
				if s := processState(t, pid); s == "T" {
					t.Fatal("still stopped after stop returned")
				}
			}
			if !poll.Wait(watch, func() bool { return processState(t, pid) != "T" }) {
				t.Fatal("not continued after its stall")
			}
			if made := stop(); made != tt.wantStop {
				t.Errorf("stop says made %v, want %v", made, tt.wantStop)
			}
			stop() // idempotent
		})
	}
}
