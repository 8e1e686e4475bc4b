package compare

// This file holds the statistics of a paired comparison (`bench ab`): the
// base and the new build measured in the same sitting, round by round, so
// that each round's ratio new/base cancels the machine's drift between
// rounds. The test is Wilcoxon's signed-rank test on the log ratios (the
// paired counterpart of the Mann–Whitney U test compare uses for two
// independent runs), computed exactly: the samples are a handful of rounds,
// where normal approximations are poor.

import (
	"math"
	"slices"
)

// signedRankP returns the exact two-sided p-value of Wilcoxon's signed-rank
// test that the values d are symmetric about zero, and how many non-zero
// values it used (zeros carry no sign and are dropped, Wilcoxon's rule).
// Tied magnitudes get their average rank; ranks are doubled so that the
// exact distribution is over integers.
func signedRankP(d []float64) (p float64, n int) {
	var mags []float64
	var signs []bool
	for _, x := range d {
		if x != 0 && !math.IsNaN(x) {
			mags = append(mags, math.Abs(x))
			signs = append(signs, x > 0)
		}
	}
	n = len(mags)
	if n == 0 {
		return 1, 0
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmpFloat(mags[a], mags[b]) })
	rank2 := make([]int, n) // doubled ranks
	for i := 0; i < n; {
		j := i
		for j+1 < n && mags[idx[j+1]] == mags[idx[i]] {
			j++
		}
		r := i + 1 + j + 1 // twice the average of ranks i+1 … j+1
		for k := i; k <= j; k++ {
			rank2[idx[k]] = r
		}
		i = j + 1
	}
	total, wplus := 0, 0
	for i, r := range rank2 {
		total += r
		if signs[i] {
			wplus += r
		}
	}
	// counts[s] = number of sign assignments whose positive ranks sum to s.
	counts := make([]float64, total+1)
	counts[0] = 1
	for _, r := range rank2 {
		for s := total; s >= r; s-- {
			counts[s] += counts[s-r]
		}
	}
	all := math.Pow(2, float64(n))
	lo, hi := 0.0, 0.0
	for s, c := range counts {
		if s <= wplus {
			lo += c
		}
		if s >= wplus {
			hi += c
		}
	}
	return min(1, 2*min(lo, hi)/all), n
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

// minPairs returns the fewest pairs at which a two-sided signed-rank test
// can reach alpha at all: the most extreme arrangement (every sign alike)
// has probability 2/2^n, so 5 pairs reach at best 0.0625 and 6 pairs 0.031.
func minPairs(alpha float64) int {
	for n := 1; n <= 60; n++ {
		if 2/math.Pow(2, float64(n)) <= alpha {
			return n
		}
	}
	return 61
}

// pairedMDE returns the minimum detectable effect of a paired comparison
// with the noise of logRatios: the smallest relative change (0.05 = 5%)
// that a test at alpha would find with the given power, from the spread of
// the log ratios about their mean (the round-to-round noise that pairing
// leaves) and the normal approximation (z_{1−α/2} + z_{power})·s/√n. It is
// +Inf where fewer pairs than minPairs(alpha) make detection impossible,
// and NaN with fewer than two values (no spread to speak of).
func pairedMDE(logRatios []float64, alpha, power float64) float64 {
	n := len(logRatios)
	if n < 2 {
		return math.NaN()
	}
	if n < minPairs(alpha) {
		return math.Inf(1)
	}
	mean := 0.0
	for _, x := range logRatios {
		mean += x
	}
	mean /= float64(n)
	ss := 0.0
	for _, x := range logRatios {
		ss += (x - mean) * (x - mean)
	}
	s := math.Sqrt(ss / float64(n-1))
	z := normalQuantile(1-alpha/2) + normalQuantile(power)
	return math.Expm1(z * s / math.Sqrt(float64(n)))
}

// normalQuantile is the standard normal distribution's quantile function.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

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
