package history

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forkbench/compare"
	"forkbench/results"
)

// night is a synthetic nightly result: embedded/plaintext closed model,
// one point per round with the given p50 in ms.
func night(day int, commit string, p50s ...float64) *results.File {
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		StartedAt:     time.Date(2026, 11, day, 2, 0, 0, 0, time.UTC),
		Environment:   results.Environment{OS: "linux", Arch: "amd64", CPUModel: "Test CPU", CPUs: 2, GitCommit: commit},
		Settings:      results.Settings{Scenario: "nightly", Models: []results.Model{"closed"}, Connections: 32, DurationNs: 1e9, Rounds: len(p50s)},
	}
	for i, ms := range p50s {
		f.Points = append(f.Points, results.Point{
			Target: "embedded", Endpoint: "plaintext", Method: "GET", Path: "/plaintext", Model: "closed",
			Round: i + 1, DurationNs: 1e9, Requests: 1000, Throughput: 32000 / ms,
			Latency: results.Latency{Count: 1000, P50Ns: int64(ms * 1e6), P99Ns: int64(3 * ms * 1e6)},
			Server:  results.ServerCost{Observed: true, CPUPerRequestNs: 50000 * ms, PeakRSSBytes: 20 << 20},
		})
	}
	return f
}

func TestAddAndBaseline(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "history")}
	if _, err := s.Baseline(Query{Branch: "main"}); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("Baseline of an empty store: err = %v; want ErrNoBaseline", err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	add := func(f *results.File, branch string) Entry {
		t.Helper()
		e, err := s.Add(f, branch, false, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.Path(e)); err != nil {
			t.Fatalf("stored file: %v", err)
		}
		return e
	}
	add(night(1, "aaaaaaaaaaaaaaaa", 1, 1, 1), "main")
	add(night(2, "bbbbbbbbbbbbbbbb", 1, 1, 1), "main")
	add(night(3, "cccccccccccccccc", 1, 1, 1), "feature")
	partial := night(4, "dddddddddddddddd", 1)
	partial.Partial = true
	add(partial, "main")
	if _, err := s.Add(night(4, "9e9e9e9e9e9e9e9e", 2, 2, 2), "main", true, now); err != nil {
		t.Fatal(err)
	}
	other := night(5, "eeeeeeeeeeeeeeee", 1, 1, 1)
	other.Environment.CPUs = 64
	add(other, "main")

	tests := []struct {
		name   string
		q      Query
		commit string
	}{
		{"latest on main skips partial", Query{Branch: "main"}, "eeeeeeeeeeeeeeee"},
		{"any branch", Query{}, "eeeeeeeeeeeeeeee"},
		{"feature", Query{Branch: "feature"}, "cccccccccccccccc"},
		{"pinned", Query{Branch: "main", Pin: "aaaa"}, "aaaaaaaaaaaaaaaa"},
		{"like: same machine, earlier", Query{Branch: "main", Like: night(6, "ffff", 1, 1, 1)}, "bbbbbbbbbbbbbbbb"},
		{"like: nothing earlier", Query{Branch: "main", Like: night(1, "ffff", 1, 1, 1)}, ""},
		{"unknown pin", Query{Pin: "abcdef0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := s.Baseline(tt.q)
			if tt.commit == "" {
				if !errors.Is(err, ErrNoBaseline) {
					t.Errorf("Baseline = %+v, %v; want ErrNoBaseline", e, err)
				}
				return
			}
			if err != nil || e.Commit != tt.commit {
				t.Errorf("Baseline = %s, %v; want %s", e.Commit, err, tt.commit)
			}
		})
	}
	idx, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Entries) != 6 {
		t.Errorf("index has %d entries; want 6", len(idx.Entries))
	}
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left in the store", e.Name())
		}
	}
}

