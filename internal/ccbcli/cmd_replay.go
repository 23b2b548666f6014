package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var replay = command{
	usage: "(--event ID | --interaction ID | --since T) [--dry-run]",
	help:  "send dead letters to Regal again, after Regal or a key is fixed; --dry-run says what would be sent",
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		event := fs.String("event", "", "replay one event")
		interaction := fs.String("interaction", "", "replay an interaction's dead letters")
		since := fs.String("since", "", "replay every dead letter since: a duration before now (2h, 7d) or an RFC 3339 time")
		dryRun := fs.Bool("dry-run", false, "only say what would be replayed")
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			req := &queryv1.ReplayDeadLettersRequest{Parent: s.parent(), ValidateOnly: *dryRun}
			chosen := 0
			if *event != "" {
				req.Selector, chosen = &queryv1.ReplayDeadLettersRequest_Event{Event: *event}, chosen+1
			}
			if *interaction != "" {
				req.Selector, chosen = &queryv1.ReplayDeadLettersRequest_Interaction{Interaction: *interaction}, chosen+1
			}
			if *since != "" {
				start, err := parseWhen(*since, now())
				if err != nil {
					return usageError("--since: %v", err)
				}
				req.Selector, chosen = &queryv1.ReplayDeadLettersRequest_StartTime{StartTime: start}, chosen+1
			}
			if chosen != 1 {
				return usageError("give exactly one of --event, --interaction, --since")
			}
			cctx, cancel := s.callCtx(ctx)
			defer cancel()
			resp, err := s.client.ReplayDeadLetters(cctx, req)
			if err != nil {
				return err
			}
			if s.g.json {
				return printJSON(out, resp, false)
			}
			if resp.GetValidateOnly() {
				fmt.Fprintf(out, "dry run: %d dead letter(s) would be replayed\n", resp.GetMatchedCount())
			} else {
				fmt.Fprintf(out, "replayed %d of %d matched dead letter(s)\n", resp.GetReplayedCount(), resp.GetMatchedCount())
			}
			tw := newTable(out)
			if len(resp.GetDeadLetters()) > 0 {
				fmt.Fprintln(tw, "DEAD-LETTERED\tEVENT\tTYPE\tINTERACTION\tREGAL\tATTEMPTS\tREASON")
			}
			for _, d := range resp.GetDeadLetters() {
				printDeadLetter(tw, d)
			}
			return tw.Flush()
		}
	},
}
