package compare

// This file is the A/A calibration: two runs of the same build, whose
// differences are the machine's noise, not the code's.

import (
	"math"
	"slices"

	"forkbench/results"
)

// Noise is the noise floor of one metric measured by an A/A comparison.
type Noise struct {
	Metric string `json:"metric"`
	Rows   int    `json:"rows"`
	// MedianAbsDelta and MaxAbsDelta are the typical and the largest
	// |new/base − 1| between the two runs' medians over the rows.
	MedianAbsDelta float64 `json:"median_abs_delta"`
	MaxAbsDelta    float64 `json:"max_abs_delta"`
	MaxRow         string  `json:"max_row"`
	// MaxRoundSpread is the largest (max − min)/median of one row's
	// rounds within one run: the between-round noise the U test sees.
	MaxRoundSpread float64 `json:"max_round_spread"`
	// FalseAlarms counts the rows the comparison flagged at the given
	// threshold although the build did not change.
	FalseAlarms int `json:"false_alarms"`
	// Suggested is the threshold this metric needs: twice the largest
	// difference seen between two runs of one build, rounded up to a
	// whole percent, at least 1%.
	Suggested float64 `json:"suggested_threshold"`
}

// Calibration is the result of an A/A comparison.
type Calibration struct {
	Report *Report `json:"report"`
	Noise  []Noise `json:"noise"`
	// Suggested is the largest per-metric suggestion: one threshold that
	// would not have flagged any of the metrics.
	Suggested float64 `json:"suggested_threshold"`
}

// CalibrateFiles measures the noise floor from two runs of one build.
func CalibrateFiles(a, b *results.File, opt Options) (*Calibration, error) {
	r, err := Compare(a, b, opt)
	if err != nil {
		return nil, err
	}
	c := &Calibration{Report: r}
	if !r.Comparable {
		return c, nil
	}
	sa, sb := byKey(a), byKey(b)
	for _, name := range r.Metrics {
		n := Noise{Metric: name}
		m, _ := selectMetrics([]string{name})
		var deltas []float64
		for _, row := range r.Rows {
			for _, ch := range row.Metrics {
				if ch.Metric != name || ch.Delta == nil {
					continue
				}
				d := math.Abs(*ch.Delta)
				deltas = append(deltas, d)
				if d >= n.MaxAbsDelta {
					n.MaxAbsDelta, n.MaxRow = d, row.PointKey.String()
				}
				if ch.Status == Regressed || ch.Status == Improved {
					n.FalseAlarms++
				}
			}
			for _, s := range []map[results.PointKey]results.Group{sa, sb} {
				if g, ok := s[row.PointKey]; ok {
					n.MaxRoundSpread = max(n.MaxRoundSpread, spread(values(g, m[0])))
				}
			}
		}
		n.Rows = len(deltas)
		if len(deltas) > 0 {
			n.MedianAbsDelta = results.Median(deltas)
			n.Suggested = max(0.01, math.Ceil(200*n.MaxAbsDelta-1e-9)/100)
			c.Suggested = max(c.Suggested, n.Suggested)
		}
		c.Noise = append(c.Noise, n)
	}
	return c, nil
}

// byKey indexes f's groups by key.
func byKey(f *results.File) map[results.PointKey]results.Group {
	out := map[results.PointKey]results.Group{}
	for _, g := range results.Groups(f) {
		out[g.Key] = g
	}
	return out
}

// spread is (max − min)/median of v; 0 for fewer than two values or a
// zero median.
func spread(v []float64) float64 {
	med := results.Median(v)
	if len(v) < 2 || med == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / math.Abs(med)
}

// PairedNoise is the noise of one metric on one target left by pairing,
// measured by an A/A `bench ab` (the same build on both sides, same
// sitting): what a paired comparison on this machine can and cannot see.
type PairedNoise struct {
	Target string `json:"target"`
	Metric string `json:"metric"`
	Rows   int    `json:"rows"`
	Pairs  int    `json:"pairs"`
	// MedianAbs and MaxAbs are the typical and the largest |ratio − 1| of
	// one round's pair over the rows.
	MedianAbs float64 `json:"median_abs_ratio"`
	MaxAbs    float64 `json:"max_abs_ratio"`
	// SD is the largest standard deviation of a row's log ratios.
	SD float64 `json:"sd_log_ratio"`
	// MDE is the largest minimum detectable effect of the rows; nil when
	// infinite (too few rounds).
	MDE *float64 `json:"mde,omitempty"`
	// Effect is the largest |median effect| of a row: what A/A reads as a
	// change though the build is the same.
	Effect      float64 `json:"max_abs_effect"`
	FalseAlarms int     `json:"false_alarms"`
}

// CalibratePaired reduces an A/A paired report to the noise per target and
// metric, in the report's row and metric order.
func CalibratePaired(r *Report) []PairedNoise {
	var out []PairedNoise
	idx := map[[2]string]int{}
	for _, row := range r.Rows {
		for _, c := range row.Metrics {
			if len(c.Ratios) == 0 {
				continue
			}
			k := [2]string{row.Target, c.Metric}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, PairedNoise{Target: row.Target, Metric: c.Metric, MDE: new(float64)})
			}
			n := &out[i]
			n.Rows++
			n.Pairs += len(c.Ratios)
			logs := make([]float64, len(c.Ratios))
			for j, x := range c.Ratios {
				logs[j] = math.Log(x)
				n.MaxAbs = max(n.MaxAbs, math.Abs(x-1))
			}
			n.SD = max(n.SD, sdOf(logs))
			if c.Delta != nil {
				n.Effect = max(n.Effect, math.Abs(*c.Delta))
			}
			switch {
			case c.MDE == nil || n.MDE == nil:
				n.MDE = nil
			default:
				*n.MDE = max(*n.MDE, *c.MDE)
			}
			if c.Status == Regressed || c.Status == Improved {
				n.FalseAlarms++
			}
		}
	}
	// The median |ratio − 1| over every pair of the target and metric.
	for i := range out {
		var abs []float64
		for _, row := range r.Rows {
			if row.Target != out[i].Target {
				continue
			}
			for _, c := range row.Metrics {
				if c.Metric == out[i].Metric {
					for _, x := range c.Ratios {
						abs = append(abs, math.Abs(x-1))
					}
				}
			}
		}
		out[i].MedianAbs = results.Median(abs)
	}
	return out
}

func sdOf(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	_, sd := meanSD(v)
	return sd
}
