package runner

import (
	"fmt"
	"io"
	"sync"
	"time"

	"forkbench/internal/units"
	"forkbench/results"
	"forkbench/scenario"
)

// progress reports long work: a live line on a terminal, plain log lines
// otherwise (CI logs), never both.
type progress struct {
	w        io.Writer
	tty      bool
	start    time.Time
	total    int // load points planned
	finished int
	perPoint time.Duration
	mu       sync.Mutex
}

// newProgress plans sc's load points, the last refs of its targets being
// references, measured in the closed model only.
func newProgress(w io.Writer, tty bool, sc scenario.Scenario, refs int) *progress {
	if w == nil {
		w = io.Discard
	}
	per := 0
	for _, m := range sc.Models {
		switch m {
		case scenario.ModelSweep:
			per += len(sc.SweepFactors)
		default:
			per++
		}
	}
	return &progress{
		w: w, tty: tty, start: time.Now(),
		total:    ((len(sc.Targets)-refs)*per + refs) * len(sc.Endpoints) * sc.Rounds,
		perPoint: sc.Warmup.Duration + sc.Duration.Duration,
	}
}

func (p *progress) logf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", a...)
}

// remaining estimates the time left: from the pace so far once a point
// has finished (it includes target starts and draining), from the planned
// warm-up and duration before.
func (p *progress) remaining() time.Duration {
	per := p.perPoint
	if p.finished > 0 {
		per = max(per, time.Since(p.start)/time.Duration(p.finished))
	}
	return time.Duration(p.total-p.finished) * per
}

// point announces a load point and returns the callback the generator
// calls while it runs.
func (p *progress) point(label string, round, rounds int, _ time.Duration) func(done, total time.Duration) {
	if !p.tty {
		p.logf("[%s] round %d/%d: %s (point %d/%d, ~%v left)", elapsed(p.start), round, rounds, label, p.finished+1, p.total, p.remaining().Round(time.Second))
		return nil
	}
	return func(done, total time.Duration) {
		p.mu.Lock()
		defer p.mu.Unlock()
		left := p.remaining() - done
		fmt.Fprintf(p.w, "\r\033[K[%s] round %d/%d  %-32s %4.1fs/%4.1fs  point %d/%d  ~%v left",
			elapsed(p.start), round, rounds, label, done.Seconds(), total.Seconds(), p.finished+1, p.total, left.Round(time.Second))
	}
}

func (p *progress) finish(pt results.Point) {
	p.mu.Lock()
	p.finished++
	p.mu.Unlock()
	lat, from := pt.Latency, "from send"
	if pt.Corrected != nil {
		lat, from = *pt.Corrected, "from intended send"
	}
	var flags string
	if pt.Saturated {
		flags += " SATURATED (latency not valid)"
	}
	if pt.GeneratorBound {
		flags += " GENERATOR-BOUND"
	}
	if pt.GeneratorLimited {
		flags += " (not offered: the generator fell behind)"
	}
	if pt.SendLag != nil && pt.Unsent > 0 {
		flags += fmt.Sprintf(", behind schedule: p99 %s late, %d unsent", units.Duration(float64(pt.SendLag.P99Ns)), pt.Unsent)
	}
	// A percentile is printed only where enough samples lie above it, as
	// in the reports (results.PercentileShown).
	p50, p99 := "—", fmt.Sprintf("— (%d samples)", lat.Count)
	if results.PercentileShown(lat.Count, 0.5) {
		p50 = units.Duration(float64(lat.P50Ns))
	}
	if results.PercentileShown(lat.Count, 0.99) {
		p99 = units.Duration(float64(lat.P99Ns))
	}
	p.logf("  %s %s %s: %.0f req/s, p50 %s, p99 %s (%s), errors %d, server CPU %s/req%s", pt.Target, pt.Endpoint, pt.Model,
		pt.Throughput, p50, p99, from, sumErrors(pt), units.Duration(pt.Server.CPUPerRequestNs), flags)
}

func (p *progress) done() {
	p.logf("done in %s", elapsed(p.start))
}

func elapsed(t time.Time) string { return time.Since(t).Round(time.Second).String() }

func sumErrors(p results.Point) uint64 {
	var n uint64
	for _, v := range p.Errors {
		n += v
	}
	return n
}
