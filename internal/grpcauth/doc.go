// Package grpcauth authenticates gRPC calls between the bridge's parts and
// its operators: a bearer token in the "authorization" metadata, compared
// in constant time against the configured tokens, on unary and streaming
// calls, plus TLS and mutual TLS (mTLS) for the transport.
//
// Server side: NewAuthenticator (or ServerOptions, which also sets up TLS)
// gives the interceptors. Client side: DialOptions, or BearerToken as
// per-RPC credentials. Rejections are codes.Unauthenticated with fixed
// messages that never echo what the client sent.
package grpcauth
