package results

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// shardFile builds shard i/n of a run whose one open-model point saw the
// given latencies, with a shared server read through an agent.
func shardFile(t *testing.T, i, n int, samples []time.Duration) *File {
	t.Helper()
	h := NewHistogram()
	for _, d := range samples {
		Record(h, d)
	}
	lat, err := Summarize(h)
	if err != nil {
		t.Fatal(err)
	}
	cor := lat
	start := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	reqs := uint64(len(samples))
	return &File{
		SchemaVersion: SchemaVersion,
		StartedAt:     start,
		Environment:   Environment{Hostname: "gen" + string(rune('a'+i))},
		Settings:      Settings{Targets: []string{"external"}, Models: []Model{ModelOpen}, Rates: []float64{200}, Rounds: 1, Connections: 4},
		Shard:         &Shard{Index: i, Count: n, StartAt: start, SlotNs: int64(5 * time.Second)},
		Remote:        &Remote{URL: "http://127.0.0.2:8080", AllowRemote: true},
		Points: []Point{{
			Target: "external", Endpoint: "plaintext", Method: "GET", Path: "/plaintext", Model: ModelOpen, Round: 1,
			OfferedRate: 200 / float64(n), Connections: 4 / n, StartedAt: start.Add(time.Duration(i) * time.Millisecond),
			DurationNs: int64(time.Second), Requests: reqs, Answered: reqs, Successes: reqs,
			StatusCodes: map[string]uint64{"200": reqs}, AchievedRate: float64(reqs), Throughput: float64(reqs),
			BytesIn: 10 * reqs, BytesOut: 20 * reqs, Latency: lat, Corrected: &cor,
			Saturated: i == 1, GeneratorBound: i == 0,
			Timeline:  []Bucket{{OffsetNs: 0, Requests: reqs, MaxNs: lat.MaxNs, P50Ns: lat.P50Ns, P99Ns: lat.P99Ns}},
			Server:    ServerCost{Observed: true, Remote: true, CPUNs: 1_000_000 + int64(i), PeakRSSBytes: 10 << 20, Spawns: 3},
			Generator: GeneratorCost{CPUNs: 500_000, CoreShare: 0.1 * float64(i+1)},
		}},
	}
}

func randomSamples(seed uint64, n int) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(50_000 + rng.IntN(5_000_000))
	}
	return out
}

