//go:build !unix

package dispatcher_test

import (
	"testing"
	"time"
)

func cpuTime(testing.TB) time.Duration { return 0 }

// reportCPU reports nothing where the process's CPU time is not known.
func reportCPU(*testing.B, time.Duration) {}
