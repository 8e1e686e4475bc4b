package spawncost

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"forkbench/app"
	"forkbench/reports"
	"forkbench/results"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		q    float64
		want float64
	}{
		{"empty", nil, 0.5, 0},
		{"one", []float64{7}, 0.5, 7},
		{"one p25", []float64{7}, 0.25, 7},
		{"odd median", []float64{1, 2, 3}, 0.5, 2},
		{"even median interpolates", []float64{1, 2, 3, 4}, 0.5, 2.5},
		{"p25 of 1..5", []float64{1, 2, 3, 4, 5}, 0.25, 2},
		{"p75 of 1..4", []float64{1, 2, 3, 4}, 0.75, 3.25},
		{"q0 is min", []float64{3, 4, 9}, 0, 3},
		{"q1 is max", []float64{3, 4, 9}, 1, 9},
		{"below 0 clamps", []float64{3, 4, 9}, -1, 3},
		{"above 1 clamps", []float64{3, 4, 9}, 2, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.xs, tt.q); got != tt.want {
				t.Errorf("quantile(%v, %v) = %v; want %v", tt.xs, tt.q, got, tt.want)
			}
		})
	}
}

func TestSummarizeAndOutliers(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		want     results.Summary
		outliers int
	}{
		{"empty", nil, results.Summary{}, 0},
		{"single", []float64{5}, results.Summary{MedianNs: 5, P25Ns: 5, P75Ns: 5, MinNs: 5, MaxNs: 5}, 0},
		{"three no quartiles for fences", []float64{1, 1, 1000}, results.Summary{MedianNs: 1, P25Ns: 1, P75Ns: 500.5, MinNs: 1, MaxNs: 1000}, 0},
		{"constant", []float64{4, 4, 4, 4, 4}, results.Summary{MedianNs: 4, P25Ns: 4, P75Ns: 4, MinNs: 4, MaxNs: 4}, 0},
		{"unsorted input", []float64{5, 1, 4, 2, 3}, results.Summary{MedianNs: 3, P25Ns: 2, P75Ns: 4, MinNs: 1, MaxNs: 5}, 0},
		// Q1 = 10, Q3 = 12, IQR 2: fences 7 and 15.
		{"one high outlier", []float64{10, 10, 11, 11, 12, 12, 100}, results.Summary{MedianNs: 11, P25Ns: 10.5, P75Ns: 12, MinNs: 10, MaxNs: 100}, 1},
		{"high and low", []float64{-50, 10, 10, 11, 11, 12, 12, 100}, results.Summary{MedianNs: 11, P25Ns: 10, P75Ns: 12, MinNs: -50, MaxNs: 100}, 2},
		{"constant with a spike", []float64{4, 4, 4, 4, 4, 5}, results.Summary{MedianNs: 4, P25Ns: 4, P75Ns: 4, MinNs: 4, MaxNs: 5}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.xs)
			if got := summarize(tt.xs); got != tt.want {
				t.Errorf("summarize(%v) = %+v; want %+v", tt.xs, got, tt.want)
			}
			if got := outliers(tt.xs); got != tt.outliers {
				t.Errorf("outliers(%v) = %d; want %d", tt.xs, got, tt.outliers)
			}
			if !slices.Equal(in, tt.xs) {
				t.Errorf("input modified: %v; was %v", tt.xs, in)
			}
		})
	}
}

