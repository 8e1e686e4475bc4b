package loadgen

import (
	"fmt"
	"math"
	"slices"
	"time"

	"forkbench/results"
)

// Knee finds, among the open-model points of one target and endpoint (any
// number of rounds per rate), the highest offered rate at which the median
// across rounds of the corrected p99 stayed within slo and no round had an
// error or was saturated. Closed-model points are ignored. A point without
// a corrected latency is judged on its actual-send p99.
//
// Points of a rate sweep (SweepFactor > 0) are grouped by their step, not
// their rate: each round offers a step at a fraction of the capacity it
// measured itself, so the rates of one step differ a little between
// rounds. The step's rate is the median of its rounds' rates.
//
// A point the generator could not offer (GeneratorLimited: it fell short
// of its rate while the generator's CPUs were busy) says nothing about the
// target, so it is left out: neither a pass nor the failure that would
// end the curve; Note names the rates left out.
//
// The result names the target and endpoint of the first point; Note says
// why nothing was found, or warns when a lower rate failed (the latency
// curve was not monotonic, so the knee is less certain than it looks) or
// when the knee's points were generator-bound.
func Knee(points []results.Point, slo time.Duration) results.Knee {
	k := results.Knee{SLOP99Ns: int64(slo)}
	type rate struct {
		p99s     []int64
		rates    []int64
		failed   bool // errors or saturation in some round
		genBound bool
	}
	type key struct {
		sweep bool
		v     float64 // the sweep factor, or the offered rate
	}
	byKey := map[key]*rate{}
	var notOffered []float64
	for _, p := range points {
		if p.Model != results.ModelOpen {
			continue
		}
		if k.Target == "" && k.Endpoint == "" {
			k.Target, k.Endpoint = p.Target, p.Endpoint
		}
		if p.GeneratorLimited {
			if !slices.Contains(notOffered, p.OfferedRate) {
				notOffered = append(notOffered, p.OfferedRate)
			}
			continue
		}
		kk := key{false, p.OfferedRate}
		if p.SweepFactor > 0 {
			kk = key{true, p.SweepFactor}
		}
		r := byKey[kk]
		if r == nil {
			r = &rate{}
			byKey[kk] = r
		}
		r.rates = append(r.rates, int64(math.Round(p.OfferedRate*1000)))
		p99 := p.Latency.P99Ns
		if p.Corrected != nil {
			p99 = p.Corrected.P99Ns
		}
		r.p99s = append(r.p99s, p99)
		r.failed = r.failed || p.Saturated || p.Requests == 0 || p.Successes != p.Requests || errorCount(p) > 0
		r.genBound = r.genBound || p.GeneratorBound
	}
	slices.Sort(notOffered)
	var left string
	if len(notOffered) > 0 {
		left = fmt.Sprintf("left out %v req/s: the generator could not offer them (saturated while generator-bound)", notOffered)
	}
	if len(byKey) == 0 {
		k.Note = "no open-model points"
		if left != "" {
			k.Note = "no open-model point the generator could offer; " + left
		}
		return k
	}
	// Each group's rate is the median of its rounds' (in milli-req/s so
	// the integer median helper serves).
	byRate := map[float64]*rate{}
	for _, r := range byKey {
		rt := float64(median(r.rates)) / 1000
		if o, ok := byRate[rt]; ok { // a sweep step landed on a fixed rate
			o.p99s = append(o.p99s, r.p99s...)
			o.failed = o.failed || r.failed
			o.genBound = o.genBound || r.genBound
			continue
		}
		byRate[rt] = r
	}
	rates := make([]float64, 0, len(byRate))
	for r := range byRate {
		rates = append(rates, r)
	}
	slices.Sort(rates)
	var failed []float64
	var kneeGenBound bool
	for _, rt := range rates {
		r := byRate[rt]
		if !r.failed && median(r.p99s) <= int64(slo) {
			k.Rate, k.Found, kneeGenBound = rt, true, r.genBound
		} else {
			failed = append(failed, rt)
		}
	}
	if k.Found {
		var below []float64
		for _, rt := range failed {
			if rt < k.Rate {
				below = append(below, rt)
			}
		}
		if len(below) > 0 {
			k.Note = fmt.Sprintf("lower rates %v missed the SLO: the curve is not monotonic", below)
		}
		if kneeGenBound {
			k.Note = joinNote(k.Note, "the generator was CPU-bound at this rate")
		}
	}
	if !k.Found {
		k.Note = fmt.Sprintf("no offered rate met p99 <= %v without errors", slo)
	}
	k.Note = joinNote(k.Note, left)
	return k
}

func errorCount(p results.Point) uint64 {
	var n uint64
	for _, v := range p.Errors {
		n += v
	}
	return n
}

// median of the values, the upper middle one for an even count (so a tie
// between a passing and a failing round fails).
func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func joinNote(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}
