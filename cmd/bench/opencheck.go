package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/olekukonko/tablewriter"

	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/targets"
	"forkbench/targets/catalog"
)

// openCheckFactors are the fractions of the closed model's capacity the
// open-model check offers, highest first: the first one whose point is
// valid is the generator's open-model capacity, to within a step.
var openCheckFactors = []float64{1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1}

// openCheckEngines are the open model's engines the check compares.
var openCheckEngines = []string{loadgen.EngineEpoll, loadgen.EngineVegeta}

// openSample is one engine's result in one round of the open check.
type openSample struct {
	closedRPS, closedCPUUs float64
	rate                   float64 // highest valid offered rate, 0 if none
	pt                     results.Point
	tried                  int
}

// checkOpen implements `bench loadgen-check --model open`: the highest
// rate the open model sustains on the embedded /plaintext target with its
// latency still valid (not saturated, not generator-bound, no errors),
// against the closed model's capacity on the same target and connections
// measured just before, for each open-model engine. It fails when the
// default engine reaches less than --min-ratio (0.9 unless set) of the
// closed capacity, or spends more than 1.5× the closed engine's CPU per
// request there.
func checkOpen(ctx context.Context, fs *flag.FlagSet, o catalog.Options, conns int, dur time.Duration, rounds int, minRatio float64, stdout, stderr io.Writer) error { //nolint:funlen // one sequential procedure: start, measure rounds, print

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["rounds"] {
		rounds = 1
	}
	if !set["min-ratio"] {
		minRatio = 0.9
	}
	const maxCPURatio = 1.5
	if err := o.Resolve(ctx); err != nil {
		return err
	}
	pinning := pinProcess(false)
	gen, tgt := pinning.GeneratorCPUs, pinning.TargetCPUs
	self, err := os.Executable()
	if err != nil {
		return err
	}
	t, err := serveTarget(self, o, nil)("embedded", tgt, nil)
	if err != nil {
		return err
	}
	if err := targets.Start(ctx, t); err != nil {
		return err
	}
	defer targets.StopAll(t)
	fmt.Fprintf(stderr, "loadgen-check --model open: embedded /plaintext, %d connections, %v per point, generator CPUs %v, target CPUs %v\n", conns, dur, gen, tgt)

	req := loadgen.Request{Endpoint: "plaintext", Path: "/plaintext"}
	attack := func(model results.Model, engine string, rate float64) (results.Point, error) {
		return loadgen.Attack(ctx, t, req, loadgen.Options{
			Model: model, Rate: rate, Engine: engine, Connections: conns, Duration: dur, Warmup: time.Second,
			GeneratorCPUs: max(1, len(gen)),
		})
	}
	res := map[string][]openSample{}
	for round := 1; round <= rounds; round++ {
		closed, err := attack(results.ModelClosed, "", 0)
		if err != nil {
			return fmt.Errorf("loadgen-check: closed model: %w", err)
		}
		fmt.Fprintf(stderr, "  round %d closed model (%s): %.0f req/s, %.1f µs generator CPU/req, generator %3.0f%% busy, target %3.0f%% busy\n",
			round, closed.Engine, closed.Throughput, closed.Generator.CPUPerRequestNs/1e3, 100*closed.Generator.CoreShare, 100*targetBusy(closed, len(tgt)))
		engines := slices.Clone(openCheckEngines)
		if round%2 == 0 {
			slices.Reverse(engines)
		}
		for _, engine := range engines {
			s := openSample{closedRPS: closed.Throughput, closedCPUUs: closed.Generator.CPUPerRequestNs / 1e3}
			for _, f := range openCheckFactors {
				rate := float64(int(f*closed.Throughput + 0.5))
				p, err := attack(results.ModelOpen, engine, rate)
				if err != nil {
					return fmt.Errorf("loadgen-check: open model on %s at %.0f req/s: %w", engine, rate, err)
				}
				s.tried++
				valid := p.Requests > 0 && !p.Saturated && !p.GeneratorBound && len(p.Errors) == 0
				fmt.Fprintf(stderr, "  round %d %-16s offered %6.0f (%.2f×): achieved %6.0f req/s, %5.1f µs generator CPU/req, generator %3.0f%% busy, target %3.0f%% busy, p99 %v from intended send, send lag p99 %v, unsent %d%s\n",
					round, p.Engine, rate, f, p.AchievedRate, p.Generator.CPUPerRequestNs/1e3, 100*p.Generator.CoreShare, 100*targetBusy(p, len(tgt)),
					time.Duration(p.Corrected.P99Ns).Round(time.Microsecond), time.Duration(p.SendLag.P99Ns).Round(time.Microsecond), p.Unsent, pointFlags(p))
				if valid {
					s.rate, s.pt = rate, p
					break
				}
			}
			res[engine] = append(res[engine], s)
		}
	}
	return printOpenCheck(stdout, res, conns, rounds, minRatio, maxCPURatio)
}

