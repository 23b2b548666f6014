// Package regaldouble is a local stand-in for Regal's events API
// (POST /events) for tests and demos. It checks the raw-key Authorization
// header and the body shape of Regal's OpenAPI, answers like Regal, records
// every accepted event, and can be told to answer with faults first.
package regaldouble

import (
	"errors"
	"fmt"

	"github.com/ccbridge/bridge/internal/secret"
)

// DefaultAddr listens on the loopback interface on a free port.
const DefaultAddr = "127.0.0.1:0"

// Config configures a Server.
type Config struct {
	// Addr is the TCP address to listen on; empty means DefaultAddr.
	Addr string
	// APIKeys are the accepted keys. A request's Authorization header must
	// equal one of them exactly: no scheme such as "Bearer" is stripped.
	APIKeys []secret.Secret
}

// validate reports a configuration the server cannot run with.
func (c Config) validate() error {
	if len(c.APIKeys) == 0 {
		return errors.New("regaldouble: no API key configured")
	}
	for i, k := range c.APIKeys {
		if k.IsZero() {
			return fmt.Errorf("regaldouble: API key %d is empty", i)
		}
	}
	return nil
}
