// Package listentest holds loopback listeners for tests: a port that is
// taken (so a component that must not bind it, or must not connect to it,
// can be checked), and whether anything connected to it.
package listentest

import (
	"errors"
	"net"
	"testing"
	"time"
)

// Listen holds a loopback port for the test; it is closed at cleanup.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// NoConnection reports a connection that reached ln: one made while the
// code under test ran is already in its backlog, so an expired deadline
// finds it.
func NoConnection(ln net.Listener) error {
	if err := ln.(*net.TCPListener).SetDeadline(time.Now()); err != nil {
		return err
	}
	c, err := ln.Accept()
	if err == nil {
		_ = c.Close()
		return errors.New("something connected to it")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}
