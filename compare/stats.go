package compare

// This file holds the statistics that benchmath does not provide: the
// confidence interval of a change. The test itself (Mann–Whitney U) comes
// from golang.org/x/perf/benchmath, as in benchstat; medians are
// results.Median, benchstat's convention.

import (
	"slices"

	"github.com/aclements/go-moremath/stats"
)

// ratioCI returns a distribution-free confidence interval for the ratio
// new/base: the Hodges–Lehmann interval of the shift of log values, read
// off the sorted pairwise ratios new_j/base_i at the order statistics the
// Mann–Whitney U distribution gives for the confidence level (Bauer 1972).
// It is the interval that matches the U test: the test rejects at alpha
// exactly when the 1−alpha interval excludes 1 (up to ties). ok is false
// when a value is not positive or the samples are too small for any
// interval at this level (3 rounds against 3 reach at most 90%).
func ratioCI(base, new []float64, confidence float64) (lo, hi float64, ok bool) {
	n1, n2 := len(base), len(new)
	if n1 == 0 || n2 == 0 {
		return 0, 0, false
	}
	ratios := make([]float64, 0, n1*n2)
	for _, b := range base {
		for _, n := range new {
			if b <= 0 || n <= 0 {
				return 0, 0, false
			}
			ratios = append(ratios, n/b)
		}
	}
	slices.Sort(ratios)
	tail := (1 - confidence) / 2
	d := stats.UDist{N1: n1, N2: n2}
	// k is the largest rank with P(U ≤ k−1) ≤ tail.
	k := 0
	for c := 1; c <= len(ratios)/2; c++ {
		if d.CDF(float64(c-1)) <= tail+1e-12 { // tolerate rounding in the CDF
			k = c
		} else {
			break
		}
	}
	if k == 0 {
		return 0, 0, false
	}
	return ratios[k-1], ratios[len(ratios)-k], true
}

// minRounds returns the fewest rounds per side (equal sizes) at which a
// two-sided Mann–Whitney test can reach alpha at all: with 3 against 3 the
// smallest possible p is 0.1, with 4 against 4 it is 0.029, with 5 against
// 5 it is 0.0079.
func minRounds(alpha float64) int {
	for n := 2; n <= 50; n++ {
		// The most extreme arrangement has probability 2/C(2n, n).
		if 2/binom(2*n, n) <= alpha {
			return n
		}
	}
	return 51
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
