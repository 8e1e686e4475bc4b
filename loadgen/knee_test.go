package loadgen

import (
	"strings"
	"testing"
	"time"

	"forkbench/results"
)

// pt builds a synthetic open-model point.
func pt(rate float64, p99 time.Duration, errs uint64, sat bool) results.Point {
	p := results.Point{
		Target: "cgi", Endpoint: "hello", Model: results.ModelOpen, OfferedRate: rate,
		Requests: 100, Successes: 100 - errs, Saturated: sat,
		Latency:   results.Latency{P99Ns: int64(p99) / 2},
		Corrected: &results.Latency{P99Ns: int64(p99)},
	}
	if errs > 0 {
		p.Errors = map[string]uint64{ErrKindStatus5xx: errs}
	}
	return p
}

// limited marks p as a point the generator could not offer.
func limited(p results.Point) results.Point {
	p.Saturated, p.GeneratorBound, p.GeneratorLimited = true, true, true
	return p
}

// sw builds a point of a rate sweep at step factor.
func sw(factor, rate float64, p99 time.Duration) results.Point {
	p := pt(rate, p99, 0, false)
	p.SweepFactor = factor
	return p
}

func TestKnee(t *testing.T) {
	const slo = 10 * time.Millisecond
	ms := time.Millisecond
	tests := []struct {
		name      string
		points    []results.Point
		wantRate  float64
		wantFound bool
		wantNote  string // substring
	}{
		{"none", nil, 0, false, "no open-model points"},
		{"closed only", []results.Point{{Model: results.ModelClosed}}, 0, false, "no open-model points"},
		{
			"monotonic", []results.Point{pt(100, 1*ms, 0, false), pt(200, 5*ms, 0, false), pt(400, 20*ms, 0, false)},
			200, true, "",
		},
		{
			"exactly at the SLO", []results.Point{pt(100, 1*ms, 0, false), pt(200, 10*ms, 0, false)},
			200, true, "",
		},
		{
			"errors disqualify", []results.Point{pt(100, 1*ms, 0, false), pt(200, 2*ms, 1, false)},
			100, true, "",
		},
		{
			"saturation disqualifies", []results.Point{pt(100, 1*ms, 0, false), pt(200, 2*ms, 0, true)},
			100, true, "",
		},
		{
			"median across rounds", []results.Point{
				pt(100, 1*ms, 0, false),
				pt(200, 50*ms, 0, false), pt(200, 5*ms, 0, false), pt(200, 6*ms, 0, false),
				pt(400, 50*ms, 0, false), pt(400, 50*ms, 0, false), pt(400, 5*ms, 0, false),
			},
			200, true, "",
		},
		{
			"even rounds take the worse middle", []results.Point{pt(100, 5*ms, 0, false), pt(100, 50*ms, 0, false)},
			0, false, "no offered rate",
		},
		{
			"one bad round of errors disqualifies", []results.Point{pt(100, 1*ms, 0, false), pt(100, 1*ms, 3, false)},
			0, false, "no offered rate",
		},
		{
			"non-monotonic", []results.Point{pt(100, 1*ms, 0, false), pt(200, 30*ms, 0, false), pt(400, 5*ms, 0, false)},
			400, true, "not monotonic",
		},
		{
			"nothing meets the SLO", []results.Point{pt(100, 11*ms, 0, false)},
			0, false, "no offered rate",
		},
		{
			// Three rounds of a sweep: each round offers the steps at
			// fractions of its own capacity, so rates differ by round.
			"sweep steps grouped across rounds", []results.Point{
				sw(0.5, 100, 1*ms), sw(0.5, 110, 2*ms), sw(0.5, 90, 1*ms),
				sw(1.0, 200, 5*ms), sw(1.0, 220, 50*ms), sw(1.0, 180, 6*ms),
				sw(1.2, 240, 50*ms), sw(1.2, 264, 50*ms), sw(1.2, 216, 9*ms),
			},
			200, true, "",
		},
		{
			"a step the generator could not offer is left out", []results.Point{
				pt(100, 1*ms, 0, false), pt(200, 5*ms, 0, false), limited(pt(400, 900*ms, 0, true)),
			},
			200, true, "left out [400] req/s: the generator could not offer them",
		},
		{
			"nor does it end the curve below the knee", []results.Point{
				pt(100, 1*ms, 0, false), limited(pt(200, 900*ms, 0, true)), pt(300, 5*ms, 0, false),
			},
			300, true, "left out [200]",
		},
		{
			"a sweep step limited in one round keeps its other rounds", []results.Point{
				sw(0.5, 100, 1*ms), sw(0.5, 110, 2*ms),
				sw(1.0, 200, 5*ms), limited(sw(1.0, 220, 500*ms)),
			},
			200, true, "left out [220]",
		},
		{
			"only steps the generator could not offer", []results.Point{limited(pt(400, 900*ms, 0, true))},
			0, false, "no open-model point the generator could offer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Knee(tt.points, slo)
			if k.Rate != tt.wantRate || k.Found != tt.wantFound {
				t.Errorf("Knee = rate %g found %v; want %g %v (note %q)", k.Rate, k.Found, tt.wantRate, tt.wantFound, k.Note)
			}
			if tt.wantNote == "" && k.Note != "" || !strings.Contains(k.Note, tt.wantNote) || strings.HasSuffix(k.Note, "; ") {
				t.Errorf("Note = %q; want %q", k.Note, tt.wantNote)
			}
			if k.SLOP99Ns != int64(slo) {
				t.Errorf("SLOP99Ns = %d; want %d", k.SLOP99Ns, slo)
			}
			if len(tt.points) > 0 && tt.points[0].Model == results.ModelOpen && (k.Target != "cgi" || k.Endpoint != "hello") {
				t.Errorf("Knee names %q %q; want cgi hello", k.Target, k.Endpoint)
			}
		})
	}
}

func TestKneeUsesActualLatencyWithoutCorrected(t *testing.T) {
	p := pt(100, 20*time.Millisecond, 0, false) // actual p99 is 10ms
	p.Corrected = nil
	if k := Knee([]results.Point{p}, 10*time.Millisecond); !k.Found || k.Rate != 100 {
		t.Errorf("Knee = %+v; want rate 100 from the actual p99", k)
	}
}

func TestKneeGeneratorBound(t *testing.T) {
	p := pt(100, time.Millisecond, 0, false)
	p.GeneratorBound = true
	if k := Knee([]results.Point{p}, 10*time.Millisecond); !k.Found || !strings.Contains(k.Note, "generator") {
		t.Errorf("Knee = %+v; want found with a generator note", k)
	}
}
