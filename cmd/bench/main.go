// Command bench is forkbench's command line: it deploys the sample app
// three ways (embedded, CGI, FastCGI), verifies, measures and reports.
//
//	bench serve   --target embedded|cgi|fcgi   run one deployment in the foreground
//	bench verify                               check all deployments answer identically and to spec
//	bench run     [flags]                      measure; writes results.json and a report
//	bench report  results.json …               redraw tables, charts and report.html
//
// Each subcommand lives in its package; this file only dispatches.
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

	"forkbench/compare"
	"forkbench/fork"
	"forkbench/history"
	"forkbench/reports"
	"forkbench/runner"
	"forkbench/targets/catalog"
	"forkbench/verify"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run one deployment until SIGINT/SIGTERM", catalog.Serve},
		{"verify", "check every deployment answers identically and to spec", verify.Run},
		{"run", "measure the deployments; writes results.json and the report", runner.RunCLI},
		{"loadgen-check", "is the load generator the bottleneck? ours vs wrk, side by side", runner.CheckGenerator},
		{"fork", "where the CGI millisecond goes: spawn-cost decomposition; writes fork.json", fork.Run},
		{"report", "render tables, charts and report.html from results files", reports.Run},
		{"compare", "compare two result files: improved, regressed or no significant change", compare.Run},
		{"calibrate", "measure the machine's noise floor from two runs of the same build", compare.Calibrate},
		{"export", "write a result file in Go benchmark format (for benchstat)", compare.Export},
		{"history", "add runs to the history store, pick a baseline, draw trends", history.Run},
		{"agent", "serve a target's CPU, memory and spawns on this host to a remote `bench run --agent`", agentCmd},
		{"merge", "merge the result files of a sharded run (bench run --shard i/N) into one", mergeCmd},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCodeError lets a subcommand choose its exit status (e.g. compare
// exits 1 on a regression, 2 on bad input).
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
