package spawncost

// This file is the statistics: robust summaries (median, quartiles) of
// samples from a noisy machine, and Tukey's fences to flag outliers rather
// than drop them.

import (
	"slices"
	"time"

	"forkbench/results"
)

// tukeyK is the fence multiplier: a sample further than tukeyK × IQR
// outside the quartiles is an outlier (Tukey's "outside" value).
const tukeyK = 1.5

// quantile returns the q-quantile of sorted (0 ≤ q ≤ 1), interpolating
// linearly between closest ranks (R's type 7, what most tools report). It
// is 0 for no samples.
func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case q <= 0:
		return sorted[0]
	case q >= 1:
		return sorted[n-1]
	}
	h := q * float64(n-1)
	i := int(h)
	if i+1 >= n {
		return sorted[n-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// summarize is the robust summary of xs; xs is not modified. All samples
// count, outliers included: the median and quartiles are already immune to
// a few, and the minimum and maximum show them.
func summarize(xs []float64) results.Summary {
	if len(xs) == 0 {
		return results.Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return results.Summary{
		MedianNs: quantile(s, 0.5),
		P25Ns:    quantile(s, 0.25),
		P75Ns:    quantile(s, 0.75),
		MinNs:    s[0],
		MaxNs:    s[len(s)-1],
	}
}

// outliers counts the samples outside Tukey's fences [Q1 − k·IQR, Q3 +
// k·IQR]. Fewer than four samples have no meaningful quartiles and no
// outliers.
func outliers(xs []float64) int {
	if len(xs) < 4 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q1, q3 := quantile(s, 0.25), quantile(s, 0.75)
	lo, hi := q1-tukeyK*(q3-q1), q3+tukeyK*(q3-q1)
	n := 0
	for _, x := range s {
		if x < lo || x > hi {
			n++
		}
	}
	return n
}

// sample is one measured repetition: its wall time and the CPU time the
// measured process (or thread) spent in user and kernel mode.
type sample struct {
	wall, user, sys time.Duration
}

// forkRow is tmpl (what the row is) with the summary of samples (what was
// measured); outliers are counted on wall time.
func forkRow(tmpl results.ForkRow, ss []sample) results.ForkRow {
	wall := make([]float64, len(ss))
	user := make([]float64, len(ss))
	sys := make([]float64, len(ss))
	cpu := make([]float64, len(ss))
	for i, s := range ss {
		wall[i], user[i], sys[i] = float64(s.wall), float64(s.user), float64(s.sys)
		cpu[i] = float64(s.user + s.sys)
	}
	c := summarize(cpu)
	r := tmpl
	r.Samples, r.Outliers = len(ss), outliers(wall)
	r.Wall, r.User, r.Sys, r.CPU = summarize(wall), summarize(user), summarize(sys), &c
	return r
}

// diff is a - b field by field: the summary of a component derived from
// two measured rows (e.g. runtime-init = go no-op − static no-op). It is
// an estimate, not a distribution: quantiles of a difference are not
// differences of quantiles, which is why derived rows say so in their
// params.
func diff(a, b results.Summary) results.Summary {
	return results.Summary{
		MedianNs: a.MedianNs - b.MedianNs,
		P25Ns:    a.P25Ns - b.P25Ns,
		P75Ns:    a.P75Ns - b.P75Ns,
		MinNs:    a.MinNs - b.MinNs,
		MaxNs:    a.MaxNs - b.MaxNs,
	}
}

// point is a summary whose every field is v: a fitted coefficient or a
// batch mean, which has no spread of its own to show.
func point(v float64) results.Summary {
	return results.Summary{MedianNs: v, P25Ns: v, P75Ns: v, MinNs: v, MaxNs: v}
}
