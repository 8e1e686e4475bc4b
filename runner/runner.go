// Package runner executes a scenario: it verifies the deployments, then
// measures every target × endpoint × load model in interleaved rounds (A B
// C, then C B A, …) with fresh target processes each round, the load
// generator and the targets pinned to different CPUs, and writes the
// result file after every load point, so an interruption loses nothing
// that was measured.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"time"

	"forkbench/fork"
	"forkbench/internal/affinity"
	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets"
	"forkbench/targets/catalog"
	"forkbench/verify"
)

// Config is one run.
type Config struct {
	Scenario scenario.Scenario
	// Targets are the catalog options the deployments are started with.
	Targets catalog.Options
	// OutDir receives results.json (and raw/ with Raw).
	OutDir string
	// Raw writes every request's result in vegeta's encoding under
	// OutDir/raw/.
	Raw bool
	// NoPin disables CPU pinning.
	NoPin bool
	// Progress receives progress; a terminal gets a live line, anything
	// else plain log lines.
	Progress io.Writer
	// IsTerminal says Progress is a terminal.
	IsTerminal bool
	// Command is recorded in the result file.
	Command []string
	// BenchBin is the bench executable started as `bench serve` for each
	// target; "" means this executable.
	BenchBin string
	// TargetStderr receives the targets' stderr; nil means
	// OutDir/targets.log, so a failing target's reason is kept with the
	// results.
	TargetStderr io.Writer
	// NoVerify skips the verification before measuring (for external
	// targets that are not the sample app).
	NoVerify bool
}

// ErrVerify is returned when a deployment answers wrongly: the run refuses
// to measure it.
var ErrVerify = errors.New("runner: verification failed")

// Run executes cfg and returns the result file it wrote (also on error, as
// far as it got, marked partial).
func Run(ctx context.Context, cfg Config) (*results.File, error) {
	sc := cfg.Scenario
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	for _, t := range sc.Targets {
		if !slices.Contains(append(catalog.Kinds(), "external"), t) {
			return nil, fmt.Errorf("runner: %w %q (known: embedded, fcgi, cgi, external)", catalog.ErrUnknownKind, t)
		}
	}
	if cfg.BenchBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		cfg.BenchBin = exe
	}
	if err := cfg.Targets.Resolve(ctx); err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.OutDir, "results.json")
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		StartedAt:     time.Now().UTC(),
		Environment:   results.CollectEnvironment(ctx, cfg.Command),
		Settings:      settings(sc, cfg.Targets),
	}
	if cfg.TargetStderr == nil {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		logf, err := os.Create(filepath.Join(cfg.OutDir, "targets.log"))
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		defer logf.Close()
		cfg.TargetStderr = logf
	}
	r := &run{cfg: cfg, file: f, path: path, progress: newProgress(cfg.Progress, cfg.IsTerminal, sc)}
	r.pin()

	err := r.execute(ctx)
	f.FinishedAt = time.Now().UTC()
	f.Partial, f.PartialReason = false, ""
	if err != nil {
		f.Partial = true
		f.PartialReason = err.Error()
	}
	f.Knees = knees(f, sc)
	f.Notes = append(f.Notes, notes(f)...)
	if werr := results.Write(path, f); werr != nil {
		return f, errors.Join(err, werr)
	}
	r.progress.done()
	return f, err
}

type run struct {
	cfg      Config
	file     *results.File
	path     string
	genCPUs  []int
	tgtCPUs  []int
	progress *progress
	// sweepFactor is the sweep step of the point being measured (0 when
	// not sweeping).
	sweepFactor float64
}

// pin confines this process (the generator) to one CPU and the targets to
// the others, recorded in the file either way.
func (r *run) pin() {
	f := r.file
	if r.cfg.NoPin {
		f.Pinning = results.Pinning{Note: "disabled by --no-pin"}
		return
	}
	gen, tgt, ok := affinity.Plan(runtime.NumCPU())
	if !ok {
		f.Pinning = results.Pinning{Note: fmt.Sprintf("off: %d CPU(s), need at least 2", runtime.NumCPU())}
		return
	}
	if err := pinGenerator(gen); err != nil {
		f.Pinning = results.Pinning{Note: "off: " + err.Error()}
		return
	}
	r.genCPUs, r.tgtCPUs = gen, tgt
	got, _ := affinity.Get(os.Getpid())
	f.Pinning = results.Pinning{Enabled: true, GeneratorCPUs: got, TargetCPUs: tgt}
}

