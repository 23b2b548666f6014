package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stallProcess stops the process pid (SIGSTOP) at start+at for d, then
// continues it (SIGCONT): a host that starves it (a VM pause, a
// neighbour's burst). What its peers send meanwhile waits in their buffers
// and arrives at once afterwards. The returned function ends the stall
// early if it is under way (the process is always continued), waits, and
// says whether the process was stopped at all; it may be called more than
// once. A zero d stalls nothing, nor does a pid of 0 or less (kill(2)
// would stop a whole process group).
func stallProcess(ctx context.Context, pid int, start time.Time, at, d time.Duration) (stop func() (made bool)) {
	if d <= 0 || pid <= 0 {
		return func() bool { return false }
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var stopped atomic.Bool
	wg.Go(func() {
		if sleepUntil(ctx, start.Add(at)) != nil {
			return
		}
		if syscall.Kill(pid, syscall.SIGSTOP) != nil {
			return // gone: the run reports the exit
		}
		stopped.Store(true)
		defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()
		_ = sleepUntil(ctx, time.Now().Add(d))
	})
	return func() bool { cancel(); wg.Wait(); return stopped.Load() }
}
