package compare

// This file writes result files in the Go benchmark format
// (golang.org/x/perf/benchfmt), so that benchstat and continuous
// benchmarking services read forkbench's figures.

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"forkbench/results"
)

// WriteBenchfmt writes f as Go benchmark results: configuration lines
// (goos, goarch, cpu, commit, scenario, …), a Unit line per metric saying
// which direction is better, and one result line per point and round:
//
//	BenchmarkServe/target=cgi/endpoint=plaintext/load=closed 812 0.0012 sec/op 0.0031 p99-sec/op 812 req/s 850000 cpu-ns/op 41000000 peak-B
//
// The iteration count is the number of requests of the point; sec/op is
// the median latency (not the inverse of throughput). Each round is its
// own line, so benchstat sees the rounds as the independent samples they
// are. Metrics a point lacks (server cost of an external target) are left
// out of its line.
func WriteBenchfmt(w io.Writer, f *results.File) error {
	bw := bufio.NewWriter(w)
	e := f.Environment
	config := []struct{ k, v string }{
		{"goos", e.OS},
		{"goarch", e.Arch},
		{"cpu", e.CPUModel},
		{"cpus", itoaOr(e.CPUs)},
		{"commit", e.GitCommit},
		{"go", e.GoVersion},
		{"suite", e.SuiteVersion},
		{"scenario", f.Settings.Scenario},
		{"transport", f.Settings.Transport},
		{"started", f.StartedAt.UTC().Format("2006-01-02T15:04:05Z")},
	}
	for _, c := range config {
		if c.v != "" {
			fmt.Fprintf(bw, "%s: %s\n", c.k, configValue(c.v))
		}
	}
	ms := metrics()
	fmt.Fprintln(bw)
	for _, m := range ms {
		better := "lower"
		if m.HigherBetter {
			better = "higher"
		}
		fmt.Fprintf(bw, "Unit %s better=%s assume=nothing\n", m.Unit, better)
	}
	fmt.Fprintln(bw)
	for _, g := range results.Groups(f) {
		k := g.Key
		name := "BenchmarkServe/target=" + nameValue(k.Target) + "/endpoint=" + nameValue(k.Endpoint) + "/load=" + nameValue(k.Load())
		for _, p := range g.Points {
			fmt.Fprintf(bw, "%s %d", name, max(p.Requests, 1))
			for _, m := range ms {
				if v, ok := m.value(p); ok {
					fmt.Fprintf(bw, " %s %s", strconv.FormatFloat(v, 'g', -1, 64), m.Unit)
				}
			}
			fmt.Fprintln(bw)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("compare: benchfmt: %w", err)
	}
	return nil
}

func itoaOr(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// configValue keeps a value on one line.
func configValue(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// nameValue keeps a sub-benchmark value free of the characters benchfmt
// uses as separators (space, '/', '=').
func nameValue(s string) string {
	return strings.NewReplacer(" ", "_", "/", "∕", "=", ":").Replace(s)
}
