package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"time"

	"forkbench/internal/affinity"
	"forkbench/internal/procstat"
	"forkbench/loadgen"
	"forkbench/reports"
	"forkbench/results"
	"forkbench/targets"
	"forkbench/targets/catalog"
)

// The tools loadgen-check sets side by side.
const (
	toolWrk     = "wrk"
	toolEpoll   = "forkbench (epoll)"
	toolNetHTTP = "forkbench (net/http)"
)

// genSample is one tool's run in one round. srvShare is the share of the
// target's CPUs the target used: near 1 means the target, not the
// generator, set the pace.
type genSample struct{ rps, cpuUs, srvShare float64 }

// genCheck is one loadgen-check: its settings and the target it drives.
type genCheck struct {
	wrk      string
	conns    int
	dur      time.Duration
	rounds   int
	pinning  results.Pinning
	target   targets.Target
	progress io.Writer
}

// loadgenCheck implements `bench loadgen-check`: is the load generator
// the bottleneck? It measures the embedded /plaintext target in a
// separate pinned process, with wrk (the reference) and with our
// generator's closed model as `bench run` uses it (the epoll engine) and
// on net/http's client, same pinning and connections, alternating for a
// few rounds, and prints throughput, the generator's CPU per request, how
// busy the target was and the ratio to wrk. It fails when our generator
// stays below --min-ratio of wrk.
func loadgenCheck(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o catalog.Options
	targetFlags(fs, &o.TargetOptions)
	c := genCheck{progress: stderr}
	fs.IntVar(&c.conns, "connections", 32, "connections")
	fs.DurationVar(&c.dur, "duration", 3*time.Second, "measured duration per tool and round")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds (tools alternate within each; the ratio is the median of per-round ratios)")
	minRatio := fs.Float64("min-ratio", 0.95, "fail when the generator reaches less than this fraction of wrk (--model open: of the closed model's capacity, default 0.9)")
	model := fs.String("model", "closed", "closed: our closed model against wrk; open: the open model's highest valid rate against the closed model's capacity, epoll and vegeta engines")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	switch *model {
	case "closed":
	case "open":
		return checkOpen(ctx, fs, o, c.conns, c.dur, c.rounds, *minRatio, stdout, stderr)
	default:
		return fmt.Errorf("loadgen-check: --model %q is neither closed nor open", *model)
	}
	var err error
	if c.wrk, err = exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("loadgen-check: wrk not found (make deps installs it): %w", err)
	}
	if err := o.Resolve(ctx); err != nil {
		return err
	}
	c.pinning = pinProcess(false)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	t, err := serveTarget(self, o, nil)("embedded", c.pinning.TargetCPUs, nil)
	if err != nil {
		return err
	}
	if err := targets.Start(ctx, t); err != nil {
		return err
	}
	defer targets.StopAll(t)
	c.target = t
	fmt.Fprintf(stderr, "loadgen-check: embedded /plaintext, %d connections, %v per tool, generator CPUs %v, target CPUs %v\n",
		c.conns, c.dur, c.pinning.GeneratorCPUs, c.pinning.TargetCPUs)
	res, err := c.measure(ctx)
	if err != nil {
		return err
	}
	ratio, err := c.print(stdout, res)
	if err != nil {
		return err
	}
	if ratio < *minRatio {
		return fmt.Errorf("loadgen-check: generator reached %.1f%% of wrk, below %.0f%%: it may be the bottleneck", 100*ratio, 100**minRatio)
	}
	return nil
}

// measure runs every tool in every round, alternating their order.
func (c genCheck) measure(ctx context.Context) (map[string][]genSample, error) {
	res := map[string][]genSample{}
	tools := []string{toolWrk, toolEpoll, toolNetHTTP}
	for round := 1; round <= c.rounds; round++ {
		order := slices.Clone(tools)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, tool := range order {
			s, err := c.sample(ctx, tool)
			if err != nil {
				return nil, fmt.Errorf("loadgen-check: %s: %w", tool, err)
			}
			fmt.Fprintf(c.progress, "  round %d %-22s %9.0f req/s  %5.1f µs generator CPU/req  target busy %3.0f%%\n", round, tool, s.rps, s.cpuUs, 100*s.srvShare)
			res[tool] = append(res[tool], s)
		}
	}
	return res, nil
}

// sample runs one tool once.
func (c genCheck) sample(ctx context.Context, tool string) (genSample, error) {
	var s genSample
	tgtCPUs := float64(max(1, len(c.pinning.TargetCPUs)))
	if tool == toolWrk {
		before, terr := procstat.Tree(c.target.PIDs())
		began := time.Now()
		var err error
		s.rps, s.cpuUs, err = runWrk(ctx, c.wrk, c.target.URL()+"/plaintext", c.conns, c.dur, c.pinning.GeneratorCPUs)
		if after, aerr := procstat.Tree(c.target.PIDs()); err == nil && terr == nil && aerr == nil {
			// wrk's run includes its start and exit: a share a little
			// under the target's true busy share.
			s.srvShare = float64(after.OnCPUNs-before.OnCPUNs) / float64(time.Since(began)) / tgtCPUs
		}
		return s, err
	}
	transport := "fasthttp"
	if tool == toolNetHTTP {
		transport = "nethttp"
	}
	pt, err := loadgen.Attack(ctx, c.target, loadgen.Request{Endpoint: "plaintext", Path: "/plaintext"}, loadgen.Options{
		Model: results.ModelClosed, Connections: c.conns, Duration: c.dur, Warmup: time.Second,
		Transport: transport, GeneratorCPUs: max(1, len(c.pinning.GeneratorCPUs)),
	})
	s.rps = pt.Throughput
	s.cpuUs = pt.Generator.CPUPerRequestNs / 1e3
	if pt.Server.Observed && pt.DurationNs > 0 {
		s.srvShare = float64(pt.Server.CPUNs) / float64(pt.DurationNs) / tgtCPUs
	}
	return s, err
}

