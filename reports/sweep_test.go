package reports

import (
	"slices"
	"testing"
	"time"

	"forkbench/compare"
	"forkbench/results"
)

// TestSweepStepIsOneRow: the fixture's json sweep offers each step at a
// different rate in each of its 3 rounds. Each step must be one row (the
// median across rounds, at the median of the rounds' rates) in the
// tables, one point per target in the sweep chart, one rate to the knee,
// and one row in a comparison.
func TestSweepStepIsOneRow(t *testing.T) {
	f := readFixture(t)
	// The rounds' rates of each target's steps, from the points.
	type ts struct {
		target string
		step   float64
	}
	rates := map[ts][]float64{}
	for _, p := range f.Points {
		if p.SweepFactor > 0 {
			k := ts{p.Target, p.SweepFactor}
			rates[k] = append(rates[k], p.OfferedRate)
		}
	}
	if len(rates) != 3*len(fixtureSteps()) {
		t.Fatalf("fixture has %d target × step groups; want %d", len(rates), 3*len(fixtureSteps()))
	}
	for k, rs := range rates {
		if slices.Min(rs) == slices.Max(rs) {
			t.Fatalf("%v offered at %v in every round: the fixture must vary the rate by round", k, rs)
		}
	}

	// Tables: one row per target and step, 3 rounds, the median rate.
	s := Summarize([]*results.File{f})
	var nSweep int
	for _, r := range s.Rows {
		if r.Step == 0 {
			continue
		}
		nSweep++
		want := results.Median(rates[ts{r.Target, r.Step}])
		if r.Rounds != 3 || r.Rate != want {
			t.Errorf("row %s step %v: %d rounds at %v req/s; want 3 at %v (median)", r.Target, r.Step, r.Rounds, r.Rate, want)
		}
	}
	if nSweep != len(rates) {
		t.Errorf("%d sweep rows; want %d", nSweep, len(rates))
	}
	var tableRows int
	for _, tb := range tables(s) {
		for _, row := range tb.Rows {
			if len(row) > 2 && row[1] == "json" && len(row[2]) > 5 && row[2][:5] == "sweep" {
				tableRows++
			}
		}
	}
	if tableRows != len(rates) {
		t.Errorf("the tables show %d sweep rows; want %d", tableRows, len(rates))
	}

	// Charts: the json sweep chart draws one point per step and target.
	rows := sweepRows(s, "json")
	for _, k := range newStyler(s).seriesOf(rows) {
		p50, _, _ := sweepCurve(rows, k)
		var steps []float64
		for _, xy := range p50 {
			if xy.X != 400 { // the fixed-rate point
				steps = append(steps, xy.X)
			}
		}
		var want []float64
		for _, step := range fixtureSteps() {
			want = append(want, results.Median(rates[ts{k.target, step}]))
		}
		if !slices.Equal(steps, want) {
			t.Errorf("sweep chart %s: step points at %v; want %v (one per step, median rate)", k.target, steps, want)
		}
	}

	// Knee: the knee of a target is one of its steps' median rates (or
	// the fixed rate), never one round's rate.
	for _, kn := range results.Knees(f, 10*time.Millisecond) {
		if kn.Endpoint != "json" || !kn.Found || kn.Rate == 400 {
			continue
		}
		ok := false
		for _, step := range fixtureSteps() {
			ok = ok || kn.Rate == results.Median(rates[ts{kn.Target, step}])
		}
		if !ok {
			t.Errorf("knee of %s json at %v req/s: not a step's median rate", kn.Target, kn.Rate)
		}
	}

	// Compare: one row per step, with 3 rounds a side.
	r, err := compare.Compare(f, f, compare.Options{Metrics: []string{compare.MetricP50}})
	if err != nil {
		t.Fatal(err)
	}
	var cmpRows int
	for _, row := range r.Rows {
		if row.IsSweep() {
			cmpRows++
			if row.Metrics[0].BaseN != 3 {
				t.Errorf("compare row %s: %d rounds; want 3", row.Load, row.Metrics[0].BaseN)
			}
		}
	}
	if cmpRows != len(rates) {
		t.Errorf("compare has %d sweep rows; want %d", cmpRows, len(rates))
	}
}
