// Package eventstore is the collector's durable hand-off in Redis: it
// deduplicates 8x8 events and keeps every new one until a dispatcher has
// settled it (delivered, skipped or dead-lettered).
//
// The store owns the durable state; the collector's scheduler owns the
// in-memory view of what is being delivered. Every method is safe for
// concurrent use.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"

	eventv1 "github.com/ccbridge/bridge/gen/ccbridge/event/v1"
)

// Verdict is the dedup decision for one event.
type Verdict int

const (
	// VerdictNew: first sighting; the event is now stored for delivery.
	VerdictNew Verdict = iota + 1
	// VerdictDuplicatePending: seen before and still waiting for delivery. A caller
	// that does not know Ref yet (its earlier Admit outcome was lost) must
	// schedule it; otherwise it is a plain duplicate.
	VerdictDuplicatePending
	// VerdictDuplicate: seen before and already settled.
	VerdictDuplicate
)

func (v Verdict) String() string {
	switch v {
	case VerdictNew:
		return "new"
	case VerdictDuplicatePending:
		return "duplicate_pending"
	case VerdictDuplicate:
		return "duplicate"
	}
	return "unknown"
}

// Ref names one stored event.
type Ref struct {
	Tenant    string
	Partition int
	ID        string // Redis stream entry id
}

func (r Ref) String() string { return r.Tenant + "/" + strconv.Itoa(r.Partition) + "/" + r.ID }

// Entry is a stored event waiting for settlement.
type Entry struct {
	Ref     Ref
	Event   *eventv1.Event
	Payload []byte // the encoded event, as stored
}

// Admission is the outcome of admitting one event.
type Admission struct {
	Verdict Verdict
	Entry   Entry
}

// DeadLetter says why an event could not be delivered.
type DeadLetter struct {
	Reason   string
	Attempts int
	Status   int // last Regal HTTP status, 0 if none
	At       time.Time
	// Hold parks the event (policy hold): it stays in the delivery stream
	// at its place and holds its interaction (order key) until the dead
	// letter is replayed or dropped. Without Hold the event leaves the
	// delivery stream and its interaction goes on.
	Hold bool
}

// Settlement ends the delivery of one entry: it is removed from the delivery
// stream, and moved to the dead letters when Dead is set.
type Settlement struct {
	Entry Entry
	Dead  *DeadLetter
}

// Store is the Redis event store.
type Store struct {
	rdb redis.UniversalClient
	cfg Config

	// token, when set, fences the writes (WithFencing).
	token        func(tenant string) (uint64, bool)
	onFenced     func(tenant string)
	meter        metric.Meter
	fencedWrites metric.Int64Counter
}

// New returns a store over rdb. The caller owns rdb and closes it.
func New(rdb redis.UniversalClient, cfg Config, opts ...Option) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("eventstore config: %w", err)
	}
	s := &Store{rdb: rdb, cfg: cfg}
	for _, opt := range opts {
		opt(s)
	}
	if s.meter != nil {
		var err error
		if s.fencedWrites, err = s.meter.Int64Counter("ccb.collector.fenced_writes",
			metric.WithDescription("Writes of a tenant's delivery state refused because this collector no longer holds the tenant's lease (another took it over, or it ran out).")); err != nil {
			return nil, fmt.Errorf("eventstore metrics: %w", err)
		}
	}
	return s, nil
}

// Partitions is the number of partitions per tenant.
func (s *Store) Partitions() int { return s.cfg.Partitions }

