package ccbcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/status"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the call failed
	exitUsage = 2 // the command line is wrong
)

// command is one "noun verb" of the CLI.
type command struct {
	usage string // arguments and flags, after the command's name
	help  string
	// positional is the number of arguments the command takes.
	positional int
	// flags registers the command's own flags; run runs it.
	flags func(fs *flag.FlagSet) func(ctx context.Context, s *session, out io.Writer, args []string) error
}

var commands = map[string]command{
	"tenants list":      tenantsList,
	"interaction get":   interactionGet,
	"interactions list": interactionsList,
	"event get":         eventGet,
	"events list":       eventsList,
	"events watch":      eventsWatch,
	"deadletters list":  deadLettersList,
	"replay":            replay,
}

// Run runs the CLI with args (without the program name) and returns the
// exit code. env reads the environment.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	name, rest := commandOf(args)
	cmd, ok := commands[name]
	if !ok {
		printUsage(stderr)
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			return exitOK
		}
		return exitUsage
	}
	fs := flag.NewFlagSet("ccb "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var g globals
	g.register(fs, env)
	run := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ccb %s %s\n\n%s\n\nflags:\n", name, cmd.usage, cmd.help)
		fs.PrintDefaults()
	}
	positional, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(positional) != cmd.positional {
		fmt.Fprintf(stderr, "ccb %s takes %d argument(s), got %d\n", name, cmd.positional, len(positional))
		fs.Usage()
		return exitUsage
	}
	s, err := g.connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.close()
	if err := run(ctx, s, stdout, positional); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "ccb %s: %s\n\n", name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
			fs.Usage()
			return exitUsage
		}
		return fail(stderr, err)
	}
	return exitOK
}

// errUsage marks a command line the command cannot run with.
var errUsage = errors.New("usage")

func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
}

// commandOf splits "noun verb rest…" (or "replay rest…").
func commandOf(args []string) (string, []string) {
	if len(args) >= 1 {
		if _, ok := commands[args[0]]; ok {
			return args[0], args[1:]
		}
	}
	if len(args) >= 2 {
		return args[0] + " " + args[1], args[2:]
	}
	return strings.Join(args, " "), nil
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func fail(stderr io.Writer, err error) int {
	if st, ok := status.FromError(err); ok {
		fmt.Fprintf(stderr, "ccb: %s: %s\n", st.Code(), st.Message())
	} else {
		fmt.Fprintf(stderr, "ccb: %v\n", err)
	}
	return exitError
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "ccb: query and operate the 8x8 → Regal bridge")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimSpace("ccb "+n+" "+commands[n].usage), commands[n].help)
	}
	fmt.Fprintln(w, "\nevery command takes --addr (CCB_ADDR), --token (CCB_TOKEN), --tenant (CCB_TENANT), --json;")
	fmt.Fprintln(w, "ccb <command> -h lists its flags.")
}

// now is the clock the time flags are read against (a variable for tests).
var now = time.Now
