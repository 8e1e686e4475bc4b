// Package runner executes a scenario: it verifies the deployments, then
// measures every target × endpoint × load model in interleaved rounds (A B
// C, then C B A, …) with fresh targets each round, and writes the result
// file after every load point, so an interruption loses nothing that was
// measured.
//
// The runner starts nothing by name: the caller (cmd/bench) says how a
// target of a kind is built (Config.NewTarget), applies the CPU pinning to
// the process and says what it applied (Config.Pinning), and measures the
// spawn cost if asked (Config.Fork). So the runner is the measuring loop
// alone, and a test drives it with fake targets.
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
	"slices"
	"sort"
	"time"

	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets"
	"forkbench/targets/fronts"
	"forkbench/verify"
)

// Config is one run.
type Config struct {
	Scenario scenario.Scenario
	// Targets are the options the deployments were started with,
	// recorded in the result file.
	Targets results.TargetOptions
	// NewTarget builds an unstarted target of a kind confined to cpus
	// (none: unconfined), its processes' stderr to stderr. Required.
	NewTarget func(kind string, cpus []int, stderr io.Writer) (targets.Target, error)
	// Pinning is the CPU split the caller applied to this process (the
	// generator) and asks for the targets; recorded in the file.
	Pinning results.Pinning
	// Fork measures the spawn-cost decomposition when the scenario asks
	// for it; nil when it cannot.
	Fork func(ctx context.Context) (*results.Fork, error)
	// OutDir receives results.json (and raw/ with Raw). The run writes
	// into a directory of its own beside it (see RunDir) and OutDir
	// becomes a link to that directory once the run has written its first
	// point, so a run that fails earlier loses nothing of the previous one.
	OutDir string
	// Raw writes every request's result in vegeta's encoding under
	// OutDir/raw/.
	Raw bool
	// Progress receives progress; a terminal gets a live line, anything
	// else plain log lines.
	Progress io.Writer
	// IsTerminal says Progress is a terminal.
	IsTerminal bool
	// Command is recorded in the result file.
	Command []string
	// TargetStderr receives the targets' stderr; nil means
	// OutDir/targets.log, so a failing target's reason is kept with the
	// results.
	TargetStderr io.Writer
	// NoVerify skips the verification before measuring (for external
	// targets that are not the sample app).
	NoVerify bool
	// Specs are the user's targets (`--targets` specs), recorded in the
	// settings. Unverified names targets that are not the sample app
	// (a user's program): verification skips them, with a note each.
	Specs      []results.TargetSpec
	Unverified []string
	// PointByPoint measures the targets that share a kind ("fcgi@base",
	// "fcgi@new": results.SplitTarget) together: all of them started for
	// the round, and every load point measured on each in turn, the order
	// alternating from point to point (A B B A …). Two builds compared by
	// `bench ab` are then measured seconds apart rather than a target's
	// whole round apart, so less of the machine's drift is left in their
	// paired ratios.
	PointByPoint bool

	// Beyond one machine (beyond.go). Shard makes this run one of
	// Shard.Count generators sharing the load; StartAt (zero: at once) is
	// when its first load point starts, agreed between the shards. Agent
	// is the URL of a `bench agent` beside an external target, read with
	// AgentToken, for the server's figures. AllowRemote records that an
	// external URL beyond loopback was accepted (--allow-remote).
	Shard       scenario.Shard
	StartAt     time.Time
	Agent       string
	AgentToken  string
	AllowRemote bool
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
	if cfg.NewTarget == nil {
		return nil, errors.New("runner: Config.NewTarget is nil")
	}
	if sc.Fork && cfg.Fork == nil {
		return nil, errors.New("runner: the scenario asks for the spawn-cost decomposition and Config.Fork is nil")
	}
	refs := references(cfg)
	sc.Targets = append(slices.Clone(sc.Targets), refs...)
	cfg.Scenario = sc
	bx, err := newBeyond(ctx, cfg) // checked before anything is written
	if err != nil {
		return nil, err
	}
	rd, err := NewRunDir(cfg.OutDir, time.Now())
	if err != nil {
		return nil, err
	}
	cfg.OutDir = rd.Dir
	path := filepath.Join(cfg.OutDir, "results.json")
	opts := cfg.Targets
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		StartedAt:     time.Now().UTC(),
		Environment:   results.CollectEnvironment(ctx, cfg.Command),
		Settings:      settings(sc, &opts),
		Pinning:       cfg.Pinning,
		Targets:       describe(sc.Targets),
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
	f.Settings.Specs = cfg.Specs
	f.Settings.References = refs
	bx.fill(f)
	r := &run{cfg: cfg, file: f, path: path, rd: rd, progress: newProgress(cfg.Progress, cfg.IsTerminal, sc, len(refs)), beyond: bx}

	err = r.execute(ctx)
	f.FinishedAt = time.Now().UTC()
	f.Partial, f.PartialReason = false, ""
	if err != nil {
		f.Partial = true
		f.PartialReason = err.Error()
	}
	if slices.Contains(sc.Models, scenario.ModelSweep) {
		f.Knees = results.Knees(f, sc.SLOP99.Duration)
	}
	if werr := results.Write(path, f); werr != nil {
		return f, errors.Join(err, werr)
	}
	r.progress.done()
	if len(f.Points) == 0 {
		// Nothing measured: the previous results stay published.
		if err == nil {
			err = errNoPoints
		}
		return f, fmt.Errorf("runner: no load point measured; %s left as it was (this run's files are in %s): %w",
			rd.Final, rd.Dir, err)
	}
	if perr := r.publish(); perr != nil {
		return f, errors.Join(err, perr)
	}
	return f, err
}

