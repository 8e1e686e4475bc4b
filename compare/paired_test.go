package compare

import (
	"math"
	"testing"
)

func TestPairedTP(t *testing.T) {
	tests := []struct {
		name string
		d    []float64
		want float64
	}{
		// g = 1 trimmed at each end: trimmed mean 0.35, winsorized SD
		// 0.137840, se = 0.137840·√6/4 = 0.084410, t = 4.14644 with 3 df;
		// the t distribution with 3 df has the closed form
		// p = 1 − (2/π)(atan(u) + u/(1+u²)), u = t/√3: p = 0.025482.
		{"six positive", []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, 0.025482},
		{"mirrored", []float64{-0.1, -0.2, -0.3, -0.4, -0.5, -0.6}, 0.025482},
		{"balanced", []float64{0.1, -0.1, 0.2, -0.2}, 1},
		{"no spread, no change", []float64{0, 0, 0}, 1},
		{"no spread, a change", []float64{0.1, 0.1, 0.1}, 0},
		{"one value", []float64{0.3}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pairedTP(tt.d); math.Abs(got-tt.want) > 2e-5 {
				t.Errorf("pairedTP(%v) = %v; want %v", tt.d, got, tt.want)
			}
		})
	}
}

// TestPairedTPOutlier: one round hit by another tenant of the machine
// (a ratio of 2.5 among ratios within 1% of 1.015) must not hide a
// consistent change, as it would from Student's t.
func TestPairedTPOutlier(t *testing.T) {
	lr := []float64{0.010, 0.020, 0.015, 0.012, 0.018, 0.011, 0.016, 0.9}
	if p := pairedTP(lr); p > 0.001 {
		t.Errorf("p = %v with one outlier; want < 0.001", p)
	}
}

func TestHolm(t *testing.T) {
	// Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04
	// raised to the running maximum 0.06.
	in := []float64{0.01, 0.04, 0.03, 0.005}
	want := []float64{0.03, 0.06, 0.06, 0.02}
	ps := make([]*float64, len(in))
	for i := range in {
		ps[i] = &in[i]
	}
	holm(ps)
	for i := range in {
		if math.Abs(in[i]-want[i]) > 1e-12 {
			t.Errorf("adjusted p[%d] = %v; want %v", i, in[i], want[i])
		}
	}
	one := []float64{0.7}
	holm([]*float64{&one[0]})
	if one[0] != 0.7 {
		t.Errorf("a family of one is adjusted: %v", one[0])
	}
}

func TestPairedMDE(t *testing.T) {
	// Log ratios ±0.02 around zero, 8 pairs, g = 1 trimmed (winsorizing
	// changes nothing here): s_w = 0.021381, se = s_w·√8/6 = 0.010079,
	// and with 5 df (t_0.975 + t_0.8)·se = (2.5706 + 0.9195)·0.010079 =
	// 0.035176 → exp − 1 = 3.580%.
	lr := []float64{0.02, -0.02, 0.02, -0.02, 0.02, -0.02, 0.02, -0.02}
	got := pairedMDE(lr, 0.05, 0.8)
	if math.Abs(got-0.03580) > 0.0002 {
		t.Errorf("pairedMDE = %v; want ≈ 0.03580", got)
	}
	if strict := pairedMDE(lr, 0.05/60, 0.8); !(strict > got) {
		t.Errorf("MDE at the level of one test among 60 (%v) is not above the single test's (%v)", strict, got)
	}
	if got := pairedMDE(lr[:4], 0.05, 0.8); !math.IsInf(got, 1) {
		t.Errorf("pairedMDE with 4 pairs = %v; want +Inf (not judged)", got)
	}
	if got := pairedMDE(lr[:1], 0.05, 0.8); !math.IsNaN(got) {
		t.Errorf("pairedMDE with 1 pair = %v; want NaN", got)
	}
	if a, b := pairedMDE(lr, 0.05, 0.8), pairedMDE([]float64{0.1, -0.1, 0.1, -0.1, 0.1, -0.1, 0.1, -0.1}, 0.05, 0.8); !(b > a) {
		t.Errorf("MDE did not grow with noise: %v then %v", a, b)
	}
}

func TestMedianLog(t *testing.T) {
	got := medianLog([]float64{math.Log(1.1), math.Log(1.2), math.Log(5)})
	if math.Abs(got-0.2) > 1e-12 {
		t.Errorf("medianLog = %v; want 0.2", got)
	}
}
