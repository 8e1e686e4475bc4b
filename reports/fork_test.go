package reports

import (
	"context"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/results"
)

// forkOnlyFixture is what `bench fork` writes: the fixture's decomposition
// and no load test.
func forkOnlyFixture(t *testing.T) *results.File {
	fx := readFixture(t)
	return &results.File{
		SchemaVersion: results.SchemaVersion,
		Label:         "fork",
		StartedAt:     fx.StartedAt,
		FinishedAt:    fx.StartedAt.Add(40e9),
		Environment:   fx.Environment,
		Settings:      results.Settings{Scenario: "fork"},
		Fork:          fx.Fork,
	}
}

// TestForkOnlyReport checks that a file holding only a decomposition
// renders with a headline about it, every fork chart and table, and none
// of the load test's sections or empty settings.
func TestForkOnlyReport(t *testing.T) {
	dir := t.TempDir()
	f := forkOnlyFixture(t)
	src := filepath.Join(dir, "fork.json")
	if err := results.Write(src, f); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(context.Background(), []*results.File{f}, dir, nil); err != nil {
		t.Fatalf("Render(fork.json): %v", err)
	}
	const want = "A CGI request costs 1.8 ms more wall time than the same request in-process (fork decomposition, medians); " +
		"of that, 350 µs is the OS spawn, 250 µs the Go runtime's start-up (14%), 300 µs the app's package initialisation before main " +
		"(17%; the init functions of every package it links, the SQLite driver's among them) and 600 µs the app's own start-up. FastCGI costs 90 µs more."
	if got := Headline([]*results.File{f}); got != want {
		t.Errorf("Headline(fork only) = %q\nwant                   %q", got, want)
	}
	cs, err := Charts([]*results.File{f})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if got, want := strings.Join(names, " "), "fork-decomposition fork-amortisation fork-crossover fork-factors fork-concurrency"; got != want {
		t.Errorf("Charts(fork only) = %s; want %s", got, want)
	}
	for _, name := range []string{"report.md", "report.html"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		page := html.UnescapeString(string(data))
		for _, s := range []string{want, "Fork components", "Fork decomposition", "Fork amortisation", "Fork cost model",
			"Fork factors", "Fork concurrency", "Fork daemon", "fork: fixture: decomposition figures are synthetic.", "Fork rows"} {
			if !strings.Contains(page, s) {
				t.Errorf("%s lacks %q", name, s)
			}
		}
		for _, s := range []string{"Closed model", "Open model", "Connections", "Load models", "Transport", "CPU pinning", "Rounds", "Knees"} {
			if strings.Contains(page, s) {
				t.Errorf("%s of a fork-only file shows the load test's %q", name, s)
			}
		}
	}
}

func TestBreakEven(t *testing.T) {
	for _, tc := range []struct {
		name         string
		a, b, ae, be float64
		want         float64
		ok           bool
	}{
		// CGI 1.9 ms + 10 µs·n against embedded 90 µs + 10 µs·n:
		// 0.1·(1.9e6 + 1e4·n) = 1.81e6 ⇔ n = 1620.
		{"fixed overhead, same per-unit cost", 1.9e6, 1e4, 0.09e6, 1e4, 1620, true},
		{"per-unit cost too high: never", 29.4e6, 173, -3.6e3, 90.5, 0, false},
		{"already under 10% at no work", 100, 1e4, 95, 1e4, 0, true},
		{"not finite", math.NaN(), 1, 1, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := breakEven(tc.a, tc.b, tc.ae, tc.be)
			if ok != tc.ok || math.Abs(n-tc.want) > 1e-6*math.Max(1, tc.want) {
				t.Errorf("breakEven(%v, %v, %v, %v) = %v, %v; want %v, %v", tc.a, tc.b, tc.ae, tc.be, n, ok, tc.want, tc.ok)
			}
			if ok && n > 0 {
				share := 1 - (tc.ae+tc.be*n)/(tc.a+tc.b*n)
				if math.Abs(share-breakEvenShare) > 1e-9 {
					t.Errorf("overhead share at the break-even = %v; want %v", share, breakEvenShare)
				}
			}
		})
	}
	if ns, ok := fixedRule(1.9e6, 0.09e6); !ok || math.Abs(ns-16.29e6) > 1 {
		t.Errorf("fixedRule(1.9 ms, 90 µs) = %v, %v; want 16.29 ms, true", ns, ok)
	}
}

