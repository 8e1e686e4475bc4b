package compare

import (
	"flag"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"forkbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// synth is a result file with one closed-model point per round for
// embedded/plaintext; p50s are the rounds' median latencies in ms, and
// throughput, CPU and RSS are derived from them so every metric moves
// together.
func synth(p50s ...float64) *results.File {
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		StartedAt:     time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Environment: results.Environment{
			OS: "linux", Arch: "amd64", CPUModel: "Test CPU @ 3.0GHz", CPUs: 2,
			GitCommit: "0123456789abcdef", GoVersion: "go1.26.8",
		},
		Settings: results.Settings{
			Scenario: "quick", Targets: []string{"embedded"}, Endpoints: []string{"plaintext"},
			Models: []results.Model{"closed"}, Connections: 32, DurationNs: int64(time.Second),
			WarmupNs: int64(time.Second / 2), TimeoutNs: int64(10 * time.Second), Rounds: len(p50s),
			KeepAlive: true, Transport: "fasthttp",
			TargetOptions: &results.TargetOptions{AppBin: "/a/sampleapp", CGITimeout: 30 * time.Second},
		},
		Pinning: results.Pinning{Enabled: true},
	}
	for i, ms := range p50s {
		f.Points = append(f.Points, results.Point{
			Target: "embedded", Endpoint: "plaintext", Method: "GET", Path: "/plaintext",
			Model: results.ModelClosed, Round: i + 1, DurationNs: int64(time.Second),
			Requests:   uint64(32000 / ms),
			Throughput: 32000 / ms,
			Latency:    results.Latency{Count: 1000, P50Ns: int64(ms * 1e6), P99Ns: int64(3 * ms * 1e6)},
			Server:     results.ServerCost{Observed: true, CPUPerRequestNs: 50000 * ms, PeakRSSBytes: 20 << 20},
		})
	}
	return f
}

func TestCompare(t *testing.T) {
	base := []float64{1.00, 1.02, 0.98, 1.01, 0.99}
	tests := []struct {
		name       string
		base, new  *results.File
		opt        Options
		comparable bool
		status     Status
		reason     results.Note // among the reasons, row reasons or metric notes (matchNote)
		code       int
	}{
		{"clear regression", synth(base...), synth(2.0, 2.1, 1.9, 2.05, 1.95), Options{}, true, Regressed, results.Note{}, 1},
		{"clear improvement", synth(base...), synth(0.5, 0.51, 0.49, 0.5, 0.52), Options{}, true, Improved, results.Note{}, 0},
		{"identical distributions", synth(base...), synth(base...), Options{}, true, NoChange, results.Note{}, 0},
		{"same distribution reordered", synth(base...), synth(0.99, 1.01, 1.00, 0.98, 1.02), Options{}, true, NoChange, results.Note{}, 0},
		{"significant but below threshold", synth(base...), synth(1.03, 1.05, 1.04, 1.06, 1.035), Options{Threshold: 0.10, Metrics: []string{MetricP50}}, true, NoChange, results.Note{Kind: NoteBelowThreshold, Figures: map[string]float64{"threshold": 0.10}}, 0},
		{"too few rounds", synth(1, 1.01, 0.99), synth(2, 2.01, 1.99), Options{}, true, NoChange, results.Note{Kind: NoteTestWarning, Detail: []string{"need >= 4 samples"}}, 0},
		{"different machine", synth(base...), func() *results.File {
			f := synth(base...)
			f.Environment.CPUModel, f.Environment.CPUs = "Other CPU", 8
			return f
		}(), Options{}, false, "", results.Note{Kind: results.NoteIncomparable, Subject: "machine CPU model"}, 2},
		{"different settings", synth(base...), func() *results.File {
			f := synth(base...)
			f.Settings.DurationNs = int64(4 * time.Second)
			f.Settings.TargetOptions.CGITimeout = 5 * time.Second
			return f
		}(), Options{}, false, "", results.Note{Kind: results.NoteIncomparable, Subject: "setting duration", Detail: []string{"1s", "4s"}}, 2},
		{"different generator engine", func() *results.File {
			f := synth(base...)
			for i := range f.Points {
				f.Points[i].Engine = "loop/fasthttp"
			}
			return f
		}(), func() *results.File {
			f := synth(base...)
			for i := range f.Points {
				f.Points[i].Engine = "epoll"
			}
			return f
		}(), Options{}, true, NotComparable, results.Note{Kind: NoteEngineDiffers, Detail: []string{"loop/fasthttp", "epoll"}}, 0},
		{"different binary path is no setting", synth(base...), func() *results.File {
			f := synth(base...)
			f.Settings.TargetOptions = &results.TargetOptions{AppBin: "/b/sampleapp", CGITimeout: 30 * time.Second}
			return f
		}(), Options{}, true, NoChange, results.Note{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compare(tt.base, tt.new, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Comparable != tt.comparable {
				t.Fatalf("Comparable = %v (reasons %+v); want %v", r.Comparable, r.Reasons, tt.comparable)
			}
			said := slices.Clone(r.Reasons)
			for _, row := range r.Rows {
				said = append(said, row.Reason)
				for _, c := range row.Metrics {
					said = append(said, c.Note)
				}
			}
			text := fmt.Sprintf("%+v", said)
			if tt.comparable {
				if len(r.Rows) != 1 {
					t.Fatalf("%d rows; want 1", len(r.Rows))
				}
				if got := r.Rows[0].Status; got != tt.status {
					t.Errorf("row status = %q; want %q\n%s", got, tt.status, text)
				}
			}
			if !tt.reason.IsZero() && !slices.ContainsFunc(said, func(n results.Note) bool { return matchNote(n, tt.reason) }) {
				t.Errorf("reasons do not say %+v:\n%s", tt.reason, text)
			}
			// The exit status bench compare maps the report to.
			code := 0
			switch {
			case !r.Comparable:
				code = 2
			case r.Counts[Regressed] > 0:
				code = 1
			}
			if code != tt.code {
				t.Errorf("exit code = %d; want %d", code, tt.code)
			}
		})
	}
}

// matchNote reports whether got is want: the same kind, and the same
// subject and figures where want has them; each of want's details is part
// of got's (a library's warning is matched on its gist).
func matchNote(got, want results.Note) bool {
	if got.Kind != want.Kind || want.Subject != "" && got.Subject != want.Subject {
		return false
	}
	if want.Figures != nil && !reflect.DeepEqual(got.Figures, want.Figures) {
		return false
	}
	if want.Detail != nil && len(got.Detail) != len(want.Detail) {
		return false
	}
	for i, d := range want.Detail {
		if !strings.Contains(got.Detail[i], d) {
			return false
		}
	}
	return true
}

func TestCompareRegressionDirection(t *testing.T) {
	r, err := Compare(synth(1, 1.02, 0.98, 1.01, 0.99), synth(2, 2.1, 1.9, 2.05, 1.95), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{MetricP50: Regressed, MetricP99: Regressed, MetricThroughput: Regressed, MetricCPU: Regressed, MetricRSS: NoChange}
	for _, c := range r.Rows[0].Metrics {
		if c.Status != want[c.Metric] {
			t.Errorf("%s: status = %q; want %q", c.Metric, c.Status, want[c.Metric])
		}
		if c.Metric == MetricP50 {
			if c.Delta == nil || *c.Delta < 0.9 || *c.Delta > 1.1 {
				t.Errorf("p50 delta = %v; want ≈ +100%%", c.Delta)
			}
			if c.DeltaLo == nil || *c.DeltaLo <= 0 || *c.DeltaHi < *c.DeltaLo {
				t.Errorf("p50 CI = [%v, %v]; want a positive interval", c.DeltaLo, c.DeltaHi)
			}
		}
	}
}

func TestRatioCI(t *testing.T) {
	tests := []struct {
		name      string
		base, new []float64
		conf      float64
		lo, hi    float64
		ok        bool
	}{
		// 5 against 5 at 95%: the 3rd and 23rd of 25 sorted ratios
		// (P(U ≤ 2) = 4/252 ≤ 0.025 < P(U ≤ 3) = 7/252).
		{"5v5", []float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 5}, 0.95, 1.0 / 3, 3, true},
		{"3v3 at 95% is unattainable", []float64{1, 2, 3}, []float64{1, 2, 3}, 0.95, 0, 0, false},
		{"3v3 at 90% is the range", []float64{1, 2, 3}, []float64{2, 4, 6}, 0.90, 2.0 / 3, 6, true},
		{"non-positive", []float64{0, 1, 2, 3, 4}, []float64{1, 2, 3, 4, 5}, 0.95, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, ok := ratioCI(tt.base, tt.new, tt.conf)
			if ok != tt.ok || ok && (lo != tt.lo || hi != tt.hi) {
				t.Errorf("ratioCI = %v, %v, %v; want %v, %v, %v", lo, hi, ok, tt.lo, tt.hi, tt.ok)
			}
		})
	}
}

