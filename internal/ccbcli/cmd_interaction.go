package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var interactionGet = command{
	usage:      "<interaction-id>",
	help:       "show an interaction's timeline: every 8x8 event, its dedup verdicts, its delivery to Regal",
	positional: 1,
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		raw := fs.Bool("raw", false, "also print each event's raw 8x8 payload")
		return func(ctx context.Context, s *session, out io.Writer, args []string) error {
			name := args[0]
			if !strings.Contains(name, "/") {
				name = s.parent() + "/interactions/" + name
			}
			cctx, cancel := s.callCtx(ctx)
			defer cancel()
			resp, err := s.client.GetInteraction(cctx, &queryv1.GetInteractionRequest{Name: name})
			if err != nil {
				return err
			}
			if s.g.json {
				return printJSON(out, resp, false)
			}
			printTimeline(out, resp, *raw)
			return nil
		}
	},
}

// printTimeline prints an interaction, then each event with its history.
func printTimeline(out io.Writer, resp *queryv1.GetInteractionResponse, raw bool) {
	in := resp.GetInteraction()
	fmt.Fprintf(out, "interaction %s\n", in.GetInteractionId())
	fmt.Fprintf(out, "  phone     %s\n", orDash(in.GetPhoneNumber()))
	if in.GetCampaignId() != 0 {
		fmt.Fprintf(out, "  campaign  %d %s\n", in.GetCampaignId(), in.GetCampaignName())
	}
	if in.GetQueueId() != 0 {
		fmt.Fprintf(out, "  queue     %d %s\n", in.GetQueueId(), in.GetQueueName())
	}
	if len(in.GetAgentIds()) > 0 {
		fmt.Fprintf(out, "  agents    %s\n", strings.Join(in.GetAgentIds(), ", "))
	}
	fmt.Fprintf(out, "  type      %s %s %s\n", orDash(in.GetInteractionType()), in.GetDirection(), in.GetMediaType())
	fmt.Fprintf(out, "  seen      %s … %s\n", clock(in.GetCreateTime()), clock(in.GetUpdateTime()))
	fmt.Fprintf(out, "  events    %s\n", countsLine(in.GetCounts()))
	if in.GetTraceId() != "" {
		fmt.Fprintf(out, "  trace     %s\n", in.GetTraceId())
	}
	fmt.Fprintln(out)
	for _, e := range resp.GetEvents() {
		d := e.GetDelivery()
		seen := ""
		if n := e.GetDedup().GetSightings(); n > 1 {
			seen = fmt.Sprintf(" (received %d×)", n)
		}
		fmt.Fprintf(out, "%s  %-30s %-13s %s%s\n", clock(e.GetReceiveTime()), e.GetEventType(), state(d.GetState()), deliveryDetail(d), seen)
		fmt.Fprintf(out, "    event %s, 8x8 time %s\n", idOf(e.GetName()), clock(e.GetOccurTime()))
		tw := newTable(out)
		for _, c := range e.GetHistory() {
			fmt.Fprintf(tw, "    %s\t%s\t%s\n", clock(c.GetTime()), changeName(c.GetType()), changeDetail(c))
		}
		_ = tw.Flush()
		if raw {
			suffix := ""
			if e.GetRawTruncated() {
				suffix = " …(truncated)"
			}
			fmt.Fprintf(out, "    raw %s%s\n", e.GetRaw(), suffix)
		}
	}
}
