package reports

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forkbench/results"
)

// matrixTargets describes the targets of matrixFixture as the runner
// records them (targets/fronts' descriptors), each with the fixture
// target whose points it copies and the factor on their throughput.
var matrixTargets = []struct {
	info   results.TargetInfo
	from   string
	factor float64
}{
	{results.TargetInfo{Name: "embedded", Front: "go", Protocol: "in-process", Language: "go"}, "embedded", 1},
	{results.TargetInfo{Name: "fcgi", Front: "go", Protocol: "fastcgi", Language: "go"}, "fcgi", 1},
	{results.TargetInfo{Name: "cgi", Front: "go", Protocol: "cgi", Language: "go"}, "cgi", 1},
	{results.TargetInfo{Name: "apache-cgi", Front: "apache", Protocol: "cgi", Language: "go"}, "cgi", 0.8},
	{results.TargetInfo{Name: "apache-fcgi", Front: "apache", Protocol: "fastcgi", Language: "go"}, "fcgi", 0.7},
	{results.TargetInfo{Name: "nginx-fcgiwrap", Front: "nginx", Protocol: "cgi", Language: "go"}, "cgi", 0.6},
	{results.TargetInfo{Name: "nginx-fcgi", Front: "nginx", Protocol: "fastcgi", Language: "go"}, "fcgi", 0.9},
	{results.TargetInfo{Name: "py-cgi", Front: "go", Protocol: "cgi", Language: "python"}, "cgi", 0.1},
	{results.TargetInfo{Name: "apache-wsgi", Front: "apache", Protocol: "in-process", Language: "python"}, "embedded", 0.3},
}

// matrixFixture is the fixture's closed- and open-model points copied
// onto a matrix of fronts, protocols and languages, with the target
// descriptions a matrix run records.
func matrixFixture(t *testing.T) *results.File {
	t.Helper()
	fx := readFixture(t)
	f := *fx
	f.Points, f.Knees, f.Fork, f.Targets, f.Settings.Targets = nil, nil, nil, nil, nil
	for _, mt := range matrixTargets {
		f.Targets = append(f.Targets, mt.info)
		f.Settings.Targets = append(f.Settings.Targets, mt.info.Name)
		for _, p := range fx.Points {
			if p.Target != mt.from {
				continue
			}
			p.Target = mt.info.Name
			p.Throughput *= mt.factor
			f.Points = append(f.Points, p)
		}
	}
	return &f
}

// closedTable returns the closed-model table of tables(s).
func closedTable(t *testing.T, s *Summary) Table {
	t.Helper()
	for _, tb := range tables(s) {
		if strings.Contains(tb.Title, "Closed model") {
			return tb
		}
	}
	t.Fatal("no closed-model table")
	return Table{}
}

func TestGroupedTableGolden(t *testing.T) {
	for _, by := range []string{GroupFront, GroupProtocol, GroupLanguage} {
		t.Run(by, func(t *testing.T) {
			s := summarize([]*results.File{matrixFixture(t)}, Options{GroupBy: by})
			tb := closedTable(t, s)
			var b bytes.Buffer
			b.WriteString(tb.Title + "\n")
			if err := tb.Render(&b, StyleText); err != nil {
				t.Fatal(err)
			}
			golden(t, "grouped-"+by+".golden", b.Bytes())
		})
	}
}

// TestGroupedTableOrder checks that grouped rows come section by section,
// in the known order of the group's values, with the group in the first
// column.
func TestGroupedTableOrder(t *testing.T) {
	for _, tc := range []struct {
		by   string
		want []string
	}{
		{GroupFront, []string{"go", "apache", "nginx"}},
		{GroupProtocol, []string{"cgi", "fastcgi", "in-process"}},
		{GroupLanguage, []string{"go", "python"}},
	} {
		t.Run(tc.by, func(t *testing.T) {
			tb := closedTable(t, summarize([]*results.File{matrixFixture(t)}, Options{GroupBy: tc.by}))
			if tb.Header[0] != tc.by {
				t.Fatalf("first column %q; want %q", tb.Header[0], tc.by)
			}
			var sections []string
			for _, r := range tb.Rows {
				if len(sections) == 0 || sections[len(sections)-1] != r[0] {
					sections = append(sections, r[0])
				}
			}
			if !slices.Equal(sections, tc.want) {
				t.Errorf("sections %v; want %v, each once", sections, tc.want)
			}
		})
	}
}