func TestForkRowAndDiff(t *testing.T) {
	ss := []sample{{wall: 3, user: 1, sys: 2}, {wall: 1, user: 1, sys: 0}, {wall: 2, user: 3, sys: 0}, {wall: 90, user: 1, sys: 1}, {wall: 2, user: 1, sys: 1}}
	r := forkRow(results.ForkRow{Group: "g", Name: "n", Params: map[string]string{"k": "v"}}, ss)
	if r.Samples != 5 || r.Wall.MedianNs != 2 || r.User.MedianNs != 1 || r.Sys.MedianNs != 1 || r.Outliers != 1 {
		t.Errorf("forkRow = %+v; want 5 samples, wall median 2, user 1, sys 1, 1 outlier", r)
	}
	// CPU is the median of each sample's user+sys (3, 1, 3, 2, 2), not
	// the sum of the two medians (2).
	if r.CPU == nil || r.CPU.MedianNs != 2 || r.CPU.MaxNs != 3 || r.CPU.MinNs != 1 {
		t.Errorf("forkRow CPU = %+v; want median 2, min 1, max 3", r.CPU)
	}
	ss[4].user = 2 // CPUs 3 1 3 2 3: median 3, while user and sys medians stay 1 and 1
	if r := forkRow(results.ForkRow{}, ss); r.CPUMedianNs() != 3 || r.User.MedianNs+r.Sys.MedianNs != 2 {
		t.Errorf("CPUMedianNs = %v (user %v + sys %v); want 3 from the per-sample sums", r.CPUMedianNs(), r.User.MedianNs, r.Sys.MedianNs)
	}
	d := diff(results.Summary{MedianNs: 10, P25Ns: 8, P75Ns: 12, MinNs: 5, MaxNs: 20}, results.Summary{MedianNs: 4, P25Ns: 3, P75Ns: 5, MinNs: 1, MaxNs: 30})
	if want := (results.Summary{MedianNs: 6, P25Ns: 5, P75Ns: 7, MinNs: 4, MaxNs: -10}); d != want {
		t.Errorf("diff = %+v; want %+v", d, want)
	}
}

func TestFitLine(t *testing.T) {
	tests := []struct {
		name   string
		xs, ys []float64
		a, b   float64
		ok     bool
	}{
		{"exact", []float64{0, 1, 2, 3}, []float64{5, 7, 9, 11}, 5, 2, true},
		{"flat", []float64{0, 10}, []float64{3, 3}, 3, 0, true},
		{"noisy", []float64{0, 1, 2}, []float64{1, 2, 2}, 7.0 / 6, 0.5, true},
		{"one point", []float64{1}, []float64{1}, 0, 0, false},
		{"same x", []float64{2, 2}, []float64{1, 3}, 0, 0, false},
		{"length mismatch", []float64{1, 2}, []float64{1}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := fitLine(tt.xs, tt.ys)
			if ok != tt.ok {
				t.Fatalf("fitLine ok = %v; want %v", ok, tt.ok)
			}
			if ok && (math.Abs(f.a-tt.a) > 1e-9 || math.Abs(f.b-tt.b) > 1e-9) {
				t.Errorf("fitLine = %v + %v x; want %v + %v x", f.a, f.b, tt.a, tt.b)
			}
		})
	}
}

// TestFitLineInterval checks the slope's 95% interval: t(1) = 12.706 for
// three points; none for two.
func TestFitLineInterval(t *testing.T) {
	// y = 1 + 2x with residuals +0.5, −1, +0.5: b = 2, sse = 1.5,
	// sxx = 2, se = sqrt(1.5/1/2) = 0.866, half = 12.706 · 0.866.
	f, ok := fitLine([]float64{0, 1, 2}, []float64{1.5, 2, 5.5})
	if !ok {
		t.Fatal("fitLine failed")
	}
	half := 12.706 * math.Sqrt(1.5/2)
	if math.Abs(f.b-2) > 1e-9 || math.Abs(f.bLo-(2-half)) > 1e-9 || math.Abs(f.bHi-(2+half)) > 1e-9 {
		t.Errorf("slope %v in [%v, %v]; want 2 in [%v, %v]", f.b, f.bLo, f.bHi, 2-half, 2+half)
	}
	if f, _ := fitLine([]float64{0, 10}, []float64{1, 5}); f.bLo != f.b || f.bHi != f.b {
		t.Errorf("two points: interval [%v, %v]; want none (the slope itself)", f.bLo, f.bHi)
	}
}

// TestNoteNotFinite: a note whose ratio is not finite (a zero median)
// keeps its other figures and does not stop the document being written;
// the report shows the ratio as a dash.
func TestNoteNotFinite(t *testing.T) {
	m := &measurer{fk: &results.Fork{}}
	m.note(results.Note{Kind: results.ForkNoteDaemon, Figures: map[string]float64{"cold_ns": 5e6, "first_ns": 1e6, "steady_ns": 0, "ratio": math.Inf(1)}})
	m.note(results.Note{Kind: results.ForkNoteAddsUp, Detail: []string{"os-spawn"}, Figures: map[string]float64{"gap_ns": 1e6, "rel": math.NaN(), "start_ns": 0, "rest_ns": 1e6}})
	path := filepath.Join(t.TempDir(), FileName)
	if err := results.Write(path, &results.File{Fork: m.fk}); err != nil {
		t.Fatalf("writing a document with a non-finite figure: %v", err)
	}
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"daemon: cold start median 5.00ms; first request 1.00ms vs 0ns in steady state (—×).",
		"Decomposition adds up: CGI − embedded = 1.00ms, within 20% (—) of the start-up components' sum (os-spawn = 0ns); the remaining 1.00ms is exit+reap, the CGI gateway.",
	} {
		if got := reports.JoinNotes(f.Fork.Notes, "\n"); !strings.Contains(got, want) {
			t.Errorf("notes =\n%s\nwant one saying %q", got, want)
		}
	}
}

