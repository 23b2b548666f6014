package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var interactionsList = command{
	usage: "[--phone P] [--campaign N] [--queue N] [--agent A] [--since T] [--until T] [--status dead|unsettled] [-q]",
	help:  "list interactions, most recently updated first",
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		var f filterFlags
		var p pageFlags
		f.register(fs, true)
		p.register(fs)
		statusFlag := fs.String("status", "", "dead (has dead letters) or unsettled (has events not settled)")
		quiet := fs.Bool("q", false, "print only the interaction ids")
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			filter, err := f.filter()
			if err != nil {
				return err
			}
			req := &queryv1.ListInteractionsRequest{Parent: s.parent(), Filter: filter}
			switch *statusFlag {
			case "":
			case "dead", "dead_letters", "has_dead_letters":
				req.Status = queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_DEAD_LETTERS
			case "unsettled", "has_unsettled":
				req.Status = queryv1.InteractionStatusFilter_INTERACTION_STATUS_FILTER_HAS_UNSETTLED
			default:
				return usageError("--status is dead or unsettled")
			}
			tw := newTable(out)
			if !s.g.json && !*quiet {
				fmt.Fprintln(tw, "UPDATED\tINTERACTION\tPHONE\tCAMPAIGN\tQUEUE\tAGENTS\tEVENTS")
			}
			next, err := listPages(ctx, s, &p, func(ctx context.Context, size int32, token string) ([]*queryv1.Interaction, string, error) {
				req.PageSize, req.PageToken = size, token
				resp, err := s.client.ListInteractions(ctx, req)
				return resp.GetInteractions(), resp.GetNextPageToken(), err
			}, func(in *queryv1.Interaction) error {
				if s.g.json {
					return printJSON(out, in, true)
				}
				if *quiet {
					fmt.Fprintln(out, in.GetInteractionId())
					return nil
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clock(in.GetUpdateTime()), in.GetInteractionId(),
					orDash(in.GetPhoneNumber()), idOrDash(in.GetCampaignId()), idOrDash(in.GetQueueId()),
					orDash(strings.Join(in.GetAgentIds(), ",")), countsLine(in.GetCounts()))
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
