package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"forkbench/ab"
	"forkbench/compare"
	"forkbench/reports"
	"forkbench/results"
	"forkbench/runner"
	"forkbench/scenario"
	"forkbench/targets"
	"forkbench/targets/catalog"
)

// Labels of the two sides of `bench ab`, as target suffixes ("fcgi@base").
const (
	abBase = compare.LabelBase
	abNew  = compare.LabelNew
)

// abFlags are `bench ab`'s own flags (the run's flags are runFlags).
type abFlags struct {
	newTags, baseTags, report, cache string
	comparisonFlags
}

// abCmd implements `bench ab BASE NEW`: both builds measured as targets of
// one run, interleaved (A B B A …) with fresh processes every round, and
// compared on their per-round paired ratios. Exit status as `bench
// compare`: 0 no regression, 1 regression, 2 could not compare.
func abCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	setUsage(fs, "usage: bench ab BASE NEW [flags]   (BASE, NEW: git revisions or directories holding bench and sampleapp)")
	var f runFlags
	f.register(fs)
	var a abFlags
	fs.StringVar(&a.newTags, "new-tags", "", "Go build tags of the new build")
	fs.StringVar(&a.baseTags, "base-tags", "", "Go build tags of the base build")
	a.comparisonFlags.register(fs, "significance level of the whole comparison (Holm-adjusted over its tests)", compare.PairedMetricNames())
	fs.StringVar(&a.report, "report", "", "write the comparison to `file` instead of stdout (one format only)")
	fs.StringVar(&a.cache, "cache", "", "build cache directory (default out/ab/builds)")
	outDir := fs.String("out", "out/ab/latest", "output directory of the run (results.json, ab.md, ab.json)")
	from := fs.String("from", "", "judge the A/B run stored in this `results.json` again (another threshold, alpha or metrics) instead of measuring; no BASE NEW")
	revs, err := parseArgs(fs, args)
	if err != nil {
		return badInput(err)
	}
	if *from != "" {
		return rejudgeAB(*from, a, revs, stdout)
	}
	if len(revs) != 2 {
		fs.Usage()
		return badInput(fmt.Errorf("%w: ab: want BASE and NEW, got %d arguments", compare.ErrBadInput, len(revs)))
	}
	opt, fmts, err := a.parse("--report", a.report)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	sc, dropped, err := abScenario(&f, set, compare.MinPairs())
	if err != nil {
		return badInput(err)
	}
	r, err := runAB(ctx, sc, revs, a, *outDir, f.noPin, opt, stderr)
	if err != nil {
		return err
	}
	r.Notes = append(r.Notes, dropped...)
	data, err := renderComparison(r, fmts)
	if err != nil {
		return err
	}
	if err := writeAB(*outDir, r); err != nil {
		return err
	}
	if err := writeOut(stdout, a.report, data); err != nil {
		return err
	}
	return verdict(r)
}

// rejudgeAB compares the two builds of a stored `bench ab` run again,
// with the flags' threshold, alpha and metrics; nothing is measured or
// written but the comparison.
func rejudgeAB(path string, a abFlags, rest []string, stdout io.Writer) error {
	if len(rest) > 0 {
		return badInput(fmt.Errorf("%w: ab --from takes no BASE NEW (got %q)", compare.ErrBadInput, rest))
	}
	opt, fmts, err := a.parse("--report", a.report)
	if err != nil {
		return err
	}
	f, err := results.Read(path)
	if err != nil {
		return badInput(err)
	}
	r, err := compare.ComparePaired(f, abBase, abNew, opt)
	if err != nil {
		return badInput(err)
	}
	r.Notes = append(r.Notes, results.Note{Kind: compare.NoteABJudgedAgain, Subject: path})
	data, err := renderComparison(r, fmts)
	if err != nil {
		return err
	}
	if err := writeOut(stdout, a.report, data); err != nil {
		return err
	}
	return verdict(r)
}

// abScenario is the scenario the flags name (a file when --scenario names
// one), made fit for a same-sitting A/B: every target twice (kind@base,
// kind@new, adjacent so the reversed rounds give A B B A), at least
// minRounds rounds, and without the sweep and the spawn-cost step, which
// would take the run past ten minutes and are not paired figures (the
// sweep's rates differ per side; the fork step measures the machine, not
// a build). dropped says what was left out, for the report's notes.
func abScenario(f *runFlags, set map[string]bool, minRounds int) (scenario.Scenario, []results.Note, error) {
	if st, err := os.Stat(f.scenario); err == nil && !st.IsDir() && f.config == "" {
		f.config = f.scenario
	}
	sc, specs, err := f.scenarioOf(set)
	if err != nil {
		return sc, nil, err
	}
	for _, sp := range specs {
		if sp.Kind != targets.SpecNamed {
			return sc, nil, fmt.Errorf("ab: %s: bench ab compares builds of the suite's own deployments, not a user's program", sp.Label)
		}
	}
	var dropped []results.Note
	if slices.Contains(sc.Models, scenario.ModelSweep) {
		sc.Models = slices.DeleteFunc(slices.Clone(sc.Models), func(m results.Model) bool { return m == scenario.ModelSweep })
		dropped = append(dropped, results.Note{Kind: compare.NoteABNoSweep})
	}
	if sc.Fork {
		sc.Fork = false
		dropped = append(dropped, results.Note{Kind: compare.NoteABNoFork})
	}
	if len(sc.Models) == 0 {
		return sc, nil, fmt.Errorf("%w: ab: no load model left once the sweep is dropped", compare.ErrBadInput)
	}
	if sc.Rounds < minRounds {
		dropped = append(dropped, results.Note{Kind: compare.NoteABRoundsRaised,
			Figures: map[string]float64{"from": float64(sc.Rounds), "to": float64(minRounds)}})
		sc.Rounds = minRounds
	}
	var ts []string
	for _, t := range sc.Targets {
		if t == "external" {
			return sc, nil, fmt.Errorf("%w: ab: an external target is not built from a revision", compare.ErrBadInput)
		}
		ts = append(ts, t+"@"+abBase, t+"@"+abNew)
	}
	sc.Targets = ts
	return sc, dropped, sc.Validate()
}