// TestModelDeclines: no cost model from two work sizes (what --quick
// measures), nor from a slope lost in the fixed cost's noise.
func TestModelDeclines(t *testing.T) {
	tests := []struct {
		name string
		ns   []int
		wall func(n int) float64
		note string
	}{
		{"two sizes", []int{0, 10_000}, func(n int) float64 { return 2e6 + 100*float64(n) }, "needs at least 3"},
		{"slope in the noise", []int{0, 10, 20}, func(n int) float64 { return 2e6 + []float64{0, 5e5, -4e5}[n/10] }, "does not stand clear of zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &measurer{fk: &results.Fork{}}
			for _, n := range tt.ns {
				c := point(tt.wall(n) / 2)
				m.fk.Rows = append(m.fk.Rows, results.ForkRow{Group: results.ForkGroupAmortisation, Name: "work", Deployment: results.ForkCGI, WorkN: n, Wall: point(tt.wall(n)), CPU: &c})
			}
			if err := m.model(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(m.fk.Fits) != 0 || len(m.fk.BreakEvens) != 0 {
				t.Errorf("fits %+v, break-evens %+v; want none", m.fk.Fits, m.fk.BreakEvens)
			}
			if len(m.fk.Notes) != 1 || !strings.Contains(reports.NoteText(m.fk.Notes[0]), tt.note) {
				t.Errorf("notes = %q; want one saying %q", reports.JoinNotes(m.fk.Notes, "\n"), tt.note)
			}
		})
	}
}

