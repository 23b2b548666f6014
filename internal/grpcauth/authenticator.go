package grpcauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ccbridge/bridge/internal/secret"
)

// Rejection messages. They are fixed: they never echo what the client sent.
const (
	msgMissing   = "missing bearer token: send the metadata \"authorization: Bearer <token>\""
	msgMalformed = "the authorization metadata must be \"Bearer <token>\""
	msgInvalid   = "invalid bearer token"
)

// HealthService is the standard health service, which load balancers and
// orchestrators call without credentials.
const HealthService = "grpc.health.v1.Health"

// Authenticator checks bearer tokens on incoming calls. It is immutable
// and safe for concurrent use.
type Authenticator struct {
	digests [][sha256.Size]byte
	public  map[string]bool // full service names served without a token
}

// Option tunes an Authenticator.
type Option func(*Authenticator)

// WithPublicServices serves the named services (e.g. HealthService)
// without a token.
func WithPublicServices(services ...string) Option {
	return func(a *Authenticator) {
		for _, s := range services {
			a.public[s] = true
		}
	}
}

// NewAuthenticator accepts calls that carry one of tokens. Tokens are kept
// as SHA-256 digests, so comparisons take the same time whatever the
// length or content of the presented token.
func NewAuthenticator(tokens []secret.Secret, opts ...Option) (*Authenticator, error) {
	if len(tokens) == 0 {
		return nil, errors.New("grpcauth: at least one token is required")
	}
	a := &Authenticator{public: map[string]bool{}}
	for _, t := range tokens {
		if len(t.Reveal()) < MinTokenLength {
			return nil, errors.New("grpcauth: every token must be at least 16 characters")
		}
		a.digests = append(a.digests, sha256.Sum256([]byte(t.Reveal())))
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// UnaryServerInterceptor rejects unary calls without a valid token.
func (a *Authenticator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor rejects streaming calls without a valid token
// before the handler runs (nothing is read from or sent on the stream).
func (a *Authenticator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if ctx != ss.Context() {
			ss = &streamWithContext{ServerStream: ss, ctx: ctx}
		}
		return handler(srv, ss)
	}
}

// check returns the call's context, carrying the index of the token that
// authenticated it (TokenIndex), when the call may proceed, else an
// Unauthenticated status error.
func (a *Authenticator) check(ctx context.Context, fullMethod string) (context.Context, error) {
	if a.public[serviceOf(fullMethod)] {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return nil, status.Error(codes.Unauthenticated, msgMissing)
	}
	if len(values) > 1 {
		return nil, status.Error(codes.Unauthenticated, msgMalformed)
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return nil, status.Error(codes.Unauthenticated, msgMalformed)
	}
	i := a.index(strings.TrimSpace(token))
	if i < 0 {
		return nil, status.Error(codes.Unauthenticated, msgInvalid)
	}
	return context.WithValue(ctx, tokenIndexKey{}, i), nil
}

// index compares the digest of token with every configured digest, all of
// them, in constant time, and returns the position of the one it matches,
// or -1.
func (a *Authenticator) index(token string) int {
	d := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.digests {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(d[:], a.digests[i][:]), i, found)
	}
	return found
}

type tokenIndexKey struct{}

// TokenIndex returns the position, in the configured tokens, of the token
// that authenticated the call of ctx: with two tokens listed during a
// rotation, it tells which clients still use the old one. ok is false when
// no token authenticated the call (no tokens configured, or a public
// service). The token itself is never exposed.
func TokenIndex(ctx context.Context) (i int, ok bool) {
	i, ok = ctx.Value(tokenIndexKey{}).(int)
	return i, ok
}

// streamWithContext is a server stream whose Context carries what the
// interceptor learned.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *streamWithContext) Context() context.Context { return s.ctx }

// serviceOf returns "pkg.Service" of "/pkg.Service/Method".
func serviceOf(fullMethod string) string {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}