// errNoPoints ends a run that measured nothing without another error.
var errNoPoints = errors.New("runner: no results")

type run struct {
	cfg       Config
	file      *results.File
	path      string
	rd        *RunDir
	published bool // rd is published: the run has at least one point
	progress  *progress
	// sweepFactor is the sweep step of the point being measured (0 when
	// not sweeping).
	sweepFactor float64
	beyond      *beyond
}

func (r *run) newTarget(kind string) (targets.Target, error) {
	t, err := r.cfg.NewTarget(kind, r.cfg.Pinning.TargetCPUs, r.cfg.TargetStderr)
	if err != nil {
		return nil, err
	}
	if lk, ok := t.(logKeeper); ok {
		lk.KeepLogs(filepath.Join(r.cfg.OutDir, "logs", kind))
	}
	return t, nil
}

// logKeeper is a target that can keep its server's logs (a real front's
// error logs) in a directory, which the runner puts with the results:
// OUT/logs/KIND/ (targets.Process hands it to `bench serve --log-dir`).
type logKeeper interface{ KeepLogs(dir string) }

// describe returns what each target is (targets/fronts' descriptors), for
// reports that group by front, protocol or language; a target the suite
// does not describe (an external URL) has its name only.
func describe(kinds []string) []results.TargetInfo {
	var out []results.TargetInfo
	for _, k := range kinds {
		ti := results.TargetInfo{Name: k}
		if d, ok := fronts.Describe(k); ok {
			ti.Front, ti.Protocol, ti.Language = string(d.Front), string(d.Protocol), string(d.Language)
		}
		out = append(out, ti)
	}
	return out
}

func (r *run) execute(ctx context.Context) error {
	sc := r.cfg.Scenario
	if r.cfg.NoVerify {
		r.file.Notes = append(r.file.Notes, results.Note{Kind: results.NoteVerifySkipped})
	} else if err := r.verify(ctx); err != nil {
		return err
	}
	if sc.Fork {
		r.progress.logf("fork: measuring the spawn-cost decomposition")
		fk, err := r.cfg.Fork(ctx)
		if err != nil {
			return err
		}
		r.file.Fork = fk
	}
	for round := 1; round <= sc.Rounds; round++ {
		groups := r.groups(slices.DeleteFunc(slices.Clone(sc.Targets), r.skipped))
		if round%2 == 0 {
			slices.Reverse(groups)
			for _, g := range groups {
				slices.Reverse(g)
			}
		}
		pos := 1
		for _, g := range groups {
			if err := r.measureGroup(ctx, g, round, pos); err != nil {
				return err
			}
			pos += len(g)
		}
	}
	return nil
}

