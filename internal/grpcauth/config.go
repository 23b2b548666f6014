package grpcauth

import (
	"errors"

	"github.com/ccbridge/bridge/internal/secret"
)

// ServerConfig is what a gRPC server asks of its clients. It is meant to
// be embedded in a service's configuration section.
type ServerConfig struct {
	// Tokens are the accepted bearer tokens; list two while rotating one.
	// Use ${ENV} references so they stay out of the file.
	Tokens []secret.Secret `yaml:"tokens"`
	// TLS serves over TLS, and with a client CA file requires client
	// certificates (mTLS).
	TLS ServerTLS `yaml:"tls"`
}

// ServerTLS locates the server's certificate and, for mTLS, the CA that
// signs client certificates. All paths are PEM files.
type ServerTLS struct {
	// CertFile and KeyFile are the server's certificate and its key; set
	// both to serve TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, makes the server require and verify a
	// client certificate signed by this CA.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether the server serves TLS.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Authenticates reports whether the configuration authenticates clients at
// all (a token or a client certificate).
func (c ServerConfig) Authenticates() bool {
	return len(c.Tokens) > 0 || c.TLS.ClientCAFile != ""
}

// Validate reports settings that cannot work. Messages name fields, never
// secret values.
func (c ServerConfig) Validate() error {
	var errs []error
	for _, t := range c.Tokens {
		if len(t.Reveal()) < MinTokenLength {
			errs = append(errs, errors.New("tokens: every token must be at least 16 characters"))
			break
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if c.TLS.ClientCAFile != "" && !c.TLS.Enabled() {
		errs = append(errs, errors.New("tls: client_ca_file needs cert_file and key_file"))
	}
	return errors.Join(errs...)
}

// MinTokenLength is the shortest accepted token: short tokens can be
// guessed.
const MinTokenLength = 16

// ClientConfig is how a client authenticates to a server.
type ClientConfig struct {
	// Token is sent as "authorization: Bearer <token>" on every call.
	Token secret.Secret `yaml:"token"`
	// TLS is the connection's TLS; plaintext when every field is empty.
	TLS ClientTLS `yaml:"tls"`
}

// ClientTLS configures the client's transport. With every field empty the
// connection is plaintext (acceptable on loopback only).
type ClientTLS struct {
	// Enabled uses TLS even when no file is set (system roots).
	Enabled bool `yaml:"enabled"`
	// CAFile verifies the server's certificate instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
}

// On reports whether the client uses TLS.
func (t ClientTLS) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// Validate reports settings that cannot work.
func (c ClientConfig) Validate() error {
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("tls: cert_file and key_file go together")
	}
	return nil
}
