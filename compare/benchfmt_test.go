package compare

import (
	"bytes"
	"testing"

	"golang.org/x/perf/benchfmt"

	"forkbench/results"
)

// TestBenchfmtParses reads WriteBenchfmt's output back with
// golang.org/x/perf/benchfmt: every round is one result with the
// expected name, config, units and values.
func TestBenchfmtParses(t *testing.T) {
	f := synth(1, 2, 4)
	open := synth(1, 2, 4)
	for i := range open.Points {
		open.Points[i].Model = results.ModelOpen
		open.Points[i].OfferedRate = 100
		open.Points[i].Server = results.ServerCost{} // not observed: no server units
	}
	f.Points = append(f.Points, open.Points...)
	f.Settings.Models = []results.Model{"closed", "open"}
	f.Settings.Rates = []float64{100}
	var b bytes.Buffer
	if err := WriteBenchfmt(&b, f); err != nil {
		t.Fatal(err)
	}
	r := benchfmt.NewReader(bytes.NewReader(b.Bytes()), "export.txt")
	var got []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			got = append(got, rec.Clone())
		case *benchfmt.SyntaxError:
			t.Fatalf("syntax error: %v\n%s", rec, b.String())
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("read %d results; want 6 (3 rounds × 2 loads)\n%s", len(got), b.String())
	}
	wantNames := []string{
		"Serve/target=embedded/endpoint=plaintext/load=closed",
		"Serve/target=embedded/endpoint=plaintext/load=open@100rps",
	}
	for i, res := range got {
		if name := string(res.Name.Full()); name != wantNames[i/3] {
			t.Errorf("result %d name = %q; want %q", i, name, wantNames[i/3])
		}
		for _, kv := range [][2]string{{"goos", "linux"}, {"goarch", "amd64"}, {"cpu", "Test CPU @ 3.0GHz"}, {"commit", "0123456789abcdef"}, {"scenario", "quick"}} {
			if v := res.GetConfig(kv[0]); v != kv[1] {
				t.Errorf("result %d config %s = %q; want %q", i, kv[0], v, kv[1])
			}
		}
		ms := []float64{1, 2, 4}[i%3]
		if v, ok := res.Value("sec/op"); !ok || v != ms/1e3 {
			t.Errorf("result %d sec/op = %v, %v; want %v", i, v, ok, ms/1e3)
		}
		if v, ok := res.Value("req/s"); !ok || v != 32000/ms {
			t.Errorf("result %d req/s = %v, %v; want %v", i, v, ok, 32000/ms)
		}
		_, hasCPU := res.Value("cpu-sec/op") // benchfmt tidies cpu-ns/op
		_, hasRSS := res.Value("peak-B")
		if wantServer := i < 3; hasCPU != wantServer || hasRSS != wantServer {
			t.Errorf("result %d has cpu %v rss %v; want %v", i, hasCPU, hasRSS, wantServer)
		}
		if res.Iters != int(32000/ms) {
			t.Errorf("result %d iters = %d; want %d", i, res.Iters, int(32000/ms))
		}
	}
	units := r.Units()
	for unit, better := range map[string]string{"req/s": "higher", "sec/op": "lower", "p99-sec/op": "lower", "cpu-ns/op": "lower", "peak-B": "lower"} {
		m := units.Get(unit, "better")
		if m == nil || m.Value != better {
			t.Errorf("unit %s better = %v; want %s", unit, m, better)
		}
	}
}
