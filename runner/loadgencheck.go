package runner

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"

	"forkbench/internal/affinity"
	"forkbench/internal/procstat"
	"forkbench/loadgen"
	"forkbench/targets"
	"forkbench/targets/catalog"
)

// CheckGenerator implements `bench loadgen-check`: is the load generator
// the bottleneck? It measures the embedded /plaintext target in a separate
// pinned process, with wrk (the reference) and with our generator's
// closed model as `bench run` uses it (the epoll engine) and on net/http's
// client, same pinning and connections, alternating for a few rounds, and
// prints throughput, the generator's CPU per request, how busy the target
// was and the ratio to wrk. It fails when our generator stays below
// --min-ratio of wrk.
func CheckGenerator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench loadgen-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o catalog.Options
	o.Register(fs)
	conns := fs.Int("connections", 32, "connections")
	dur := fs.Duration("duration", 3*time.Second, "measured duration per tool and round")
	rounds := fs.Int("rounds", 5, "rounds (tools alternate within each; the ratio is the median of per-round ratios)")
	minRatio := fs.Float64("min-ratio", 0.95, "fail when the generator reaches less than this fraction of wrk (--model open: of the closed model's capacity, default 0.9)")
	model := fs.String("model", "closed", "closed: our closed model against wrk; open: the open model's highest valid rate against the closed model's capacity, epoll and vegeta engines (see opencheck.go)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *model {
	case "closed":
	case "open":
		return checkOpen(ctx, fs, o, *conns, *dur, *rounds, *minRatio, stdout, stderr)
	default:
		return fmt.Errorf("loadgen-check: --model %q is neither closed nor open", *model)
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("loadgen-check: wrk not found (make deps installs it): %w", err)
	}
	if err := o.Resolve(ctx); err != nil {
		return err
	}
	gen, tgt, ok := affinity.Plan(runtime.NumCPU())
	if ok {
		if err := pinGenerator(gen); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	t := &targets.Process{Label: "embedded", Path: self, Args: append([]string{"serve", "--target", "embedded"}, o.Args()...), CPUs: tgt}
	if err := t.Start(ctx); err != nil {
		return err
	}
	defer stopAll([]targets.Target{t})
	fmt.Fprintf(stderr, "loadgen-check: embedded /plaintext, %d connections, %v per tool, generator CPUs %v, target CPUs %v\n", *conns, *dur, gen, tgt)

	// srvShare is the share of the target's CPUs the target used: near 1
	// means the target, not the generator, set the pace.
	type sample struct{ rps, cpuUs, srvShare float64 }
	res := map[string][]sample{}
	tools := []string{"wrk", "forkbench (epoll)", "forkbench (net/http)"}
	for round := 1; round <= *rounds; round++ {
		order := slices.Clone(tools)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, tool := range order {
			var s sample
			if tool == "wrk" {
				before, terr := procstat.Tree(t.PIDs())
				began := time.Now()
				s.rps, s.cpuUs, err = runWrk(ctx, wrk, t.URL()+"/plaintext", *conns, *dur, gen)
				if after, aerr := procstat.Tree(t.PIDs()); err == nil && terr == nil && aerr == nil {
					// wrk's run includes its start and exit: a share a
					// little under the target's true busy share.
					s.srvShare = float64(after.OnCPUNs-before.OnCPUNs) / float64(time.Since(began)) / float64(max(1, len(tgt)))
				}
			} else {
				transport := "fasthttp"
				if tool == "forkbench (net/http)" {
					transport = "nethttp"
				}
				pt, aerr := loadgen.Attack(ctx, t, loadgen.Request{Endpoint: "plaintext", Path: "/plaintext"}, loadgen.Options{
					Model: "closed", Connections: *conns, Duration: *dur, Warmup: time.Second,
					Transport: transport, GeneratorCPUs: max(1, len(gen)),
				})
				err = aerr
				s.rps = pt.Throughput
				s.cpuUs = pt.Generator.CPUPerRequestNs / 1e3
				if pt.Server.Observed && pt.DurationNs > 0 {
					s.srvShare = float64(pt.Server.CPUNs) / float64(pt.DurationNs) / float64(max(1, len(tgt)))
				}
			}
			if err != nil {
				return fmt.Errorf("loadgen-check: %s: %w", tool, err)
			}
			fmt.Fprintf(stderr, "  round %d %-22s %9.0f req/s  %5.1f µs generator CPU/req  target busy %3.0f%%\n", round, tool, s.rps, s.cpuUs, 100*s.srvShare)
			res[tool] = append(res[tool], s)
		}
	}
	med := func(xs []sample, f func(sample) float64) float64 {
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
	rps := func(s sample) float64 { return s.rps }
	cpu := func(s sample) float64 { return s.cpuUs }
	busy := func(s sample) float64 { return s.srvShare }
	wrkRPS := med(res["wrk"], rps)
	tw := tablewriter.NewTable(stdout)
	tw.Header("generator", "req/s (median)", "min–max", "generator CPU µs/req", "target busy", "÷ wrk")
	for _, tool := range tools {
		xs := res[tool]
		lo, hi := xs[0].rps, xs[0].rps
		for _, x := range xs {
			lo, hi = min(lo, x.rps), max(hi, x.rps)
		}
		_ = tw.Append(tool, fmt.Sprintf("%.0f", med(xs, rps)), fmt.Sprintf("%.0f–%.0f", lo, hi),
			fmt.Sprintf("%.1f", med(xs, cpu)), fmt.Sprintf("%.0f%%", 100*med(xs, busy)), fmt.Sprintf("%.3f", med(xs, rps)/wrkRPS))
	}
	if err := tw.Render(); err != nil {
		return err
	}
	// The machine drifts between rounds more than the tools differ, so the
	// verdict is the median of the ratios of runs made next to each other.
	ratios := make([]sample, *rounds)
	for i := range ratios {
		ratios[i].rps = res["forkbench (epoll)"][i].rps / res["wrk"][i].rps
	}
	ratio := med(ratios, rps)
	fmt.Fprintf(stdout, "closed model, %d connections, %d rounds: forkbench reaches %.1f%% of wrk's throughput (median of per-round ratios; %.1f%% by medians)\n",
		*conns, *rounds, 100*ratio, 100*med(res["forkbench (epoll)"], rps)/wrkRPS)
	// Who set the pace? A target whose CPUs were (nearly) all busy under
	// both generators was the limit under both; a gap in throughput is
	// then what the target spent per request under each generator's
	// pattern of arrivals, which the CPU per request shows.
	ours, theirs := res["forkbench (epoll)"], res["wrk"]
	if busyOurs, busyWrk := med(ours, busy), med(theirs, busy); busyOurs >= 0.95 && busyWrk >= 0.95 {
		perReq := func(xs []sample) float64 {
			return 1e6 * med(xs, busy) * float64(max(1, len(tgt))) / med(xs, rps)
		}
		fmt.Fprintf(stdout, "the target was %.0f%% busy under forkbench and %.0f%% under wrk: the target set the pace under both; it spent %.1f µs of CPU per request under forkbench against %.1f µs under wrk\n",
			100*busyOurs, 100*busyWrk, perReq(ours), perReq(theirs))
	}
	if ratio < *minRatio {
		return fmt.Errorf("loadgen-check: generator reached %.1f%% of wrk, below %.0f%%: it may be the bottleneck", 100*ratio, 100**minRatio)
	}
	return nil
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var wrkTotal = regexp.MustCompile(`(\d+) requests in`)

// runWrk runs wrk pinned to cpus and returns its throughput and its own
// CPU per request (from the child's rusage).
func runWrk(ctx context.Context, wrk, url string, conns int, d time.Duration, cpus []int) (rps, cpuUs float64, err error) {
	cmd := exec.CommandContext(ctx, wrk, "-t1", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(d.Seconds()+0.5))+"s", url)
	var out []byte
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
	out, _ = io.ReadAll(pr)
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
