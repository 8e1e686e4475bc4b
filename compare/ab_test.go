package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"forkbench/results"
)

// abFile is one `bench ab` run: fcgi@base and fcgi@new per round, each
// round's p50 (ms) scaled by the round's drift; new is base × factor.
func abFile(drift []float64, jitter []float64, factor float64) *results.File {
	f := synth() // settings only
	for i, d := range drift {
		for _, side := range []struct {
			label string
			ms    float64
		}{{"base", d}, {"new", d * factor * jitter[i]}} {
			p := synth(side.ms).Points[0]
			p.Target, p.Round = "fcgi@"+side.label, i+1
			f.Points = append(f.Points, p)
		}
	}
	return f
}

func TestComparePaired(t *testing.T) {
	// The machine drifts by up to 40% between rounds; pairing cancels it.
	drift := []float64{1.0, 1.4, 0.8, 1.2, 0.9, 1.3}
	quiet := []float64{1.00, 1.004, 0.997, 1.002, 0.998, 1.001}
	noisy := []float64{1.00, 1.30, 0.75, 1.25, 0.80, 1.05}
	tests := []struct {
		name     string
		f        *results.File
		status   Status // of the p50 metric
		row      Status
		note     results.Note // of the p50 metric (matchNote)
		exitCode int
	}{
		{"A/A under drift", abFile(drift, quiet, 1), NoChange, NoChange, results.Note{}, 0},
		{"10% slower", abFile(drift, quiet, 1.10), Regressed, Regressed, results.Note{}, 1},
		{"10% faster", abFile(drift, quiet, 1/1.10), Improved, Improved, results.Note{}, 0},
		{"noise hides the threshold", abFile(drift, noisy, 1), BelowDetection, BelowDetection, results.Note{Kind: NoteMDE}, 0},
		{"too few rounds", abFile(drift[:4], quiet[:4], 1.10), BelowDetection, BelowDetection, results.Note{Kind: NoteTooFewPairs, Figures: map[string]float64{"pairs": 4, "need": 6}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ComparePaired(tt.f, "base", "new", Options{Threshold: 0.05})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Paired || !r.Comparable || len(r.Rows) != 1 {
				t.Fatalf("report = paired %v comparable %v rows %d", r.Paired, r.Comparable, len(r.Rows))
			}
			row := r.Rows[0]
			if row.Target != "fcgi" || row.Status != tt.row {
				t.Errorf("row %s: status %q, want fcgi %q", row.Target, row.Status, tt.row)
			}
			c := row.Metrics[0]
			if c.Metric != MetricP50 || c.Status != tt.status || c.Note.IsZero() != tt.note.IsZero() || !tt.note.IsZero() && !matchNote(c.Note, tt.note) {
				t.Errorf("p50: %q (%+v), want %q with note %+v", c.Status, c.Note, tt.status, tt.note)
			}
			if c.BaseN != len(c.Ratios) {
				t.Errorf("p50: %d pairs, %d ratios", c.BaseN, len(c.Ratios))
			}
			code := 0
			if r.Counts[Regressed] > 0 {
				code = 1
			}
			if code != tt.exitCode {
				t.Errorf("exit code %d, want %d", code, tt.exitCode)
			}
			var buf bytes.Buffer
			if err := json.NewEncoder(&buf).Encode(r); err != nil {
				t.Errorf("json: %v", err)
			}
		})
	}
}

// TestComparePairedMultiplicity is the night that cried wolf: 20 rows of
// an A/A run, one of whose rows has six ratios of one sign by chance (a
// 5% shift that one test alone would call significant at p ≈ 0.01). A
// report of 20 tests must not flag it; a real 8% change with the same
// noise in the same report must be flagged.
func TestComparePairedMultiplicity(t *testing.T) {
	drift := []float64{1.0, 1.4, 0.8, 1.2, 0.9, 1.3}
	noise := []float64{0.99, 1.01, 1.0, 0.985, 1.015, 1.0}
	chance := []float64{1.07, 1.02, 1.06, 1.03, 1.05, 1.04}
	build := func(last []float64, factor float64) *results.File {
		f := synth()
		for row := range 20 {
			jit, fac := noise, 1.0
			if row == 19 {
				jit, fac = last, factor
			}
			for _, p := range abFile(drift, jit, fac).Points {
				p.Endpoint = fmt.Sprintf("e%02d", row)
				f.Points = append(f.Points, p)
			}
		}
		return f
	}
	for _, tt := range []struct {
		name string
		f    *results.File
		want Status
	}{
		{"A/A with a chance run of one sign", build(chance, 1), BelowDetection},
		{"a real 8% change", build(noise, 1.08), Regressed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ComparePaired(tt.f, "base", "new", Options{Threshold: 0.05, Metrics: []string{MetricP50}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Tests != 20 {
				t.Errorf("family of %d tests; want 20", r.Tests)
			}
			last := r.Rows[19].Metrics[0]
			if last.Status != tt.want || last.PRaw > 0.02 {
				t.Errorf("row 20: %q (p %.4f, raw %.4f); want %q with a raw p under 0.02", last.Status, last.P, last.PRaw, tt.want)
			}
			if r.Counts[Regressed] > 0 != (tt.want == Regressed) {
				t.Errorf("counts %v", r.Counts)
			}
		})
	}
}

func TestComparePairedErrors(t *testing.T) {
	f := synth(1, 1, 1, 1, 1, 1) // targets without a label
	if _, err := ComparePaired(f, "base", "new", Options{}); err == nil {
		t.Error("file without labelled targets: no error")
	}
	if _, err := ComparePaired(abFile([]float64{1}, []float64{1}, 1), "x", "x", Options{}); err == nil {
		t.Error("same label on both sides: no error")
	}
}
