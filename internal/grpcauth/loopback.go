package grpcauth

import (
	"fmt"
	"net"
	"strings"
)

// LoopbackOnly reports whether a server listening on listen ("host:port")
// is reachable from this machine only: the host is "localhost", an address
// in 127.0.0.0/8 or ::1. An empty host (":7070"), an unspecified address
// (0.0.0.0, [::]), any other address and any other host name count as
// reachable beyond loopback; names are not resolved, since what a name
// resolves to may change after the check. An address that does not parse
// is not loopback either.
func LoopbackOnly(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RequireOffLoopback returns nil when cfg authenticates clients or listen
// is LoopbackOnly, else an error naming field (the listen address's
// configuration key) and the keys that would authenticate (under
// authKey), in one line.
func RequireOffLoopback(cfg ServerConfig, listen, field, authKey string) error {
	if cfg.Authenticates() || LoopbackOnly(listen) {
		return nil
	}
	// The address is not repeated: it may come from the environment, and
	// the field names it well enough.
	return fmt.Errorf("%s is reachable beyond loopback and nothing authenticates its clients: set %s.tokens (use ${ENV_VAR}) "+
		"or mTLS (%s.tls.cert_file, key_file and client_ca_file), or listen on 127.0.0.1", field, authKey, authKey)
}
