package results

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pt builds a synthetic open-model point.
func pt(rate float64, p99 time.Duration, errs uint64, sat bool) Point {
	p := Point{
		Target: "cgi", Endpoint: "hello", Model: ModelOpen, OfferedRate: rate,
		Requests: 100, Successes: 100 - errs, Saturated: sat,
		Latency:   Latency{P99Ns: int64(p99) / 2},
		Corrected: &Latency{P99Ns: int64(p99)},
	}
	if errs > 0 {
		p.Errors = map[string]uint64{"status_5xx": errs}
	}
	return p
}

// sw builds a point of a rate sweep at step factor in round.
func sw(factor, rate float64, p99 time.Duration, round int) Point {
	p := pt(rate, p99, 0, false)
	p.SweepFactor, p.Round = factor, round
	return p
}

// limited marks p as a point the generator could not offer.
func limited(p Point) Point {
	p.Saturated, p.GeneratorBound, p.GeneratorLimited = true, true, true
	return p
}

// noteKinds names notes by kind, and values when they have any:
// "knee-not-monotonic[200] knee-left-out[400]".
func noteKinds(ns []Note) string {
	var out []string
	for _, n := range ns {
		s := string(n.Kind)
		if n.Values != nil {
			s += fmt.Sprint(n.Values)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func knee(points []Point, slo time.Duration) Knee {
	return FindKnee(Groups(&File{Points: points}), slo)
}

func TestKnee(t *testing.T) {
	const slo = 10 * time.Millisecond
	ms := time.Millisecond
	tests := []struct {
		name      string
		points    []Point
		wantRate  float64
		wantFound bool
		wantNotes string // kinds[values] of the notes, in order
	}{
		{"none", nil, 0, false, "knee-no-open-points"},
		{"closed only", []Point{{Model: ModelClosed}}, 0, false, "knee-no-open-points"},
		{
			"monotonic", []Point{pt(100, 1*ms, 0, false), pt(200, 5*ms, 0, false), pt(400, 20*ms, 0, false)},
			200, true, "",
		},
		{
			"exactly at the SLO", []Point{pt(100, 1*ms, 0, false), pt(200, 10*ms, 0, false)},
			200, true, "",
		},
		{
			"errors disqualify", []Point{pt(100, 1*ms, 0, false), pt(200, 2*ms, 1, false)},
			100, true, "",
		},
		{
			"saturation disqualifies", []Point{pt(100, 1*ms, 0, false), pt(200, 2*ms, 0, true)},
			100, true, "",
		},
		{
			"median across rounds", []Point{
				pt(100, 1*ms, 0, false),
				pt(200, 50*ms, 0, false), pt(200, 5*ms, 0, false), pt(200, 6*ms, 0, false),
				pt(400, 50*ms, 0, false), pt(400, 50*ms, 0, false), pt(400, 5*ms, 0, false),
			},
			200, true, "",
		},
		{
			// The median of two rounds is their mean: 27.5 ms.
			"even rounds", []Point{pt(100, 5*ms, 0, false), pt(100, 50*ms, 0, false)},
			0, false, "knee-not-found",
		},
		{
			"one bad round of errors disqualifies", []Point{pt(100, 1*ms, 0, false), pt(100, 1*ms, 3, false)},
			0, false, "knee-not-found",
		},
		{
			"non-monotonic", []Point{pt(100, 1*ms, 0, false), pt(200, 30*ms, 0, false), pt(400, 5*ms, 0, false)},
			400, true, "knee-not-monotonic[200]",
		},
		{
			"nothing meets the SLO", []Point{pt(100, 11*ms, 0, false)},
			0, false, "knee-not-found",
		},
		{
			// Three rounds of a sweep: each round offers the steps at
			// fractions of its own capacity, so rates differ by round.
			"sweep steps grouped across rounds", []Point{
				sw(0.5, 100, 1*ms, 1), sw(0.5, 110, 2*ms, 2), sw(0.5, 90, 1*ms, 3),
				sw(1.0, 200, 5*ms, 1), sw(1.0, 220, 50*ms, 2), sw(1.0, 180, 6*ms, 3),
				sw(1.2, 240, 50*ms, 1), sw(1.2, 264, 50*ms, 2), sw(1.2, 216, 9*ms, 3),
			},
			200, true, "",
		},
		{
			"a step the generator could not offer is left out", []Point{
				pt(100, 1*ms, 0, false), pt(200, 5*ms, 0, false), limited(pt(400, 900*ms, 0, true)),
			},
			200, true, "knee-left-out[400]",
		},
		{
			"nor does it end the curve below the knee", []Point{
				pt(100, 1*ms, 0, false), limited(pt(200, 900*ms, 0, true)), pt(300, 5*ms, 0, false),
			},
			300, true, "knee-left-out[200]",
		},
		{
			"a sweep step limited in one round keeps its other rounds", []Point{
				sw(0.5, 100, 1*ms, 1), sw(0.5, 110, 2*ms, 2),
				sw(1.0, 200, 5*ms, 1), limited(sw(1.0, 220, 500*ms, 2)),
			},
			200, true, "knee-left-out[220]",
		},
		{
			"only steps the generator could not offer", []Point{limited(pt(400, 900*ms, 0, true))},
			0, false, "knee-nothing-offered knee-left-out[400]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := knee(tt.points, slo)
			if k.Rate != tt.wantRate || k.Found != tt.wantFound {
				t.Errorf("Knee = rate %g found %v; want %g %v (notes %+v)", k.Rate, k.Found, tt.wantRate, tt.wantFound, k.Notes)
			}
			if got := noteKinds(k.Notes); got != tt.wantNotes {
				t.Errorf("Notes = %q; want %q", got, tt.wantNotes)
			}
			if k.SLOP99Ns != int64(slo) {
				t.Errorf("SLOP99Ns = %d; want %d", k.SLOP99Ns, slo)
			}
			if len(tt.points) > 0 && tt.points[0].Model == ModelOpen && (k.Target != "cgi" || k.Endpoint != "hello") {
				t.Errorf("Knee names %q %q; want cgi hello", k.Target, k.Endpoint)
			}
		})
	}
}

func TestKneeUsesActualLatencyWithoutCorrected(t *testing.T) {
	p := pt(100, 20*time.Millisecond, 0, false) // actual p99 is 10ms
	p.Corrected = nil
	if k := knee([]Point{p}, 10*time.Millisecond); !k.Found || k.Rate != 100 {
		t.Errorf("Knee = %+v; want rate 100 from the actual p99", k)
	}
}

func TestKneeGeneratorBound(t *testing.T) {
	p := pt(100, time.Millisecond, 0, false)
	p.GeneratorBound = true
	if k := knee([]Point{p}, 10*time.Millisecond); !k.Found || noteKinds(k.Notes) != string(NoteKneeGeneratorBound) {
		t.Errorf("Knee = %+v; want found with a generator note", k)
	}
}

// TestGroupsSweepStepIsOneGroup: the points of one sweep step, offered
// at a different rate in each round, are one group whose rate is the
// median of the rounds'.
func TestGroupsSweepStepIsOneGroup(t *testing.T) {
	f := &File{Points: []Point{
		{Target: "cgi", Endpoint: "e", Model: ModelClosed, Round: 1},
		sw(0.5, 100, time.Millisecond, 1), {Target: "cgi", Endpoint: "e", Model: ModelClosed, Round: 2},
		sw(0.5, 120, time.Millisecond, 2), sw(0.5, 90, time.Millisecond, 3),
		pt(300, time.Millisecond, 0, false),
	}}
	gs := Groups(f)
	var loads []string
	for _, g := range gs {
		loads = append(loads, g.Key.Load())
	}
	if got, want := strings.Join(loads, " "), "closed sweep@0.5x open@300rps"; got != want {
		t.Fatalf("groups = %s; want %s", got, want)
	}
	if n, r := len(gs[1].Points), gs[1].Rate(); n != 3 || r != 100 {
		t.Errorf("sweep group: %d points at rate %v; want 3 at 100 (median)", n, r)
	}
	for i, p := range gs[1].Points {
		if p.Round != i+1 {
			t.Errorf("sweep group point %d is round %d; want round order", i, p.Round)
		}
	}
}

// TestGroupsLegacySweep: a file written before sweep points recorded
// their step has them inferred from the order the runner wrote them in.
func TestGroupsLegacySweep(t *testing.T) {
	open := func(rate float64, round int) Point {
		return Point{Target: "t", Endpoint: "e", Model: ModelOpen, OfferedRate: rate, Round: round}
	}
	f := &File{
		Settings: Settings{Models: []Model{ModelOpen, ModelSweep}, Rates: []float64{50}, SweepFactors: []float64{0.5, 1}},
		Points:   []Point{open(50, 1), open(100, 1), open(200, 1), open(50, 2), open(110, 2), open(220, 2)},
	}
	var loads []string
	for _, g := range Groups(f) {
		loads = append(loads, g.Key.Load())
	}
	if got, want := strings.Join(loads, " "), "open@50rps sweep@0.5x sweep@1x"; got != want {
		t.Errorf("groups = %s; want %s", got, want)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v; want %v", c.in, got, c.want)
		}
	}
}

func TestTargetOptionsReadsLegacyMap(t *testing.T) {
	var s Settings
	err := jsonUnmarshal(`{"target_options":{"app-bin":"/a","cgi-timeout":"5s","cgi-max-children":"4","fcgi-external":"true"}}`, &s)
	if err != nil {
		t.Fatal(err)
	}
	o := s.TargetOptions
	if o == nil || o.AppBin != "/a" || o.CGITimeout != 5*time.Second || o.CGIMaxChildren != 4 || !o.FCGIExternal {
		t.Errorf("TargetOptions = %+v; want the legacy map's values", o)
	}
}

func TestComparable(t *testing.T) {
	a := &File{SchemaVersion: 1, Settings: Settings{Connections: 8, TargetOptions: &TargetOptions{AppBin: "/a", CGITimeout: time.Second}}}
	b := &File{SchemaVersion: 1, Settings: Settings{Connections: 8, TargetOptions: &TargetOptions{AppBin: "/b", CGITimeout: time.Second}}}
	if r := Comparable(a, b); len(r) != 0 {
		t.Errorf("Comparable with different paths = %+v; want none", r)
	}
	b.Settings.TargetOptions.CGITimeout = 2 * time.Second
	b.Settings.Connections = 16
	var diffs []string
	for _, n := range Comparable(a, b) {
		if n.Kind != NoteIncomparable {
			t.Errorf("Comparable: %+v; want kind %s", n, NoteIncomparable)
		}
		diffs = append(diffs, n.Subject+": "+strings.Join(n.Detail, " vs "))
	}
	got := strings.Join(diffs, "; ")
	want := "setting connections: 8 vs 16; target option cgi_timeout: 1s vs 2s"
	if got != want {
		t.Errorf("Comparable = %q; want %q", got, want)
	}
	if ma, sa := Fingerprint(a); ma == "" || sa == "" {
		t.Errorf("Fingerprint = %q %q; want both", ma, sa)
	}
}

func TestNoteReadsSentence(t *testing.T) {
	var f struct{ Notes []Note }
	if err := jsonUnmarshal(`{"Notes":["a sentence",{"kind":"verify-skipped"}]}`, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Notes) != 2 || f.Notes[0].Kind != NoteText || f.Notes[0].Text != "a sentence" || f.Notes[1].Kind != NoteVerifySkipped {
		t.Errorf("Notes = %+v", f.Notes)
	}
}

// TestKneeReadsSentence: a knee's "note" sentence, as files written
// before knee notes were data hold it, is read as a NoteText; a knee with
// notes keeps them.
func TestKneeReadsSentence(t *testing.T) {
	var ks []Knee
	err := jsonUnmarshal(`[{"target":"cgi","rate":200,"found":true,"note":"lower rates [100] missed the SLO: the curve is not monotonic"},
		{"target":"fcgi","notes":[{"kind":"knee-left-out","values":[400,800]}]}]`, &ks)
	if err != nil {
		t.Fatal(err)
	}
	want := []Knee{
		{Target: "cgi", Rate: 200, Found: true, Notes: []Note{TextNote("lower rates [100] missed the SLO: the curve is not monotonic")}},
		{Target: "fcgi", Notes: []Note{{Kind: NoteKneeLeftOut, Values: []float64{400, 800}}}},
	}
	if !reflect.DeepEqual(ks, want) {
		t.Errorf("knees = %+v; want %+v", ks, want)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
