package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"forkbench/compare"
	"forkbench/reports"
)

// calibrateCmd implements `bench calibrate A.json B.json`, or with --run
// makes the two runs itself: `bench calibrate --run [--out DIR] -- RUN
// FLAGS…` executes `bench run RUN FLAGS… --out DIR/a` and then `…/b`.
func calibrateCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	setUsage(fs, "usage: bench calibrate A.json B.json [flags]\n       bench calibrate --run [--out DIR] [-- BENCH RUN FLAGS]\n       bench calibrate --ab REV [--out DIR] [-- BENCH AB FLAGS]")
	abRev := fs.String("ab", "", "A/A in one sitting: run `bench ab REV REV` (flags after -- go to it) and report the paired noise and MDE")
	run := fs.Bool("run", false, "make the two runs: exec `bench run` twice with the flags after --")
	outDir := fs.String("out", "out/calibrate", "with --run: directory of the two runs (a/, b/)")
	bench := fs.String("bench", "", "with --run: bench binary (default: this executable)")
	thr := fs.String("threshold", "5%", "threshold whose false alarms are counted")
	alpha := fs.Float64("alpha", compare.DefaultAlpha, "significance level of the Mann–Whitney U test")
	mets := fs.String("metrics", "", "metrics, comma-separated (default all)")
	format := fs.String("format", reports.FormatText, "text or json")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return badInput(err)
	}
	opt, err := compareOptions(*thr, *alpha, *mets)
	if err != nil {
		return err
	}
	if *abRev != "" {
		return calibrateAB(ctx, *abRev, *bench, *outDir, pos, *thr, *alpha, *mets, *format, stdout, stderr)
	}
	paths := pos
	if *run {
		if paths, err = calibrationRuns(ctx, *bench, *outDir, pos, stderr); err != nil {
			return err
		}
	} else if len(pos) != 2 {
		fs.Usage()
		return badInput(fmt.Errorf("%w: calibrate: want two result files of the same build, got %d", compare.ErrBadInput, len(pos)))
	}
	c, err := judgePair(paths, opt, compare.CalibrateFiles)
	if err != nil {
		return err
	}
	switch *format {
	case reports.FormatJSON:
		err = reports.WriteJSON(stdout, c)
	case reports.FormatText:
		err = reports.WriteCalibration(stdout, c)
	default:
		return badInput(fmt.Errorf("%w: calibrate: unknown format %q (text, json)", compare.ErrBadInput, *format))
	}
	if err != nil {
		return err
	}
	if !c.Report.Comparable {
		return verdict(c.Report)
	}
	return nil
}

// benchExe is the bench binary calibrate runs: bench when given, else
// this executable.
func benchExe(bench string) (string, error) {
	if bench != "" {
		return bench, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("calibrate: %w", err)
	}
	return exe, nil
}

// calibrationRuns executes `bench run RUNARGS… --out DIR/a --no-report`
// and then the same into DIR/b, and returns the two result files.
func calibrationRuns(ctx context.Context, bench, outDir string, runArgs []string, stderr io.Writer) ([]string, error) {
	exe, err := benchExe(bench)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, sub := range []string{"a", "b"} {
		dir := filepath.Join(outDir, sub)
		argv := append([]string{"run"}, runArgs...)
		argv = append(argv, "--out", dir, "--no-report")
		fmt.Fprintf(stderr, "calibrate: %s %v\n", exe, argv)
		cmd := exec.CommandContext(ctx, exe, argv...)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("calibrate: bench run: %w", err)
		}
		paths = append(paths, filepath.Join(dir, "results.json"))
	}
	return paths, nil
}

// calibrateAB runs `bench ab REV REV ABARGS… --out DIR --format json` and
// reports the noise its paired ratios show per target and metric. A
// regression verdict (exit 1) is a false alarm to count, not a failure.
func calibrateAB(ctx context.Context, rev, bench, outDir string, abArgs []string, thr string, alpha float64, mets, format string, stdout, stderr io.Writer) error {
	exe, err := benchExe(bench)
	if err != nil {
		return err
	}
	argv := append([]string{"ab", rev, rev}, abArgs...)
	argv = append(argv, "--out", outDir, "--format", "json", "--threshold", thr, "--alpha", fmt.Sprint(alpha))
	if mets != "" {
		argv = append(argv, "--metrics", mets)
	}
	fmt.Fprintf(stderr, "calibrate: %s %v\n", exe, argv)
	cmd := exec.CommandContext(ctx, exe, argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			return &exitError{2, fmt.Errorf("calibrate: bench ab: %w", err)}
		}
	}
	var r compare.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return &exitError{2, fmt.Errorf("calibrate: reading bench ab's report: %w", err)}
	}
	noise := compare.CalibratePaired(&r)
	switch format {
	case reports.FormatJSON:
		return reports.WriteJSON(stdout, struct {
			Report *compare.Report       `json:"report"`
			Noise  []compare.PairedNoise `json:"noise"`
		}{&r, noise})
	case reports.FormatText:
		return reports.WritePairedCalibration(stdout, &r, noise)
	}
	return badInput(fmt.Errorf("%w: calibrate: unknown format %q (text, json)", compare.ErrBadInput, format))
}
