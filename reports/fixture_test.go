package reports

// This file generates testdata/results.json, the fixed fixture every test
// of this package reads. It is synthetic — figures drawn from a seeded RNG
// with realistic shapes (CGI ≈ 2 ms, FastCGI ≈ 0.2 ms, embedded ≈ 0.1 ms)
// — and says so in its Label and Notes. Regenerate with
// `go test ./reports -run TestFixture -update`, then refresh the goldens
// with `go test ./reports -update`.

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"forkbench/results"
)

var update = flag.Bool("update", false, "regenerate testdata/results.json and the golden files")

const fixturePath = "testdata/results.json"

// fixtureTarget is how the generator models one deployment.
type fixtureTarget struct {
	name     string
	service  time.Duration // median service time of one request
	capacity float64       // closed-model throughput on plaintext, req/s
	cpu      float64       // server CPU per request, ns
	rss      uint64        // peak RSS, bytes
	spawns   float64       // processes per request
}

func fixtureTargets() []fixtureTarget {
	return []fixtureTarget{
		{"embedded", 100 * time.Microsecond, 40000, 25e3, 18 << 20, 0},
		{"fcgi", 200 * time.Microsecond, 18000, 60e3, 30 << 20, 0},
		{"cgi", 2 * time.Millisecond, 900, 2.4e6, 45 << 20, 1},
	}
}

const (
	fixtureDuration = 2 * time.Second
	fixtureConns    = 16
	fixtureSLO      = 10 * time.Millisecond
	fixtureBuckets  = 10
)

func fixtureSweep() []float64 { return []float64{200, 400, 800, 1600, 3200, 6400} }

// fixtureSteps are the steps of the rate sweep on json: fractions of each
// round's own closed-model capacity, so every round offers a step at a
// slightly different rate.
func fixtureSteps() []float64 { return []float64{0.25, 0.5, 0.8} }

// sampleService draws one service time: log-normal around median with a
// 1% slow tail and a 0.1% very slow tail, as real servers show.
func sampleService(rng *rand.Rand, median float64) float64 {
	v := median * math.Exp(0.25*rng.NormFloat64())
	switch u := rng.Float64(); {
	case u < 0.001:
		v *= 20
	case u < 0.01:
		v *= 2 + 8*rng.Float64()
	}
	return v
}

// latencies records samples into a histogram and a timeline.
func latencies(t testing.TB, samples []float64) (results.Latency, []results.Bucket) {
	h := results.NewHistogram()
	for _, v := range samples {
		results.Record(h, time.Duration(v))
	}
	l, err := results.Summarize(h)
	if err != nil {
		t.Fatal(err)
	}
	var tl []results.Bucket
	per := len(samples) / fixtureBuckets
	for b := range fixtureBuckets {
		chunk := slices.Clone(samples[b*per : (b+1)*per])
		slices.Sort(chunk)
		bk := results.Bucket{OffsetNs: int64(b) * int64(fixtureDuration) / fixtureBuckets, Requests: uint64(len(chunk))}
		if len(chunk) > 0 {
			bk.P50Ns = int64(chunk[len(chunk)/2])
			bk.P99Ns = int64(chunk[len(chunk)*99/100])
			bk.MaxNs = int64(chunk[len(chunk)-1])
		}
		tl = append(tl, bk)
	}
	return l, tl
}