// runAB prepares both builds, measures them in one run and compares them.
func runAB(ctx context.Context, sc scenario.Scenario, revs []string, a abFlags, outDir string, noPin bool, opt compare.Options, stderr io.Writer) (*compare.Report, error) {
	bopt := ab.Options{Cache: a.cache, Log: stderr}
	base, err := ab.Prepare(ctx, abBase, revs[0], a.baseTags, bopt)
	if err != nil {
		return nil, badInput(err)
	}
	newB, err := ab.Prepare(ctx, abNew, revs[1], a.newTags, bopt)
	if err != nil {
		return nil, badInput(err)
	}
	builds := map[string]ab.Build{abBase: base, abNew: newB}
	opts := catalog.Options{TargetOptions: results.TargetOptions{AppBin: newB.SampleApp()}}
	if err := opts.Resolve(ctx); err != nil {
		return nil, err
	}
	cfg := runner.Config{
		Scenario: sc, Targets: opts.TargetOptions, OutDir: outDir,
		NewTarget: abTarget(builds, opts),
		Pinning:   pinProcess(noPin),
		Progress:  stderr,
		Command:   append([]string{"bench", "ab"}, revs...),
		// Each point on both builds seconds apart: a target's whole
		// round apart, the machine's drift left ±6% in fcgi's ratios.
		PointByPoint: true,
	}
	file, runErr := runner.Run(ctx, cfg)
	if file == nil || len(file.Points) == 0 {
		if runErr == nil {
			runErr = fmt.Errorf("ab: nothing measured")
		}
		return nil, &exitError{2, runErr}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "ab: the run stopped early (%v): comparing the rounds it measured\n", runErr)
	}
	r, err := compare.ComparePaired(file, abBase, abNew, opt)
	if err != nil {
		return nil, badInput(err)
	}
	r.Base, r.New = describeBuild(base), describeBuild(newB)
	r.Notes = append(r.Notes, results.Note{Kind: compare.NoteABSitting, Subject: filepath.Join(outDir, "results.json"),
		Figures: map[string]float64{"rounds": float64(sc.Rounds)}})
	if err := writeBuilds(outDir, base, newB); err != nil {
		return nil, err
	}
	return r, nil
}

// abTarget starts "kind@label" from that side's build: its own `bench
// serve` and its own sample app, labelled with the side in the results.
func abTarget(builds map[string]ab.Build, o catalog.Options) func(name string, cpus []int, stderr io.Writer) (targets.Target, error) {
	return func(name string, cpus []int, stderr io.Writer) (targets.Target, error) {
		kind, label, ok := results.SplitTarget(name)
		b, known := builds[label]
		if !ok || !known {
			return nil, fmt.Errorf("ab: target %q names no build", name)
		}
		side := o
		side.AppBin = b.SampleApp()
		t, err := serveTarget(b.Bench(), side, nil)(kind, cpus, stderr)
		if p, isProc := t.(*targets.Process); isProc && err == nil {
			p.Label = name
		}
		return t, err
	}
}

func describeBuild(b ab.Build) string {
	s := b.Label + " = " + b.Rev
	if b.Commit != "" && b.Commit != b.Rev {
		s += " (" + b.Commit[:min(12, len(b.Commit))] + ")"
	}
	if b.Tags != "" {
		s += " -tags " + b.Tags
	}
	return s
}

// writeBuilds records which binaries each side ran, beside results.json.
func writeBuilds(dir string, bs ...ab.Build) error {
	data, err := json.MarshalIndent(bs, "", "  ")
	if err != nil {
		return fmt.Errorf("ab: %w", err)
	}
	return results.WriteFileAtomic(filepath.Join(dir, "builds.json"), append(data, '\n'))
}

// writeAB keeps the comparison with the run (ab.md, ab.json): the nightly
// job and the history read them.
func writeAB(dir string, r *compare.Report) error {
	for _, f := range []struct{ name, format string }{{"ab.md", reports.FormatMarkdown}, {"ab.json", reports.FormatJSON}} {
		var buf bytes.Buffer
		if err := reports.WriteComparison(&buf, r, f.format); err != nil {
			return err
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, f.name), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