// Admit deduplicates and stores a batch of events in one round trip. The
// result has one Admission per event, in order. It is idempotent: when it
// returns an error the outcome of each event is unknown, and calling it again
// with the same events is the way to learn it.
func (s *Store) Admit(ctx context.Context, events []*eventv1.Event) ([]Admission, error) {
	out := make([]Admission, len(events))
	traceTTL := strconv.FormatInt(int64(s.cfg.TraceTTL/time.Second), 10)
	// One script call per (tenant, partition), its events in batch order,
	// so stream ids still grow in batch order within each partition.
	type group struct {
		ref  Ref
		idx  []int
		keys []string
		args []any
	}
	var groups []*group
	byRef := map[Ref]*group{}
	tokens := map[string]string{}
	for _, ev := range events {
		if _, ok := tokens[ev.GetTenant()]; !ok {
			tok, err := s.fenceToken(ev.GetTenant())
			if err != nil {
				return nil, fmt.Errorf("admit %d events: %w", len(events), err)
			}
			tokens[ev.GetTenant()] = tok
		}
	}
	for i, ev := range events {
		payload, err := proto.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		ref := Ref{Tenant: ev.GetTenant(), Partition: s.partitionOf(ev.GetOrderKey())}
		out[i].Entry = Entry{Ref: ref, Event: ev, Payload: payload}
		g := byRef[ref]
		if g == nil {
			g = &group{ref: ref, keys: []string{s.eventsKey(ref.Tenant, ref.Partition)}, args: []any{traceTTL}}
			byRef[ref] = g
			groups = append(groups, g)
		}
		traceparent := ""
		if ev.GetInteractionId() != "" {
			traceparent = ev.GetTraceContext()["traceparent"]
		}
		g.idx = append(g.idx, i)
		g.keys = append(g.keys, s.seenKey(ref.Tenant, ref.Partition, ev.GetDedupKey()),
			s.traceKey(ref.Tenant, ref.Partition, ev.GetInteractionId()))
		g.args = append(g.args, payload, traceparent)
	}
	for _, g := range groups {
		g.keys = append(g.keys, s.fenceKey(g.ref.Tenant, g.ref.Partition))
		g.args = append(g.args, tokens[g.ref.Tenant])
	}
	cmds, err := s.runScripts(ctx, admitScript, len(groups), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
		return pipe.EvalSha(ctx, sha, groups[i].keys, groups[i].args...)
	})
	if err := s.fencedOutcome(cmds, func(i int) string { return groups[i].ref.Tenant }, err); err != nil {
		return nil, fmt.Errorf("admit %d events: %w", len(events), err)
	}
	for gi, c := range cmds {
		g := groups[gi]
		res, err := c.Slice()
		if err != nil || len(res) != 2*len(g.idx) {
			return nil, fmt.Errorf("admit: unexpected reply %v: %w", res, err)
		}
		for j, i := range g.idx {
			code, _ := res[2*j].(int64)
			id, _ := res[2*j+1].(string)
			out[i].Entry.Ref.ID = id
			switch code {
			case 1:
				out[i].Verdict = VerdictNew
			case 2:
				out[i].Verdict = VerdictDuplicatePending
			default:
				out[i].Verdict = VerdictDuplicate
			}
		}
	}
	return out, nil
}

// InteractionTraces returns the stored traceparent of each interaction that
// has one, in one round trip.
func (s *Store) InteractionTraces(ctx context.Context, tenant string, interactionIDs []string) (map[string]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(interactionIDs))
	for i, id := range interactionIDs {
		cmds[i] = pipe.Get(ctx, s.traceKey(tenant, s.partitionOf(id), id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read interaction traces: %w", err)
	}
	out := make(map[string]string, len(interactionIDs))
	for i, c := range cmds {
		if v, err := c.Result(); err == nil {
			out[interactionIDs[i]] = v
		}
	}
	return out, nil
}

// Settle removes settled entries from the delivery streams in one round
// trip, moving those with a DeadLetter to the dead letters, and starts
// each one's dedup window: its dedup key, kept without a TTL while the
// event was pending, now expires DedupTTL after this settlement. It is
// idempotent: settling an entry twice has no further effect (but to
// restart its dedup window).
//
// With fencing, the settlements of tenants whose lease this collector no
// longer holds are refused (the others are made), and the error is a
// *FencedError naming those tenants.
func (s *Store) Settle(ctx context.Context, settlements []Settlement) error {
	ttl := strconv.FormatInt(s.cfg.DedupTTL.Milliseconds(), 10)
	var dead []Settlement
	// One script call per (tenant, partition), as Admit does.
	type group struct {
		tenant string
		keys   []string
		args   []any
	}
	var groups []*group
	byRef := map[Ref]*group{}
	tokens := map[string]string{}
	var errs []error
	var refused []string // tenants refused locally
	for _, st := range settlements {
		t := st.Entry.Ref.Tenant
		if _, ok := tokens[t]; !ok && !slices.Contains(refused, t) {
			tok, err := s.fenceToken(t)
			if err != nil {
				refused = append(refused, t)
				errs = append(errs, err)
			} else {
				tokens[t] = tok
			}
		}
	}
	for _, st := range settlements {
		if slices.Contains(refused, st.Entry.Ref.Tenant) {
			continue
		}
		if st.Dead != nil {
			dead = append(dead, st)
			continue
		}
		r := st.Entry.Ref
		pk := Ref{Tenant: r.Tenant, Partition: r.Partition}
		g := byRef[pk]
		if g == nil {
			g = &group{tenant: r.Tenant, keys: []string{s.eventsKey(r.Tenant, r.Partition)}, args: []any{ttl}}
			byRef[pk] = g
			groups = append(groups, g)
		}
		g.keys = append(g.keys, s.seenKey(r.Tenant, r.Partition, st.Entry.Event.GetDedupKey()))
		g.args = append(g.args, r.ID)
	}
	if len(groups) > 0 {
		for pk, g := range byRef {
			g.keys = append(g.keys, s.fenceKey(pk.Tenant, pk.Partition))
			g.args = append(g.args, tokens[pk.Tenant])
		}
		cmds, err := s.runScripts(ctx, settleScript, len(groups), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
			return pipe.EvalSha(ctx, sha, groups[i].keys, groups[i].args...)
		})
		if err := s.fencedOutcome(cmds, func(i int) string { return groups[i].tenant }, err); err != nil {
			errs = append(errs, fmt.Errorf("settle %d entries: %w", len(settlements)-len(dead), err))
		}
	}
	if len(dead) == 0 {
		return joinFenced(errs)
	}
	// Both scripts run in one pipeline each; a settlement batch rarely has
	// dead letters of both kinds.
	for _, hold := range []bool{false, true} {
		var group []Settlement
		for _, st := range dead {
			if st.Dead.Hold == hold {
				group = append(group, st)
			}
		}
		if len(group) == 0 {
			continue
		}
		script := deadLetterScript
		if hold {
			script = parkScript
		}
		cmds, err := s.runScripts(ctx, script, len(group), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
			st := group[i]
			r := st.Entry.Ref
			keys := []string{s.eventsKey(r.Tenant, r.Partition), s.deadKey(r.Tenant, r.Partition), s.heldKey(r.Tenant, r.Partition),
				s.seenKey(r.Tenant, r.Partition, st.Entry.Event.GetDedupKey()), s.fenceKey(r.Tenant, r.Partition)}
			return pipe.EvalSha(ctx, sha, keys, r.ID, st.Entry.Payload, st.Dead.Reason,
				st.Dead.Attempts, st.Dead.At.UnixMilli(), st.Dead.Status, st.Entry.Event.GetOrderKey(), ttl, tokens[r.Tenant])
		})
		if err := s.fencedOutcome(cmds, func(i int) string { return group[i].Entry.Ref.Tenant }, err); err != nil {
			errs = append(errs, fmt.Errorf("dead-letter %d entries: %w", len(group), err))
		}
	}
	return joinFenced(errs)
}

