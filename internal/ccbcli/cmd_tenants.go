package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var tenantsList = command{
	help: "list the tenants the collector serves",
	flags: func(*flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			req := &queryv1.ListTenantsRequest{}
			for {
				cctx, cancel := s.callCtx(ctx)
				resp, err := s.client.ListTenants(cctx, req)
				cancel()
				if err != nil {
					return err
				}
				for _, t := range resp.GetTenants() {
					if s.g.json {
						if err := printJSON(out, t, true); err != nil {
							return err
						}
					} else {
						fmt.Fprintln(out, idOf(t.GetName()))
					}
				}
				if resp.GetNextPageToken() == "" {
					return nil
				}
				req.PageToken = resp.GetNextPageToken()
			}
		}
	},
}
