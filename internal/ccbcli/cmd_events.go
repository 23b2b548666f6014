package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var eventGet = command{
	usage:      "<event-id>",
	help:       "show one event: its fields, raw 8x8 payload, delivery and history",
	positional: 1,
	flags: func(*flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		return func(ctx context.Context, s *session, out io.Writer, args []string) error {
			name := args[0]
			if !strings.Contains(name, "/") {
				name = s.parent() + "/events/" + name
			}
			cctx, cancel := s.callCtx(ctx)
			defer cancel()
			resp, err := s.client.GetEvent(cctx, &queryv1.GetEventRequest{Name: name})
			if err != nil {
				return err
			}
			if s.g.json {
				return printJSON(out, resp, false)
			}
			e := resp.GetEvent()
			d := e.GetDelivery()
			fmt.Fprintf(out, "event %s\n", idOf(e.GetName()))
			fmt.Fprintf(out, "  type         %s\n", e.GetEventType())
			fmt.Fprintf(out, "  interaction  %s\n", idOf(e.GetInteraction()))
			fmt.Fprintf(out, "  phone        %s\n", orDash(e.GetPhoneNumber()))
			fmt.Fprintf(out, "  8x8 time     %s\n", clock(e.GetOccurTime()))
			fmt.Fprintf(out, "  received     %s (%d×)\n", clock(e.GetReceiveTime()), e.GetDedup().GetSightings())
			fmt.Fprintf(out, "  delivery     %s %s\n", state(d.GetState()), deliveryDetail(d))
			if e.GetTraceId() != "" {
				fmt.Fprintf(out, "  trace        %s\n", e.GetTraceId())
			}
			tw := newTable(out)
			for _, c := range e.GetHistory() {
				fmt.Fprintf(tw, "    %s\t%s\t%s\n", clock(c.GetTime()), changeName(c.GetType()), changeDetail(c))
			}
			_ = tw.Flush()
			fmt.Fprintf(out, "  raw          %s\n", e.GetRaw())
			return nil
		}
	},
}

var eventsList = command{
	usage: "[--phone P] [--campaign N] [--queue N] [--agent A] [--since T] [--until T] [--state S] [-q]",
	help:  "list events, most recently received first",
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		var f filterFlags
		var p pageFlags
		f.register(fs, true)
		p.register(fs)
		stateFlag := fs.String("state", "", "pending, in_delivery, retrying, delivered, skipped or dead_lettered")
		quiet := fs.Bool("q", false, "print only the event ids")
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			st, err := enumFlag(*stateFlag, "DELIVERY_STATE_", queryv1.DeliveryState_value)
			if err != nil {
				return err
			}
			req := &queryv1.ListEventsRequest{Parent: s.parent(), Filter: filter, DeliveryState: queryv1.DeliveryState(st)}
			tw := newTable(out)
			if !s.g.json && !*quiet {
				fmt.Fprintln(tw, "RECEIVED\tEVENT\tTYPE\tINTERACTION\tPHONE\tDELIVERY\tDETAIL")
			}
			next, err := listPages(ctx, s, &p, func(ctx context.Context, size int32, token string) ([]*queryv1.Event, string, error) {
				req.PageSize, req.PageToken = size, token
				resp, err := s.client.ListEvents(ctx, req)
				return resp.GetEvents(), resp.GetNextPageToken(), err
			}, func(e *queryv1.Event) error {
				if s.g.json {
					return printJSON(out, e, true)
				}
				if *quiet {
					fmt.Fprintln(out, idOf(e.GetName()))
					return nil
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clock(e.GetReceiveTime()), short(idOf(e.GetName())),
					e.GetEventType(), idOf(e.GetInteraction()), orDash(e.GetPhoneNumber()),
					state(e.GetDelivery().GetState()), deliveryDetail(e.GetDelivery()))
				return nil
			})
			if err != nil {
				return err
			}
			if !s.g.json && !*quiet {
				_ = tw.Flush()
				if hint := nextPageHint(next); hint != "" {
					fmt.Fprintln(out, hint)
				}
			}
			return nil
		}
	},
}