func TestMinRounds(t *testing.T) {
	for _, tt := range []struct {
		alpha float64
		want  int
	}{{0.05, 4}, {0.1, 3}, {0.01, 5}, {0.001, 7}} {
		if got := minRounds(tt.alpha); got != tt.want {
			t.Errorf("minRounds(%v) = %d; want %d", tt.alpha, got, tt.want)
		}
	}
}

func TestCalibrateFiles(t *testing.T) {
	a := synth(1, 1.02, 0.98, 1.01, 0.99)
	b := synth(1.03, 1.0, 0.97, 1.04, 1.01)
	c, err := CalibrateFiles(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p50 *Noise
	for i := range c.Noise {
		if c.Noise[i].Metric == MetricP50 {
			p50 = &c.Noise[i]
		}
	}
	if p50 == nil || p50.Rows != 1 {
		t.Fatalf("p50 noise = %+v; want one row", p50)
	}
	// Medians 1.00 and 1.01: 1% apart, so 2% suggested.
	if d := p50.MaxAbsDelta; d < 0.0099 || d > 0.0101 {
		t.Errorf("p50 MaxAbsDelta = %v; want 0.01", d)
	}
	if p50.Suggested != 0.02 {
		t.Errorf("p50 Suggested = %v; want 0.02", p50.Suggested)
	}
}

// TestComparePower: too few rounds to reach alpha is said once, as data.
func TestComparePower(t *testing.T) {
	r, err := Compare(synth(1, 1.01, 0.99), synth(2, 2.01, 1.99), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := results.Note{Kind: NotePowerRounds, Figures: map[string]float64{"rounds": 3, "min_p": 0.1, "alpha": 0.05, "need": 4}}
	if !reflect.DeepEqual(r.Power, want) {
		t.Errorf("Power = %+v; want %+v", r.Power, want)
	}
	p, err := ComparePaired(abFile([]float64{1, 1, 1}, []float64{1, 1, 1}, 1), "base", "new", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (results.Note{Kind: NotePowerPairs, Figures: map[string]float64{"pairs": 3, "need": 6}}); !reflect.DeepEqual(p.Power, want) {
		t.Errorf("paired Power = %+v; want %+v", p.Power, want)
	}
}
