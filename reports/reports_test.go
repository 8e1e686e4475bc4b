package reports

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testbin.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestGolden(t *testing.T) {
	files := []*results.File{readFixture(t)}
	for _, tc := range []struct {
		name  string
		write func(io.Writer, []*results.File) error
	}{
		{"report.md.golden", WriteMarkdown},
		{"report.csv.golden", WriteCSV},
		{"terminal.golden", WriteTerminal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, files); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes())
		})
	}
}

// TestTablesNameModel checks that every table says which load model (or
// measurement) its figures came from.
func TestTablesNameModel(t *testing.T) {
	for _, tb := range tables(Summarize([]*results.File{readFixture(t)})) {
		if !regexp.MustCompile(`Closed model|Open model|open-model|^Fork [a-z ]+ —`).MatchString(tb.Title) {
			t.Errorf("table %q does not name its load model", tb.Title)
		}
	}
}

func TestCharts(t *testing.T) {
	cs, names := mustCharts(t, readFixture(t))
	targets := []string{"embedded", "fcgi", "cgi"}
	want := []struct {
		name   string
		series []string
	}{
		{"throughput", targets},
		{"latency-plaintext", targets},
		{"latency-json", targets},
		{"sweep-plaintext", []string{"embedded p99", "fcgi p50", "cgi p99", "cgi knee 200 req/s", "embedded knee ≥ 6400 req/s", "SLO p99 ≤ 10ms"}},
		{"sweep-json", []string{"embedded p99", "fcgi p50", "cgi p50", "SLO p99 ≤ 10ms"}}, // cgi json sweep steps hold < 1,000 samples: no p99
		{"cpu-per-request", targets},
		{"peak-memory", targets},
		{"timeline-plaintext", []string{"embedded p99", "fcgi p99", "cgi p50"}},
		{"timeline-json", []string{"embedded p99", "fcgi p99", "cgi p50"}},
		{"rounds-plaintext", []string{"embedded (3 rounds)", "fcgi (3 rounds)", "cgi (3 rounds)", "41.4k req/s"}},
		{"rounds-json", []string{"embedded (3 rounds)", "fcgi (3 rounds)", "cgi (3 rounds)", "680 req/s"}},
		{"fork-decomposition", []string{"CGI", "FastCGI", "embedded", "os-spawn", "runtime-init", "package-init", "app-init", "request", "exit+reap", "fastcgi-gateway", "1.90 ms", "180 µs", "90.0 µs"}},
		{"fork-amortisation", []string{"cgi vs embedded", "fcgi vs embedded", "10% overhead"}},
		{"fork-crossover", []string{"cgi", "fcgi", "embedded", "CGI: wall overhead < 10%", "above 16.2 ms of work", "CGI: CPU overhead < 10%", "CGI: fixed cost alone", "< 10% above 16.3 ms of work"}},
		{"fork-factors", []string{"arm 1: baseline (100%)", "binary size / linkage", "stripped", "heap 1 GiB", "no heap"}},
		{"fork-concurrency", []string{"measured spawns/s (top)", "measured wall per spawn (bottom)", "if spawns scaled to 2 CPUs (top)", "if spawns were serialised (bottom)"}},
	}
	if len(cs) != len(want) {
		t.Fatalf("Charts() = %v; want %d charts", names, len(want))
	}
	for i, w := range want {
		c := cs[i]
		t.Run(w.name, func(t *testing.T) {
			if c.Name != w.name {
				t.Fatalf("chart %d = %q; want %q", i, c.Name, w.name)
			}
			svg, err := c.SVG()
			if err != nil {
				t.Fatal(err)
			}
			text := string(svg)
			for line := range strings.SplitSeq(wrap(c.Title, titleWidth), "\n") {
				if !strings.Contains(text, ">"+html.EscapeString(line)+"<") {
					t.Errorf("SVG lacks the title line %q", line)
				}
			}
			for _, s := range w.series {
				if !strings.Contains(text, ">"+html.EscapeString(s)+"<") {
					t.Errorf("SVG lacks series %q", s)
				}
			}
			png, err := c.PNG()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
				t.Errorf("PNG() = %d bytes, not a PNG image", len(png))
			}
		})
	}
	for _, c := range cs {
		switch {
		case strings.HasPrefix(c.Name, "latency-"), strings.HasPrefix(c.Name, "sweep-"):
			if !strings.Contains(c.Title, "open model") {
				t.Errorf("%s title %q does not say open model", c.Name, c.Title)
			}
		case c.Name == "throughput", c.Name == "cpu-per-request", c.Name == "peak-memory", strings.HasPrefix(c.Name, "rounds-"):
			if !strings.Contains(c.Title, "closed model") {
				t.Errorf("%s title %q does not say closed model", c.Name, c.Title)
			}
		}
	}
}

