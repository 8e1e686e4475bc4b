package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"forkbench/compare"
	"forkbench/history"
	"forkbench/results"
)

// exitNoBaseline is the exit status of `bench history baseline` when no
// run qualifies, so that a script tells "first night" from a failure.
const exitNoBaseline = 3

// historyCmd implements `bench history add|trend|baseline`.
func historyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: bench history add results.json | trend | baseline  [--store DIR]")
		return &exitError{2, errors.New("history: want a subcommand: add, trend or baseline")}
	}
	switch args[0] {
	case "add":
		return historyAdd(ctx, args[1:], stdout, stderr)
	case "trend":
		return historyTrend(args[1:], stdout, stderr)
	case "baseline":
		return historyBaseline(args[1:], stdout, stderr)
	}
	return &exitError{2, fmt.Errorf("history: unknown subcommand %q (add, trend, baseline)", args[0])}
}

func historyAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench history add", stderr)
	store := fs.String("store", history.DefaultStore, "history store `directory`")
	branch := fs.String("branch", "", "branch the run was made on (default $GITHUB_REF_NAME or git's current branch)")
	regressed := fs.Bool("regressed", false, "mark the run as a regression: kept in the trend, never a baseline")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return badInput(err)
	}
	if len(pos) != 1 {
		return &exitError{2, fmt.Errorf("history: add: want one result file, got %d", len(pos))}
	}
	f, err := results.Read(pos[0])
	if err != nil {
		return &exitError{2, fmt.Errorf("history: %w", err)}
	}
	if *branch == "" {
		*branch = currentBranch(ctx)
	}
	e, err := history.Store{Dir: *store}.Add(f, *branch, *regressed, time.Now())
	if errors.Is(err, history.ErrBadCommit) {
		return &exitError{2, err}
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "added %s (commit %s, branch %s)\n", filepath.Join(*store, e.File), history.ShortCommit(e.Commit), orDash(e.Branch))
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

func historyBaseline(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench history baseline", stderr)
	store := fs.String("store", history.DefaultStore, "history store `directory`")
	branch := fs.String("branch", "main", "choose among runs on this branch (\"\" for any)")
	pin := fs.String("pin", "", "choose the latest run of this commit (prefix) instead")
	like := fs.String("like", "", "choose among runs comparable with this result file (same machine and settings)")
	commit := fs.Bool("commit", false, "print the baseline's commit (the last good revision, for `bench ab`) instead of its file")
	if _, err := parseArgs(fs, args); err != nil {
		return badInput(err)
	}
	q := history.Query{Branch: *branch, Pin: *pin}
	if *like != "" {
		f, err := results.Read(*like)
		if err != nil {
			return &exitError{2, fmt.Errorf("history: %w", err)}
		}
		q.Like = f
	}
	s := history.Store{Dir: *store}
	e, err := s.Baseline(q)
	if errors.Is(err, history.ErrNoBaseline) {
		return &exitError{exitNoBaseline, err}
	}
	if err != nil {
		return &exitError{2, err}
	}
	if *commit {
		if e.Commit == "" {
			return &exitError{2, fmt.Errorf("history: the baseline %s records no commit", s.Path(e))}
		}
		_, err = fmt.Fprintln(stdout, e.Commit)
		return err
	}
	_, err = fmt.Fprintln(stdout, s.Path(e))
	return err
}

func historyTrend(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench history trend", stderr)
	store := fs.String("store", history.DefaultStore, "history store `directory`")
	out := fs.String("out", "", "output `directory` (default STORE/trend)")
	mets := fs.String("metrics", strings.Join(compare.MetricNames(), ","), "metrics, comma-separated")
	window := fs.Int("window", 5, "previous runs a run is tested against for a change point")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of a change point")
	thr := fs.String("threshold", "5%", "smallest shift flagged as a change point")
	sweeps := fs.Bool("sweeps", false, "also chart rate-sweep points")
	if _, err := parseArgs(fs, args); err != nil {
		return badInput(err)
	}
	threshold, err := parseThreshold(*thr)
	if err != nil {
		return &exitError{2, err}
	}
	if *out == "" {
		*out = filepath.Join(*store, "trend")
	}
	charts, err := history.Store{Dir: *store}.Trend(history.TrendOptions{Metrics: splitList(*mets), Window: *window, Alpha: *alpha, Threshold: threshold, Sweeps: *sweeps})
	if err != nil {
		if errors.Is(err, compare.ErrBadInput) || errors.Is(err, history.ErrBadStore) {
			return &exitError{2, err}
		}
		return err
	}
	paths, err := history.WriteTrend(*out, charts)
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
