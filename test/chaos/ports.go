package chaos

import (
	"net"
	"strconv"
)

// freeAddr returns a loopback address with a port nobody listens on now.
// A process started soon after binds it; the small race with other
// programs picking the same port is accepted.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)), nil
}
