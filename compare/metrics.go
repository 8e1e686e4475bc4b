package compare

// This file names the metrics a comparison looks at and turns a result
// file into samples: for every target × endpoint × load point, one value
// per round.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// Metric names accepted by --metrics.
const (
	MetricP50        = "p50"
	MetricP99        = "p99"
	MetricThroughput = "throughput"
	MetricCPU        = "cpu_per_req"
	MetricRSS        = "rss"
)

// metric is one headline figure of a point.
type metric struct {
	Name string
	// Unit is the benchfmt unit the figure is exported in.
	Unit string
	// HigherBetter is true for throughput: an increase is an improvement.
	HigherBetter bool
	// value returns the figure of p and whether p has it (server cost is
	// absent for targets whose processes cannot be seen).
	value func(p results.Point) (float64, bool)
	// format renders a value for people.
	format func(v float64) string
}

// latency is the distribution a point's latency figures come from: the
// one corrected for coordinated omission when the point has it (open
// model), since a slower server shows up there as queueing.
func latency(p results.Point) results.Latency {
	if p.Corrected != nil && p.Corrected.Count > 0 {
		return *p.Corrected
	}
	return p.Latency
}

// metrics returns the definitions in their fixed display order.
func metrics() []metric {
	return []metric{
		{MetricP50, "sec/op", false, func(p results.Point) (float64, bool) {
			l := latency(p)
			return float64(l.P50Ns) / 1e9, l.Count > 0
		}, formatSeconds},
		{MetricP99, "p99-sec/op", false, func(p results.Point) (float64, bool) {
			l := latency(p)
			return float64(l.P99Ns) / 1e9, l.Count > 0
		}, formatSeconds},
		{MetricThroughput, "req/s", true, func(p results.Point) (float64, bool) {
			return p.Throughput, p.DurationNs > 0
		}, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "/s" }},
		{MetricCPU, "cpu-ns/op", false, func(p results.Point) (float64, bool) {
			return p.Server.CPUPerRequestNs, p.Server.Observed && p.Requests > 0
		}, func(v float64) string { return formatSeconds(v / 1e9) }},
		{MetricRSS, "peak-B", false, func(p results.Point) (float64, bool) {
			return float64(p.Server.PeakRSSBytes), p.Server.Observed && p.Server.PeakRSSBytes > 0
		}, func(v float64) string { return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + " MiB" }},
	}
}

// MetricNames lists every metric in display order.
func MetricNames() []string {
	var out []string
	for _, m := range metrics() {
		out = append(out, m.Name)
	}
	return out
}

// selectMetrics returns the definitions named in names (all when empty).
func selectMetrics(names []string) ([]metric, error) {
	all := metrics()
	if len(names) == 0 {
		return all, nil
	}
	var out []metric
	for _, n := range names {
		i := slices.IndexFunc(all, func(m metric) bool { return m.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("%w: unknown metric %q (known: %s)", ErrBadInput, n, strings.Join(MetricNames(), ","))
		}
		if !slices.ContainsFunc(out, func(m metric) bool { return m.Name == n }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

func formatSeconds(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 1e-3:
		return strconv.FormatFloat(s*1e6, 'f', 1, 64) + "µs"
	case s < 1:
		return strconv.FormatFloat(s*1e3, 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(s, 'f', 3, 64) + "s"
	}
}

// Key identifies one load point across files and rounds.
type Key struct {
	Target   string `json:"target"`
	Endpoint string `json:"endpoint"`
	// Load is "closed", "open@RATErps" for the scenario's fixed-rate open
	// point, or "sweep@FACTORx" for a point of a rate sweep, whose offered
	// rate is a fraction of the capacity measured in the same round and so
	// differs between rounds and runs: sweep points are matched by
	// factor, not by rate.
	Load string `json:"load"`
}

func (k Key) String() string { return k.Target + " " + k.Endpoint + " " + k.Load }

// series is one load point's values across rounds.
type series struct {
	Key      Key
	Request  string // method and path, which must match between files
	Engine   string // how the generator sent them (results.Point.Engine); "" when not recorded
	Points   []results.Point
	errors   uint64
	saturate int
}

// groupPoints collects the points of f by Key, in file order.
func groupPoints(f *results.File) ([]Key, map[Key]*series) {
	fixed := map[float64]bool{}
	if slices.Contains(f.Settings.Models, results.ModelOpen) {
		for _, r := range f.Settings.Rates {
			fixed[r] = true
		}
	}
	// Open points of one target, endpoint and round in file order: the
	// runner writes the fixed-rate point (model "open") before the
	// sweep's points, and the sweep's in ascending rate.
	type tre struct {
		target, endpoint string
		round            int
	}
	sweepIdx := map[tre]int{}
	fixedSeen := map[tre]bool{}
	var order []Key
	out := map[Key]*series{}
	for _, p := range f.Points {
		load := p.Model
		if p.Model == results.ModelOpen {
			k := tre{p.Target, p.Endpoint, p.Round}
			if p.SweepFactor > 0 {
				load = "sweep@" + strconv.FormatFloat(p.SweepFactor, 'f', -1, 64) + "x"
			} else if fixed[p.OfferedRate] && !fixedSeen[k] {
				fixedSeen[k] = true
				load = "open@" + strconv.FormatFloat(p.OfferedRate, 'f', -1, 64) + "rps"
			} else {
				i := sweepIdx[k]
				sweepIdx[k]++
				if i < len(f.Settings.SweepFactors) {
					load = "sweep@" + strconv.FormatFloat(f.Settings.SweepFactors[i], 'f', -1, 64) + "x"
				} else {
					load = "sweep#" + strconv.Itoa(i+1)
				}
			}
		} else if p.Model == results.ModelClosed && p.OfferedRate > 0 {
			load = "closed@" + strconv.FormatFloat(p.OfferedRate, 'f', -1, 64)
		}
		key := Key{p.Target, p.Endpoint, load}
		s, ok := out[key]
		if !ok {
			s = &series{Key: key, Request: strings.TrimSpace(p.Method + " " + p.Path), Engine: p.Engine}
			out[key] = s
			order = append(order, key)
		}
		s.Points = append(s.Points, p)
		for _, n := range p.Errors {
			s.errors += n
		}
		if p.Saturated {
			s.saturate++
		}
	}
	return order, out
}

// values returns m's value in every point of s that has it.
func (s *series) values(m metric) []float64 {
	var v []float64
	for _, p := range s.Points {
		if x, ok := m.value(p); ok {
			v = append(v, x)
		}
	}
	return v
}

// Samples returns, for every load point of f in file order, the named
// metric's value in each round that has it; history uses it to draw
// trends with the same grouping compare uses.
func Samples(f *results.File, metricName string) ([]Key, map[Key][]float64, error) {
	ms, err := selectMetrics([]string{metricName})
	if err != nil {
		return nil, nil, err
	}
	order, groups := groupPoints(f)
	out := map[Key][]float64{}
	var keys []Key
	for _, k := range order {
		if v := groups[k].values(ms[0]); len(v) > 0 {
			keys = append(keys, k)
			out[k] = v
		}
	}
	return keys, out, nil
}

// MetricInfo returns a metric's benchfmt unit, whether higher is better,
// and its formatter for people.
func MetricInfo(name string) (unit string, higherBetter bool, format func(float64) string, err error) {
	ms, err := selectMetrics([]string{name})
	if err != nil {
		return "", false, nil, err
	}
	return ms[0].Unit, ms[0].HigherBetter, ms[0].format, nil
}