// joinFenced returns the errors of a write: a single *FencedError naming
// every refused tenant when all of them are refusals, else them all.
func joinFenced(errs []error) error {
	var tenants []string
	for _, err := range errs {
		var fe *FencedError
		// A refusal joined with another failure (fencedOutcome) reads
		// on several lines: the whole write is then reported as failed.
		if !errors.As(err, &fe) || strings.Contains(err.Error(), "\n") {
			return errors.Join(errs...)
		}
		for _, t := range fe.Tenants {
			if !slices.Contains(tenants, t) {
				tenants = append(tenants, t)
			}
		}
	}
	if len(tenants) == 0 {
		return nil
	}
	return &FencedError{Tenants: tenants}
}

// Unsettled returns up to count entries of one partition stream with ids
// greater than after ("" for the start), oldest first: the events a
// restarted collector must deliver again.
func (s *Store) Unsettled(ctx context.Context, tenant string, partition int, after string, count int64) ([]Entry, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, s.eventsKey(tenant, partition), start, "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("read unsettled events: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		payload, _ := m.Values["e"].(string)
		ev := &eventv1.Event{}
		if err := proto.Unmarshal([]byte(payload), ev); err != nil {
			return nil, fmt.Errorf("decode stored event %s: %w", m.ID, err)
		}
		out = append(out, Entry{Ref: Ref{Tenant: tenant, Partition: partition, ID: m.ID}, Event: ev, Payload: []byte(payload)})
	}
	return out, nil
}

