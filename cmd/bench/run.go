package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"forkbench/reports"
	"forkbench/results"
	"forkbench/runner"
	"forkbench/scenario"
	"forkbench/spawncost"
	"forkbench/targets"
	"forkbench/targets/catalog"
	"forkbench/targets/fronts"
)

// runFlags are `bench run`'s flags that override the scenario.
type runFlags struct {
	scenario, config, targets, endpoints, models string
	requests, references                         string
	rate                                         float64
	conns, rounds                                int
	dur, warm, timeout, slo, transport           string
	noPin, noReport                              bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.scenario, "scenario", "quick", "built-in scenario: quick, nightly or seed")
	fs.StringVar(&f.config, "config", "", "scenario file (TOML); overrides --scenario")
	fs.StringVar(&f.targets, "targets", "", "targets, comma-separated: built-in names (embedded,fcgi,cgi,external,…) or [LABEL=]cgi:PROGRAM, fcgi-cmd:'COMMAND'[@ADDR], fcgi-addr:ADDR, url:URL")
	fs.StringVar(&f.references, "references", "", "real servers measured beside our deployment of the same app, closed model only (nginx-fcgiwrap beside cgi, nginx-fcgi beside fcgi, …); '' for none; default: the scenario's, none with --targets")
	fs.StringVar(&f.requests, "requests", "", "requests file (vegeta target format: METHOD PATH, headers, @body; '# name: NAME'), measured instead of the app's endpoints")
	fs.StringVar(&f.endpoints, "endpoints", "", "endpoints, comma-separated ("+strings.Join(scenario.EndpointNames(), ",")+")")
	fs.StringVar(&f.models, "model", "", "load models, comma-separated: closed (capacity), open (latency at --rate), sweep (knee)")
	fs.Float64Var(&f.rate, "rate", 0, "offered rate of the open model, req/s")
	fs.IntVar(&f.conns, "connections", 0, "connections (closed model: concurrency)")
	fs.StringVar(&f.dur, "duration", "", "measured duration of each load point")
	fs.StringVar(&f.warm, "warmup", "", "warm-up before each load point (not counted)")
	fs.StringVar(&f.timeout, "timeout", "", "per-request timeout")
	fs.IntVar(&f.rounds, "rounds", 0, "interleaved rounds, fresh target processes each")
	fs.StringVar(&f.slo, "slo-p99", "", "p99 latency SLO for the sweep's knee")
	fs.StringVar(&f.transport, "transport", "", "generator HTTP client: fasthttp or nethttp")
	fs.BoolVar(&f.noPin, "no-pin", false, "do not pin generator and targets to different CPUs")
	fs.BoolVar(&f.noReport, "no-report", false, "do not write the report next to results.json")
}

// scenario is the scenario the flags name, with the flags that were set
// (set[name]) laid over it, and the parsed --targets specs (nil without).
func (f *runFlags) scenarioOf(set map[string]bool) (scenario.Scenario, []targets.Spec, error) {
	sc, err := f.scenarioBase(set)
	if err != nil {
		return sc, nil, err
	}
	var specs []targets.Spec
	if set["targets"] {
		if specs, err = targets.ParseSpecs(f.targets, known); err != nil {
			return sc, nil, fmt.Errorf("run: --targets: %w", err)
		}
		sc.Targets = nil
		for _, s := range specs {
			sc.Targets = append(sc.Targets, s.Label)
		}
	}
	if set["requests"] {
		if set["endpoints"] {
			return sc, nil, fmt.Errorf("run: --requests replaces the endpoints: drop --endpoints")
		}
		reqs, err := scenario.ReadRequests(f.requests)
		if err != nil {
			return sc, nil, fmt.Errorf("run: --requests: %w", err)
		}
		sc = sc.WithRequests(reqs)
	}
	if err := sc.Validate(); err != nil {
		return sc, nil, err
	}
	if set["url"] && !set["targets"] {
		sc.Targets = []string{"external"}
	}
	if specs == nil {
		for _, t := range sc.Targets {
			if _, err := catalog.Lookup(t); err != nil {
				return sc, nil, fmt.Errorf("run: %w", err)
			}
		}
	}
	return sc, specs, nil
}

// scenarioBase is the scenario with the flags but --targets and
// --requests laid over it.
func (f *runFlags) scenarioBase(set map[string]bool) (scenario.Scenario, error) {
	var sc scenario.Scenario
	var err error
	if f.config != "" {
		sc, err = scenario.Load(f.config)
	} else {
		sc, err = scenario.Builtin(f.scenario)
	}
	if err != nil {
		return sc, err
	}
	if set["endpoints"] {
		sc.Endpoints = splitList(f.endpoints)
	}
	switch {
	case set["references"]:
		sc.References = splitList(f.references)
	case set["targets"] || set["url"]:
		// Named targets are exactly what is measured: references
		// join them only when asked for.
		sc.References = nil
	}
	for _, r := range sc.References {
		if !fronts.Known(r) {
			return sc, fmt.Errorf("run: reference %q is not a real server (known: %s)", r, strings.Join(fronts.Names(), ", "))
		}
	}
	if set["model"] {
		sc.Models = nil
		for _, m := range splitList(f.models) {
			sc.Models = append(sc.Models, results.Model(m))
		}
	}
	if set["rate"] {
		sc.Rate = f.rate
	}
	if set["connections"] {
		sc.Connections = f.conns
	}
	if set["rounds"] {
		sc.Rounds = f.rounds
	}
	if set["transport"] {
		sc.Transport = f.transport
	}
	for _, d := range []struct {
		name, v string
		dst     *scenario.Duration
	}{{"duration", f.dur, &sc.Duration}, {"warmup", f.warm, &sc.Warmup}, {"timeout", f.timeout, &sc.Timeout}, {"slo-p99", f.slo, &sc.SLOP99}} {
		if !set[d.name] {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return sc, fmt.Errorf("run: --%s: cannot parse %q as a duration (e.g. 10s, 50ms)", d.name, d.v)
		}
		d.dst.Duration = v
	}
	return sc, nil
}

