package results

import "math"

// PercentileAbove is how many samples must lie above a percentile for it
// to be shown: with fewer, "p99" is just the largest few values, and
// HdrHistogram/wrk2 users read it as a tail it is not.
const PercentileAbove = 10

// PercentileMinSamples is the fewest samples at which percentile q (in
// percent, e.g. 99.9) is shown: PercentileAbove / (1 - q/100), so p50
// needs 20, p90 100, p99 1,000 and p99.9 10,000.
func PercentileMinSamples(q float64) int64 {
	if q <= 0 {
		return 1
	}
	if q >= 100 {
		return math.MaxInt64
	}
	// Round the tail share to 1e-9 so that 100-99.9 is 0.1, not 0.0999…
	tail := math.Round((100-q)*1e9) / 1e9
	return int64(math.Ceil(PercentileAbove*100/tail - 1e-9))
}

// PercentileShown reports whether percentile q of a distribution of count
// samples is worth showing: at least PercentileAbove samples lie above it.
// The one rule for tables, reports and compare.
func PercentileShown(count int64, q float64) bool {
	return count >= PercentileMinSamples(q)
}
