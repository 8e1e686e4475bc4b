package compare

// This file holds the statistics of a paired comparison (`bench ab`): the
// base and the new build measured in the same sitting, point by point, so
// that each point's ratio new/base cancels the machine's drift.
//
// One night compares dozens of figures (targets × endpoints × loads ×
// metrics). Tested one by one at 5%, an A/A run of a single build then
// "regresses" on one figure or two every night: the first nightly A/A
// runs of this design flagged 2 and 1 of 18 rows, each on a p of 0.031
// (six ratios of one sign). So every verdict of a report is corrected
// for the number of tests it makes (Holm–Bonferroni: the chance that a
// night with no change flags anything at all stays under alpha). At the
// handful of pairs a nightly can afford, a rank test cannot pass that
// correction (the signed-rank test's smallest p-value is 2/2^n: 0.031
// at 6 pairs, against 0.05/50 needed). Student's t can, but one round
// hit by the machine's other tenants (a ratio of 0.7 or 5 among ratios
// within ±3% of 1, as A/A runs here show) inflates its spread until
// nothing is detectable. So the test is Yuen's trimmed-mean t on the log
// ratios: the 20% most extreme at each end are trimmed from the mean and
// winsorized in the spread, and the t distribution has n−2g−1 degrees of
// freedom. The effect is reported as the median ratio.

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// minPaired is the fewest pairs a paired comparison judges: below six,
// trimming leaves too few ratios (and too few degrees of freedom) for a
// verdict worth acting on.
const minPaired = 6

// trimFraction is the share of the ratios trimmed at each end (Yuen's and
// Wilcox's customary 20%).
const trimFraction = 0.2

// meanSD returns the mean and the sample standard deviation of x.
func meanSD(x []float64) (mean, sd float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(x)-1))
}

// trimmed returns the trimmed mean of x, the standard error of it (from
// the winsorized standard deviation: s_w·√n/h, h the values kept) and its
// degrees of freedom h−1; df is 0 with fewer than two values.
func trimmed(x []float64) (mean, se float64, df int) {
	n := len(x)
	if n < 2 {
		return 0, 0, 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	g := int(math.Floor(trimFraction * float64(n)))
	h := n - 2*g
	mean, _ = meanSD(s[g : n-g])
	for i := range g { // winsorize: the trimmed ends take the nearest kept value
		s[i], s[n-1-i] = s[g], s[n-1-g]
	}
	_, sw := meanSD(s)
	return mean, sw * math.Sqrt(float64(n)) / float64(h), h - 1
}

// pairedTP returns the two-sided p-value of Yuen's trimmed-mean t-test
// that the log ratios are centred on zero; 1 with fewer than two values.
// Ratios without spread are decided by their trimmed mean alone: 0 when
// it is not zero, 1 when it is.
func pairedTP(logRatios []float64) float64 {
	mean, se, df := trimmed(logRatios)
	switch {
	case df == 0:
		return 1
	case se == 0 && mean == 0:
		return 1
	case se == 0:
		return 0
	}
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	return min(1, 2*st.CDF(-math.Abs(mean/se)))
}

// holm adjusts the p-values ps (Holm–Bonferroni step-down) in place: the
// i-th smallest of m becomes max over j ≤ i of (m−j)·p_(j), capped at 1.
// Rejecting where the adjusted value is at most alpha keeps the chance of
// any false rejection among the m under alpha, whatever their dependence.
func holm(ps []*float64) {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(*ps[a], *ps[b]) })
	m, run := len(ps), 0.0
	for rank, i := range idx {
		run = max(run, min(1, float64(m-rank)**ps[i]))
		*ps[i] = run
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pairedMDE returns the minimum detectable effect of a paired comparison
// with the noise of logRatios: the smallest relative change (0.05 = 5%)
// that the test at level alpha (for a report, alpha divided by its number
// of tests: the level a lone change must reach) would find with the given
// power, (t_{1−α/2} + t_{power})·se with the test's standard error and
// degrees of freedom. It is +Inf below minPaired pairs and NaN with fewer
// than two values (no spread to speak of).
func pairedMDE(logRatios []float64, alpha, power float64) float64 {
	n := len(logRatios)
	if n < 2 {
		return math.NaN()
	}
	if n < minPaired {
		return math.Inf(1)
	}
	_, se, df := trimmed(logRatios)
	st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	q := st.Quantile(1-alpha/2) + st.Quantile(power)
	return math.Expm1(q * se)
}

// medianLog returns the median of the log ratios as a relative change
// (exp(median) − 1): the paired estimate of the effect, robust to a round
// that went astray.
func medianLog(logRatios []float64) float64 {
	if len(logRatios) == 0 {
		return math.NaN()
	}
	s := slices.Clone(logRatios)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return math.Expm1(m)
}