// makeFixture builds the fixture deterministically.
func makeFixture(t testing.TB) *results.File {
	rng := rand.New(rand.NewPCG(20260102, 42))
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		Label:         "fixture",
		StartedAt:     start,
		FinishedAt:    start.Add(7 * time.Minute),
		Environment: results.Environment{
			Hostname: "fixture-host", OS: "linux", Arch: "amd64", Kernel: "6.1.0-fixture",
			CPUModel: "Fixture CPU @ 2.00GHz", CPUs: 2, MemoryBytes: 4 << 30,
			GoVersion: "go1.26.8", SuiteVersion: "0.1.0", GitCommit: "0123456789abcdef0123456789abcdef01234567",
			Command: []string{"bench", "run", "--scenario", "fixture"},
		},
		Settings: results.Settings{
			Scenario: "fixture", Targets: []string{"embedded", "fcgi", "cgi"}, Endpoints: []string{"plaintext", "json"},
			Models: []results.Model{results.ModelClosed, results.ModelOpen, results.ModelSweep}, Rates: fixtureSweep(), SweepFactors: fixtureSteps(),
			Connections: fixtureConns, DurationNs: int64(fixtureDuration), WarmupNs: int64(time.Second),
			TimeoutNs: int64(2 * time.Second), Rounds: 3, SLOP99Ns: int64(fixtureSLO), KeepAlive: true, Transport: "fasthttp",
		},
		Pinning: results.Pinning{Enabled: true, GeneratorCPUs: []int{0}, TargetCPUs: []int{1}},
		Notes:   []results.Note{results.TextNote("This is a synthetic test fixture, not a measurement: reports/fixture_test.go generated every figure from a seeded RNG.")},
	}
	secs := fixtureDuration.Seconds()
	for round := 1; round <= 3; round++ {
		for _, ep := range f.Settings.Endpoints {
			slow := 1.0
			if ep == "json" {
				slow = 1.3
			}
			for order, tg := range fixtureTargets() {
				base := results.Point{
					Target: tg.name, Endpoint: ep, Method: "GET", Path: "/" + ep, Round: round, Order: order,
					StartedAt: start.Add(time.Duration(round) * time.Minute), DurationNs: int64(fixtureDuration),
					StatusCodes: map[string]uint64{},
				}
				// Closed model: capacity, latency by Little's law.
				thr := tg.capacity / slow * (1 + 0.03*rng.NormFloat64())
				if tg.name == "cgi" && ep == "json" && round == 3 {
					thr *= 0.7 // one bad round: the spread note must catch it
				}
				n := int(thr * secs)
				samples := make([]float64, n)
				for i := range samples {
					samples[i] = sampleService(rng, float64(fixtureConns)/thr*1e9*0.9)
				}
				p := base
				p.Model, p.Connections = results.ModelClosed, fixtureConns
				p.Requests, p.Successes = uint64(n), uint64(n)
				p.StatusCodes = map[string]uint64{"200": uint64(n)}
				p.AchievedRate, p.Throughput = thr, thr
				p.BytesIn, p.BytesOut = uint64(n)*150, uint64(n)*80
				p.Latency, p.Timeline = latencies(t, samples)
				p.Server = serverCost(rng, tg, n, thr)
				p.Generator = results.GeneratorCost{CPUNs: int64(float64(n) * 9e3), CPUPerRequestNs: 9e3, CoreShare: math.Min(thr*9e3/1e9, 1)}
				if tg.name == "embedded" && ep == "plaintext" && round == 2 {
					p.GeneratorBound, p.Generator.CoreShare = true, 0.93
				}
				f.Points = append(f.Points, p)

				// Open model: the sweep on plaintext, one rate on json.
				rates := fixtureSweep()
				if ep == "json" {
					rates = []float64{400}
				}
				for _, offered := range rates {
					f.Points = append(f.Points, openPoint(t, rng, base, tg, offered, tg.capacity/slow))
				}
			}
		}
	}
	f.Points = append(f.Points, sweepPoints(t, f)...)
	f.Knees = fixtureKnees(f)
	f.Fork = fixtureFork()
	return f
}

// sweepPoints are the rate sweep on json, in every round: each step
// offered at its fraction of the capacity that round measured, as the
// runner does. They draw from their own RNG so that the points above do
// not change when the sweep does.
func sweepPoints(t testing.TB, f *results.File) []results.Point {
	rng := rand.New(rand.NewPCG(20260102, 7))
	var out []results.Point
	for _, closed := range f.Points {
		if closed.Model != results.ModelClosed || closed.Endpoint != "json" {
			continue
		}
		i := slices.IndexFunc(fixtureTargets(), func(tg fixtureTarget) bool { return tg.name == closed.Target })
		tg := fixtureTargets()[i]
		base := closed
		base.Latency, base.Timeline, base.Connections = results.Latency{}, nil, 0
		for _, step := range fixtureSteps() {
			p := openPoint(t, rng, base, tg, math.Max(1, math.Round(closed.Throughput*step)), tg.capacity/1.3)
			p.SweepFactor = step
			out = append(out, p)
		}
	}
	return out
}

func serverCost(rng *rand.Rand, tg fixtureTarget, n int, thr float64) results.ServerCost {
	cpu := tg.cpu * (1 + 0.02*rng.NormFloat64())
	rss := uint64(float64(tg.rss) * (1 + 0.05*rng.Float64()))
	return results.ServerCost{
		Observed: true, CPUNs: int64(cpu * float64(n)), UserNs: int64(0.6 * cpu * float64(n)), SysNs: int64(0.4 * cpu * float64(n)),
		CPUPerRequestNs: cpu, PeakRSSBytes: rss, Spawns: uint64(tg.spawns * float64(n)), SpawnsPerRequest: tg.spawns,
		RequestsPerCPUSec: 1e9 / cpu, RequestsPerMB: thr / (float64(rss) / 1e6),
	}
}

