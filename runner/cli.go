package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"forkbench/reports"
	"forkbench/results"
	"forkbench/scenario"
)

// RunCLI implements `bench run`. Flags override the scenario (the built-in
// "quick" unless --scenario or --config names another); every bad value is
// a one-line error before any load is sent.
func RunCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.Targets.Register(fs)
	scName := fs.String("scenario", "quick", "built-in scenario: quick or nightly")
	config := fs.String("config", "", "scenario file (TOML); overrides --scenario")
	tgts := fs.String("targets", "", "targets, comma-separated (embedded,fcgi,cgi,external)")
	eps := fs.String("endpoints", "", "endpoints, comma-separated ("+strings.Join(scenario.EndpointNames(), ",")+")")
	models := fs.String("model", "", "load models, comma-separated: closed (capacity), open (latency at --rate), sweep (knee)")
	rate := fs.Float64("rate", 0, "offered rate of the open model, req/s")
	conns := fs.Int("connections", 0, "connections (closed model: concurrency)")
	dur := fs.String("duration", "", "measured duration of each load point")
	warm := fs.String("warmup", "", "warm-up before each load point (not counted)")
	tmo := fs.String("timeout", "", "per-request timeout")
	rounds := fs.Int("rounds", 0, "interleaved rounds, fresh target processes each")
	slo := fs.String("slo-p99", "", "p99 latency SLO for the sweep's knee")
	transport := fs.String("transport", "", "generator HTTP client: fasthttp or nethttp")
	engine := fs.String("engine", "", "open model's engine: epoll (wrk2-style, the default) or vegeta (vegeta's attacker, for comparison)")
	arrivals := fs.String("arrivals", "", "open model's arrivals on the epoll engine: uniform or poisson")
	seed := fs.Uint64("seed", 0, "seed of the poisson arrivals")
	fs.StringVar(&cfg.OutDir, "out", "out/latest", "output directory")
	fs.BoolVar(&cfg.Raw, "raw", false, "also write every request's result in vegeta's encoding under OUT/raw/")
	fs.BoolVar(&cfg.NoPin, "no-pin", false, "do not pin generator and targets to different CPUs")
	fs.BoolVar(&cfg.NoVerify, "no-verify", false, "skip verification (for external URLs that are not the sample app)")
	noReport := fs.Bool("no-report", false, "do not write the report next to results.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}

	var sc scenario.Scenario
	var err error
	if *config != "" {
		sc, err = scenario.Load(*config)
	} else {
		sc, err = scenario.Builtin(*scName)
	}
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	list := func(s string) []string {
		var out []string
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	dura := func(name, v string, dst *scenario.Duration) error {
		if !set[name] {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("run: --%s: cannot parse %q as a duration (e.g. 10s, 50ms)", name, v)
		}
		dst.Duration = d
		return nil
	}
	if set["targets"] {
		sc.Targets = list(*tgts)
	}
	if set["endpoints"] {
		sc.Endpoints = list(*eps)
	}
	if set["model"] {
		sc.Models = list(*models)
	}
	if set["rate"] {
		sc.Rate = *rate
	}
	if set["connections"] {
		sc.Connections = *conns
	}
	if set["rounds"] {
		sc.Rounds = *rounds
	}
	if set["transport"] {
		sc.Transport = *transport
	}
	if set["engine"] {
		sc.Engine = *engine
	}
	if set["arrivals"] {
		sc.Arrivals = *arrivals
	}
	if set["seed"] {
		sc.Seed = *seed
	}
	for _, d := range []struct {
		name, v string
		dst     *scenario.Duration
	}{{"duration", *dur, &sc.Duration}, {"warmup", *warm, &sc.Warmup}, {"timeout", *tmo, &sc.Timeout}, {"slo-p99", *slo, &sc.SLOP99}} {
		if err := dura(d.name, d.v, d.dst); err != nil {
			return err
		}
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	if set["url"] && !set["targets"] {
		sc.Targets = []string{"external"}
	}

	cfg.Scenario = sc
	cfg.Progress = stderr
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.IsTerminal = true
	}
	cfg.Command = append([]string{"bench", "run"}, args...)

	f, runErr := Run(ctx, cfg)
	if f == nil {
		return runErr
	}
	fmt.Fprintln(stdout)
	if err := reports.WriteTerminal(stdout, []*results.File{f}); err != nil {
		return errors.Join(runErr, err)
	}
	resultsPath := filepath.Join(cfg.OutDir, "results.json")
	if f.Partial {
		fmt.Fprintf(stdout, "\nPARTIAL results (%s) written to %s\n", f.PartialReason, resultsPath)
	} else {
		fmt.Fprintf(stdout, "\nresults: %s\n", resultsPath)
	}
	if !*noReport && len(f.Points) > 0 {
		paths, err := reports.Render(context.WithoutCancel(ctx), []*results.File{f}, cfg.OutDir, nil)
		if err != nil {
			return errors.Join(runErr, err)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "report.html") {
				fmt.Fprintf(stdout, "report:  %s\n", p)
			}
		}
	}
	return runErr
}
