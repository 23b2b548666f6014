package query

import (
	"context"
	"strconv"

	"github.com/ccbridge/bridge/collector/timeline"
	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// ListTenants implements queryv1.QueryServiceServer.
func (s *Service) ListTenants(_ context.Context, req *queryv1.ListTenantsRequest) (*queryv1.ListTenantsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(req.GetPageToken(), "tenants")
	if err != nil {
		return nil, err
	}
	start := int(after.Score)
	if start < 0 || start > len(s.tenants) {
		return nil, invalid("page_token is not a token this service issued")
	}
	resp := &queryv1.ListTenantsResponse{}
	end := min(start+size, len(s.tenants))
	for _, t := range s.tenants[start:end] {
		resp.Tenants = append(resp.Tenants, &queryv1.Tenant{Name: tenantName(t)})
	}
	if end < len(s.tenants) {
		resp.NextPageToken = encodeToken(timeline.Cursor{Score: int64(end), Member: "-"}, "tenants")
	}
	return resp, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
