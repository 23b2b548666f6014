package chaos

import (
	"sync"
	"time"
)

// restartAfterExit is how long a bridge process that exited on its own
// stays down before it is started again, as a service manager would.
const restartAfterExit = time.Second

// ProcessExit is an exit the harness did not cause.
type ProcessExit struct {
	Process string    `json:"process"`
	Time    time.Time `json:"time"`
	Status  string    `json:"status"`
}

// onBridgeExit records an exit of Redis, the collector or a dispatcher
// that the harness did not cause, and starts the process again after
// restartAfterExit.
func (c *cluster) onBridgeExit(p *process, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.exits = append(c.exits, ProcessExit{Process: p.name, Time: time.Now(), Status: exitError(err)})
	c.log.Warn("process exited on its own; restarting it", "process", p.name, "status", exitError(err))
	c.restarts.Add(1)
	go func() {
		defer c.restarts.Done()
		time.Sleep(restartAfterExit)
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if closing {
			return
		}
		if err := p.start(); err != nil && !isAlreadyRunning(err) {
			c.log.Error("restart failed", "process", p.name, "err", err)
		}
	}()
}

// onDoubleExit records the exit of a double: its state is gone, so the
// run stops.
func (c *cluster) onDoubleExit(p *process, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.exits = append(c.exits, ProcessExit{Process: p.name, Time: time.Now(), Status: exitError(err)})
	select {
	case c.doubleDied <- p.name:
	default:
	}
}

// unexpectedExits returns the exits the harness did not cause.
func (c *cluster) unexpectedExits() []ProcessExit {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ProcessExit(nil), c.exits...)
}

// close stops every process: the bridge first (SIGTERM, then SIGKILL after
// a grace), then the doubles and Redis. It is idempotent.
func (c *cluster) close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.restarts.Wait()
	var wg sync.WaitGroup
	for _, d := range c.dispatchers {
		wg.Go(func() { d.stop(5 * time.Second) })
	}
	wg.Wait()
	for _, p := range []*process{c.collector, c.sapi, c.regal, c.redis, c.timelineRedis} {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
	if c.rdb != nil {
		_ = c.rdb.Close()
	}
	controlClient.CloseIdleConnections()
}