// TestGroupingDefaults: a file without target descriptions is never
// grouped, whatever is asked; a file over several fronts is grouped by
// front unless asked otherwise.
func TestGroupingDefaults(t *testing.T) {
	plain, matrix := readFixture(t), matrixFixture(t)
	oneFront := matrixFixture(t)
	oneFront.Targets = oneFront.Targets[:3]
	for _, tc := range []struct {
		name string
		f    *results.File
		opt  Options
		want string
	}{
		{"no targets, auto", plain, Options{}, GroupNone},
		{"no targets, front asked", plain, Options{GroupBy: GroupFront}, GroupNone},
		{"one front, auto", oneFront, Options{}, GroupNone},
		{"one front, protocol asked", oneFront, Options{GroupBy: GroupProtocol}, GroupProtocol},
		{"matrix, auto", matrix, Options{}, GroupFront},
		{"matrix, none", matrix, Options{GroupBy: GroupNone}, GroupNone},
		{"matrix, language", matrix, Options{GroupBy: GroupLanguage}, GroupLanguage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize([]*results.File{tc.f}, tc.opt).GroupBy[0]; got != tc.want {
				t.Errorf("grouping %q; want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseGroupBy("colour"); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("ParseGroupBy(colour) = %v; want ErrUnknownGroup", err)
	}
	if _, err := RenderWith(context.Background(), []*results.File{plain}, t.TempDir(), []string{FormatMD}, Options{GroupBy: "colour"}); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("RenderWith(colour) = %v; want ErrUnknownGroup", err)
	}
	// Asking for a grouping on a file that has no descriptions changes
	// nothing: the same tables as the plain report.
	var a, b bytes.Buffer
	if err := writeTables(&errWriter{w: &a}, tables(summarize([]*results.File{plain}, Options{GroupBy: GroupFront})), StyleText, "%s\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeTables(&errWriter{w: &b}, tables(Summarize([]*results.File{plain})), StyleText, "%s\n"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("grouping a file without target descriptions changed its tables")
	}
}

// TestCPUAndSpawnsEveryRow: the closed- and open-model tables of a matrix
// show CPU per request and spawns per request on every row.
func TestCPUAndSpawnsEveryRow(t *testing.T) {
	for _, tb := range tables(Summarize([]*results.File{matrixFixture(t)})) {
		if !strings.Contains(tb.Title, "model — ") {
			continue // not a load model's table
		}
		cpu, spawns := slices.Index(tb.Header, "CPU µs/req"), slices.Index(tb.Header, "spawns/req")
		if cpu < 0 || spawns < 0 {
			t.Fatalf("table %q lacks CPU or spawns columns: %v", tb.Title, tb.Header)
		}
		for _, r := range tb.Rows {
			if r[cpu] == dash || r[spawns] == dash {
				t.Errorf("table %q row %v: CPU %q spawns %q", tb.Title, r[:4], r[cpu], r[spawns])
			}
		}
	}
}

// TestMatrixChart renders a matrix file and checks the matrix chart is
// written, named in report.md and inlined in report.html, with its legend
// and every target, and that the throughput chart is coloured by front.
func TestMatrixChart(t *testing.T) {
	dir := t.TempDir()
	if _, err := RenderWith(context.Background(), []*results.File{matrixFixture(t)}, dir, []string{FormatSVG, FormatPNG, FormatMD, FormatHTML}, Options{}); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if png := read("charts/matrix.png"); !strings.HasPrefix(png, "\x89PNG") {
		t.Error("charts/matrix.png is not a PNG")
	}
	svg := read("charts/matrix.svg")
	want := []string{">front go<", ">front apache<", ">front nginx<", ">language go<", ">language python<",
		">cgi<", ">fastcgi<", ">in-process<"}
	for _, mt := range matrixTargets {
		want = append(want, ">"+mt.info.Name+"<")
	}
	for _, w := range want {
		if !strings.Contains(svg, w) {
			t.Errorf("matrix.svg lacks %q", w)
		}
	}
	if md := read("report.md"); !strings.Contains(md, "(charts/matrix.svg)") {
		t.Error("report.md does not link charts/matrix.svg")
	}
	if h := read("report.html"); !strings.Contains(h, `<figure id="matrix"`) {
		t.Error("report.html does not inline the matrix chart")
	}
	thr := read("charts/throughput.svg")
	for _, w := range []string{"coloured by front", ">go: cgi<", ">apache: apache-cgi<", ">nginx: nginx-fcgi<"} {
		if !strings.Contains(thr, w) {
			t.Errorf("throughput.svg lacks %q", w)
		}
	}
}

// TestNoMatrixChart: a file without several fronts has no matrix chart and
// its throughput chart is coloured by target.
func TestNoMatrixChart(t *testing.T) {
	cs, names := mustCharts(t, readFixture(t))
	if slices.Contains(names, "matrix") {
		t.Error("matrix chart drawn for a file over one front")
	}
	if text := chartText(t, cs, "throughput"); strings.Contains(text, "coloured by") {
		t.Error("throughput chart of an ungrouped file says it is coloured by a group")
	}
}

// TestFrontsTable pins the table of our fronts against the real servers
// on the matrix fixture, whose real servers' throughput is the Go trio's
// scaled by a known factor in every round: each per-round ratio is then
// exactly 1/factor and CPU per request the same on both sides. The
// sentence sets each of ours against the fastest real server on the first
// endpoint; a file without real servers has neither.
func TestFrontsTable(t *testing.T) {
	s := Summarize([]*results.File{matrixFixture(t)})
	tb, ok := frontsTable(s, 0)
	if !ok {
		t.Fatal("no fronts table for a file with real servers")
	}
	var b bytes.Buffer
	b.WriteString(tb.Title + "\n")
	if err := tb.Render(&b, StyleText); err != nil {
		t.Fatal(err)
	}
	golden(t, "fronts.golden", b.Bytes())
	want := "Against real servers on the same app (/plaintext, closed model, medians of per-round ratios): " +
		"our FastCGI front (fcgi) serves 1.11× the throughput of nginx-fcgi, the fastest of 2 real servers here (per round 1.11–1.11), at 1.00× its CPU per request; " +
		"our CGI host (cgi) serves 1.25× the throughput of apache-cgi, the fastest of 2 real servers here (per round 1.25–1.25), at 1.00× its CPU per request."
	if got := frontsSentence(s, 0); got != want {
		t.Errorf("sentence:\n%s\nwant\n%s", got, want)
	}
	plain := Summarize([]*results.File{readFixture(t)})
	if _, ok := frontsTable(plain, 0); ok || frontsSentence(plain, 0) != "" {
		t.Error("a file without real servers has a fronts table or sentence")
	}
}

// TestReferencesLeftOutOfLatency: a file's references (real servers
// measured in the closed model only) are set against ours in the fronts
// table, but neither join the open-model latency charts as closed-model
// fallbacks nor the headline's comparison with embedded.
func TestReferencesLeftOutOfLatency(t *testing.T) {
	f := matrixFixture(t)
	f.Settings.References = []string{"nginx-fcgiwrap", "nginx-fcgi"}
	f.Points = slices.DeleteFunc(f.Points, func(p results.Point) bool {
		return slices.Contains(f.Settings.References, p.Target) && p.Model != results.ModelClosed
	})
	s := Summarize([]*results.File{f})
	rows, model := latencySelection(s, "plaintext")
	var names []string
	for _, r := range rows {
		names = append(names, r.Target+"/"+string(r.Model))
	}
	if got := strings.Join(names, " "); model != results.ModelOpen || strings.Contains(got, "nginx") {
		t.Errorf("latency rows (%s) = %s; want open-model rows without the references", model, got)
	}
	if got := strings.Join(headlineTargets(s, 0, "plaintext"), " "); strings.Contains(got, "nginx") || !strings.Contains(got, "apache-cgi") {
		t.Errorf("headline targets = %s; want every target but the references", got)
	}
	if tb, ok := frontsTable(s, 0); !ok || len(tb.Rows) != 8 {
		t.Errorf("fronts table: %v, %d rows; want the 8 pairs, references included", ok, len(tb.Rows))
	}
}
