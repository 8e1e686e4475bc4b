package main

// This file is `bench fork`: flags in, spawncost.Measure, the document's
// tables on stdout (rendered by reports) and OUT/fork.json out.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"forkbench/reports"
	"forkbench/results"
	"forkbench/spawncost"
)

// runFork is `bench fork [--reps N] [--out DIR] [--app-bin PATH] [--data
// DIR] [--quick] [--path P]`: it measures (see spawncost.Measure), prints
// the document as the report's tables and notes on stdout, and writes
// OUT/fork.json. Progress and the children's errors go to stderr.
//
// The --probe-* flags are internal: they make this process the
// parent-size probe child that spawncost.Measure re-executes.
func runFork(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var cfg spawncost.Config
	fs.IntVar(&cfg.Reps, "reps", 0, "samples of a spawn row; heavier rows take a fraction (default "+strconv.Itoa(spawncost.DefaultReps)+")")
	out := fs.String("out", "out/latest", "output `directory` for "+spawncost.FileName)
	fs.StringVar(&cfg.AppBin, "app-bin", "", "sample app `binary` (default: sampleapp beside bench)")
	fs.StringVar(&cfg.DataDir, "data", "", "`directory` of the app database world.db, seeded if missing (default: a temporary one)")
	fs.BoolVar(&cfg.Quick, "quick", false, "measure much less: a smoke test, not figures")
	fs.StringVar(&cfg.Path, "path", spawncost.DefaultPath, "request `path` to decompose")
	var probe spawncost.ProbeConfig
	fs.Int64Var(&probe.HeapBytes, spawncost.ProbeHeapFlag, -1, "internal: act as the parent-size probe holding this many heap bytes")
	fs.StringVar(&probe.Exe, spawncost.ProbeExeFlag, "", "internal: program the probe spawns")
	fs.IntVar(&probe.Reps, spawncost.ProbeRepsFlag, 0, "internal: probe samples")
	fs.IntVar(&probe.Warm, spawncost.ProbeWarmupFlag, 0, "internal: probe warm-up spawns")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if probe.HeapBytes >= 0 {
		return spawncost.Probe(ctx, probe, stdout)
	}
	if cfg.AppBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench fork: %w", err)
		}
		cfg.AppBin = filepath.Join(filepath.Dir(exe), "sampleapp")
	}
	cfg.Log = stderr

	f := &results.File{
		StartedAt:   time.Now().UTC(),
		Environment: results.CollectEnvironment(ctx, append([]string{"bench", "fork"}, args...)),
		Settings:    results.Settings{Scenario: "fork"},
	}
	fk, err := spawncost.Measure(ctx, cfg)
	if err != nil {
		return err
	}
	f.FinishedAt = time.Now().UTC()
	f.Fork = fk
	f.SchemaVersion = results.SchemaVersion
	if err := reports.WriteTerminal(stdout, []*results.File{f}); err != nil {
		return err
	}
	path := filepath.Join(*out, spawncost.FileName)
	if err := results.Write(path, f); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}
