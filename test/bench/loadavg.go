package bench

import (
	"os"
	"strconv"
	"strings"
)

// loadAverage is the machine's one-minute load average (/proc/loadavg),
// or -1 when it cannot be read. Compared with Host.CPUs it says how much
// other work competed with the run.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}
