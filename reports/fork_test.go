package reports

import (
	"context"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
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
	_, names := mustCharts(t, f)
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

// TestDecompositionNegative checks that a component derived below zero
// (the difference of two noisy medians) is drawn below the axis and said
// to be negative, rather than stacked over the component it would hide.
func TestDecompositionNegative(t *testing.T) {
	ms := func(v float64) results.Summary { return results.Summary{MedianNs: v * 1e6} }
	f := &results.File{SchemaVersion: 1, Fork: &results.Fork{Rows: []results.ForkRow{
		{Group: results.ForkGroupDecomposition, Name: results.ForkOSSpawn, Deployment: results.ForkCGI, Wall: ms(3)},
		{Group: results.ForkGroupDecomposition, Name: results.ForkRuntimeInit, Deployment: results.ForkCGI, Wall: ms(24)},
		{Group: results.ForkGroupDecomposition, Name: results.ForkAppInit, Deployment: results.ForkCGI, Wall: ms(3)},
		{Group: results.ForkGroupDecomposition, Name: results.ForkExitReap, Deployment: results.ForkCGI, Wall: ms(-3)},
		{Group: results.ForkGroupDecomposition, Name: results.ForkRequest, Deployment: results.ForkEmbedded, Wall: ms(0.001)},
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
		{Group: results.ForkGroupDaemon, Name: "cold-start", NoCPU: true, Params: map[string]string{"poll": "200µs"}, Samples: 3, Wall: results.Summary{MedianNs: 12e6}},
	}}
	ts := forkTables("", fk)
	if len(ts) != 2 {
		t.Fatalf("forkTables = %d tables; want daemon and other", len(ts))
	}
	if got := strings.Join(ts[1].Rows[0], "|"); got != "future-group|thing|k=v|7|0|1.50 µs|0 – 0|0" {
		t.Errorf("other row = %q", got)
	}
	if got := strings.Join(ts[0].Rows[0], "|"); got != "cold-start|3|0|12.0 ms|0 – 0|poll=200µs" {
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

// fixtureFork is a decomposition shaped like a quiet machine's: every
// group `bench fork` writes, consistent with one another (the
// decomposition telescopes to the components, the model is the exact fit
// of the amortisation rows). Long because it is one table of synthetic
// rows, read top to bottom.
func fixtureFork() *results.Fork {
	sum := func(ms float64) results.Summary {
		ns := ms * 1e6
		return results.Summary{MedianNs: ns, P25Ns: ns * 0.95, P75Ns: ns * 1.07, MinNs: ns * 0.85, MaxNs: ns * 1.6}
	}
	row := func(group results.ForkGroup, name string, params map[string]string, wallMs float64) results.ForkRow {
		return results.ForkRow{Group: group, Name: name, Params: params, Samples: 200, Outliers: 3,
			Wall: sum(wallMs), User: sum(wallMs * 0.4), Sys: sum(wallMs * 0.3)}
	}
	fk := &results.Fork{Notes: []results.Note{results.TextNote("fixture: decomposition figures are synthetic.")}}
	for _, c := range []struct {
		name, what string
		ms         float64
	}{
		{"bin-true", "spawn+reap of a dynamically linked C program", 0.5},
		{"static-noop", "spawn+reap of a static C no-op: the OS floor", 0.35},
		{"go-empty", "exec, Go runtime start of an empty Go program, exit: the Go runtime's floor", 0.6},
		{"go-noop", "exec, Go runtime start and the app's package initialisers, exit before any app start-up", 0.9},
		{"startup-only", "exec, runtime start, app start-up, exit", 1.5},
		{"embedded-request", "the handler called in-process", 0.09},
		{"cgi-request", "targets/cgi.Host execs sampleapp per request", 1.9},
		{"fcgi-request", "targets/fcgi client to a persistent daemon", 0.18},
	} {
		fk.Rows = append(fk.Rows, row(results.ForkGroupComponents, c.name, map[string]string{results.ForkParamWhat: c.what}, c.ms))
	}
	for _, c := range []struct {
		d    results.ForkDeployment
		name string
		ms   float64
	}{
		{"cgi", "os-spawn", 0.35}, {"cgi", "runtime-init", 0.25}, {"cgi", "package-init", 0.3}, {"cgi", "app-init", 0.6}, {"cgi", "request", 0.09}, {"cgi", "exit+reap", 0.31},
		{"fcgi", "request", 0.09}, {"fcgi", "fastcgi-gateway", 0.09},
		{"embedded", "request", 0.09},
	} {
		r := row(results.ForkGroupDecomposition, c.name, nil, c.ms)
		r.Deployment = c.d
		fk.Rows = append(fk.Rows, r)
	}
	overheads := []struct {
		d        results.ForkDeployment
		overhead float64 // ms
	}{{"cgi", 1.81}, {"fcgi", 0.09}, {"embedded", 0}}
	for _, n := range []int{0, 10, 100, 1000, 10000} {
		work := 0.09 + float64(n)*0.01
		for _, d := range overheads {
			r := row(results.ForkGroupAmortisation, "work", nil, work+d.overhead)
			r.Deployment, r.WorkN = d.d, n
			fk.Rows = append(fk.Rows, r)
		}
	}
	// The exact fit of the rows above: wall = (0.09 + overhead) ms + 10 µs
	// per round; CPU (user+sys) is 0.7 of it.
	for _, d := range overheads {
		fixed, per := (0.09+d.overhead)*1e6, 0.01*1e6
		fk.Fits = append(fk.Fits, results.ForkFit{Deployment: d.d, FixedNs: fixed, PerUnitNs: per,
			HasCPU: true, CPUFixedNs: 0.7 * fixed, CPUPerUnitNs: 0.7 * per, R2: 1, Points: 5})
	}
	fk.BreakEvens = results.ForkBreakEvens(fk.Fits)
	for _, f := range []struct {
		name   string
		params map[string]string
		ms     float64
	}{
		{"binary", map[string]string{"variant": "full", "size_bytes": "18860060", "linkage": "static", "program": "sampleapp -noop"}, 0.9},
		{"binary", map[string]string{"variant": "stripped", "size_bytes": "12812450", "linkage": "static", "program": "sampleapp -noop"}, 0.8},
		{"binary", map[string]string{"variant": "dynamic", "size_bytes": "18927574", "linkage": "dynamic", "program": "sampleapp -noop"}, 1.1},
		{"package-init", map[string]string{"variant": "go-empty", "size_bytes": "1563008", "program": "empty.go"}, 0.6},
		{"package-init", map[string]string{"variant": "go-empty-padded", "size_bytes": "18860195", "program": "empty.go with an unread embedded blob to the app's size"}, 0.62},
		{"package-init", map[string]string{"variant": "sampleapp-noop", "size_bytes": "18860060", "program": "sampleapp -noop"}, 0.9},
		{"gomaxprocs", map[string]string{"value": "default", "program": "sampleapp -startup-only"}, 1.5},
		{"gomaxprocs", map[string]string{"value": "1", "env": "GOMAXPROCS=1", "program": "sampleapp -startup-only"}, 1.35},
		{"gogc", map[string]string{"value": "default", "program": "sampleapp -startup-only"}, 1.5},
		{"gogc", map[string]string{"value": "off", "env": "GOGC=off", "program": "sampleapp -startup-only"}, 1.45},
		{"parent-rss", map[string]string{"heap_bytes": "0", "parent_rss_bytes": "17358848", "spawned": "static-noop"}, 0.35},
		{"parent-rss", map[string]string{"heap_bytes": "1073741824", "parent_rss_bytes": "1095634944", "spawned": "static-noop"}, 0.36},
	} {
		fk.Rows = append(fk.Rows, row(results.ForkGroupFactors, f.name, f.params, f.ms))
	}
	for _, c := range []struct {
		k          int
		throughput float64
	}{{1, 2850}, {2, 2900}, {4, 2950}, {8, 2900}} {
		r := row(results.ForkGroupConcurrency, "spawn", map[string]string{results.ForkParamProgram: "static-noop"}, float64(c.k)/c.throughput*1e3)
		r.Spawners, r.ThroughputPerS, r.Speedup = c.k, c.throughput, c.throughput/2850
		fk.Rows = append(fk.Rows, r)
	}
	for _, d := range []struct {
		name string
		ms   float64
	}{{"cold-start", 12}, {"first-request", 1.1}, {"steady-request", 0.18}, {"restart-after-kill", 15}} {
		r := row(results.ForkGroupDaemon, d.name, map[string]string{results.ForkParamWhat: "fixture " + d.name}, d.ms)
		r.User, r.Sys, r.NoCPU = results.Summary{}, results.Summary{}, true
		fk.Rows = append(fk.Rows, r)
	}
	return fk
}

// TestForkHeadline checks the headline of a file holding only a
// decomposition: from the decomposition bars alone, and from the measured
// components with the parts named in words.
func TestForkHeadline(t *testing.T) {
	row := func(g results.ForkGroup, name string, ms float64) results.ForkRow {
		return results.ForkRow{Group: g, Name: name, Wall: results.Summary{MedianNs: ms * 1e6}}
	}
	comp := func(name string, ms float64) results.ForkRow { return row(results.ForkGroupComponents, name, ms) }
	part := func(name string, ms float64) results.ForkRow { return row(results.ForkGroupDecomposition, name, ms) }
	rows := func(rs ...results.ForkRow) *results.Fork { return &results.Fork{Rows: rs} }
	for _, tc := range []struct {
		name string
		fork *results.Fork
		want string
	}{
		{
			"fork only",
			rows(
				part("os-spawn", 0.5),
				part("request", 0.25),
			),
			"In the fork decomposition, a CGI request takes 0.75 ms of wall time: os-spawn 0.5 ms, request 0.25 ms.",
		},
		{
			"fork only, components",
			rows(
				comp("embedded-request", 0.1),
				comp("cgi-request", 2.1),
				comp("fcgi-request", 0.3),
				part("os-spawn", 0.4),
				part("runtime-init", 1.2),
				part("app-init", 0.3),
			),
			"A CGI request costs 2 ms more wall time than the same request in-process (fork decomposition, medians); 1.2 ms of it is Go runtime start-up (60%), 400 µs the OS spawn and 300 µs the app's start-up. FastCGI costs 200 µs more.",
		},
		{
			"fork only, runtime and package init apart",
			rows(
				comp("embedded-request", 0.01),
				comp("cgi-request", 25.01),
				part("app-init", 3),
				part("package-init", 11),
				part("runtime-init", 4),
				part("os-spawn", 4),
			),
			"A CGI request costs 25 ms more wall time than the same request in-process (fork decomposition, medians); of that, 4 ms is the OS spawn, 4 ms the Go runtime's start-up (16%), 11 ms the app's package initialisation before main (44%; the init functions of every package it links, the SQLite driver's among them) and 3 ms the app's own start-up.",
		},
		{
			"fork only, package init without an OS floor",
			rows(
				part("runtime-init", 4),
				part("package-init", 11),
				results.ForkRow{Group: results.ForkGroupDecomposition, Name: results.ForkRequest, Deployment: results.ForkEmbedded},
			),
			"A CGI request costs 15 ms more wall time than the same request in-process (fork decomposition, medians); of that, 4 ms is the Go runtime's start-up (27%) and 11 ms the app's package initialisation before main (73%; the init functions of every package it links, the SQLite driver's among them).",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &results.File{SchemaVersion: 1, Fork: tc.fork}
			if got := Headline([]*results.File{f}); got != tc.want {
				t.Errorf("Headline() = %q\nwant        %q", got, tc.want)
			}
		})
	}
}

// TestForkLegacyFixture checks that testdata/results.json, whose fork
// section was written before the document's derived values were typed
// fields, reads into the document fixtureFork writes today: the same
// tables, fits and break-evens.
func TestForkLegacyFixture(t *testing.T) {
	legacy, current := readFixture(t).Fork, fixtureFork()
	lt, ct := forkTables("", legacy), forkTables("", current)
	if len(lt) != len(ct) {
		t.Fatalf("legacy file: %d tables; the current document: %d", len(lt), len(ct))
	}
	for i := range lt {
		if !slices.EqualFunc(lt[i].Rows, ct[i].Rows, slices.Equal) {
			t.Errorf("table %q differs:\nlegacy  %q\ncurrent %q", lt[i].Title, lt[i].Rows, ct[i].Rows)
		}
	}
	// The legacy file wrote CPU coefficients to 0.1 ns.
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.05+1e-9*math.Abs(b) }
	fitNear := func(a, b results.ForkFit) bool {
		return a.Deployment == b.Deployment && a.HasCPU == b.HasCPU && a.Points == b.Points && near(a.R2, b.R2) &&
			near(a.FixedNs, b.FixedNs) && near(a.PerUnitNs, b.PerUnitNs) && near(a.CPUFixedNs, b.CPUFixedNs) && near(a.CPUPerUnitNs, b.CPUPerUnitNs)
	}
	beNear := func(a, b results.ForkBreakEven) bool {
		return a.Deployment == b.Deployment && a.Basis == b.Basis && a.Found == b.Found && near(a.WorkN, b.WorkN) && near(a.FixedRuleNs, b.FixedRuleNs)
	}
	if !slices.EqualFunc(legacy.Fits, current.Fits, fitNear) || !slices.EqualFunc(legacy.BreakEvens, current.BreakEvens, beNear) {
		t.Errorf("legacy fits %+v, break-evens %+v\nwant %+v, %+v", legacy.Fits, legacy.BreakEvens, current.Fits, current.BreakEvens)
	}
}
