package runner

// This file is where a run writes: a directory of its own, published as the
// output directory (out/latest) only once it holds results, so that a run
// that is refused, fails or is interrupted before its first point loses
// nothing of the previous one.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"forkbench/results"
)

// KeepRuns is how many run directories are kept beside the published one;
// older ones are removed when a run is published.
const KeepRuns = 20

// RunDir is one run's own output directory and the path it is published
// at.
type RunDir struct {
	// Final is the published path (e.g. out/latest): a symbolic link to
	// the directory of the latest run with results.
	Final string
	// Dir is where this run writes: runs/NAME-STAMP beside Final.
	Dir string
}

// NewRunDir creates a fresh directory for a run to be published at final.
// Nothing at final is touched.
func NewRunDir(final string, now time.Time) (*RunDir, error) {
	final = filepath.Clean(final)
	runs := filepath.Join(filepath.Dir(final), "runs")
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	prefix := filepath.Base(final) + "-" + now.UTC().Format("20060102T150405Z") + "-"
	dir, err := os.MkdirTemp(runs, prefix)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	return &RunDir{Final: final, Dir: dir}, nil
}

// Publish makes Final point at Dir, atomically: a new symbolic link is
// renamed over the old one, so a reader sees the previous run or this one,
// never a mixture. A Final that is a real directory (written by an older
// forkbench) is first moved into runs/ intact. Then all but the newest
// KeepRuns run directories of Final are removed.
func (d *RunDir) Publish() error {
	parent := filepath.Dir(d.Final)
	fi, err := os.Lstat(d.Final)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("runner: %w", err)
	case fi.IsDir() && os.Remove(d.Final) == nil: // an empty directory: nothing to keep
	case fi.IsDir():
		kept := filepath.Join(parent, "runs", filepath.Base(d.Final)+"-"+fi.ModTime().UTC().Format("20060102T150405Z")+"-legacy")
		if err := os.Rename(d.Final, kept); err != nil {
			return fmt.Errorf("runner: moving the previous %s aside: %w", d.Final, err)
		}
	case fi.Mode()&os.ModeSymlink == 0:
		return fmt.Errorf("runner: %s exists and is neither a directory nor a link", d.Final)
	}
	rel, err := filepath.Rel(parent, d.Dir)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	tmp := filepath.Join(parent, "."+filepath.Base(d.Final)+".link-"+filepath.Base(d.Dir))
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if err := os.Rename(tmp, d.Final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("runner: publishing %s: %w", d.Final, err)
	}
	if err := results.SyncDir(parent); err != nil {
		return fmt.Errorf("runner: publishing %s: %w", d.Final, err)
	}
	return d.prune()
}

// prune removes the oldest run directories of Final beyond KeepRuns, never
// the published one.
func (d *RunDir) prune() error {
	runs := filepath.Join(filepath.Dir(d.Final), "runs")
	ents, err := os.ReadDir(runs)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), filepath.Base(d.Final)+"-") && e.Name() != filepath.Base(d.Dir) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the stamp sorts by time
	var errs []error
	for len(names) > KeepRuns-1 {
		errs = append(errs, os.RemoveAll(filepath.Join(runs, names[0])))
		names = names[1:]
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runner: pruning old runs: %w", err)
	}
	return nil
}
