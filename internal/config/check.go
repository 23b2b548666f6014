package config

import (
	"fmt"
	"io"
	"strings"
)

// Check loads the file at path, lets adjust apply the command line's
// overrides (nil for none), runs validate (a service's ValidateCollector
// or ValidateDispatcher), builds and connects nothing, and prints
// "config ok: <path>" to stdout or each problem on a line of its own to
// stderr (YAML paths, never values). It returns the exit code: 0 or 1.
func Check(path string, adjust func(*Config), validate func(*Config) error, stdout, stderr io.Writer) int {
	cfg, err := Load(path)
	if err == nil {
		if adjust != nil {
			adjust(cfg)
		}
		err = validate(cfg)
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: %s\n", path, line)
		}
		return 1
	}
	fmt.Fprintf(stdout, "config ok: %s\n", path)
	return 0
}
