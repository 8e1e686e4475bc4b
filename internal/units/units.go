// Package units formats figures for people: numbers to a few significant
// digits and durations in the unit that reads best. It is the one place
// the suite formats a duration, so "1.5ms" means the same in a table, a
// note, a comparison and a progress line.
package units

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Dash stands for a figure that was not measured or is not valid.
const Dash = "—"

// Sig formats v with n significant digits and no exponent: 12345.6 with 3
// digits is "12346", 0.081234 is "0.0812". NaN and ±Inf are Dash.
func Sig(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Dash
	}
	if v == 0 {
		return "0"
	}
	if math.Abs(v) >= math.Pow10(n-1) {
		return strconv.FormatFloat(v, 'f', 0, 64) // keep integer digits rather than pad with zeros
	}
	// Round first so that 0.09999 with 3 digits reads "0.100", not "0.1000".
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'e', n-1, 64), 64)
	mag := int(math.Floor(math.Log10(math.Abs(v))))
	dec := max(n-1-mag, 0)
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// TrimZeros drops trailing fractional zeros: "10.0" → "10", "2.50" → "2.5".
func TrimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Duration formats a duration given in nanoseconds with three significant
// digits in the largest unit (ns, µs, ms, s) that keeps the figure at one
// or more, trailing zeros dropped: "882ns", "80µs", "1.5ms", "2s"; from a
// minute up it is Go's "1m30s". Fractional nanoseconds (a median, a
// per-request share) are kept to three digits too.
func Duration(ns float64) string {
	a := math.Abs(ns)
	switch {
	case math.IsNaN(ns) || math.IsInf(ns, 0):
		return Dash
	case ns == 0:
		return "0s"
	case a >= float64(time.Minute):
		return time.Duration(ns).Round(100 * time.Millisecond).String()
	case a >= 1e9:
		return TrimZeros(Sig(ns/1e9, 3)) + "s"
	case a >= 1e6:
		return TrimZeros(Sig(ns/1e6, 3)) + "ms"
	case a >= 1e3:
		return TrimZeros(Sig(ns/1e3, 3)) + "µs"
	}
	return TrimZeros(Sig(ns, 3)) + "ns"
}

// FixedDuration formats a duration given in nanoseconds with a fixed
// number of decimals in the largest unit that keeps the figure at one or
// more: two for s and ms, one for µs, none for ns ("2.00s", "26.99ms",
// "12.3µs", "882ns"). The spawn-cost notes are worded with it: their
// sentences were written that way, and files hold the same figures, so a
// note reads the same whichever forkbench renders it.
func FixedDuration(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(ns/1e9, 'f', 2, 64) + "s"
	case a >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + "ms"
	case a >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'f', 1, 64) + "µs"
	}
	return strconv.FormatFloat(ns, 'f', 0, 64) + "ns"
}

// Percent formats a fraction as a percentage with at most two decimals:
// 0.05 is "5%", 0.125 is "12.5%".
func Percent(f float64) string {
	return TrimZeros(strconv.FormatFloat(f*100, 'f', 2, 64)) + "%"
}