// medianOf is the median of f over xs.
func medianOf(xs []genSample, f func(genSample) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return results.Median(v)
}

func rpsOf(s genSample) float64  { return s.rps }
func cpuOf(s genSample) float64  { return s.cpuUs }
func busyOf(s genSample) float64 { return s.srvShare }

// print writes the table and the verdict and returns the ratio judged:
// the median of the per-round ratios of our epoll engine to wrk.
func (c genCheck) print(w io.Writer, res map[string][]genSample) (float64, error) {
	wrkRPS := medianOf(res[toolWrk], rpsOf)
	t := reports.Table{
		Header: []string{"generator", "req/s (median)", "min–max", "generator CPU µs/req", "target busy", "÷ wrk"},
		Right:  []bool{false, true, true, true, true, true},
	}
	for _, tool := range []string{toolWrk, toolEpoll, toolNetHTTP} {
		xs := res[tool]
		lo, hi := xs[0].rps, xs[0].rps
		for _, x := range xs {
			lo, hi = min(lo, x.rps), max(hi, x.rps)
		}
		t.Rows = append(t.Rows, []string{tool, fmt.Sprintf("%.0f", medianOf(xs, rpsOf)), fmt.Sprintf("%.0f–%.0f", lo, hi),
			fmt.Sprintf("%.1f", medianOf(xs, cpuOf)), fmt.Sprintf("%.0f%%", 100*medianOf(xs, busyOf)), fmt.Sprintf("%.3f", medianOf(xs, rpsOf)/wrkRPS)})
	}
	if err := t.Render(w, reports.StyleText); err != nil {
		return 0, err
	}
	// The machine drifts between rounds more than the tools differ, so the
	// verdict is the median of the ratios of runs made next to each other.
	ours, theirs := res[toolEpoll], res[toolWrk]
	ratios := make([]float64, c.rounds)
	for i := range ratios {
		ratios[i] = ours[i].rps / theirs[i].rps
	}
	ratio := results.Median(ratios)
	fmt.Fprintf(w, "closed model, %d connections, %d rounds: forkbench reaches %.1f%% of wrk's throughput (median of per-round ratios; %.1f%% by medians)\n",
		c.conns, c.rounds, 100*ratio, 100*medianOf(ours, rpsOf)/wrkRPS)
	// Who set the pace? A target whose CPUs were (nearly) all busy under
	// both generators was the limit under both; a gap in throughput is
	// then what the target spent per request under each generator's
	// pattern of arrivals, which the CPU per request shows.
	if busyOurs, busyWrk := medianOf(ours, busyOf), medianOf(theirs, busyOf); busyOurs >= 0.95 && busyWrk >= 0.95 {
		perReq := func(xs []genSample) float64 {
			return 1e6 * medianOf(xs, busyOf) * float64(max(1, len(c.pinning.TargetCPUs))) / medianOf(xs, rpsOf)
		}
		fmt.Fprintf(w, "the target was %.0f%% busy under forkbench and %.0f%% under wrk: the target set the pace under both; it spent %.1f µs of CPU per request under forkbench against %.1f µs under wrk\n",
			100*busyOurs, 100*busyWrk, perReq(ours), perReq(theirs))
	}
	return ratio, nil
}

var (
	wrkRPS   = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal = regexp.MustCompile(`(\d+) requests in`)
)

// runWrk runs wrk pinned to cpus and returns its throughput and its own
// CPU per request (from the child's rusage).
func runWrk(ctx context.Context, wrk, url string, conns int, d time.Duration, cpus []int) (rps, cpuUs float64, err error) {
	cmd := exec.CommandContext(ctx, wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(d.Seconds()+0.5))+"s", url)
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	cmd.Stdout = pw
	if err := affinity.Start(cmd, cpus); err != nil {
		pw.Close()
		pr.Close()
		return 0, 0, err
	}
	pw.Close()
	out, _ := io.ReadAll(pr)
	pr.Close()
	if err := cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	m := wrkRPS.FindSubmatch(out)
	n := wrkTotal.FindSubmatch(out)
	if m == nil || n == nil {
		return 0, 0, fmt.Errorf("wrk: cannot parse output: %s", out)
	}
	rps, _ = strconv.ParseFloat(string(m[1]), 64)
	total, _ := strconv.ParseFloat(string(n[1]), 64)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if total > 0 {
		cpuUs = float64(cpu.Microseconds()) / total
	}
	return rps, cpuUs, nil
}
