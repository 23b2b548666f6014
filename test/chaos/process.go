package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one child process of a run, restartable: each start runs the
// same command in a process group of its own (so a kill reaches anything
// it spawned), with stdout and stderr appended to its log file. A process
// that exits without being told to is reported to onExit.
type process struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string
	onExit  func(p *process, err error) // an exit nobody asked for

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current run ends
	stopped bool          // the current run is being ended on purpose
}

// errAlreadyRunning is returned by start when the process runs.
var errAlreadyRunning = errors.New("already running")

func isAlreadyRunning(err error) bool { return errors.Is(err, errAlreadyRunning) }

// start runs the process; it fails with errAlreadyRunning when the
// process runs.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: %w", p.name, errAlreadyRunning)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "=== chaos: starting %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own group, so a kill reaches the whole tree; and a kill when this
	// harness dies, so no child outlives it even if it is killed itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.stopped = cmd, exited, false
	go p.wait(cmd, exited)
	return nil
}

// wait reaps one run of the process.
func (p *process) wait(cmd *exec.Cmd, exited chan struct{}) {
	err := cmd.Wait()
	p.mu.Lock()
	expected := p.stopped
	p.cmd = nil
	close(exited)
	p.mu.Unlock()
	if !expected && p.onExit != nil {
		p.onExit(p, err)
	}
}

// kill sends SIGKILL to the process group and waits until the process is
// reaped. It is a no-op when the process is not running.
func (p *process) kill() {
	p.signal(syscall.SIGKILL, 0)
}

// stop asks the process to end with SIGTERM and kills it after grace.
func (p *process) stop(grace time.Duration) {
	p.signal(syscall.SIGTERM, grace)
}

// signal sends sig to the group and waits for the exit, escalating to
// SIGKILL after grace.
func (p *process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	pgid := cmd.Process.Pid
	p.mu.Unlock()
	_ = syscall.Kill(-pgid, sig)
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}
	<-exited
}

// running reports whether the process runs.
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// exitError describes how a process ended, for reports.
func exitError(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// minimalEnv is a child's environment: PATH and HOME from this process,
// and extra ("NAME=value"). Nothing else leaks in, such as tracing
// settings of the shell that started the run.
func minimalEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	return append(env, extra...)
}
