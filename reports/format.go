package reports

// This file holds number and duration formatting shared by the tables,
// the CSV and the headline, so that one figure reads the same everywhere.

import (
	"math"
	"strconv"
	"strings"
	"time"
)

const dash = "—" // a figure that was not measured or is not valid

func itoa(i int) string { return strconv.Itoa(i) }

// sig formats v with n significant digits and no exponent: 12345.6 with 3
// digits is "12346", 0.081234 is "0.0812".
func sig(v float64, n int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return dash
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

// human formats a duration in nanoseconds for prose: "30s", "1m30s",
// "250ms", "1.5ms", "80µs".
func human(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d == 0:
		return "0s"
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return trimZeros(sig(float64(d)/1e6, 3)) + "ms"
	case d >= time.Microsecond:
		return trimZeros(sig(float64(d)/1e3, 3)) + "µs"
	}
	return d.String()
}

// trimZeros drops trailing fractional zeros: "10.0" → "10", "2.50" → "2.5".
func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

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