// runCmd implements `bench run`. Flags override the scenario (the
// built-in "quick" unless --scenario or --config names another); every
// bad value is a one-line error before any load is sent.
func runCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var cfg runner.Config
	var f runFlags
	targetFlags(fs, &cfg.Targets)
	f.register(fs)
	fs.StringVar(&cfg.OutDir, "out", "out/latest", "output directory")
	fs.BoolVar(&cfg.Raw, "raw", false, "also write every request's result in vegeta's encoding under OUT/raw/")
	fs.BoolVar(&cfg.NoVerify, "no-verify", false, "skip verification (for external URLs that are not the sample app)")
	var bf beyondFlags
	bf.register(fs)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	sc, specs, err := f.scenarioOf(set)
	if err != nil {
		return err
	}
	opts := catalog.Options{TargetOptions: cfg.Targets}
	if err := bf.apply(&cfg, &opts); err != nil {
		return err
	}
	user, err := userTargets(specs, opts)
	if err != nil {
		return err
	}
	if slices.Contains(sc.Targets, "external") {
		// A bad URL is refused here, before anything is written.
		if _, err := catalog.New("external", opts); err != nil {
			return err
		}
	}
	if err := opts.Resolve(ctx); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	cfg.Scenario, cfg.Targets = sc, opts.TargetOptions
	for _, s := range specs {
		u, ok := user[s.Label]
		if !ok {
			continue
		}
		// The user's targets share the run's resolved paths; they are
		// not the sample app, so there is nothing to verify them against.
		u.opts.AppBin, u.opts.DataDir = opts.AppBin, opts.DataDir
		user[s.Label] = u
		cfg.Specs = append(cfg.Specs, u.record())
		cfg.Unverified = append(cfg.Unverified, s.Label)
	}
	cfg.NewTarget = serveTarget(self, opts, user)
	cfg.Fork = func(ctx context.Context) (*results.Fork, error) {
		return spawncost.Measure(ctx, spawncost.Config{AppBin: opts.AppBin, DataDir: opts.DataDir, Log: stderr})
	}
	cfg.Pinning = pinProcess(f.noPin)
	cfg.Progress = stderr
	if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
		cfg.IsTerminal = true
	}
	cfg.Command = append([]string{"bench", "run"}, args...)
	file, runErr := runner.Run(ctx, cfg)
	if file == nil || len(file.Points) == 0 { // nothing published: nothing to show
		return runErr
	}
	return errors.Join(runErr, printRun(ctx, stdout, file, cfg.OutDir, f.noReport), unanswered(file))
}

// unanswered is an error naming every point whose target answered nothing
// in its window (all refused, timed out or stuck): its figures say nothing
// about the target, so the run fails, with its results still written.
func unanswered(f *results.File) error {
	var errs []error
	for i := range f.Points {
		if p := &f.Points[i]; p.Unanswered() {
			errs = append(errs, fmt.Errorf("run: %s %s %s round %d: the target answered nothing (%d requests sent, %d unfinished at the window's end, errors %v)",
				p.Target, p.Endpoint, p.Model, p.Round, p.Requests, p.Unfinished, p.Errors))
		}
	}
	return errors.Join(errs...)
}

// serveTarget builds the targets of `bench run`: each kind the suite
// deploys runs as `bench serve` in a process of its own, pinned to the
// targets' CPUs and handed the run's options as data (a user's target,
// named by its label, its own options); an external URL is not started
// at all.
func serveTarget(self string, base catalog.Options, user map[string]userTarget) func(label string, cpus []int, stderr io.Writer) (targets.Target, error) {
	return func(label string, cpus []int, stderr io.Writer) (targets.Target, error) {
		kind, o := label, base
		if u, ok := user[label]; ok {
			if u.kind == "external" {
				return u.build()
			}
			kind, o = u.kind, u.opts
		} else if kind == "external" {
			return catalog.New(kind, o)
		}
		if _, err := catalog.Lookup(kind); err != nil {
			return nil, err
		}
		data, err := json.Marshal(o.TargetOptions)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		return &targets.Process{
			Label:  label,
			Path:   self,
			Args:   []string{"serve", "--target", kind, "--options", string(data)},
			CPUs:   cpus,
			Stderr: stderr,
			// A real front's logs go with the results (OUT/logs/KIND).
			LogDirFlag: "--log-dir",
		}, nil
	}
}

// printRun prints the run's tables and where its files are, and writes
// the report unless noReport.
func printRun(ctx context.Context, stdout io.Writer, f *results.File, outDir string, noReport bool) error {
	fmt.Fprintln(stdout)
	if err := reports.WriteTerminal(stdout, []*results.File{f}); err != nil {
		return err
	}
	resultsPath := filepath.Join(outDir, "results.json")
	if f.Partial {
		fmt.Fprintf(stdout, "\nPARTIAL results (%s) written to %s\n", f.PartialReason, resultsPath)
	} else {
		fmt.Fprintf(stdout, "\nresults: %s\n", resultsPath)
	}
	if noReport || len(f.Points) == 0 {
		return nil
	}
	paths, err := reports.Render(context.WithoutCancel(ctx), []*results.File{f}, outDir, nil)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "report.html") {
			fmt.Fprintf(stdout, "report:  %s\n", p)
		}
	}
	return nil
}
