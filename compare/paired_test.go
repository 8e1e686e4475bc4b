package compare

import (
	"math"
	"testing"
)

func TestSignedRankP(t *testing.T) {
	tests := []struct {
		name  string
		d     []float64
		wantP float64
		wantN int
	}{
		// All six alike: 2 of 64 arrangements are as extreme.
		{"six positive", []float64{1, 2, 3, 4, 5, 6}, 2.0 / 64, 6},
		{"six negative", []float64{-1, -2, -3, -4, -5, -6}, 2.0 / 64, 6},
		// Five alike can never reach 0.05.
		{"five positive", []float64{1, 2, 3, 4, 5}, 2.0 / 32, 5},
		// Zeros are dropped.
		{"zeros dropped", []float64{0, 0, 1, 2, 3, 4, 5, 6}, 2.0 / 64, 6},
		// Perfectly balanced: W+ = 5 of total 10 with ranks 1..4.
		{"balanced", []float64{1, -2, -3, 4}, 1, 4},
		{"empty", nil, 1, 0},
		// n=3, ranks 1,2,3; W+ = 3 (rank 3 positive): P(W+ ≤ 3) = 5/8
		// (sums 0,1,2,3,3), P(W+ ≥ 3) = 5/8; p = min(1, 2·5/8) = 1.
		{"small", []float64{-0.1, -0.2, 0.3}, 1, 3},
		// Ties: magnitudes 1,1 get rank 1.5 each; all positive with 6
		// values still gives the extreme 2/64.
		{"ties", []float64{1, 1, 2, 3, 4, 5}, 2.0 / 64, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, n := signedRankP(tt.d)
			if n != tt.wantN || math.Abs(p-tt.wantP) > 1e-12 {
				t.Errorf("signedRankP(%v) = %v, %d; want %v, %d", tt.d, p, n, tt.wantP, tt.wantN)
			}
		})
	}
}

// TestSignedRankPKnownValue checks one intermediate case against the
// textbook table: n = 8, W− = 3 (ranks 1 and 2 negative) gives a two-sided
// p of 2·P(W ≤ 3) = 2·5/256.
func TestSignedRankPKnownValue(t *testing.T) {
	d := []float64{-0.01, -0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08}
	p, _ := signedRankP(d)
	if want := 2 * 5.0 / 256; math.Abs(p-want) > 1e-12 {
		t.Errorf("p = %v; want %v", p, want)
	}
}

func TestMinPairs(t *testing.T) {
	for _, tt := range []struct {
		alpha float64
		want  int
	}{{0.05, 6}, {0.1, 5}, {0.01, 8}} {
		if got := minPairs(tt.alpha); got != tt.want {
			t.Errorf("minPairs(%v) = %d; want %d", tt.alpha, got, tt.want)
		}
	}
}

func TestPairedMDE(t *testing.T) {
	// Log ratios ±0.02 around zero, 8 pairs: s = 0.02138, and
	// (1.95996 + 0.84162)·s/√8 = 0.02118 → exp − 1 = 2.14%.
	lr := []float64{0.02, -0.02, 0.02, -0.02, 0.02, -0.02, 0.02, -0.02}
	got := pairedMDE(lr, 0.05, 0.8)
	if math.Abs(got-0.0214) > 0.0005 {
		t.Errorf("pairedMDE = %v; want ≈ 0.0214", got)
	}
	if got := pairedMDE(lr[:4], 0.05, 0.8); !math.IsInf(got, 1) {
		t.Errorf("pairedMDE with 4 pairs = %v; want +Inf (cannot reach alpha)", got)
	}
	if got := pairedMDE(lr[:1], 0.05, 0.8); !math.IsNaN(got) {
		t.Errorf("pairedMDE with 1 pair = %v; want NaN", got)
	}
	// More noise, larger MDE.
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