func TestTrendFlagsChangePoint(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	days := [][]float64{
		{1, 1.02, 0.98, 1.01, 0.99},
		{1.01, 0.99, 1, 1.02, 0.98},
		{0.99, 1, 1.01, 0.98, 1.02},
		{2, 2.02, 1.98, 2.01, 1.99}, // the regression lands
		{2.01, 1.99, 2, 2.02, 1.98},
	}
	for i, d := range days {
		if _, err := s.Add(night(i+1, strings.Repeat(string(rune('a'+i)), 16), d...), "main", false, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	charts, err := s.Trend(TrendOptions{Metrics: []string{compare.MetricP50, compare.MetricThroughput}})
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 2 {
		t.Fatalf("%d charts; want 2", len(charts))
	}
	pts := charts[0].Series[0].Points
	if len(pts) != 5 {
		t.Fatalf("%d points; want 5", len(pts))
	}
	for i, p := range pts {
		if got, want := p.Change != nil, i == 3; got != want {
			t.Errorf("night %d: change point = %v (%v); want %v", i+1, got, p.Change, want)
		}
	}
	all, err := s.Trend(TrendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "trend")
	md := writeTrend(t, dir, all)
	for _, m := range []string{"p50 latency", "p99 latency", "throughput", "server CPU per request", "peak RSS"} {
		name := map[string]string{"p50 latency": "p50", "p99 latency": "p99", "throughput": "throughput", "server CPU per request": "cpu_per_req", "peak RSS": "rss"}[m]
		svg, err := os.ReadFile(filepath.Join(dir, "trend-"+name+"-plaintext-closed.svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte(m)) {
			t.Errorf("trend chart for %s lacks its title", m)
		}
		if _, err := os.Stat(filepath.Join(dir, "trend-"+name+"-plaintext-closed.png")); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(md, "| 2026-11-04 02:00 | dddddddddddd | p50 |") {
		t.Errorf("trend.md does not list night 4's p50 change point:\n%s", md)
	}
}

// writeTrend writes charts to dir with WriteTrend and returns the
// trend.md it wrote.
func writeTrend(t *testing.T, dir string, charts []Chart) string {
	t.Helper()
	if _, err := WriteTrend(dir, charts); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "trend.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}

// abNight is a synthetic `bench ab` night: fcgi measured on both builds
// in the same sitting, 6 interleaved rounds. The machine's speed drifts
// (drift multiplies every p50 of the night) and the new build's p50 is
// slow times the base's.
func abNight(day int, commit string, drift, slow float64) *results.File {
	f := night(day, commit)
	f.Settings.Rounds = 6
	for round := 1; round <= 6; round++ {
		wobble := 1 + 0.01*float64(round%3) // round-to-round noise, the same on both sides
		for _, side := range []struct {
			label string
			f     float64
		}{{compare.LabelBase, 1}, {compare.LabelNew, slow}} {
			ms := drift * wobble * side.f
			f.Points = append(f.Points, results.Point{
				Target: "fcgi@" + side.label, Endpoint: "plaintext", Method: "GET", Path: "/plaintext", Model: "closed",
				Round: round, DurationNs: 1e9, Requests: 1000, Throughput: 32000 / ms,
				Latency: results.Latency{Count: 1000, P50Ns: int64(ms * 1e6)},
			})
		}
	}
	return f
}

// TestTrendPairedRatios checks the A/B trend: the absolute chart draws the
// new build under its kind's name and leaves the base out; the ratio chart
// draws each night's paired ratio, which stays at 1 through a 40% drift of
// the machine, and rings only the night the new build is 20% slower.
func TestTrendPairedRatios(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	nights := []struct{ drift, slow float64 }{{1, 1}, {1.4, 1}, {0.9, 1}, {1.1, 1.2}}
	for i, n := range nights {
		if _, err := s.Add(abNight(i+1, strings.Repeat(string(rune('a'+i)), 16), n.drift, n.slow), "main", false, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	charts, err := s.Trend(TrendOptions{Metrics: []string{compare.MetricP50}})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]Chart{}
	for _, c := range charts {
		names[c.Name] = c
	}
	abs, ok := names["trend-p50-plaintext-closed"]
	if !ok || len(abs.Series) != 1 || abs.Series[0].Key.Target != "fcgi" || abs.Series[0].Paired {
		t.Fatalf("absolute chart: %+v; want one series of target fcgi (the new build)", abs.Series)
	}
	ratio, ok := names["ratio-p50-plaintext-closed"]
	if !ok || len(ratio.Series) != 1 || !ratio.Series[0].Paired || ratio.Series[0].Key.Target != "fcgi" {
		t.Fatalf("ratio chart missing or wrong: %v", names)
	}
	pts := ratio.Series[0].Points
	if len(pts) != len(nights) {
		t.Fatalf("%d ratio points; want %d", len(pts), len(nights))
	}
	for i, p := range pts {
		want := nights[i].slow
		if math.Abs(p.Median-want) > 1e-6 {
			t.Errorf("night %d: ratio %.4f; want %.4f (drift %.1f must cancel)", i+1, p.Median, want, nights[i].drift)
		}
		if got, wantFlag := p.Change != nil, nights[i].slow != 1; got != wantFlag {
			t.Errorf("night %d: flagged = %v; want %v", i+1, got, wantFlag)
		}
	}
	dir := t.TempDir()
	md := writeTrend(t, dir, charts)
	if !strings.Contains(md, "| 2026-11-04 02:00 | dddddddddddd | p50 | fcgi | plaintext | closed (A/B, paired) | +20.0% |") {
		t.Errorf("trend.md does not list night 4's paired regression:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(dir, "ratio-p50-plaintext-closed.svg")); err != nil {
		t.Error(err)
	}
}

// TestCommitIDs checks that only well-formed commit ids are accepted: a
// commit id becomes part of a file name in the store, and a pin is matched
// against them.
func TestCommitIDs(t *testing.T) {
	root := t.TempDir()
	s := Store{Dir: filepath.Join(root, "store", "history")}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, commit := range []string{"../../escape", "abc", "ABCDEF0123", "0123456789abcdefg", "a/b/c/d/e", strings.Repeat("a", 65)} {
		if _, err := s.Add(night(1, commit, 1), "main", false, now); !errors.Is(err, ErrBadCommit) {
			t.Errorf("Add with commit %q = %v; want ErrBadCommit", commit, err)
		}
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("refused adds wrote %d entries under the store's parent", len(ents))
	}
	for _, commit := range []string{"", "0123456", strings.Repeat("f", 40), strings.Repeat("0", 64)} {
		if _, err := s.Add(night(1, commit, 1), "main", false, now); err != nil {
			t.Errorf("Add with commit %q = %v; want it stored", commit, err)
		}
	}
	for _, pin := range []string{"../x", "xyz1", "abc"} {
		if _, err := s.Baseline(Query{Pin: pin}); !errors.Is(err, ErrBadCommit) {
			t.Errorf("Baseline pinned at %q = %v; want ErrBadCommit", pin, err)
		}
	}
}

// TestAddConcurrent adds runs from many goroutines at once, each through
// its own open of the lock file as separate processes would: none may be
// lost from the index.
func TestAddConcurrent(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "history")}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const n = 16
	errc := make(chan error, n)
	for range n {
		go func() {
			_, err := s.Add(night(1, "0123456789abcdef", 1), "main", false, now) // all the same name
			errc <- err
		}()
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	idx, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range idx.Entries {
		files[e.File] = true
		if _, err := s.Read(e); err != nil {
			t.Errorf("entry %s: %v", e.File, err)
		}
	}
	if len(idx.Entries) != n || len(files) != n {
		t.Errorf("index has %d entries, %d distinct files; want %d of each", len(idx.Entries), len(files), n)
	}
}
