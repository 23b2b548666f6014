package query_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
	"github.com/ccbridge/bridge/internal/secret"
)

func TestAuthentication(t *testing.T) {
	h := startHarness(t, harnessOptions{})
	tests := []struct {
		name  string
		token secret.Secret
		want  codes.Code
	}{
		{"missing_token", "", codes.Unauthenticated},
		{"wrong_token", "wrong-token-for-tests-0123456789", codes.Unauthenticated},
		{"configured_token", queryToken, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialQuery(t, h.query.Addr(), tt.token)
			c := queryv1.NewQueryServiceClient(conn)
			ctx, cancel := context.WithCancel(callCtx(t))
			defer cancel()
			_, unary := c.ListTenants(ctx, &queryv1.ListTenantsRequest{})
			w, stream := c.WatchEvents(ctx, &queryv1.WatchEventsRequest{Parent: "tenants/" + tenant})
			if stream == nil {
				if _, stream = w.Header(); stream == nil {
					h.publish(t, newDay(3).calls[0].lines[:1]) // something to receive when watching is allowed
					_, stream = w.Recv()
				}
			}
			refl, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
			if err == nil {
				// A refused stream may fail Send with io.EOF; Recv says why.
				_ = refl.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			}
			var services []string
			if err == nil {
				var resp *reflectionpb.ServerReflectionResponse
				if resp, err = refl.Recv(); err == nil {
					for _, s := range resp.GetListServicesResponse().GetService() {
						services = append(services, s.GetName())
					}
				}
			}
			for kind, err := range map[string]error{"unary": unary, "stream": stream, "reflection": err} {
				if got := status.Code(err); got != tt.want {
					t.Errorf("%s: got %v (%v), want %v", kind, got, err, tt.want)
				}
			}
			if tt.want == codes.OK && !slices.Contains(services, queryv1.QueryService_ServiceDesc.ServiceName) {
				t.Errorf("reflection lists %v", services)
			}
			health, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: queryv1.QueryService_ServiceDesc.ServiceName})
			if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health (no token needed): %v %v", health, err)
			}
		})
	}
}
