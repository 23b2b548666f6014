package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"io"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

var deadLettersList = command{
	usage: "[--interaction ID] [--event ID] [--since T]",
	help:  "list the events given up, with why, oldest first",
	flags: func(fs *flag.FlagSet) func(context.Context, *session, io.Writer, []string) error {
		var p pageFlags
		p.register(fs)
		interaction := fs.String("interaction", "", "one interaction's dead letters")
		event := fs.String("event", "", "one event's dead letter")
		since := fs.String("since", "", "dead-lettered since: a duration before now (15m, 2h, 7d) or an RFC 3339 time")
		return func(ctx context.Context, s *session, out io.Writer, _ []string) error {
			start, err := parseWhen(*since, now())
			if err != nil {
				return usageError("--since: %v", err)
			}
			req := &queryv1.ListDeadLettersRequest{Parent: s.parent(), Interaction: *interaction, Event: *event,
				StartTime: start}
			tw := newTable(out)
			fmt.Fprintln(tw, "DEAD-LETTERED\tEVENT\tTYPE\tINTERACTION\tREGAL\tATTEMPTS\tREASON")
			printed := 0
			next, err := listPages(ctx, s, &p, func(ctx context.Context, size int32, token string) ([]*queryv1.DeadLetter, string, error) {
				req.PageSize, req.PageToken = size, token
				resp, err := s.client.ListDeadLetters(ctx, req)
				return resp.GetDeadLetters(), resp.GetNextPageToken(), err
			}, func(d *queryv1.DeadLetter) error {
				printed++
				if s.g.json {
					return printJSON(out, d, true)
				}
				printDeadLetter(tw, d)
				return nil
			})
			if err != nil {
				return err
			}
			if !s.g.json {
				if printed == 0 {
					fmt.Fprintln(out, "no dead letters")
					return nil
				}
				_ = tw.Flush()
				if hint := nextPageHint(next); hint != "" {
					fmt.Fprintln(out, hint)
				}
			}
			return nil
		}
	},
}

func printDeadLetter(w io.Writer, d *queryv1.DeadLetter) {
	e := d.GetEvent()
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", clock(d.GetDeadLetterTime()), short(idOf(e.GetName())), e.GetEventType(),
		idOf(e.GetInteraction()), d.GetRegalStatus(), d.GetAttempts(), d.GetReason())
}
