package ccbcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"google.golang.org/grpc"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
	"github.com/ccbridge/bridge/internal/secret"
)

// DefaultAddr is the query service's default address.
const DefaultAddr = "127.0.0.1:7071"

// globals are the flags every command takes.
type globals struct {
	addr       string
	token      string
	tenant     string
	json       bool
	timeout    time.Duration
	tls        bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
	tokenEnv   string // CCB_TOKEN, used when --token is not given
}

func (g *globals) register(fs *flag.FlagSet, env func(string) string) {
	fs.StringVar(&g.addr, "addr", envOr(env, "CCB_ADDR", DefaultAddr), "query service address (env CCB_ADDR)")
	// The token's default is read after parsing: a default would be
	// printed by -h.
	fs.StringVar(&g.token, "token", "", "bearer token (default: env CCB_TOKEN, preferred: flags show in ps)")
	g.tokenEnv = env("CCB_TOKEN")
	fs.StringVar(&g.tenant, "tenant", env("CCB_TENANT"), "tenant (env CCB_TENANT; default: the only tenant served)")
	fs.BoolVar(&g.json, "json", false, "print the API's messages as JSON")
	fs.DurationVar(&g.timeout, "timeout", 10*time.Second, "per call")
	fs.BoolVar(&g.tls, "tls", false, "use TLS (implied by --ca, --cert)")
	fs.StringVar(&g.caFile, "ca", "", "CA certificate (PEM) that signs the server's certificate")
	fs.StringVar(&g.certFile, "cert", "", "client certificate (PEM), for mTLS")
	fs.StringVar(&g.keyFile, "key", "", "client key (PEM), for mTLS")
	fs.StringVar(&g.serverName, "server-name", "", "name expected in the server's certificate")
}

func envOr(env func(string) string, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// session is a connected client and the tenant it works on.
type session struct {
	g      *globals
	conn   *grpc.ClientConn
	client queryv1.QueryServiceClient
	tenant string
}

// connect dials the service and settles the tenant.
func (g *globals) connect(ctx context.Context) (*session, error) {
	if g.token == "" {
		g.token = g.tokenEnv
	}
	if g.token == "" && g.certFile == "" {
		return nil, errors.New("no credentials: set CCB_TOKEN (or --token), or --cert and --key for mTLS")
	}
	opts, err := grpcauth.DialOptions(grpcauth.ClientConfig{Token: secret.Secret(g.token), TLS: grpcauth.ClientTLS{
		Enabled: g.tls, CAFile: g.caFile, CertFile: g.certFile, KeyFile: g.keyFile, ServerName: g.serverName}})
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(g.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", g.addr, err)
	}
	s := &session{g: g, conn: conn, client: queryv1.NewQueryServiceClient(conn), tenant: g.tenant}
	if s.tenant == "" {
		if s.tenant, err = s.onlyTenant(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return s, nil
}

// onlyTenant asks the service for its tenants and returns the only one.
func (s *session) onlyTenant(ctx context.Context) (string, error) {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	resp, err := s.client.ListTenants(cctx, &queryv1.ListTenantsRequest{})
	if err != nil {
		return "", err
	}
	if len(resp.GetTenants()) != 1 {
		var names []string
		for _, t := range resp.GetTenants() {
			names = append(names, idOf(t.GetName()))
		}
		return "", fmt.Errorf("the service serves %d tenants %v: choose one with --tenant or CCB_TENANT", len(names), names)
	}
	return idOf(resp.GetTenants()[0].GetName()), nil
}

func (s *session) close() { _ = s.conn.Close() }

func (s *session) parent() string { return "tenants/" + s.tenant }

func (s *session) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.g.timeout)
}