// pinGenerator confines this process, the load generator, to cpus and
// tunes its runtime for the job: GOMAXPROCS follows the CPUs it may use
// (at once, rather than when the runtime next notices the new mask), and
// the garbage collector runs less often — the generator allocates a little
// per request, and with GOGC=400 it spent 4–10% less CPU per request in
// paired runs on the project's 2-core machines, CPU that is then not taken
// from measuring. Only the generator process is tuned: targets run in
// their own processes with default settings.
func pinGenerator(cpus []int) error {
	if err := affinity.PinSelf(cpus); err != nil {
		return err
	}
	runtime.GOMAXPROCS(len(cpus))
	debug.SetGCPercent(400)
	return nil
}

func (r *run) newTarget(kind string) targets.Target {
	if kind == "external" {
		t, _ := catalog.New("external", r.cfg.Targets) // validated in execute
		return t
	}
	args := append([]string{"serve", "--target", kind}, r.cfg.Targets.Args()...)
	return &targets.Process{
		Label:  kind,
		Path:   r.cfg.BenchBin,
		Args:   args,
		CPUs:   r.tgtCPUs,
		Stderr: r.cfg.TargetStderr,
	}
}

func (r *run) execute(ctx context.Context) error {
	sc := r.cfg.Scenario
	if slices.Contains(sc.Targets, "external") {
		if _, err := catalog.New("external", r.cfg.Targets); err != nil {
			return err
		}
	}
	if r.cfg.NoVerify {
		r.file.Notes = append(r.file.Notes, "Verification was skipped (--no-verify): responses were not checked against the app's specification.")
	} else if err := r.verify(ctx); err != nil {
		return err
	}
	if sc.Fork {
		r.progress.logf("fork: measuring the spawn-cost decomposition")
		fk, err := fork.Measure(ctx, fork.Config{AppBin: r.cfg.Targets.AppBin, DataDir: r.cfg.Targets.DataDir, Log: r.cfg.Progress})
		if err != nil {
			return err
		}
		r.file.Fork = fk
	}
	for round := 1; round <= sc.Rounds; round++ {
		order := slices.Clone(sc.Targets)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for pos, kind := range order {
			if err := r.measureTarget(ctx, kind, round, pos+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// verify starts every target once, checks each against the spec and all
// against each other, and stops them: no load is sent to a deployment that
// answers wrongly.
func (r *run) verify(ctx context.Context) error {
	var ds []verify.Deployment
	var started []targets.Target
	defer func() {
		stopAll(started)
	}()
	for _, kind := range r.cfg.Scenario.Targets {
		t := r.newTarget(kind)
		if err := t.Start(ctx); err != nil {
			_ = t.Stop(context.Background())
			return err
		}
		started = append(started, t)
		ds = append(ds, verify.Deployment{Name: kind, URL: t.URL()})
	}
	r.progress.logf("verify: checking %d deployments against the spec and each other", len(ds))
	client := &http.Client{Timeout: 30 * time.Second}
	if err := verify.All(ctx, client, ds); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	return nil
}

func stopAll(ts []targets.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, t := range ts {
		_ = t.Stop(ctx)
	}
}

// measureTarget starts a fresh target and measures every endpoint and model
// on it.
func (r *run) measureTarget(ctx context.Context, kind string, round, order int) error {
	sc := r.cfg.Scenario
	t := r.newTarget(kind)
	if err := t.Start(ctx); err != nil {
		_ = t.Stop(context.Background())
		return err
	}
	defer stopAll([]targets.Target{t})
	for _, name := range sc.Endpoints {
		ep, err := sc.Endpoint(name)
		if err != nil {
			return err
		}
		req := loadgen.Request{Endpoint: name, Method: ep.Method, Path: ep.Path, Header: ep.Header, Body: ep.Body}
		var capacity float64
		for _, model := range sc.Models {
			switch model {
			case scenario.ModelClosed:
				p, err := r.attack(ctx, t, req, results.ModelClosed, 0, round, order)
				if err != nil {
					return err
				}
				capacity = p.Throughput
			case scenario.ModelOpen:
				if _, err := r.attack(ctx, t, req, results.ModelOpen, sc.Rate, round, order); err != nil {
					return err
				}
			case scenario.ModelSweep:
				if capacity == 0 {
					p, err := r.attack(ctx, t, req, results.ModelClosed, 0, round, order)
					if err != nil {
						return err
					}
					capacity = p.Throughput
				}
				for _, step := range sweepRates(capacity, sc.SweepFactors) {
					r.sweepFactor = step.factor
					_, err := r.attack(ctx, t, req, results.ModelOpen, step.rate, round, order)
					r.sweepFactor = 0
					if err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// sweepStep is one step of a rate sweep.
type sweepStep struct{ factor, rate float64 }

// sweepRates turns capacity fractions into offered rates, rounded to
// whole requests per second, in ascending order; a step whose rate an
// earlier (smaller) factor already gives is dropped.
func sweepRates(capacity float64, factors []float64) []sweepStep {
	fs := slices.Clone(factors)
	sort.Float64s(fs)
	var steps []sweepStep
	for _, f := range fs {
		rate := math.Max(1, math.Round(capacity*f))
		if len(steps) > 0 && steps[len(steps)-1].rate == rate {
			continue
		}
		steps = append(steps, sweepStep{f, rate})
	}
	return steps
}

func (r *run) attack(ctx context.Context, t targets.Target, req loadgen.Request, model string, rate float64, round, order int) (results.Point, error) {
	sc := r.cfg.Scenario
	opts := loadgen.Options{
		Model:         model,
		Rate:          rate,
		Connections:   sc.Connections,
		Duration:      sc.Duration.Duration,
		Warmup:        sc.Warmup.Duration,
		Timeout:       sc.Timeout.Duration,
		Transport:     sc.Transport,
		Engine:        sc.Engine,
		Poisson:       sc.Arrivals == loadgen.ArrivalsPoisson,
		Seed:          sc.Seed,
		GeneratorCPUs: max(1, len(r.genCPUs)),
	}
	if len(r.genCPUs) == 0 {
		opts.GeneratorCPUs = runtime.NumCPU()
	}
	var raw *os.File
	if r.cfg.Raw {
		name := fmt.Sprintf("%s-%s-%s-%g-r%d.bin", t.Name(), req.Endpoint, model, rate, round)
		dir := filepath.Join(r.cfg.OutDir, "raw")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return results.Point{}, fmt.Errorf("runner: %w", err)
		}
		var err error
		if raw, err = os.Create(filepath.Join(dir, name)); err != nil {
			return results.Point{}, fmt.Errorf("runner: %w", err)
		}
		opts.Raw = raw
	}
	label := fmt.Sprintf("%s %s %s", t.Name(), req.Endpoint, model)
	if model == results.ModelOpen {
		label += fmt.Sprintf(" @%g/s", rate)
	}
	opts.Progress = r.progress.point(label, round, sc.Rounds, sc.Warmup.Duration+sc.Duration.Duration)
	p, err := loadgen.Attack(ctx, t, req, opts)
	if raw != nil {
		if cerr := raw.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("runner: %w", cerr)
		}
	}
	p.Target, p.Endpoint, p.Round, p.Order = t.Name(), req.Endpoint, round, order
	p.SweepFactor = r.sweepFactor
	if p.Requests > 0 || err == nil {
		r.file.Points = append(r.file.Points, p)
	}
	r.progress.finish(p)
	// Written after every point: Ctrl-C or a crash loses at most the
	// point in flight. The final write clears Partial.
	r.file.Partial = true
	r.file.PartialReason = "run in progress"
	if werr := results.Write(r.path, r.file); werr != nil && err == nil {
		err = werr
	}
	return p, err
}