func TestMergeShardsExact(t *testing.T) {
	s0, s1 := randomSamples(1, 700), randomSamples(2, 300)
	a, b := shardFile(t, 0, 2, s0), shardFile(t, 1, 2, s1)
	// Given in reverse order: merge orders by shard index.
	m, err := MergeShards([]Named{{"b.json", b}, {"a.json", a}})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Points[0]
	if p.Requests != 1000 || p.Answered != 1000 || p.Successes != 1000 || p.StatusCodes["200"] != 1000 {
		t.Errorf("counts = %d/%d/%d/%v; want 1000 each", p.Requests, p.Answered, p.Successes, p.StatusCodes)
	}
	if p.Throughput != 1000 || p.AchievedRate != 1000 || p.OfferedRate != 200 || p.Connections != 4 {
		t.Errorf("throughput %g achieved %g offered %g conns %d; want 1000 1000 200 4", p.Throughput, p.AchievedRate, p.OfferedRate, p.Connections)
	}
	if p.BytesIn != 10_000 || p.BytesOut != 20_000 {
		t.Errorf("bytes = %d/%d; want 10000/20000", p.BytesIn, p.BytesOut)
	}
	// The merged histogram is the histogram of every sample.
	all := NewHistogram()
	for _, d := range append(append([]time.Duration{}, s0...), s1...) {
		Record(all, d)
	}
	want, err := Summarize(all)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHistogram(p.Latency.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if !sameCounts(got, all) {
		t.Error("merged histogram differs from the histogram of all samples")
	}
	want.Histogram = p.Latency.Histogram // encodings may differ in compression, not in counts
	if p.Latency != want {
		t.Errorf("merged latency = %+v; want %+v", p.Latency, want)
	}
	if p.Corrected == nil || p.Corrected.P99Ns != want.P99Ns {
		t.Errorf("corrected = %+v; want p99 %d", p.Corrected, want.P99Ns)
	}
	if !p.Saturated || !p.GeneratorBound {
		t.Errorf("saturated %v generator-bound %v; want both true (one shard each)", p.Saturated, p.GeneratorBound)
	}
	wantShards := []struct{ sat, bound bool }{{false, true}, {true, false}}
	for i, sp := range p.Shards {
		if sp.Index != i || sp.Saturated != wantShards[i].sat || sp.GeneratorBound != wantShards[i].bound {
			t.Errorf("shard point %d = %+v; want index %d flags %+v", i, sp, i, wantShards[i])
		}
	}
	// One server read by both shards: shard 0's reading over all answers.
	if p.Server.CPUNs != 1_000_000 || p.Server.CPUPerRequestNs != 1000 || p.Server.Spawns != 3 {
		t.Errorf("server = %+v; want shard 0's CPU 1ms, 1000 ns/req, 3 spawns", p.Server)
	}
	if p.Generator.CPUNs != 1_000_000 || p.Generator.CPUPerRequestNs != 1000 || p.Generator.CoreShare != 0.2 {
		t.Errorf("generator = %+v; want summed CPU and the busiest shard's share", p.Generator)
	}
	if len(p.Timeline) != 1 || p.Timeline[0].Requests != 1000 || p.Timeline[0].P50Ns != 0 {
		t.Errorf("timeline = %+v; want one bucket of 1000 requests without percentiles", p.Timeline)
	}
	if len(m.Shards) != 2 || m.Shards[0].Name != "a.json" || m.Shards[1].Hostname != "genb" {
		t.Errorf("shards = %+v", m.Shards)
	}
	if m.Shard != nil {
		t.Error("a merged file is not itself a shard")
	}
}

func sameCounts(a, b *hdr.Histogram) bool {
	ba, bb := a.Distribution(), b.Distribution()
	return a.TotalCount() == b.TotalCount() && reflect.DeepEqual(ba, bb)
}

func TestMergeShardsLocalServersAdd(t *testing.T) {
	a, b := shardFile(t, 0, 2, randomSamples(1, 10)), shardFile(t, 1, 2, randomSamples(2, 10))
	a.Points[0].Server.Remote, b.Points[0].Server.Remote = false, false
	m, err := MergeShards([]Named{{"a", a}, {"b", b}})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Points[0].Server; s.CPUNs != 2_000_001 || s.Spawns != 6 || s.PeakRSSBytes != 20<<20 {
		t.Errorf("server = %+v; want the two targets' costs summed", s)
	}
}

func TestMergeShardsRefuses(t *testing.T) {
	samples := randomSamples(3, 10)
	tests := []struct {
		name   string
		mutate func(a, b *File) []Named
		want   string
	}{
		{"not a shard", func(a, b *File) []Named { b.Shard = nil; return []Named{{"a", a}, {"b", b}} }, "b is not a shard"},
		{"count", func(a, b *File) []Named { b.Shard.Count = 3; return []Named{{"a", a}, {"b", b}} }, "field shard.count"},
		{"twice", func(a, b *File) []Named { b.Shard.Index = 0; return []Named{{"a", a}, {"b", b}} }, "shard 0/2 is given twice"},
		{"missing", func(a, b *File) []Named { return []Named{{"a", a}} }, "shard 1/2 is missing"},
		{"start", func(a, b *File) []Named {
			b.Shard.StartAt = b.Shard.StartAt.Add(time.Second)
			return []Named{{"a", a}, {"b", b}}
		}, "field shard.start_at"},
		{"settings", func(a, b *File) []Named { b.Settings.Connections = 8; return []Named{{"a", a}, {"b", b}} }, "field settings.connections differs: 4 in a, 8 in b"},
		{"rates", func(a, b *File) []Named { b.Settings.Rates = []float64{100}; return []Named{{"a", a}, {"b", b}} }, "field settings.rates"},
		{"url", func(a, b *File) []Named { b.Remote.URL = "http://127.0.0.3:1"; return []Named{{"a", a}, {"b", b}} }, "field remote.url"},
		{"points", func(a, b *File) []Named { b.Points = nil; return []Named{{"a", a}, {"b", b}} }, "field points"},
		{"model", func(a, b *File) []Named {
			b.Points[0].Model = ModelClosed
			return []Named{{"a", a}, {"b", b}}
		}, "point 1: field model differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := shardFile(t, 0, 2, samples), shardFile(t, 1, 2, samples)
			_, err := MergeShards(tt.mutate(a, b))
			if !errors.Is(err, ErrMerge) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want ErrMerge containing %q", err, tt.want)
			}
		})
	}
}