// TestModel fits the cost model to synthetic amortisation rows and checks
// the fits and the break-evens derived from them, written once into the
// document.
func TestModel(t *testing.T) {
	m := &measurer{fk: &results.Fork{}}
	// CGI: 10 ms + 100 ns/n; embedded: 0 + 100 ns/n (CPU: 0.5 of each).
	// Share < 10% when 10ms/(10ms + 100n) < 0.1 ⇔ n > 900000.
	for _, n := range []int{0, 1000, 1_000_000} {
		for d, fixed := range map[results.ForkDeployment]float64{results.ForkCGI: 10e6, results.ForkEmbedded: 0} {
			v := fixed + 100*float64(n)
			c := point(v / 2)
			m.fk.Rows = append(m.fk.Rows, results.ForkRow{Group: results.ForkGroupAmortisation, Name: "work", Deployment: d, WorkN: n, Wall: point(v), CPU: &c})
		}
	}
	if err := m.model(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []results.ForkFit{
		{Deployment: results.ForkCGI, FixedNs: 10e6, PerUnitNs: 100, HasCPU: true, CPUFixedNs: 5e6, CPUPerUnitNs: 50, R2: 1, Points: 3},
		{Deployment: results.ForkEmbedded, FixedNs: 0, PerUnitNs: 100, HasCPU: true, CPUFixedNs: 0, CPUPerUnitNs: 50, R2: 1, Points: 3},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	if len(m.fk.Fits) != len(want) {
		t.Fatalf("fits = %+v; want %+v", m.fk.Fits, want)
	}
	for i, f := range m.fk.Fits {
		w := want[i]
		if f.Deployment != w.Deployment || f.HasCPU != w.HasCPU || f.Points != w.Points || !near(f.FixedNs, w.FixedNs) ||
			!near(f.PerUnitNs, w.PerUnitNs) || !near(f.CPUFixedNs, w.CPUFixedNs) || !near(f.CPUPerUnitNs, w.CPUPerUnitNs) || !near(f.R2, w.R2) {
			t.Errorf("fit %d = %+v; want %+v", i, f, w)
		}
	}
	if len(m.fk.BreakEvens) != 2 {
		t.Fatalf("break-evens = %+v; want wall and CPU for cgi", m.fk.BreakEvens)
	}
	for _, be := range m.fk.BreakEvens {
		if be.Deployment != results.ForkCGI || !be.Found || !near(be.WorkN, 900_000) {
			t.Errorf("break-even %+v; want cgi at n = 900000", be)
		}
	}
}

func TestForkJSONRoundTrip(t *testing.T) {
	fk := &results.Fork{
		Rows: []results.ForkRow{
			forkRow(results.ForkRow{Group: results.ForkGroupComponents, Name: results.ForkGoNoop, Params: map[string]string{"program": "sampleapp -noop"}},
				[]sample{{wall: 900 * time.Microsecond, user: 300 * time.Microsecond, sys: 400 * time.Microsecond}, {wall: time.Millisecond}}),
			{Group: results.ForkGroupDecomposition, Name: results.ForkExitReap, Deployment: results.ForkCGI, Samples: 3, Wall: results.Summary{MedianNs: -12.5}},
			{Group: results.ForkGroupConcurrency, Name: "spawn", Spawners: 2, ThroughputPerS: 180, Speedup: 0.9, NoCPU: true, Samples: 4, Wall: point(1.25e6)},
		},
		Fits:       []results.ForkFit{{Deployment: results.ForkCGI, FixedNs: 2e6, PerUnitNs: 100, HasCPU: true, CPUFixedNs: 1e6, CPUPerUnitNs: 90, R2: 0.99, Points: 5}},
		BreakEvens: []results.ForkBreakEven{{Deployment: results.ForkCGI, Basis: results.ForkWall, Found: true, WorkN: 1e5, FixedRuleNs: 18e6}},
		Notes: []results.Note{results.TextNote("Decomposition adds up."),
			{Kind: results.ForkNoteAddsUp, Detail: []string{"os-spawn", "app-init"}, Figures: map[string]float64{"gap_ns": 2e6, "rel": 0.05, "start_ns": 1.9e6, "rest_ns": 1e5}}},
	}
	path := filepath.Join(t.TempDir(), "out", FileName)
	if err := results.Write(path, &results.File{Fork: fk}); err != nil {
		t.Fatal(err)
	}
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.SchemaVersion != results.SchemaVersion {
		t.Errorf("schema_version = %d; want %d", f.SchemaVersion, results.SchemaVersion)
	}
	if f.Fork == nil || !slices.EqualFunc(f.Fork.Rows, fk.Rows, rowEqual) || !reflect.DeepEqual(f.Fork.Notes, fk.Notes) ||
		!slices.Equal(f.Fork.Fits, fk.Fits) || !slices.Equal(f.Fork.BreakEvens, fk.BreakEvens) {
		t.Errorf("round trip = %+v; want %+v", f.Fork, fk)
	}
}

func rowEqual(a, b results.ForkRow) bool {
	return a.Group == b.Group && a.Name == b.Name && a.Deployment == b.Deployment && a.WorkN == b.WorkN &&
		a.Spawners == b.Spawners && a.ThroughputPerS == b.ThroughputPerS && a.Speedup == b.Speedup && a.NoCPU == b.NoCPU &&
		a.Samples == b.Samples && a.Outliers == b.Outliers &&
		a.Wall == b.Wall && a.User == b.User && a.Sys == b.Sys && mapsEqual(a.Params, b.Params)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestComponentsAreRealProcesses checks what each spawn component runs:
// a real child (its own pid, reaped), and that -noop really exits before
// the app's start-up while -startup-only really does it. The observable
// effect is the database: with a path that does not exist -noop still
// succeeds (it never opens it) and -startup-only fails (it does).
func TestComponentsAreRealProcesses(t *testing.T) {
	ctx := context.Background()
	sp, err := newSpawner()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	db := filepath.Join(t.TempDir(), "world.db")
	if err := app.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "absent", "world.db")
	tests := []struct {
		name    string
		path    string
		args    []string
		wantErr bool
	}{
		{"bin-true", "/bin/true", nil, false},
		{"go-noop with a missing database", bins.SampleApp, []string{"-noop", "-db", missing}, false},
		{"startup-only with a missing database", bins.SampleApp, []string{"-startup-only", "-db", missing}, true},
		{"startup-only", bins.SampleApp, []string{"-startup-only", "-db", db}, false},
		{"no mode is refused", bins.SampleApp, []string{"-db", db}, true},
	}
	seen := map[int]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !fileExists(tt.path) {
				t.Skipf("%s not installed", tt.path)
			}
			s, pid, err := sp.run(ctx, tt.path, tt.args, childEnv())
			if (err != nil) != tt.wantErr {
				t.Fatalf("run %s %v: err = %v; want error %v", tt.path, tt.args, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if pid <= 0 || pid == os.Getpid() || seen[pid] {
				t.Errorf("pid = %d; want a new child's pid", pid)
			}
			seen[pid] = true
			if s.wall <= 0 {
				t.Errorf("wall = %v; want > 0", s.wall)
			}
			// Reaped: wait4 collected it, so it is no zombie of ours.
			if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && bytes.Contains(st, []byte(") Z ")) {
				t.Errorf("child %d is a zombie", pid)
			}
		})
	}
}

func TestLinkage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		path func(t *testing.T) string
		want string
	}{
		{"static C no-op", func(t *testing.T) string {
			p, err := buildNoop(ctx, t.TempDir())
			if errors.Is(err, ErrNoTool) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, "static"},
		{"sampleapp built without cgo", func(*testing.T) string { return bins.SampleApp }, "static"},
		{"/bin/true", func(t *testing.T) string {
			if !fileExists("/bin/true") {
				t.Skip("no /bin/true")
			}
			return "/bin/true"
		}, "dynamic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := linkage(tt.path(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("linkage = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestMeasureNeedsAppBin(t *testing.T) {
	for _, bin := range []string{"", filepath.Join(t.TempDir(), "nope")} {
		if _, err := Measure(context.Background(), Config{AppBin: bin}); !errors.Is(err, ErrNoAppBin) {
			t.Errorf("Measure(AppBin %q) = %v; want ErrNoAppBin", bin, err)
		}
	}
}

// TestMeasureQuick measures with Quick end to end and checks the document
// after a write and a read: every group, the CGI decomposition's
// components in order, every CGI child reaped, and the parent-size probe
// run as a re-executed child (this test binary, see TestMain).
func TestMeasureQuick(t *testing.T) {
	var errb bytes.Buffer
	fk, err := Measure(context.Background(), Config{Quick: true, AppBin: bins.SampleApp, DataDir: t.TempDir(),
		Self: []string{os.Args[0]}, SelfEnv: []string{probeEnv + "=1"}, Log: &errb})
	if err != nil {
		t.Fatalf("Measure: %v\nlog:\n%s", err, errb.String())
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := results.Write(path, &results.File{Fork: fk}); err != nil {
		t.Fatal(err)
	}
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Fork == nil {
		t.Fatal("fork.json has no fork section")
	}
	groups := map[results.ForkGroup]int{}
	var cgiParts []string
	for _, r := range f.Fork.Rows {
		groups[r.Group]++
		if r.Group == results.ForkGroupDecomposition && r.Deployment == results.ForkCGI {
			cgiParts = append(cgiParts, r.Name)
		}
		if r.Group == results.ForkGroupComponents && r.Name == results.ForkCGIRequest {
			if r.Params["children_spawned"] != r.Params["children_reaped"] || r.Params["children_spawned"] == "0" {
				t.Errorf("cgi-request spawned %s children, reaped %s", r.Params["children_spawned"], r.Params["children_reaped"])
			}
		}
		if r.Group != results.ForkGroupDecomposition && (r.Samples == 0 || r.Wall.MedianNs <= 0) {
			t.Errorf("row %s/%s %v: %d samples, median %v; want measured", r.Group, r.Name, r.Params, r.Samples, r.Wall.MedianNs)
		}
	}
	for _, g := range results.ForkGroups() {
		if groups[g] == 0 {
			t.Errorf("no %s rows; groups = %v; notes = %q", g, groups, reports.JoinNotes(f.Fork.Notes, "\n"))
		}
	}
	if want := []string{"os-spawn", "runtime-init", "package-init", "app-init", "request", "exit+reap"}; !slices.Equal(cgiParts, want) {
		t.Errorf("cgi decomposition = %v; want %v", cgiParts, want)
	}
	checkDerived(t, f.Fork)
	if groups[results.ForkGroupAmortisation] != 2*3 {
		t.Errorf("%d amortisation rows; want 2 sizes × 3 deployments", groups[results.ForkGroupAmortisation])
	}
	// Two work sizes support no cost model: the quick run declines to
	// fit and says so, for each deployment.
	var declined int
	for _, n := range f.Fork.Notes {
		if strings.Contains(reports.NoteText(n), "needs at least 3") {
			declined++
		}
	}
	if len(f.Fork.Fits) != 0 || len(f.Fork.BreakEvens) != 0 || declined != 3 {
		t.Errorf("fits %+v, break-evens %+v, %d declining notes; want no fit and a note for each of the 3 deployments", f.Fork.Fits, f.Fork.BreakEvens, declined)
	}
	var rss int
	for _, r := range f.Fork.Rows {
		if r.Name == "parent-rss" {
			rss++
		}
	}
	if rss != 2 {
		t.Errorf("%d parent-rss rows; want 2 (small and large parent); notes = %q", rss, reports.JoinNotes(f.Fork.Notes, "\n"))
	}
}

// TestBuildVariant builds the stripped app variant the binary-size factor
// measures and checks it is what its row will claim: smaller than the
// unstripped binary, static, and a working app (-noop exits 0).
func TestBuildVariant(t *testing.T) {
	ctx := context.Background()
	gotool, err := goTool()
	if errors.Is(err, ErrNoTool) {
		t.Skip(err)
	}
	root, err := moduleDir(ctx, gotool, "")
	if err != nil {
		t.Fatal(err)
	}
	v := appVariants()[1]
	if v.name != "stripped" {
		t.Fatalf("variant 1 = %q; want stripped", v.name)
	}
	path, err := buildVariant(ctx, gotool, root, t.TempDir(), v)
	if err != nil {
		t.Fatal(err)
	}
	if st, full := sizeOf(t, path), sizeOf(t, bins.SampleApp); st >= full {
		t.Errorf("stripped size %d ≥ unstripped %d", st, full)
	}
	if l, err := linkage(path); err != nil || l != "static" {
		t.Errorf("linkage = %q, %v; want static", l, err)
	}
	sp, err := newSpawner()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if _, _, err := sp.run(ctx, path, []string{"-noop"}, childEnv()); err != nil {
		t.Errorf("stripped -noop: %v", err)
	}
}

// checkDerived checks that the CGI decomposition of fk is the documented
// differences of its measured components (medians, wall and CPU).
func checkDerived(t *testing.T, fk *results.Fork) {
	t.Helper()
	comp, dec := map[string]results.ForkRow{}, map[string]results.ForkRow{}
	for _, r := range fk.Rows {
		switch {
		case r.Group == results.ForkGroupComponents:
			comp[r.Name] = r
		case r.Group == results.ForkGroupDecomposition && r.Deployment == results.ForkCGI:
			dec[r.Name] = r
		}
	}
	floor, ok := strings.CutPrefix(dec["os-spawn"].Params["source"], "measured: ")
	if !ok || comp[floor].Samples == 0 {
		t.Fatalf("os-spawn source = %q; want a measured floor component", dec["os-spawn"].Params["source"])
	}
	type med func(results.ForkRow) float64
	meds := map[string]med{
		"wall": func(r results.ForkRow) float64 { return r.Wall.MedianNs },
		"user": func(r results.ForkRow) float64 { return r.User.MedianNs },
		"sys":  func(r results.ForkRow) float64 { return r.Sys.MedianNs },
	}
	for _, tt := range []struct {
		name string
		want func(med) float64
	}{
		{"os-spawn", func(f med) float64 { return f(comp[floor]) }},
		{"runtime-init", func(f med) float64 { return f(comp["go-empty"]) - f(comp[floor]) }},
		{"package-init", func(f med) float64 { return f(comp["go-noop"]) - f(comp["go-empty"]) }},
		{"app-init", func(f med) float64 { return f(comp["startup-only"]) - f(comp["go-noop"]) }},
		{"request", func(f med) float64 { return f(comp["embedded-request"]) }},
		{"exit+reap", func(f med) float64 {
			return f(comp["cgi-request"]) - f(comp["startup-only"]) - f(comp["embedded-request"])
		}},
	} {
		r, ok := dec[tt.name]
		if !ok {
			t.Errorf("no cgi decomposition row %s", tt.name)
			continue
		}
		for what, f := range meds {
			if got, want := f(r), tt.want(f); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("decomposition %s %s median = %v; want %v", tt.name, what, got, want)
			}
		}
	}
	// The start-up components telescope to startup-only.
	var sum float64
	for _, n := range []string{"os-spawn", "runtime-init", "package-init", "app-init"} {
		sum += dec[n].Wall.MedianNs
	}
	if want := comp["startup-only"].Wall.MedianNs; math.Abs(sum-want) > 1e-6*want {
		t.Errorf("os-spawn + runtime-init + package-init + app-init = %v; want startup-only %v", sum, want)
	}
}

// TestDecompose runs the decomposition on synthetic components, with and
// without the empty Go program, and checks its rows and consistency notes.
func TestDecompose(t *testing.T) {
	row := func(name string, wallMs float64) results.ForkRow {
		ns := wallMs * 1e6
		return results.ForkRow{Group: results.ForkGroupComponents, Name: name, Params: map[string]string{}, Samples: 10,
			Wall: results.Summary{MedianNs: ns, P25Ns: ns, P75Ns: ns}, User: point(ns / 4), Sys: point(ns / 2)}
	}
	base := []results.ForkRow{row("static-noop", 4), row("go-noop", 20), row("startup-only", 25),
		row("embedded-request", 0.01), row("cgi-request", 27), row("fcgi-request", 0.1)}
	tests := []struct {
		name      string
		goEmpty   bool
		parts     []string
		want      map[string]float64 // ms
		wantNotes []string
	}{
		{"with go-empty", true,
			[]string{"os-spawn", "runtime-init", "package-init", "app-init", "request", "exit+reap"},
			map[string]float64{"os-spawn": 4, "runtime-init": 4, "package-init": 12, "app-init": 5, "request": 0.01, "exit+reap": 1.99},
			[]string{"Ordering holds (median wall): static-noop 4.00ms < go-empty 8.00ms < go-noop 20.00ms < startup-only 25.00ms < cgi-request 27.00ms.",
				"Decomposition adds up: CGI − embedded = 26.99ms, within 20% (+8%) of the start-up components' sum (os-spawn + runtime-init + package-init + app-init = 25.00ms)"}},
		{"without go-empty", false,
			[]string{"os-spawn", "runtime-init", "app-init", "request", "exit+reap"},
			map[string]float64{"os-spawn": 4, "runtime-init": 16, "app-init": 5, "request": 0.01, "exit+reap": 1.99},
			[]string{"Ordering holds (median wall): static-noop 4.00ms < go-noop 20.00ms < startup-only 25.00ms < cgi-request 27.00ms.",
				"without the empty Go program it cannot be split"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &measurer{cfg: Config{AppBin: filepath.Join(t.TempDir(), "absent")}, fk: &results.Fork{}, rows: map[string]results.ForkRow{}, floorNm: "static-noop"}
			for _, r := range base {
				m.rows[r.Name] = r
			}
			if tt.goEmpty {
				m.rows["go-empty"] = row("go-empty", 8)
				m.goEmpty = filepath.Join(t.TempDir(), "absent")
			}
			if err := m.decompose(context.Background()); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, r := range m.fk.Rows {
				if r.Deployment != results.ForkCGI {
					continue
				}
				parts = append(parts, r.Name)
				if got, want := r.Wall.MedianNs/1e6, tt.want[r.Name]; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v ms; want %v ms", r.Name, got, want)
				}
				if got, want := r.User.MedianNs/1e6, tt.want[r.Name]/4; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s user = %v ms; want %v ms", r.Name, got, want)
				}
			}
			if !slices.Equal(parts, tt.parts) {
				t.Errorf("cgi decomposition = %v; want %v", parts, tt.parts)
			}
			notes := reports.JoinNotes(m.fk.Notes, "\n")
			for _, w := range tt.wantNotes {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
		})
	}
}

func TestParseInitTrace(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []pkgInit
	}{
		{"empty", "", nil},
		{"lines", "init runtime @0.19 ms, 0.18 ms clock, 0 bytes, 0 allocs\ninit modernc.org/libc @13 ms, 0.90 ms clock, 2304 bytes, 26 allocs\n",
			[]pkgInit{{"runtime", 180e3}, {"modernc.org/libc", 900e3}}},
		{"zero clock", "init crypto @3.8 ms, 0 ms clock, 160 bytes, 1 allocs", []pkgInit{{"crypto", 0}}},
		{"other lines ignored", "panic: x\ninit errors @2.3 ms, 0.010 ms clock, 0 bytes, 0 allocs\ninit broken @1 ms\n", []pkgInit{{"errors", 10e3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseInitTrace([]byte(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("parseInitTrace = %v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i].pkg != tt.want[i].pkg || math.Abs(got[i].clockNs-tt.want[i].clockNs) > 1e-6 {
					t.Errorf("parseInitTrace[%d] = %v; want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	ps := []pkgInit{{"net", 1e6}, {"modernc.org/libc/sys", 3e6}, {"os", 2e6}, {"github.com/a/b/c", 0.5e6}, {"modernc.org/libc", 1e6}}
	if got, want := reports.NoteText(traceNote(ps, ps[:1], 2)),
		"sampleapp -noop: 5 initialisers, 7.50ms in total; by origin: modernc.org/libc 4.00ms (2 packages), std 3.00ms (2 packages). The empty Go program: 1 initialisers, 1.00ms in total. "; !strings.Contains(got, want) {
		t.Errorf("traceNote renders as %q; want it to say %q", got, want)
	}
	for pkg, want := range map[string]string{"runtime": "std", "internal/godebug": "std", "modernc.org/sqlite/lib": "modernc.org/sqlite",
		"github.com/dustin/go-humanize": "github.com/dustin/go-humanize", "golang.org/x/sys/unix": "golang.org/x/sys", "example.com": "example.com"} {
		if got := origin(pkg); got != want {
			t.Errorf("origin(%q) = %q; want %q", pkg, got, want)
		}
	}
}

// TestGoEmpty builds the empty Go program the go-empty component measures
// and checks it is what its row claims: a static binary far smaller than
// the app that runs and exits 0 as a real, reaped child, and that
// initialises none of the app's dependencies while sampleapp -noop does;
// and that the padded copy is the size it is padded to and runs too.
//
// Long: it builds once and then checks, in turn, every claim the rows make.
func TestGoEmpty(t *testing.T) {
	ctx := context.Background()
	gotool, err := goTool()
	if errors.Is(err, ErrNoTool) {
		t.Skip(err)
	}
	dir := t.TempDir()
	empty, err := buildGoEmpty(ctx, gotool, dir)
	if err != nil {
		t.Fatal(err)
	}
	const pad = 1 << 20
	padded, err := buildGoPadded(ctx, gotool, dir, pad)
	if err != nil {
		t.Fatal(err)
	}
	es, ps, as := sizeOf(t, empty), sizeOf(t, padded), sizeOf(t, bins.SampleApp)
	if es >= as {
		t.Errorf("go-empty size %d ≥ sampleapp %d", es, as)
	}
	if ps < es+pad {
		t.Errorf("padded size %d < empty %d + pad %d", ps, es, pad)
	}
	if l, err := linkage(empty); err != nil || l != "static" {
		t.Errorf("go-empty linkage = %q, %v; want static", l, err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 2 {
		t.Errorf("cache dir holds %v (%v); want only the two binaries", ents, err)
	}
	sp, err := newSpawner()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for _, p := range []string{empty, padded} {
		s, pid, err := sp.run(ctx, p, nil, childEnv())
		if err != nil {
			t.Fatalf("run %s: %v", p, err)
		}
		if pid <= 0 || s.wall <= 0 {
			t.Errorf("run %s: pid %d, wall %v; want a real child", p, pid, s.wall)
		}
	}
	count := func(ps []pkgInit, prefix string) int {
		n := 0
		for _, p := range ps {
			if strings.HasPrefix(p.pkg, prefix) {
				n++
			}
		}
		return n
	}
	ei, err := initTrace(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	ai, err := initTrace(ctx, bins.SampleApp, "-noop")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(ei, "modernc.org/"); n != 0 {
		t.Errorf("go-empty ran %d modernc.org initialisers; want 0", n)
	}
	if n := count(ai, "modernc.org/"); n == 0 {
		t.Errorf("sampleapp -noop ran no modernc.org initialiser; want the SQLite driver's")
	}
	if len(ei) >= len(ai) {
		t.Errorf("go-empty ran %d initialisers, sampleapp -noop %d; want fewer", len(ei), len(ai))
	}
}

// sizeOf is the size of the file at path.
func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
