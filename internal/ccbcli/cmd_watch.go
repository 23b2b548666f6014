package ccbcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var eventsWatch = command{
	usage: "[--phone P] [--campaign N] [--queue N] [--agent A] [--since T] [--types received,delivered,…]",
	help:  "follow changes to events as they happen (like tail -f); --since first shows the stored ones",
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		var f filterFlags
		f.register(fs, false)
		types := fs.String("types", "", "comma-separated change types: received, dispatched, retrying, delivered, skipped, dead_lettered, replayed")
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			req := &queryv1.WatchEventsRequest{Parent: s.parent(), Filter: filter}
			for _, t := range strings.Split(*types, ",") {
				if t = strings.TrimSpace(t); t == "" {
					continue
				}
				n, err := enumFlag(t, "CHANGE_TYPE_", queryv1.ChangeType_value)
				if err != nil {
					return err
				}
				req.ChangeTypes = append(req.ChangeTypes, queryv1.ChangeType(n))
			}
			w, err := s.client.WatchEvents(ctx, req) // no deadline: it runs until interrupted
			if err != nil {
				return err
			}
			for {
				resp, err := w.Recv()
				if err != nil {
					if errors.Is(ctx.Err(), context.Canceled) || status.Code(err) == codes.Canceled {
						return nil
					}
					return err
				}
				if s.g.json {
					if err := printJSON(out, resp, true); err != nil {
						return err
					}
					continue
				}
				e := resp.GetEvent()
				detail := deliveryDetail(e.GetDelivery())
				if resp.GetChangeType() == queryv1.ChangeType_CHANGE_TYPE_RECEIVED {
					detail = verdictName(resp.GetDedupVerdict())
				}
				fmt.Fprintf(out, "%s  %-13s %-30s %s  %s  %s\n", clock(resp.GetChangeTime()), changeName(resp.GetChangeType()),
					e.GetEventType(), idOf(e.GetInteraction()), orDash(e.GetPhoneNumber()), detail)
			}
		}
	},
}