// TestDecompositionNegative checks that a component derived below zero
// (the difference of two noisy medians) is drawn below the axis and said
// to be negative, rather than stacked over the component it would hide.
func TestDecompositionNegative(t *testing.T) {
	ms := func(v float64) results.Summary { return results.Summary{MedianNs: v * 1e6} }
	f := &results.File{SchemaVersion: 1, Fork: &results.Fork{Rows: []results.ForkRow{
		{Group: GroupDecomposition, Name: "os-spawn", Params: map[string]string{ParamTarget: "cgi"}, Wall: ms(3)},
		{Group: GroupDecomposition, Name: "runtime-init", Params: map[string]string{ParamTarget: "cgi"}, Wall: ms(24)},
		{Group: GroupDecomposition, Name: "app-init", Params: map[string]string{ParamTarget: "cgi"}, Wall: ms(3)},
		{Group: GroupDecomposition, Name: "exit+reap", Params: map[string]string{ParamTarget: "cgi"}, Wall: ms(-3)},
		{Group: GroupDecomposition, Name: "request", Params: map[string]string{ParamTarget: "embedded"}, Wall: ms(0.001)},
	}}}
	c, ok := decompositionChart(Summarize([]*results.File{f}))
	if !ok {
		t.Fatal("decompositionChart: no chart")
	}
	if c.plot.Y.Min >= -3 {
		t.Errorf("Y axis starts at %v; want below -3 so the negative component shows", c.plot.Y.Min)
	}
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{">exit+reap (negative: below 0)<", ">net 27.0 ms<", ">-3.00 ms<", ">24.0 ms<"} {
		if !strings.Contains(string(svg), s) {
			t.Errorf("SVG lacks %q", s)
		}
	}
}

// TestForkTablesKeepEverything checks that rows of a group the report
// does not know are shown, not dropped, and that fork tables name their
// measurement.
func TestForkTablesKeepEverything(t *testing.T) {
	fk := &results.Fork{Rows: []results.ForkRow{
		{Group: "future-group", Name: "thing", Params: map[string]string{"k": "v"}, Samples: 7, Wall: results.Summary{MedianNs: 1500}},
		{Group: GroupDaemon, Name: "cold-start", Params: map[string]string{"cpu": "not measured"}, Samples: 3, Wall: results.Summary{MedianNs: 12e6}},
	}}
	ts := forkTables("", fk)
	if len(ts) != 2 {
		t.Fatalf("forkTables = %d tables; want daemon and other", len(ts))
	}
	if got := strings.Join(ts[1].Rows[0], "|"); got != "future-group|thing|k=v|7|0|1.50 µs|0 – 0|0" {
		t.Errorf("other row = %q", got)
	}
	if got := strings.Join(ts[0].Rows[0], "|"); got != "cold-start|3|0|12.0 ms|0 – 0|cpu=not measured" {
		t.Errorf("daemon row = %q", got)
	}
}

func TestDur(t *testing.T) {
	for _, tc := range []struct {
		ns   float64
		want string
	}{{882, "882 ns"}, {189e3, "189 µs"}, {27.47e6, "27.5 ms"}, {-3.17e6, "-3.17 ms"}, {1.5e9, "1.50 s"}, {0, "0"}, {math.NaN(), dash}} {
		if got := dur(tc.ns); got != tc.want {
			t.Errorf("dur(%v) = %q; want %q", tc.ns, got, tc.want)
		}
	}
}
