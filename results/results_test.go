package results

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sampleFile(t *testing.T) *File {
	t.Helper()
	h := NewHistogram()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		Record(h, time.Duration(100_000+rng.IntN(900_000)))
	}
	lat, err := Summarize(h)
	if err != nil {
		t.Fatal(err)
	}
	return &File{
		StartedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Settings:  Settings{Targets: []string{"embedded"}, Rounds: 1},
		Points: []Point{{
			Target: "embedded", Endpoint: "plaintext", Model: ModelClosed,
			Requests: 1000, StatusCodes: map[string]uint64{"200": 1000}, Latency: lat,
		}},
	}
}

// writeSample writes sampleFile to dir/name and returns its path and the
// bytes written.
func writeSample(t *testing.T, dir, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := Write(path, sampleFile(t)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestWriteReadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "results.json")
	in := sampleFile(t)
	if err := Write(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.SchemaVersion != SchemaVersion {
		t.Errorf("SchemaVersion = %d; want %d", out.SchemaVersion, SchemaVersion)
	}
	if got, want := out.Points[0].Latency, in.Points[0].Latency; got != want {
		t.Errorf("Latency = %+v; want %+v", got, want)
	}
	h, err := DecodeHistogram(out.Points[0].Latency.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 1000 {
		t.Errorf("decoded histogram count = %d; want 1000", h.TotalCount())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after an atomic write; want only results.json", len(entries))
	}
}

func TestWriteAtomicKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path, before := writeSample(t, dir, "results.json")
	// A directory in the way of the rename target makes the write fail
	// after the temp file was written; the temp file must be removed.
	bad := filepath.Join(dir, "isdir")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(bad, sampleFile(t)); err == nil {
		t.Fatal("Write over a non-empty directory succeeded; want error")
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("existing results.json changed by an unrelated failed write")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func TestReadBadInput(t *testing.T) {
	dir := t.TempDir()
	_, data := writeSample(t, dir, "full.json")
	cases := []struct {
		name, content string
		want          error
	}{
		{"truncated", string(data[:len(data)/2]), ErrCorrupt},
		{"not json", "hello", ErrCorrupt},
		{"no version", `{"points":[]}`, ErrCorrupt},
		{"newer", `{"schema_version": 99}`, ErrNewerSchema},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".json")
			if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(p)
			if !errors.Is(err, c.want) {
				t.Fatalf("Read(%s) error = %v; want %v", c.name, err, c.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read(missing) error = %v; want ErrNotExist", err)
	}
}

func TestMergeHistograms(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	for range 990 {
		Record(a, time.Millisecond)
	}
	for range 10 {
		Record(b, 100*time.Millisecond)
	}
	la, _ := Summarize(a)
	lb, _ := Summarize(b)
	m, err := Merge(la, lb)
	if err != nil {
		t.Fatal(err)
	}
	if m.Count != 1000 {
		t.Errorf("merged count = %d; want 1000", m.Count)
	}
	// 99% of values are 1 ms: p50 is 1 ms, p99.9 is 100 ms (within 0.1%).
	within := func(got int64, want time.Duration) bool {
		d := float64(got) - float64(want)
		return d < 0.001*float64(want) && -d < 0.001*float64(want)
	}
	if !within(m.P50Ns, time.Millisecond) {
		t.Errorf("p50 = %d ns; want ~1ms", m.P50Ns)
	}
	if !within(m.P999Ns, 100*time.Millisecond) {
		t.Errorf("p99.9 = %d ns; want ~100ms", m.P999Ns)
	}
}

func TestRecordClamps(t *testing.T) {
	h := NewHistogram()
	Record(h, 0)
	Record(h, time.Hour)
	if h.TotalCount() != 2 {
		t.Fatalf("count = %d; want 2 (out-of-range values clamped, not dropped)", h.TotalCount())
	}
	if h.Max() < int64(4*time.Minute) {
		t.Errorf("max = %d; want clamped to ~5 min", h.Max())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema_version":1,"points":[{"target":"cgi"}]}`))
	f.Add([]byte(`{"schema_version":99}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Decode(strings.NewReader(string(data)))
	})
}

func TestPercentileShown(t *testing.T) {
	for _, tc := range []struct {
		q    float64
		need int64
	}{{50, 20}, {90, 100}, {99, 1000}, {99.9, 10000}, {99.99, 100000}} {
		if got := PercentileMinSamples(tc.q); got != tc.need {
			t.Errorf("PercentileMinSamples(%v) = %d, want %d", tc.q, got, tc.need)
		}
		if !PercentileShown(tc.need, tc.q) || PercentileShown(tc.need-1, tc.q) {
			t.Errorf("PercentileShown around %d for p%v wrong", tc.need, tc.q)
		}
	}
}
