package eventstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Fencing. A collector writes a tenant's delivery state only while it holds
// the tenant's lease, and each acquisition of a lease has a token greater
// than every earlier one. The fence of each slot the tenant's keys live in
// ({<tenant>:<p>} per partition, {<tenant>} for the malformed frames)
// holds the highest token a holder raised it to:
//
//	<prefix>:{<tenant>:<p>}:fence  the highest token seen (string)
//	<prefix>:{<tenant>}:fence
//
// A new holder raises every fence to its token (RaiseFence) before it reads
// or writes anything of the tenant; every write script then refuses a
// caller whose token is below the fence (fenceLua). A collector paused past
// its lease's TTL, whose tenant another took over meanwhile, so cannot
// write once it resumes.

// ErrFenced is the refusal of a write by a collector that does not hold the
// tenant's lease any more: another collector took the tenant over (its
// token is newer), or the lease is not held locally. Errors of fenced
// writes are *FencedError and match ErrFenced with errors.Is.
var ErrFenced = errors.New("fenced: this collector no longer holds the tenant's lease")

// FencedError names the tenants whose writes were refused.
type FencedError struct {
	Tenants []string
}

// Error implements error.
func (e *FencedError) Error() string {
	return fmt.Sprintf("%v (tenants %s)", ErrFenced, strings.Join(e.Tenants, ", "))
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// Option configures a Store.
type Option func(*Store)

// WithFencing makes every write of a tenant carry the token that token
// returns for it (the lease's fencing token, see lease.Manager.Token): a
// write whose token is below the fence is refused by Redis, and one for a
// tenant whose lease is not held (token returns false) is refused without
// reaching Redis. Without it, writes are not fenced (tests and tools that
// hold no lease).
func WithFencing(token func(tenant string) (uint64, bool)) Option {
	return func(s *Store) { s.token = token }
}

// WithOnFenced calls f after each refused write of a tenant (possibly
// often, from any goroutine): the caller must stop serving the tenant.
func WithOnFenced(f func(tenant string)) Option { return func(s *Store) { s.onFenced = f } }

// WithMeter counts the refused writes in ccb.collector.fenced_writes
// {tenant} on meter.
func WithMeter(meter metric.Meter) Option { return func(s *Store) { s.meter = meter } }

func (s *Store) fenceKey(tenant string, partition int) string {
	return s.tag(tenant, partition) + "fence"
}

func (s *Store) malformedFenceKey(tenant string) string {
	return s.cfg.KeyPrefix + ":{" + tenant + "}:fence"
}

// fenceToken is the token argument of the tenant's write scripts: "" when
// the store does not fence. It fails with a *FencedError, and counts the
// refusal, when the tenant's lease is not held.
func (s *Store) fenceToken(tenant string) (string, error) {
	if s.token == nil {
		return "", nil
	}
	t, ok := s.token(tenant)
	if !ok {
		return "", s.refused([]string{tenant})
	}
	return strconv.FormatUint(t, 10), nil
}

// refused counts and reports refused writes of tenants and returns their
// error.
func (s *Store) refused(tenants []string) error {
	for _, t := range tenants {
		if s.fencedWrites != nil {
			s.fencedWrites.Add(context.Background(), 1, metric.WithAttributes(attribute.String("tenant", t)))
		}
		if s.onFenced != nil {
			s.onFenced(t)
		}
	}
	return &FencedError{Tenants: tenants}
}

func isFenced(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "FENCED")
}

// fencedOutcome sorts out the replies of a pipeline of write scripts whose
// command i wrote for tenant(i): the scripts Redis refused are reported
// (refused) and their tenants returned as a *FencedError; any other
// failure is returned with it (errors.Join). err is runScripts's.
func (s *Store) fencedOutcome(cmds []*redis.Cmd, tenant func(i int) string, err error) error {
	if err == nil {
		return nil
	}
	var fenced []string
	other := false
	for i, c := range cmds {
		switch cerr := c.Err(); {
		case isFenced(cerr):
			if t := tenant(i); !slices.Contains(fenced, t) {
				fenced = append(fenced, t)
			}
		case cerr != nil && !errors.Is(cerr, redis.Nil):
			other = true
		}
	}
	if len(fenced) == 0 {
		return err
	}
	ferr := s.refused(fenced)
	if other || len(cmds) == 0 {
		return errors.Join(err, ferr)
	}
	return ferr
}

// RaiseFence raises every fence of the tenant to token, the token of the
// lease just acquired, never lowering one: from then on writes with an
// older token are refused. A new holder calls it before it reads or writes
// anything of the tenant. It fails with a *FencedError when a fence is
// above token already (a newer holder exists); it is idempotent.
func (s *Store) RaiseFence(ctx context.Context, tenant string, token uint64) error {
	keys := make([]string, 0, s.cfg.Partitions+1)
	for p := range s.cfg.Partitions {
		keys = append(keys, s.fenceKey(tenant, p))
	}
	keys = append(keys, s.malformedFenceKey(tenant))
	cmds, err := s.runScripts(ctx, raiseFenceScript, len(keys), func(pipe redis.Pipeliner, sha string, i int) *redis.Cmd {
		return pipe.EvalSha(ctx, sha, []string{keys[i]}, token)
	})
	if err != nil {
		return fmt.Errorf("raise the fences of tenant %s: %w", tenant, err)
	}
	for _, c := range cmds {
		if fence, err := c.Uint64(); err != nil || fence > token {
			return fmt.Errorf("raise the fences of tenant %s to %d: fence %d: %w", tenant, token, fence, &FencedError{Tenants: []string{tenant}})
		}
	}
	return nil
}

// Fence returns the fence of one partition of the tenant (0 when never
// raised), for tests and operations.
func (s *Store) Fence(ctx context.Context, tenant string, partition int) (uint64, error) {
	v, err := s.rdb.Get(ctx, s.fenceKey(tenant, partition)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}
