// Command bench is forkbench's command line: it deploys the sample app
// three ways (embedded, CGI, FastCGI), verifies, measures and reports.
//
//	bench serve   --target embedded|cgi|fcgi   run one deployment in the foreground
//	bench verify                               check all deployments answer identically and to spec
//	bench run     [flags]                      measure; writes results.json and a report
//	bench report  results.json …               redraw tables, charts and report.html
//
// Every command lives in a file of its own here (serve.go, run.go, …):
// flags, printing and exit statuses are this package's, and the library
// packages it calls take typed configuration and return data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run one deployment until SIGINT/SIGTERM", flagged("bench serve", serve)},
		{"verify", "check every deployment answers identically and to spec", flagged("bench verify", verifyCmd)},
		{"run", "measure the deployments; writes results.json and the report", flagged("bench run", runCmd)},
		{"loadgen-check", "is the load generator the bottleneck? ours vs wrk, side by side", flagged("bench loadgen-check", loadgenCheck)},
		{"fork", "where the CGI millisecond goes: spawn-cost decomposition; writes fork.json", flagged("bench fork", runFork)},
		{"report", "render tables, charts and report.html from results files", flagged("bench report", reportCmd)},
		{"compare", "compare two result files: improved, regressed or no significant change", flagged("bench compare", compareCmd)},
		{"ab", "build two revisions and compare them in one sitting (A B B A …): paired ratios, MDE", flagged("bench ab", abCmd)},
		{"calibrate", "measure the machine's noise floor from two runs of the same build", flagged("bench calibrate", calibrateCmd)},
		{"export", "write a result file in Go benchmark format (for benchstat)", flagged("bench export", exportCmd)},
		{"history", "add runs to the history store, pick a baseline, draw trends", historyCmd},
		{"agent", "serve a target's CPU, memory and spawns on this host to a remote `bench run --agent`", flagged("bench agent", agentCmd)},
		{"merge", "merge the result files of a sharded run (bench run --shard i/N) into one", flagged("bench merge", mergeCmd)},
	}
}

// flagged gives a command its flag set, named after it and reporting
// errors to stderr: the one place commands' flag sets are made.
func flagged(name string, run func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error) func(context.Context, []string, io.Writer, io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, newFlagSet(name, stderr), args, stdout, stderr)
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries the exit status a command asks for: compare exits 1
// on a regression and 2 on bad input, history baseline 3 when there is
// none.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// Unwrap returns the cause, so errors.Is finds the packages' sentinels.
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process's exit status.
func (e *exitError) ExitCode() int { return e.code }

// exitCodeError is any error that chooses its exit status (fork's too).
type exitCodeError interface{ ExitCode() int }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ec exitCodeError
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "bench:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "bench:", err)
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bench COMMAND [flags]  (bench COMMAND -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
}
