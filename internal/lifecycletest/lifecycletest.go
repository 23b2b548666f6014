// Package lifecycletest checks the lifecycle contract every component with
// Start and Shutdown keeps, so that a process always exits within its
// grace period, whatever state its parts are in:
//
//   - Shutdown without Start returns nil;
//   - Shutdown after a failed Start returns nil (Start may have
//     acquired part of what it needs: a listener, goroutines);
//   - Start then Shutdown returns nil;
//   - Shutdown twice returns nil both times;
//   - Shutdown with an already-cancelled context returns (an error is
//     allowed: the graceful part was skipped);
//
// each promptly (before the context's deadline), and leaving no goroutine
// of the component running (goleak).
//
// A type whose methods are named otherwise (Close, a constructor that
// starts) passes through a small adapter in its test: see Funcs.
package lifecycletest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Component is what the contract is about. Start may be called once;
// Shutdown any number of times, before or after Start.
type Component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Funcs adapts a pair of functions to Component.
type Funcs struct {
	StartFunc    func(ctx context.Context) error
	ShutdownFunc func(ctx context.Context) error
}

// Start calls StartFunc.
func (f Funcs) Start(ctx context.Context) error { return f.StartFunc(ctx) }

// Shutdown calls ShutdownFunc.
func (f Funcs) Shutdown(ctx context.Context) error { return f.ShutdownFunc(ctx) }

// Options describe the component under test.
type Options struct {
	// New builds a fresh component, not started. What the component does
	// not own (a connection it is given, a double it talks to) is closed
	// by t.Cleanup; fixtures shared by every case are made before Run.
	New func(t *testing.T) Component
	// NewFailing builds a component whose Start fails part-way (its port
	// is taken, its configuration is refused late). Nil when Start cannot
	// fail: that case is then skipped, saying so.
	NewFailing func(t *testing.T) Component
	// Timeout is each call's deadline (default 10 s). A call that has not
	// returned a few seconds after it fails the test.
	Timeout time.Duration
	// Ignore are goroutines that outlive the component by design (e.g. a
	// library's process-wide worker started on first use).
	Ignore []goleak.Option
}

// Run runs every case of the contract as a subtest of t.
func Run(t *testing.T, o Options) {
	t.Helper()
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	cases := []struct {
		name string
		run  func(t *testing.T, o Options)
	}{
		{"shutdown_without_start", func(t *testing.T, o Options) {
			c := o.New(t)
			mustShutdown(t, o, c, "Shutdown")
		}},
		{"shutdown_after_failed_start", func(t *testing.T, o Options) {
			if o.NewFailing == nil {
				t.Skip("Start cannot fail for this component")
			}
			c := o.NewFailing(t)
			if err := call(t, o, "Start", c.Start, false); err == nil {
				t.Fatal("Start of the failing component succeeded; the case tests nothing")
			}
			mustShutdown(t, o, c, "Shutdown after the failed Start")
		}},
		{"start_then_shutdown", func(t *testing.T, o Options) {
			c := o.New(t)
			mustStart(t, o, c)
			mustShutdown(t, o, c, "Shutdown")
		}},
		{"shutdown_twice", func(t *testing.T, o Options) {
			c := o.New(t)
			mustStart(t, o, c)
			mustShutdown(t, o, c, "first Shutdown")
			mustShutdown(t, o, c, "second Shutdown")
		}},
		{"shutdown_with_cancelled_context", func(t *testing.T, o Options) {
			c := o.New(t)
			mustStart(t, o, c)
			if err := call(t, o, "Shutdown", c.Shutdown, true); err != nil {
				t.Logf("Shutdown with a cancelled context: %v (allowed)", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Registered first, so it runs after the cleanups New
			// registers: the component and what it was given are closed.
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() {
				if !t.Failed() {
					goleak.VerifyNone(t, append([]goleak.Option{before}, o.Ignore...)...)
				}
			})
			tc.run(t, o)
		})
	}
}

func mustStart(t *testing.T, o Options, c Component) {
	t.Helper()
	if err := call(t, o, "Start", c.Start, false); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func mustShutdown(t *testing.T, o Options, c Component, what string) {
	t.Helper()
	if err := call(t, o, what, c.Shutdown, false); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// hangMargin is how long after its context's deadline a call may still
// return before it counts as hung.
const hangMargin = 5 * time.Second

// call runs f with a context that has o.Timeout as its deadline (or is
// already cancelled), and fails the test when f does not return before
// that deadline: a Shutdown must honour its context.
func call(t *testing.T, o Options, what string, f func(context.Context) error, cancelled bool) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if cancelled {
		cancel()
	}
	deadline, _ := ctx.Deadline()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	wait := time.Until(deadline) + hangMargin
	if cancelled {
		wait = hangMargin // its deadline has passed already
	}
	hung := time.NewTimer(wait)
	defer hung.Stop()
	select {
	case err := <-done:
		if !cancelled && time.Now().After(deadline) {
			t.Fatalf("%s returned only after its context's deadline (%v): it waited for something that never came", what, o.Timeout)
		}
		return err
	case <-hung.C:
		t.Fatalf("%s did not return within %v of its context's end: it hangs", what, hangMargin)
		return nil
	}
}
