package history

// This file is the command line: `bench history add|trend|baseline`.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"forkbench/compare"
	"forkbench/results"
)

// Exit statuses are carried by compare.ExitError: 2 for bad input, and
// ExitNoBaseline when there is no baseline, so that a script tells "first
// night" from a failure.

// ExitNoBaseline is the exit status of `bench history baseline` when no
// run qualifies.
const ExitNoBaseline = 3

// Run implements `bench history add|trend|baseline`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: bench history add results.json | trend | baseline  [--store DIR]")
		return &compare.ExitError{Code: 2, Err: errors.New("history: want a subcommand: add, trend or baseline")}
	}
	switch args[0] {
	case "add":
		return add(ctx, args[1:], stdout, stderr)
	case "trend":
		return trendCmd(args[1:], stdout, stderr)
	case "baseline":
		return baseline(args[1:], stdout, stderr)
	}
	return &compare.ExitError{Code: 2, Err: fmt.Errorf("history: unknown subcommand %q (add, trend, baseline)", args[0])}
}

func flags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("bench history "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("store", DefaultStore, "history store `directory`")
}

func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &compare.ExitError{Code: 2, Err: fmt.Errorf("history: %w", err)}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func add(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, store := flags("add", stderr)
	branch := fs.String("branch", "", "branch the run was made on (default $GITHUB_REF_NAME or git's current branch)")
	regressed := fs.Bool("regressed", false, "mark the run as a regression: kept in the trend, never a baseline")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &compare.ExitError{Code: 2, Err: fmt.Errorf("history: add: want one result file, got %d", len(pos))}
	}
	f, err := results.Read(pos[0])
	if err != nil {
		return &compare.ExitError{Code: 2, Err: fmt.Errorf("history: %w", err)}
	}
	if *branch == "" {
		*branch = currentBranch(ctx)
	}
	e, err := Store{*store}.Add(f, *branch, *regressed, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "added %s (commit %s, branch %s)\n", filepath.Join(*store, e.File), short(e.Commit), orDash(e.Branch))
	return err
}

// currentBranch is $GITHUB_REF_NAME in GitHub Actions, else git's
// current branch, else "".
func currentBranch(ctx context.Context) string {
	if b := os.Getenv("GITHUB_REF_NAME"); b != "" {
		return b
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--abbrev-ref", "HEAD").Output()
	if err != nil {
		return ""
	}
	if b := strings.TrimSpace(string(out)); b != "HEAD" {
		return b
	}
	return ""
}

func baseline(args []string, stdout, stderr io.Writer) error {
	fs, store := flags("baseline", stderr)
	branch := fs.String("branch", "main", "choose among runs on this branch (\"\" for any)")
	pin := fs.String("pin", "", "choose the latest run of this commit (prefix) instead")
	like := fs.String("like", "", "choose among runs comparable with this result file (same machine and settings)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := Query{Branch: *branch, Pin: *pin}
	if *like != "" {
		f, err := results.Read(*like)
		if err != nil {
			return &compare.ExitError{Code: 2, Err: fmt.Errorf("history: %w", err)}
		}
		q.Like = f
	}
	s := Store{*store}
	e, err := s.Baseline(q)
	if errors.Is(err, ErrNoBaseline) {
		return &compare.ExitError{Code: ExitNoBaseline, Err: err}
	}
	if err != nil {
		return &compare.ExitError{Code: 2, Err: err}
	}
	_, err = fmt.Fprintln(stdout, s.Path(e))
	return err
}

func trendCmd(args []string, stdout, stderr io.Writer) error {
	fs, store := flags("trend", stderr)
	out := fs.String("out", "", "output `directory` (default STORE/trend)")
	mets := fs.String("metrics", strings.Join(compare.MetricNames(), ","), "metrics, comma-separated")
	window := fs.Int("window", 5, "previous runs a run is tested against for a change point")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of a change point")
	thr := fs.String("threshold", "5%", "smallest shift flagged as a change point")
	sweeps := fs.Bool("sweeps", false, "also chart rate-sweep points")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	threshold, err := compare.ParseThreshold(*thr)
	if err != nil {
		return &compare.ExitError{Code: 2, Err: err}
	}
	var metrics []string
	for _, m := range strings.Split(*mets, ",") {
		if m = strings.TrimSpace(m); m != "" {
			metrics = append(metrics, m)
		}
	}
	if *out == "" {
		*out = filepath.Join(*store, "trend")
	}
	charts, err := Store{*store}.Trend(TrendOptions{Metrics: metrics, Window: *window, Alpha: *alpha, Threshold: threshold, Sweeps: *sweeps})
	if err != nil {
		if errors.Is(err, compare.ErrBadInput) || errors.Is(err, ErrBadStore) {
			return &compare.ExitError{Code: 2, Err: err}
		}
		return err
	}
	paths, err := WriteTrend(*out, charts)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if strings.HasSuffix(p, ".md") {
			fmt.Fprintf(stdout, "trend: %s (%d charts)\n", p, len(charts))
		}
	}
	return nil
}

// WriteTrend writes every chart as SVG and PNG into dir, and trend.md
// listing the charts and the change points; it returns the paths written.
func WriteTrend(dir string, charts []Chart) ([]string, error) {
	var paths []string
	var md bytes.Buffer
	fmt.Fprintf(&md, "# forkbench trends\n\n")
	var flagged []string
	for _, c := range charts {
		for _, s := range c.Series {
			for _, p := range s.Points {
				if p.Change != nil {
					flagged = append(flagged, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %+.1f%% | %.3f |",
						p.Time.UTC().Format("2006-01-02 15:04"), short(p.Commit), s.Metric, s.Key.Target, s.Key.Endpoint, s.Key.Load, 100**p.Change, p.P))
				}
			}
		}
	}
	if len(flagged) == 0 {
		fmt.Fprintf(&md, "No change points.\n\n")
	} else {
		fmt.Fprintf(&md, "## Change points\n\n| run | commit | metric | target | endpoint | load | shift | p |\n|---|---|---|---|---|---|--:|--:|\n%s\n\n", strings.Join(flagged, "\n"))
	}
	fmt.Fprintf(&md, "## Charts\n\n")
	for _, c := range charts {
		for _, format := range []string{"svg", "png"} {
			data, err := c.Render(format)
			if err != nil {
				return paths, err
			}
			p := filepath.Join(dir, c.Name+"."+format)
			if err := results.WriteFileAtomic(p, data); err != nil {
				return paths, fmt.Errorf("history: %w", err)
			}
			paths = append(paths, p)
		}
		fmt.Fprintf(&md, "### %s\n\n![%s](%s.svg)\n\n", c.Title, c.Title, c.Name)
	}
	p := filepath.Join(dir, "trend.md")
	if err := results.WriteFileAtomic(p, md.Bytes()); err != nil {
		return paths, fmt.Errorf("history: %w", err)
	}
	return append(paths, p), nil
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return orDash(c)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
