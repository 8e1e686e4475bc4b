package reports

// This file holds number and duration formatting shared by the tables,
// the CSV and the headline, so that one figure reads the same everywhere.

import (
	"math"
	"strconv"
	"strings"

	"forkbench/internal/units"
)

const dash = units.Dash // a figure that was not measured or is not valid

func itoa(i int) string { return strconv.Itoa(i) }

// sig formats v with n significant digits and no exponent (units.Sig).
func sig(v float64, n int) string { return units.Sig(v, n) }

// ms formats nanoseconds as milliseconds with 3 significant digits.
func ms(ns float64) string { return sig(ns/1e6, 3) }

// us formats nanoseconds as microseconds with 3 significant digits.
func us(ns float64) string { return sig(ns/1e3, 3) }

// mb formats bytes as megabytes (10^6) with 3 significant digits.
func mb(b float64) string { return sig(b/1e6, 3) }

// times formats a ratio as "2.35×", or a dash when it is not available.
func times(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return dash
	}
	return sig(r, 3) + "×"
}

// rate formats an offered or achieved rate in req/s.
func rate(v float64) string { return sig(v, 3) }

// csvNum formats v for CSV: 6 significant digits, no exponent, empty when
// not available, so spreadsheets read it as a number or a blank.
func csvNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	if v == 0 {
		return "0"
	}
	return trimZeros(sig(v, 6))
}

// human formats a duration in nanoseconds for prose (units.Duration):
// "30s", "1m30s", "250ms", "1.5ms", "80µs".
func human(ns int64) string { return units.Duration(float64(ns)) }

// trimZeros drops trailing fractional zeros: "10.0" → "10", "2.50" → "2.5".
func trimZeros(s string) string { return units.TrimZeros(s) }

// bytesHuman formats a byte count with binary units for the machine
// description ("15.6 GiB").
func bytesHuman(b uint64) string {
	const unit = 1024
	if b < unit {
		return strconv.FormatUint(b, 10) + " B"
	}
	v := float64(b)
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	return sig(v, 3) + " " + units[i]
}

// floats joins rates for prose.
func floats(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = sig(v, 3)
	}
	return strings.Join(s, ", ")
}
