package chaos

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs a run starts.
type Binaries struct {
	Collector, Dispatcher, SAPIDouble, RegalDouble string
}

// binariesIn names the binaries go build writes into dir.
func binariesIn(dir string) Binaries {
	return Binaries{
		Collector:   filepath.Join(dir, "collector"),
		Dispatcher:  filepath.Join(dir, "dispatcher"),
		SAPIDouble:  filepath.Join(dir, "sapi-double"),
		RegalDouble: filepath.Join(dir, "regal-double"),
	}
}

// Build compiles the collector, the dispatcher and both doubles of the
// module containing the working directory into dir.
func Build(ctx context.Context, dir string) (Binaries, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return Binaries{}, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"./cmd/collector", "./cmd/dispatcher", "./cmd/sapi-double", "./cmd/regal-double")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return binariesIn(dir), nil
}

// moduleRoot is the directory of the go.mod governing the working
// directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := string(bytes.TrimSpace(out))
	if gomod == "" || gomod == "/dev/null" || !strings.HasSuffix(gomod, "go.mod") {
		return "", fmt.Errorf("not inside the bridge's module (go env GOMOD = %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}