// targetBusy is the share of its CPUs the target used over p's window.
func targetBusy(p results.Point, cpus int) float64 {
	if !p.Server.Observed || p.DurationNs == 0 {
		return 0
	}
	return float64(p.Server.CPUNs) / float64(p.DurationNs) / float64(max(1, cpus))
}

// pointFlags words why a point's latency is not valid.
func pointFlags(p results.Point) string {
	var s string
	if p.Saturated {
		s += " SATURATED"
	}
	if p.GeneratorBound {
		s += " GENERATOR-BOUND"
	}
	if len(p.Errors) > 0 {
		s += fmt.Sprintf(" errors %v", p.Errors)
	}
	return s
}

// printOpenCheck prints the medians across rounds and the verdict on the
// default engine.
func printOpenCheck(stdout io.Writer, res map[string][]openSample, conns, rounds int, minRatio, maxCPURatio float64) error {
	med := func(xs []openSample, f func(openSample) float64) float64 {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	ratio := func(s openSample) float64 { return s.rate / s.closedRPS }
	cpu := func(s openSample) float64 { return s.pt.Generator.CPUPerRequestNs / 1e3 }
	cpuRatio := func(s openSample) float64 { return cpu(s) / s.closedCPUUs }
	tw := tablewriter.NewTable(stdout)
	tw.Header("open-model engine", "closed req/s", "highest valid open rate", "× closed", "generator CPU µs/req", "× closed CPU", "p50 ms", "p99 ms", "send lag p99 ms")
	for _, engine := range openCheckEngines {
		xs := res[engine]
		ms := func(f func(openSample) int64) string {
			return fmt.Sprintf("%.2f", med(xs, func(s openSample) float64 { return float64(f(s)) })/1e6)
		}
		var p50, p99, lag string = "-", "-", "-"
		if med(xs, func(s openSample) float64 { return s.rate }) > 0 {
			p50 = ms(func(s openSample) int64 { return s.pt.Corrected.P50Ns })
			p99 = ms(func(s openSample) int64 { return s.pt.Corrected.P99Ns })
			lag = ms(func(s openSample) int64 { return s.pt.SendLag.P99Ns })
		}
		name := engine
		if len(xs) > 0 && xs[0].pt.Engine != "" {
			name = xs[0].pt.Engine
		}
		_ = tw.Append(name, fmt.Sprintf("%.0f", med(xs, func(s openSample) float64 { return s.closedRPS })),
			fmt.Sprintf("%.0f", med(xs, func(s openSample) float64 { return s.rate })), fmt.Sprintf("%.2f", med(xs, ratio)),
			fmt.Sprintf("%.1f", med(xs, cpu)), fmt.Sprintf("%.2f", med(xs, cpuRatio)), p50, p99, lag)
	}
	if err := tw.Render(); err != nil {
		return err
	}
	ours := res[loadgen.EngineEpoll]
	r, c := med(ours, ratio), med(ours, cpuRatio)
	fmt.Fprintf(stdout, "open model on epoll, %d connections, %d round(s): sustains %.0f%% of the closed model's capacity with valid latency (median), at %.2f× the closed engine's generator CPU per request\n",
		conns, rounds, 100*r, c)
	switch {
	case r < minRatio:
		return fmt.Errorf("loadgen-check: the open model sustains %.0f%% of the closed model's capacity, below %.0f%%: it may be the bottleneck", 100*r, 100*minRatio)
	case c > maxCPURatio:
		return fmt.Errorf("loadgen-check: the open model costs %.2f× the closed engine's CPU per request, above %.1f×", c, maxCPURatio)
	}
	return nil
}
