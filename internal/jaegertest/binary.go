package jaegertest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// binaryEnv names an explicit Jaeger binary, used as it is.
const binaryEnv = "CCB_JAEGER_BIN"

// modulePath is the main module, whose go.mod marks the repository root.
const modulePath = "github.com/ccbridge/bridge"

// jaegerPackage is the Jaeger v2 command that the tools module pins.
const jaegerPackage = "github.com/jaegertracing/jaeger/cmd/jaeger"

// binary returns the Jaeger binary to run: $CCB_JAEGER_BIN when set, else
// <root>/.tmp/bin/jaeger, built through the tools module tools/jaeger when
// missing or older than its go.mod or go.sum, as tools/jaeger/jaeger.mk does.
// The build takes minutes; a lock file keeps concurrent test binaries from
// building it twice.
func binary(t testing.TB, root string) string {
	t.Helper()
	if bin := os.Getenv(binaryEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v", binaryEnv, bin, err)
		}
		return bin
	}
	bin := filepath.Join(root, ".tmp", "bin", "jaeger")
	toolsDir := filepath.Join(root, "tools", "jaeger")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(bin + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	stale, err := isStale(bin, filepath.Join(toolsDir, "go.mod"), filepath.Join(toolsDir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if stale {
		t.Logf("building %s through %s (takes several minutes)", bin, toolsDir)
		if err := build(toolsDir, bin); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// build compiles Jaeger next to bin and renames it into place, so that a
// failed or interrupted build never leaves a partial binary at bin.
func build(toolsDir, bin string) error {
	partial := bin + ".partial"
	cmd := exec.Command("go", "build", "-o", partial, jaegerPackage)
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(partial)
		return fmt.Errorf("build Jaeger in %s: %w\n%s", toolsDir, err, out)
	}
	return os.Rename(partial, bin)
}

// isStale reports whether bin is missing or older than any of sources.
func isStale(bin string, sources ...string) (bool, error) {
	built, err := os.Stat(bin)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, source := range sources {
		info, err := os.Stat(source)
		if err != nil {
			return false, err
		}
		if info.ModTime().After(built.ModTime()) {
			return true, nil
		}
	}
	return false, nil
}

// lockFile takes an exclusive lock on path, waiting for other processes
// that hold it, and returns the function that releases it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// repoRoot returns the directory of the main module's go.mod, found by
// walking up from the working directory (a test runs in its package's
// directory).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of module %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// isMainModule reports whether the go.mod at path declares modulePath.
func isMainModule(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}
