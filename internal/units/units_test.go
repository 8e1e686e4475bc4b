package units

import (
	"math"
	"testing"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		ns   float64
		want string
	}{
		{0, "0s"},
		{882, "882ns"},
		{0.5, "0.5ns"},
		{80e3, "80µs"},
		{123.4e3, "123µs"},
		{1.5e6, "1.5ms"},
		{1.004e6, "1ms"},
		{10e6, "10ms"},
		{2e9, "2s"},
		{2.345e9, "2.35s"},
		{90e9, "1m30s"},
		{-1.5e6, "-1.5ms"},
		{math.NaN(), Dash},
	} {
		if got := Duration(c.ns); got != c.want {
			t.Errorf("Duration(%v) = %q; want %q", c.ns, got, c.want)
		}
	}
}

// TestFixedDuration keeps the output of the formatter the spawn-cost
// notes were written with (spawncost's fmtNs, fmt's %.2f and friends).
func TestFixedDuration(t *testing.T) {
	for _, c := range []struct {
		ns   float64
		want string
	}{
		{0, "0ns"},
		{882, "882ns"},
		{999.6, "1000ns"},
		{12.34e3, "12.3µs"},
		{4e6, "4.00ms"},
		{26.99e6, "26.99ms"},
		{-12.5e3, "-12.5µs"},
		{2e9, "2.00s"},
		{90e9, "90.00s"},
		{math.NaN(), "NaNns"},
	} {
		if got := FixedDuration(c.ns); got != c.want {
			t.Errorf("FixedDuration(%v) = %q; want %q", c.ns, got, c.want)
		}
	}
}

func TestSig(t *testing.T) {
	for _, c := range []struct {
		v    float64
		n    int
		want string
	}{
		{12345.6, 3, "12346"},
		{0.081234, 3, "0.0812"},
		{0.09999, 3, "0.100"},
		{0, 3, "0"},
		{math.Inf(1), 3, Dash},
	} {
		if got := Sig(c.v, c.n); got != c.want {
			t.Errorf("Sig(%v, %d) = %q; want %q", c.v, c.n, got, c.want)
		}
	}
}
