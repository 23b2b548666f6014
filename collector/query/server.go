package query

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/grpcauth"
)

// ServerConfig is the collector's query section.
type ServerConfig struct {
	// Listen is the QueryService address (default 127.0.0.1:7071).
	Listen string `yaml:"listen"`
	// Auth says how clients authenticate: tokens, TLS, mTLS. A token or a
	// client CA is required.
	Auth grpcauth.ServerConfig `yaml:"auth"`
}

// DefaultListen is where the QueryService listens by default.
const DefaultListen = "127.0.0.1:7071"

// Validate reports settings the server cannot run with. Messages name
// fields, never secret values.
func (c ServerConfig) Validate() error {
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if !c.Auth.Authenticates() {
		return errors.New("auth: set tokens (use ${ENV_VAR}) or tls.client_ca_file: the query service is never served without authentication")
	}
	return nil
}

// Server is a running QueryService.
type Server struct {
	svc    *Service
	grpc   *grpc.Server
	health *health.Server
	lis    net.Listener
	done   chan struct{}
}

// Serve listens on cfg.Listen and serves svc, the health service (without
// a token) and server reflection (with a token). extra adds server options
// (for example an OpenTelemetry stats handler).
func Serve(cfg ServerConfig, svc *Service, extra ...grpc.ServerOption) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	opts, err := grpcauth.ServerOptions(cfg.Auth, grpcauth.WithPublicServices(grpcauth.HealthService))
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	opts = append(opts,
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}))
	opts = append(opts, extra...)
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("query: listen %s: %w", cfg.Listen, err)
	}
	s := &Server{svc: svc, grpc: grpc.NewServer(opts...), health: health.NewServer(), lis: lis, done: make(chan struct{})}
	queryv1.RegisterQueryServiceServer(s.grpc, svc)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus(queryv1.QueryService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	reflection.Register(s.grpc)
	go func() {
		defer close(s.done)
		_ = s.grpc.Serve(lis)
	}()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Shutdown reports NOT_SERVING, ends the watches, lets running calls finish
// until ctx ends, then closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	s.svc.Stop()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
	<-s.done
	return nil
}