// openPoint models a constant-rate attack: queueing grows as 1/(1−ρ);
// past capacity the target saturates, latency climbs through the window
// and the overflow times out.
func openPoint(t testing.TB, rng *rand.Rand, base results.Point, tg fixtureTarget, offered, capacity float64) results.Point {
	secs := fixtureDuration.Seconds()
	rho := offered / capacity
	p := base
	p.Model, p.OfferedRate, p.Connections = results.ModelOpen, offered, 0
	sent := int(offered * secs)
	ok := sent
	if rho >= 0.97 {
		ok = int(capacity * 0.95 * secs)
		p.Saturated = true
		p.Errors = map[string]uint64{"timeout": uint64(sent - ok)}
		p.StatusCodes = map[string]uint64{"200": uint64(ok)}
	} else {
		p.StatusCodes = map[string]uint64{"200": uint64(ok)}
	}
	service := float64(tg.service)
	corrected := make([]float64, ok)
	measured := make([]float64, ok)
	for i := range corrected {
		s := sampleService(rng, service)
		var queue float64
		if p.Saturated {
			queue = float64(i) / float64(ok) * (rho - 1 + 0.05) * float64(time.Second)
		} else {
			queue = rng.ExpFloat64() * service * rho / (1 - rho)
		}
		corrected[i] = s + queue
		measured[i] = s + queue/2
	}
	lc, tl := latencies(t, corrected)
	p.Corrected = &lc
	p.Timeline = tl
	p.Latency, _ = latencies(t, measured)
	p.Requests, p.Successes = uint64(sent), uint64(ok)
	p.AchievedRate = float64(ok) / secs
	p.Throughput = p.AchievedRate
	p.BytesIn, p.BytesOut = uint64(ok)*150, uint64(sent)*80
	p.Server = serverCost(rng, tg, ok, p.Throughput)
	p.Generator = results.GeneratorCost{CPUNs: int64(float64(sent) * 9e3), CPUPerRequestNs: 9e3, CoreShare: offered * 9e3 / 1e9}
	return p
}

// fixtureKnees finds each target's knee on plaintext the way the suite
// defines it: the highest offered rate whose median p99 (intended send)
// stayed under the SLO with no errors.
func fixtureKnees(f *results.File) []results.Knee {
	var out []results.Knee
	for _, tg := range fixtureTargets() {
		k := results.Knee{Target: tg.name, Endpoint: "plaintext", SLOP99Ns: int64(fixtureSLO)}
		for _, r := range fixtureSweep() {
			var p99 []float64
			clean := true
			for _, p := range f.Points {
				if p.Target == tg.name && p.Endpoint == "plaintext" && p.Model == results.ModelOpen && p.OfferedRate == r {
					p99 = append(p99, float64(p.Corrected.P99Ns))
					clean = clean && len(p.Errors) == 0 && !p.Saturated
				}
			}
			if st := newStat(p99); clean && st.Median < float64(fixtureSLO) {
				k.Rate, k.Found = r, true
			} else {
				break
			}
		}
		if k.Found && k.Rate == fixtureSweep()[len(fixtureSweep())-1] {
			k.Notes = []results.Note{results.TextNote("every swept rate met the SLO; the knee lies above the highest rate tried")}
		}
		out = append(out, k)
	}
	return out
}

// TestFixture regenerates the fixture under -update and otherwise checks
// that it reads and holds what the other tests rely on.
func TestFixture(t *testing.T) {
	if *update {
		if err := results.Write(filepath.FromSlash(fixturePath), makeFixture(t)); err != nil {
			t.Fatal(err)
		}
	}
	f := readFixture(t)
	if f.Label != "fixture" {
		t.Errorf("fixture Label = %q; want %q", f.Label, "fixture")
	}
	count := map[results.Model]int{}
	for _, p := range f.Points {
		count[p.Model]++
		if p.Model == results.ModelOpen && p.Corrected == nil {
			t.Errorf("open point %s %s %v has no Corrected latency", p.Target, p.Endpoint, p.OfferedRate)
		}
	}
	// 3 rounds × 2 endpoints × 3 targets closed; open: 6 fixed rates on
	// plaintext + 1 rate on json + 3 sweep steps on json.
	if got, want := count[results.ModelClosed], 18; got != want {
		t.Errorf("closed points = %d; want %d", got, want)
	}
	if got, want := count[results.ModelOpen], 3*3*(6+1+3); got != want {
		t.Errorf("open points = %d; want %d", got, want)
	}
	if len(f.Knees) != 3 {
		t.Errorf("knees = %d; want 3", len(f.Knees))
	}
}

func readFixture(t testing.TB) *results.File {
	t.Helper()
	f, err := results.Read(filepath.FromSlash(fixturePath))
	if err != nil {
		t.Fatalf("%v (regenerate with go test -run TestFixture -update)", err)
	}
	return f
}

// fixtureString is for failure messages.
func fixtureString(r *Row) string {
	return fmt.Sprintf("%s/%s/%s@%v", r.Target, r.Endpoint, r.Model, r.Rate)
}