// TestChartsSkipAbsent checks that charts without data are skipped, and
// that the latency chart says when it fell back to the closed model.
func TestChartsSkipAbsent(t *testing.T) {
	fx := readFixture(t)
	closedOnly := *fx
	closedOnly.Points = nil
	for _, p := range fx.Points {
		if p.Model == results.ModelClosed {
			p.Timeline = nil
			closedOnly.Points = append(closedOnly.Points, p)
		}
	}
	closedOnly.Knees, closedOnly.Fork = nil, nil
	cs, names := mustCharts(t, &closedOnly)
	for _, c := range cs {
		if strings.HasPrefix(c.Name, "latency-") && !strings.Contains(c.Title, "closed model") {
			t.Errorf("%s title %q does not say it came from the closed model", c.Name, c.Title)
		}
	}
	want := "throughput latency-plaintext latency-json cpu-per-request peak-memory rounds-plaintext rounds-json"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Charts(closed only) = %s; want %s", got, want)
	}

	empty := &results.File{SchemaVersion: 1}
	if cs, err := Charts([]*results.File{empty}); err != nil || len(cs) != 0 {
		t.Errorf("Charts(empty) = %d charts, %v; want none", len(cs), err)
	}
}

func TestRenderHTML(t *testing.T) {
	dir := t.TempDir()
	files := []*results.File{readFixture(t)}
	paths, err := Render(context.Background(), files, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths[len(paths)-1]; got != filepath.Join(dir, "report.html") {
		t.Errorf("last path = %s; want report.html", got)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, empty or missing", p, err)
		}
	}
	cs, err := Charts(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"svg", "png"} {
		got, _ := filepath.Glob(filepath.Join(dir, "charts", "*."+ext))
		if len(got) != len(cs) {
			t.Errorf("charts/*.%s = %d files; want %d", ext, len(got), len(cs))
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if h := html.EscapeString(Headline(files)); !strings.Contains(page, h) {
		t.Errorf("report.html lacks the headline %q", h)
	}
	if n := strings.Count(page, "<svg"); n != len(cs) {
		t.Errorf("report.html has %d inline <svg; want %d", n, len(cs))
	}
	if strings.Contains(page, "<?xml") {
		t.Error("report.html contains an XML prolog inside HTML")
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("report.html contains <script")
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//`).FindString(page); m != "" {
		t.Errorf("report.html fetches from the network: %q", m)
	}
	for _, s := range []string{"Machine and settings", "Fixture CPU", "Notes", "Closed model", "Open model", "synthetic test fixture"} {
		if !strings.Contains(page, html.EscapeString(s)) {
			t.Errorf("report.html lacks %q", s)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "![Throughput per target") || !strings.Contains(string(md), "(charts/throughput.svg)") {
		t.Error("report.md does not link the charts written beside it")
	}
}

func TestRenderFormats(t *testing.T) {
	files := []*results.File{readFixture(t)}
	for _, tc := range []struct {
		formats []string
		want    []string
		err     error
	}{
		{[]string{"md"}, []string{"report.md"}, nil},
		{[]string{"csv", "html"}, []string{"report.csv", "report.html"}, nil},
		{[]string{"pdf"}, nil, ErrUnknownFormat},
	} {
		t.Run(strings.Join(tc.formats, ","), func(t *testing.T) {
			dir := t.TempDir()
			paths, err := Render(context.Background(), files, dir, tc.formats)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Render(%v) error = %v; want %v", tc.formats, err, tc.err)
			}
			var got []string
			for _, p := range paths {
				got = append(got, filepath.Base(p))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Render(%v) wrote %v; want %v", tc.formats, got, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Render(ctx, files, t.TempDir(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Render(cancelled) error = %v; want context.Canceled", err)
	}
	if _, err := Render(context.Background(), nil, t.TempDir(), nil); !errors.Is(err, ErrNoFiles) {
		t.Errorf("Render(no files) error = %v; want ErrNoFiles", err)
	}
}

func TestRenderPartial(t *testing.T) {
	dir := t.TempDir()
	fx := readFixture(t)
	fx.Partial, fx.PartialReason = true, "interrupted by SIGINT"
	fx.Points = fx.Points[:5] // round 1: embedded, fcgi closed + a few open points
	fx.Knees, fx.Fork = nil, nil
	src := filepath.Join(dir, "partial.json")
	if err := results.Write(src, fx); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(context.Background(), []*results.File{fx}, dir, nil); err != nil {
		t.Fatalf("Render(partial): %v", err)
	}
	for _, name := range []string{"report.html", "report.md"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "PARTIAL RESULT: the run was interrupted (interrupted by SIGINT)") {
			t.Errorf("%s does not say partial", name)
		}
	}
	var term bytes.Buffer
	if err := WriteTerminal(&term, []*results.File{fx}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "PARTIAL") {
		t.Error("terminal summary does not say partial")
	}
}

// point builds a synthetic point with exact latency figures (no histogram).
func point(target, endpoint string, model results.Model, rate float64, round int, p50 time.Duration, cpu float64) results.Point {
	l := results.Latency{Count: 100, P50Ns: int64(p50), P90Ns: int64(p50) * 2, P99Ns: int64(p50) * 4, P999Ns: int64(p50) * 8}
	p := results.Point{
		Target: target, Endpoint: endpoint, Path: "/" + endpoint, Model: model, OfferedRate: rate, Round: round,
		Requests: 1000, Successes: 1000, Throughput: 500, Latency: l,
		Server: results.ServerCost{Observed: true, CPUPerRequestNs: cpu, PeakRSSBytes: 10e6},
	}
	if model == results.ModelOpen {
		c := l
		p.Corrected = &c
		p.Throughput = rate
	}
	return p
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	f := &results.File{SchemaVersion: 1, Points: []results.Point{
		point("cgi", "plaintext", "closed", 0, 1, 2*ms, 2e6),
		point("cgi", "plaintext", "closed", 0, 2, 4*ms, 3e6),
		point("cgi", "plaintext", "closed", 0, 3, 3*ms, 2.5e6),
		point("cgi", "plaintext", "closed", 0, 4, 1*ms, 1e6),
		point("embedded", "plaintext", "closed", 0, 1, ms/2, 1e5),
		point("embedded", "plaintext", "open", 100, 1, ms/10, 1e5),
		point("cgi", "plaintext", "open", 100, 1, 2*ms, 2e6),
		point("cgi", "plaintext", "open", 900, 1, 50*ms, 2e6),
		point("cgi", "plaintext", "open", 900, 2, 60*ms, 2e6),
	}}
	f.Points[7].Saturated = true
	f.Points[1].Requests, f.Points[1].Successes = 1000, 990
	f.Points[1].Errors = map[string]uint64{"timeout": 4}
	f.Points[8].Corrected = nil
	s := Summarize([]*results.File{f})

	order := []string{}
	for _, r := range s.Rows {
		order = append(order, fixtureString(r))
	}
	if got, want := strings.Join(order, " "), "embedded/plaintext/closed@0 cgi/plaintext/closed@0 embedded/plaintext/open@100 cgi/plaintext/open@100 cgi/plaintext/open@900"; got != want {
		t.Errorf("rows = %s; want %s", got, want)
	}
	cgi := s.Find(0, "cgi", "plaintext", "closed", 0)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"median of 4 rounds (even)", cgi.P50.Median, 2.5e6},
		{"min", cgi.P50.Min, 1e6},
		{"max", cgi.P50.Max, 4e6},
		{"CPU median", cgi.CPUPerRequest.Median, 2.25e6},
		{"spread", cgi.P50.Spread(), 1.2},
		{"errors summed, unexplained as other", float64(cgi.Errors), 10},
		{"errors other", float64(cgi.ErrorsByKind["other"]), 6},
		{"CPU × embedded", cgi.VsEmbedded.CPUPerRequest, 22.5},
		{"p50 × embedded", cgi.VsEmbedded.P50, 5},
	} {
		if math.Abs(tc.got-tc.want) > 1e-9 {
			t.Errorf("%s = %v; want %v", tc.name, tc.got, tc.want)
		}
	}
	sat := s.Find(0, "cgi", "plaintext", "open", 900)
	if sat.LatencyValid || sat.SaturatedRounds != 1 || !math.IsNaN(sat.VsEmbedded.P50) {
		t.Errorf("saturated row: LatencyValid %v, SaturatedRounds %d, ×embedded p50 %v; want false, 1, NaN",
			sat.LatencyValid, sat.SaturatedRounds, sat.VsEmbedded.P50)
	}
	if sat.LatencySource != SourceMeasured {
		t.Errorf("open row missing Corrected: LatencySource = %q; want %q", sat.LatencySource, SourceMeasured)
	}
	if s.Find(0, "embedded", "plaintext", "open", 100).LatencySource != SourceCorrected {
		t.Error("open row with Corrected latency does not use it")
	}
	var term bytes.Buffer
	if err := WriteTerminal(&term, []*results.File{f}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"sat", "saturated at 900 req/s (1 of 2 rounds)", "10 errors in 4000 requests (other 6, timeout 4)"} {
		if !strings.Contains(term.String(), s) {
			t.Errorf("terminal summary lacks %q", s)
		}
	}
}

func TestHeadline(t *testing.T) {
	ms := time.Millisecond
	open := func(target string, p50 time.Duration, cpu float64) results.Point {
		return point(target, "plaintext", "open", 100, 1, p50, cpu)
	}
	for _, tc := range []struct {
		name   string
		points []results.Point
		fork   *results.Fork
		want   string
	}{
		{
			"all three, open model",
			[]results.Point{open("embedded", ms/10, 20e3), open("fcgi", 180*time.Microsecond, 80e3), open("cgi", 2*ms, 2.42e6)},
			nil,
			"On /plaintext (open model at 100 req/s), CGI costs 1.9 ms more latency (p50) and 2.4 ms more CPU per request than embedded; FastCGI costs 0.08 ms and 0.06 ms.",
		},
		{
			"CPU from the closed model when both models ran",
			[]results.Point{
				open("embedded", ms/10, 300e3), open("fcgi", 180*time.Microsecond, 800e3), open("cgi", 2*ms, 2.42e6),
				point("embedded", "plaintext", "closed", 0, 1, ms, 25e3), point("fcgi", "plaintext", "closed", 0, 1, 2*ms, 155e3),
				point("cgi", "plaintext", "closed", 0, 1, 90*ms, 2.1e6),
			},
			nil,
			"On /plaintext (open model at 100 req/s), CGI costs 1.9 ms more latency (p50) and 2.1 ms more CPU per request (closed model) than embedded; FastCGI costs 0.08 ms and 0.13 ms.",
		},
		{
			"closed fallback",
			[]results.Point{point("embedded", "json", "closed", 0, 1, ms, 20e3), point("cgi", "json", "closed", 0, 1, 3*ms, 20e3)},
			nil,
			"On /json (closed model, so latency includes queueing), CGI costs 2 ms more latency (p50) and 0 ms more CPU per request than embedded.",
		},
		{
			"no embedded",
			[]results.Point{point("cgi", "plaintext", "closed", 0, 1, ms, 2e6), point("fcgi", "plaintext", "closed", 0, 1, ms, 2e6)},
			nil,
			"On /plaintext (closed model), FastCGI served 500 req/s, CGI served 500 req/s; no embedded baseline to compare latency and CPU against.",
		},
		{"nothing", nil, nil, "This file holds no measured points."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &results.File{SchemaVersion: 1, Points: tc.points, Fork: tc.fork}
			if got := Headline([]*results.File{f}); got != tc.want {
				t.Errorf("Headline() = %q\nwant        %q", got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{sig(12345.6, 3), "12346"},
		{sig(0.081234, 3), "0.0812"},
		{sig(0.099999, 3), "0.100"},
		{sig(math.NaN(), 3), dash},
		{csvNum(1.5000), "1.5"},
		{csvNum(math.NaN()), ""},
		{human(int64(90 * time.Second)), "1m30s"},
		{human(int64(10 * time.Millisecond)), "10ms"},
		{human(int64(1500 * time.Microsecond)), "1.5ms"},
		{times(2.345), "2.35×"},
		{slug("json?q=1"), "json-q-1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
}

// FuzzRender feeds arbitrary result files through every renderer: a file
// that reads must never make the report panic. The seed corpus is in
// testdata/fuzz/FuzzRender.
func FuzzRender(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"points":[{"target":"cgi","endpoint":"x","model":"open","offered_rate":10,"round":1,"corrected":{"count":1,"p50_ns":0}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := results.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		files := []*results.File{rf}
		for _, w := range []func(io.Writer, []*results.File) error{WriteTerminal, WriteCSV, WriteMarkdown} {
			if err := w(io.Discard, files); err != nil {
				t.Fatal(err)
			}
		}
		cs, err := Charts(files)
		if err != nil {
			return // a histogram that does not decode is reported, not drawn
		}
		for _, c := range cs {
			if _, err := c.SVG(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestCPUResolutionNote(t *testing.T) {
	coarse := point("cgi", "plaintext", "open", 25, 1, time.Millisecond, 5e6)
	coarse.Answered = 37
	coarse.Server.CPUResolutionNs = int64(20 * time.Millisecond) // 540 µs a request: 11%
	fine := point("cgi", "plaintext", "closed", 0, 1, time.Millisecond, 5e6)
	fine.Answered = 350
	fine.Server.CPUResolutionNs = int64(20 * time.Millisecond) // 57 µs a request: 1%
	ns := notes(Summarize([]*results.File{{SchemaVersion: 1, Points: []results.Point{coarse, fine}}}))
	var got []string
	for _, n := range ns {
		if strings.Contains(n, "only known to") {
			got = append(got, n)
		}
	}
	want := "cgi plaintext (open, 25.0 req/s): CPU per request (5000 µs) is only known to ±541 µs"
	if len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("resolution notes = %q; want one starting %q", got, want)
	}
}
