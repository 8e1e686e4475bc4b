package fork

// This file is the command line: `bench fork`, flags in, a table and
// OUT/fork.json out.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"forkbench/results"
)

// FileName is the name of the file `bench fork` writes in its output
// directory.
const FileName = "fork.json"

// Run is `bench fork [--reps N] [--out DIR] [--app-bin PATH] [--data DIR]
// [--quick]`: it measures (see Measure), prints the rows and notes as a
// table on stdout, and writes OUT/fork.json, a result file whose Fork
// section holds the rows. Progress and the children's errors go to
// stderr.
//
// The --probe-* flags are internal: they make this process the
// parent-size probe child that Measure re-executes.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench fork", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.IntVar(&cfg.Reps, "reps", 0, "samples of a spawn row; heavier rows take a fraction (default "+strconv.Itoa(DefaultReps)+")")
	out := fs.String("out", "out/latest", "output `directory` for "+FileName)
	fs.StringVar(&cfg.AppBin, "app-bin", "", "sample app `binary` (default: sampleapp beside bench)")
	fs.StringVar(&cfg.DataDir, "data", "", "`directory` of the app database world.db, seeded if missing (default: a temporary one)")
	fs.BoolVar(&cfg.Quick, "quick", false, "measure much less: a smoke test, not figures")
	fs.StringVar(&cfg.Path, "path", DefaultPath, "request `path` to decompose")
	probeHeap := fs.Int64("probe-heap", -1, "internal: act as the parent-size probe holding this many heap bytes")
	probeExe := fs.String("probe-exe", "", "internal: program the probe spawns")
	probeReps := fs.Int("probe-reps", 0, "internal: probe samples")
	probeWarm := fs.Int("probe-warmup", 0, "internal: probe warm-up spawns")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("fork: unexpected argument %q", fs.Arg(0))
	}
	if *probeHeap >= 0 {
		return runProbe(ctx, *probeHeap, *probeExe, *probeReps, *probeWarm, stdout)
	}
	if cfg.AppBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("fork: %w", err)
		}
		cfg.AppBin = filepath.Join(filepath.Dir(exe), "sampleapp")
	}
	cfg.Log = stderr

	f := &results.File{
		StartedAt:   time.Now().UTC(),
		Environment: results.CollectEnvironment(ctx, append([]string{"bench", "fork"}, args...)),
		Settings:    results.Settings{Scenario: "fork"},
	}
	fk, err := Measure(ctx, cfg)
	if err != nil {
		return err
	}
	f.FinishedAt = time.Now().UTC()
	f.Fork = fk
	if err := WriteTable(stdout, fk); err != nil {
		return err
	}
	path := filepath.Join(*out, FileName)
	if err := results.Write(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}

// WriteTable prints the rows of fk (wall median and quartiles, CPU
// medians) and its notes.
func WriteTable(w io.Writer, fk *results.Fork) error {
	if fk == nil {
		return errors.New("fork: no fork section")
	}
	right := []bool{false, false, false, true, true, true, true, true, true}
	aligns := make([]tw.Align, len(right))
	for i, r := range right {
		aligns[i] = tw.AlignLeft
		if r {
			aligns[i] = tw.AlignRight
		}
	}
	tb := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint()),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	tb.Header("group", "name", "params", "n", "outliers", "wall p50", "wall p25–p75", "CPU p50")
	for _, r := range fk.Rows {
		if err := tb.Append([]string{
			r.Group, r.Name, fmtParams(r.Params), strconv.Itoa(r.Samples), strconv.Itoa(r.Outliers),
			fmtNs(r.Wall.MedianNs), fmtNs(r.Wall.P25Ns) + "–" + fmtNs(r.Wall.P75Ns),
			cpuText(r),
		}); err != nil {
			return fmt.Errorf("fork: table: %w", err)
		}
	}
	if err := tb.Render(); err != nil {
		return fmt.Errorf("fork: table: %w", err)
	}
	for _, n := range fk.Notes {
		if _, err := fmt.Fprintln(w, "note:", n); err != nil {
			return fmt.Errorf("fork: %w", err)
		}
	}
	return nil
}

// cpuText is a row's CPU median, or a dash for rows whose CPU was not
// measured (a zero there would read as a measurement).
func cpuText(r results.ForkRow) string {
	if r.Params[results.ForkParamCPU] == results.ForkCPUNotMeasured {
		return "—"
	}
	return fmtNs(r.CPUMedianNs())
}
