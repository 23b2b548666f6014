package ccbcli

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	queryv1 "github.com/ccbridge/bridge/gen/ccbridge/query/v1"
)

// filterFlags are the filter flags of the list and watch commands.
type filterFlags struct {
	phone    string
	campaign int64
	queue    int64
	agent    string
	since    string
	until    string
}

func (f *filterFlags) register(fs *flag.FlagSet, withUntil bool) {
	fs.StringVar(&f.phone, "phone", "", "customer phone, E.164 (+15515550123) or national")
	fs.Int64Var(&f.campaign, "campaign", 0, "8x8 campaign id")
	fs.Int64Var(&f.queue, "queue", 0, "8x8 queue id")
	fs.StringVar(&f.agent, "agent", "", "8x8 agent id")
	fs.StringVar(&f.since, "since", "", "from: a duration before now (15m, 2h, 7d) or an RFC 3339 time")
	if withUntil {
		fs.StringVar(&f.until, "until", "", "to (exclusive): a duration before now or an RFC 3339 time")
	}
}

func (f *filterFlags) filter() (*queryv1.Filter, error) {
	t := now()
	start, err := parseWhen(f.since, t)
	if err != nil {
		return nil, usageError("--since: %v", err)
	}
	end, err := parseWhen(f.until, t)
	if err != nil {
		return nil, usageError("--until: %v", err)
	}
	return &queryv1.Filter{PhoneNumber: f.phone, CampaignId: f.campaign, QueueId: f.queue, AgentId: f.agent,
		StartTime: start, EndTime: end}, nil
}

// pageFlags bound how much a list command prints.
type pageFlags struct {
	limit     int
	pageToken string
}

func (p *pageFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&p.limit, "limit", 50, "print at most this many (0: all)")
	fs.StringVar(&p.pageToken, "page-token", "", "continue a previous listing")
}

// pageSize is the page to ask for given what is left to print.
func (p *pageFlags) pageSize(printed int) int32 {
	if p.limit <= 0 {
		return 1000
	}
	return int32(min(p.limit-printed, 1000))
}

func (p *pageFlags) done(printed int) bool { return p.limit > 0 && printed >= p.limit }

// listPages asks fetch for page after page, starting at p's page token,
// and hands every item to each, until the last page or p's limit. It
// returns the token of the page after the last one fetched ("" at the end).
func listPages[T any](ctx context.Context, s *session, p *pageFlags,
	fetch func(ctx context.Context, size int32, token string) (items []T, next string, err error),
	each func(T) error) (string, error) {
	token, printed := p.pageToken, 0
	for {
		cctx, cancel := s.callCtx(ctx)
		items, next, err := fetch(cctx, p.pageSize(printed), token)
		cancel()
		if err != nil {
			return "", err
		}
		for _, it := range items {
			printed++
			if err := each(it); err != nil {
				return "", err
			}
		}
		token = next
		if token == "" || p.done(printed) {
			return token, nil
		}
	}
}

// enumFlag reads a lower-case enum value name (without its prefix).
func enumFlag(value, prefix string, values map[string]int32) (int32, error) {
	if value == "" {
		return 0, nil
	}
	n, ok := values[prefix+strings.ToUpper(strings.ReplaceAll(value, "-", "_"))]
	if !ok || n == 0 {
		var names []string
		for name, v := range values {
			if v != 0 {
				names = append(names, strings.ToLower(strings.TrimPrefix(name, prefix)))
			}
		}
		slices.Sort(names)
		return 0, usageError("%q is not one of %s", value, strings.Join(names, ", "))
	}
	return n, nil
}

func idOf(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// nextPageHint tells how to continue a listing cut by --limit.
func nextPageHint(token string) string {
	if token == "" {
		return ""
	}
	return fmt.Sprintf("more: repeat with --page-token %s", token)
}
