// Command ccb is the bridge's operator CLI: it asks the collector's
// QueryService what happened to interactions and events, follows them
// live, and replays dead letters. `ccb help` lists the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ccbridge/bridge/internal/ccbcli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := ccbcli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
