package query

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// invalid is an INVALID_ARGUMENT status naming what is wrong with the
// request; msg must not contain request values that could be personal
// data (phone numbers).
func invalid(msg string) error { return status.Error(codes.InvalidArgument, msg) }

func notFound(what string) error { return status.Error(codes.NotFound, what+" not found") }

// storeError turns a store failure into a status without its detail, which
// is logged instead.
func storeError(ctx context.Context, logger *slog.Logger, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err).Err()
	}
	logger.Error("query failed", "op", op, "err", err)
	return status.Error(codes.Unavailable, "the event store did not answer; try again")
}