// groups splits the round's targets into the groups measured together:
// with PointByPoint, the targets of one kind (in their first target's
// place); otherwise one group per target.
func (r *run) groups(kinds []string) [][]string {
	var out [][]string
	at := map[string]int{}
	for _, k := range kinds {
		base, _, ok := results.SplitTarget(k)
		if i, seen := at[base]; ok && r.cfg.PointByPoint && seen {
			out[i] = append(out[i], k)
			continue
		}
		at[base] = len(out)
		out = append(out, []string{k})
	}
	return out
}

// verify starts every target once, checks the suite's own deployments
// against the spec and each other, and each real front or Python twin byte
// for byte against the Go app (verify.Deployment.Identical), then stops
// them: no load is sent to a deployment that answers wrongly. A target
// whose server is not installed is skipped (see skip).
func (r *run) verify(ctx context.Context) error {
	var ds []verify.Deployment
	var kinds []string
	for _, kind := range r.cfg.Scenario.Targets {
		if slices.Contains(r.cfg.Unverified, kind) {
			r.file.Notes = append(r.file.Notes, results.Note{Kind: results.NoteVerifySkipped, Subject: kind})
			continue
		}
		kinds = append(kinds, kind)
	}
	if len(kinds) > 0 && !slices.ContainsFunc(kinds, func(k string) bool { return !fronts.Known(k) }) {
		kinds = append(kinds, ReferenceKind) // the reference the fronts are compared with
	}
	started, err := r.startAll(ctx, kinds)
	defer func() { targets.StopAll(started...) }()
	if err != nil {
		return err
	}
	for _, t := range started {
		ds = append(ds, verify.Deployment{Name: t.Name(), URL: t.URL(), Identical: fronts.Known(t.Name())})
	}
	if len(ds) == 0 {
		return nil
	}
	r.progress.logf("verify: checking %d deployments against the spec and each other", len(ds))
	client := &http.Client{Timeout: 30 * time.Second}
	if err := verify.All(ctx, client, ds); err != nil {
		return fmt.Errorf("%w: %w", ErrVerify, err)
	}
	return nil
}

// startAll starts a target of each kind, skipping those this machine
// cannot run (see skip); it returns the targets it started, also on error,
// for the caller to stop.
func (r *run) startAll(ctx context.Context, kinds []string) ([]targets.Target, error) {
	var started []targets.Target
	for _, kind := range kinds {
		t, err := r.newTarget(kind)
		if err != nil {
			return started, err
		}
		if err := targets.Start(ctx, t); err != nil {
			if r.skip(kind, err) {
				continue
			}
			return started, err
		}
		started = append(started, t)
	}
	return started, nil
}

// skip records kind as skipped when err says it cannot run on this
// machine (targets.ErrUnavailable: a server not installed), so the run
// goes on with the others; it reports whether it did.
func (r *run) skip(kind string, err error) bool {
	if !errors.Is(err, targets.ErrUnavailable) {
		return false
	}
	if r.skipped(kind) {
		return true
	}
	reason := err.Error()
	var ue *targets.UnavailableError
	if errors.As(err, &ue) {
		reason = ue.Reason
	}
	r.file.Skipped = append(r.file.Skipped, results.Skip{Target: kind, Reason: reason})
	r.file.Targets = slices.DeleteFunc(r.file.Targets, func(ti results.TargetInfo) bool { return ti.Name == kind })
	r.progress.logf("skip %s: %s", kind, reason)
	return true
}