// DeadLetterCount is the number of dead letters of a tenant.
func (s *Store) DeadLetterCount(ctx context.Context, tenant string) (int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, s.cfg.Partitions)
	for p := range cmds {
		cmds[p] = pipe.XLen(ctx, s.deadKey(tenant, p))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// KeepMalformed stores a frame that could not be decoded in the tenant's
// capped stream of malformed frames, for inspection: its first
// MalformedMaxBytes bytes, its full size (m.Size, or the length of m.Frame
// when 0), the reason (cut to 256 bytes) and the time. The stream keeps the
// latest MalformedMaxLen frames, so it never takes more than
// MalformedBound bytes, whatever arrives.
func (s *Store) KeepMalformed(ctx context.Context, tenant string, m Malformed) error {
	size := m.Size
	if size == 0 {
		size = len(m.Frame)
	}
	tok, err := s.fenceToken(tenant)
	if err != nil {
		return fmt.Errorf("keep malformed frame: %w", err)
	}
	cmds, err := s.runScripts(ctx, malformedScript, 1, func(pipe redis.Pipeliner, sha string, _ int) *redis.Cmd {
		return pipe.EvalSha(ctx, sha, []string{s.malformedKey(tenant), s.malformedFenceKey(tenant)}, s.cfg.MalformedMaxLen,
			"frame", m.Frame[:min(len(m.Frame), s.cfg.MalformedMaxBytes)], "size", size,
			"reason", m.Reason[:min(len(m.Reason), malformedReasonBytes)], "at", m.At.UnixMilli(), tok)
	})
	if err := s.fencedOutcome(cmds, func(int) string { return tenant }, err); err != nil {
		return fmt.Errorf("keep malformed frame: %w", err)
	}
	return nil
}

// Malformed is one malformed frame.
type Malformed struct {
	// Frame is the frame, or as kept, its first MalformedMaxBytes bytes.
	Frame []byte
	// Size is the frame's full size in bytes.
	Size   int
	Reason string
	At     time.Time
}

// RecentMalformed returns up to count most recent malformed frames of a
// tenant, newest first.
func (s *Store) RecentMalformed(ctx context.Context, tenant string, count int64) ([]Malformed, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.malformedKey(tenant), "+", "-", count).Result()
	if err != nil {
		return nil, fmt.Errorf("read malformed frames: %w", err)
	}
	out := make([]Malformed, 0, len(msgs))
	for _, m := range msgs {
		frame, _ := m.Values["frame"].(string)
		reason, _ := m.Values["reason"].(string)
		ms, _ := strconv.ParseInt(fmt.Sprint(m.Values["at"]), 10, 64)
		size, err := strconv.Atoi(fmt.Sprint(m.Values["size"]))
		if err != nil { // kept before sizes were
			size = len(frame)
		}
		out = append(out, Malformed{Frame: []byte(frame), Size: size, Reason: reason, At: time.UnixMilli(ms)})
	}
	return out, nil
}

// runScripts sends n invocations of script in one pipeline. When Redis has
// lost its script cache (a restart, or a Redis Cluster replica promoted to
// primary) or never had the script, it loads the script and sends again
// the invocations that were refused for it, and only those: on a cluster
// one node may lack the script while the others ran theirs, and running
// an admission twice would turn its verdict new into duplicate pending.
// On an error the commands are returned too: each says whether it ran.
func (s *Store) runScripts(ctx context.Context, script *redis.Script, n int, add func(redis.Pipeliner, string, int) *redis.Cmd) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, n)
	todo := make([]int, n) // indexes of the invocations to send
	for i := range todo {
		todo[i] = i
	}
	var failed error // a failure other than the missing script, which stands
	for try := 0; ; try++ {
		pipe := s.rdb.Pipeline()
		for _, i := range todo {
			cmds[i] = add(pipe, script.Hash(), i)
		}
		_, err := pipe.Exec(ctx)
		if err == nil || errors.Is(err, redis.Nil) {
			// A nil reply is a script's answer ("nothing to do"), read per
			// command by the caller.
			return cmds, failed
		}
		var noScript []int
		for _, i := range todo {
			if e := cmds[i].Err(); isNoScript(e) {
				noScript = append(noScript, i)
			} else if e != nil && !errors.Is(e, redis.Nil) && failed == nil {
				failed = e
			}
		}
		if try > 0 || len(noScript) == 0 {
			return cmds, err
		}
		if err := script.Load(ctx, s.rdb).Err(); err != nil {
			return nil, fmt.Errorf("load script: %w", err)
		}
		todo = noScript
	}
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// CheckServer returns warnings about Redis settings that put the guarantees
// at risk: without persistence a Redis restart loses admitted events and
// dedup keys; with eviction, Redis may drop them under memory pressure.
func (s *Store) CheckServer(ctx context.Context) []string {
	var warns []string
	get := func(name string) (string, bool) {
		v, err := s.rdb.ConfigGet(ctx, name).Result()
		if err != nil {
			warns = append(warns, fmt.Sprintf("cannot read Redis setting %s (%v): check it by hand", name, err))
			return "", false
		}
		val, ok := v[name]
		return val, ok
	}
	if v, ok := get("appendonly"); ok && v != "yes" {
		warns = append(warns, "Redis appendonly is "+v+": a Redis restart can lose admitted events; set appendonly yes (appendfsync always for no loss window)")
	}
	if v, ok := get("appendfsync"); ok && v != "always" {
		if a, _ := get("appendonly"); a == "yes" {
			warns = append(warns, "Redis appendfsync is "+v+": a Redis crash can lose up to a second of admitted events; set appendfsync always")
		}
	}
	if v, ok := get("maxmemory-policy"); ok && v != "noeviction" {
		warns = append(warns, "Redis maxmemory-policy is "+v+": Redis may evict dedup keys and pending events; set noeviction")
	}
	return warns
}

// ErrNoRedis is returned by Ping when Redis does not answer.
var ErrNoRedis = errors.New("redis does not answer")

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoRedis, err)
	}
	return nil
}
