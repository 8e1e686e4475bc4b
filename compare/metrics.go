package compare

// This file names the metrics a comparison looks at and turns a result
// file into samples: for every load point (results.Groups), one value
// per round.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"forkbench/internal/units"
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
	// quantile is the percentile a latency metric reports (50, 99), 0 for
	// other metrics: it is tested only where results.PercentileShown.
	quantile float64
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
			return float64(l.P50Ns) / 1e9, results.PercentileShown(l.Count, 50)
		}, formatSeconds, 50},
		{MetricP99, "p99-sec/op", false, func(p results.Point) (float64, bool) {
			l := latency(p)
			return float64(l.P99Ns) / 1e9, results.PercentileShown(l.Count, 99)
		}, formatSeconds, 99},
		{MetricThroughput, "req/s", true, func(p results.Point) (float64, bool) {
			return p.Throughput, p.DurationNs > 0
		}, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "/s" }, 0},
		{MetricCPU, "cpu-ns/op", false, func(p results.Point) (float64, bool) {
			return p.Server.CPUPerRequestNs, p.Server.Observed && p.Requests > 0
		}, func(v float64) string { return formatSeconds(v / 1e9) }, 0},
		{MetricRSS, "peak-B", false, func(p results.Point) (float64, bool) {
			return float64(p.Server.PeakRSSBytes), p.Server.Observed && p.Server.PeakRSSBytes > 0
		}, func(v float64) string { return strconv.FormatFloat(v/(1<<20), 'f', 1, 64) + " MiB" }, 0},
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

// PairedMetricNames lists the metrics `bench ab` judges by default: the
// speed of a build (latency, throughput, CPU per request). Every metric
// tested widens the family its verdicts are corrected for (judgePaired),
// and the peak RSS of a process that lives one round says more about when
// its heap last grew than about the build; --metrics adds it back.
func PairedMetricNames() []string {
	return slices.DeleteFunc(MetricNames(), func(m string) bool { return m == MetricRSS })
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

func formatSeconds(s float64) string { return units.Duration(s * 1e9) }

// values returns m's value in every round of g that has it.
func values(g results.Group, m metric) []float64 { return g.Values(m.value) }

// Samples returns, for every load point of f in file order, the named
// metric's value in each round that has it; history uses it to draw
// trends with the same grouping compare uses.
func Samples(f *results.File, metricName string) ([]results.PointKey, map[results.PointKey][]float64, error) {
	ms, err := selectMetrics([]string{metricName})
	if err != nil {
		return nil, nil, err
	}
	out := map[results.PointKey][]float64{}
	var keys []results.PointKey
	for _, g := range results.Groups(f) {
		if v := values(g, ms[0]); len(v) > 0 {
			keys = append(keys, g.Key)
			out[g.Key] = v
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