// skipped reports whether kind was found unavailable.
func (r *run) skipped(kind string) bool {
	return slices.ContainsFunc(r.file.Skipped, func(s results.Skip) bool { return s.Target == kind })
}

// ReferenceKind is the deployment the real fronts are compared with when
// the scenario names none of the suite's own: the app in the Go front.
const ReferenceKind = "embedded"

// measureTarget starts a fresh target and measures every endpoint and model
// on it.
// measureGroup starts the targets of kinds and measures every load point
// of the scenario on each of them, point by point, the targets' order
// alternating from point to point; a group of one is a target measured on
// its own. order is the first target's place in the round.
func (r *run) measureGroup(ctx context.Context, kinds []string, round, order int) error {
	ts, err := r.startAll(ctx, kinds)
	defer func() { targets.StopAll(ts...) }()
	if err != nil {
		return err
	}
	sc := r.cfg.Scenario
	capacity := map[targets.Target]float64{} // closed-model capacity, for the sweep
	turn := 0
	for _, name := range sc.Endpoints {
		ep, err := sc.Endpoint(name)
		if err != nil {
			return err
		}
		req := loadgen.Request{Endpoint: name, Method: ep.Method, Path: ep.Path, Header: ep.Header, Body: ep.Body}
		for _, model := range sc.Models {
			seq := slices.Clone(ts)
			if turn%2 == 1 {
				slices.Reverse(seq)
			}
			turn++
			for _, t := range seq {
				if !slices.Contains(r.modelsOf(t.Name()), model) {
					continue
				}
				c, err := r.measureModel(ctx, t, req, model, capacity[t], round, order+slices.Index(ts, t))
				if err != nil {
					return err
				}
				capacity[t] = c
			}
		}
	}
	return nil
}

// measureModel measures one load model of one endpoint on t and returns
// t's closed-model capacity (measured here when the model needs it,
// otherwise the one passed in).
func (r *run) measureModel(ctx context.Context, t targets.Target, req loadgen.Request, model results.Model, capacity float64, round, order int) (float64, error) {
	sc := r.cfg.Scenario
	switch model {
	case scenario.ModelClosed:
		p, err := r.attack(ctx, t, req, results.ModelClosed, 0, round, order)
		return p.Throughput, err
	case scenario.ModelOpen:
		_, err := r.attack(ctx, t, req, results.ModelOpen, sc.Rate, round, order)
		return capacity, err
	case scenario.ModelSweep:
		if capacity == 0 {
			p, err := r.attack(ctx, t, req, results.ModelClosed, 0, round, order)
			if err != nil {
				return 0, err
			}
			capacity = p.Throughput
		}
		for _, step := range sweepRates(capacity, sc.SweepFactors) {
			r.sweepFactor = step.factor
			_, err := r.attack(ctx, t, req, results.ModelOpen, step.rate, round, order)
			r.sweepFactor = 0
			if err != nil {
				return capacity, err
			}
		}
	}
	return capacity, nil
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

func (r *run) attack(ctx context.Context, t targets.Target, req loadgen.Request, model results.Model, rate float64, round, order int) (results.Point, error) {
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
		GeneratorCPUs: max(1, len(r.cfg.Pinning.GeneratorCPUs)),
	}
	if len(r.cfg.Pinning.GeneratorCPUs) == 0 {
		opts.GeneratorCPUs = runtime.NumCPU()
	}
	r.beyond.share(&opts, r.sweepFactor != 0)
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
	p, err := r.beyond.attack(ctx, t, req, opts)
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
	werr := results.Write(r.path, r.file)
	if werr == nil {
		werr = r.publish()
	}
	if werr != nil && err == nil {
		err = werr
	}
	return p, err
}

// publish makes the run's directory the published one once it holds a
// point; later points land in it through the link.
func (r *run) publish() error {
	if r.published || len(r.file.Points) == 0 {
		return nil
	}
	if err := r.rd.Publish(); err != nil {
		return err
	}
	r.published = true
	return nil
}
