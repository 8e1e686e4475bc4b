package results

import (
	"encoding/json"
	"slices"
	"time"
)

// Knees finds the knee of every target and endpoint with open-model
// points in f, in order of first appearance.
func Knees(f *File, slo time.Duration) []Knee {
	type te struct{ target, endpoint string }
	byTE := map[te][]Group{}
	var order []te
	for _, g := range Groups(f) {
		if g.Key.Model != ModelOpen {
			continue
		}
		k := te{g.Key.Target, g.Key.Endpoint}
		if _, ok := byTE[k]; !ok {
			order = append(order, k)
		}
		byTE[k] = append(byTE[k], g)
	}
	var out []Knee
	for _, k := range order {
		out = append(out, FindKnee(byTE[k], slo))
	}
	return out
}

// The kinds of a knee's notes (Knee.Notes), in the order FindKnee gives
// them; reports joins their phrases with "; " in the knee table.
const (
	// NoteKneeNoOpenPoints: the target and endpoint had no open-model
	// point to look for a knee in.
	NoteKneeNoOpenPoints NoteKind = "knee-no-open-points"
	// NoteKneeNothingOffered: every open-model point was one the
	// generator could not offer; a NoteKneeLeftOut note follows.
	NoteKneeNothingOffered NoteKind = "knee-nothing-offered"
	// NoteKneeNotFound: no offered rate met the SLO (figure slo_p99_ns)
	// without errors.
	NoteKneeNotFound NoteKind = "knee-not-found"
	// NoteKneeNotMonotonic: rates below the knee (Values) missed the SLO,
	// so the knee is less certain than it looks.
	NoteKneeNotMonotonic NoteKind = "knee-not-monotonic"
	// NoteKneeGeneratorBound: the generator was CPU-bound at the knee's
	// rate: it may be the generator's limit.
	NoteKneeGeneratorBound NoteKind = "knee-generator-bound"
	// NoteKneeLeftOut: the rates (Values, ascending) the generator could
	// not offer, left out of the search.
	NoteKneeLeftOut NoteKind = "knee-left-out"
)

// UnmarshalJSON reads a knee, and the one-sentence "note" of files
// written before knee notes were data as a NoteText.
func (k *Knee) UnmarshalJSON(data []byte) error {
	type plain Knee
	var v struct {
		plain
		Note string `json:"note"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*k = Knee(v.plain)
	if v.Note != "" && len(k.Notes) == 0 {
		k.Notes = []Note{TextNote(v.Note)}
	}
	return nil
}

// kneeRate is one offered rate of a knee search: the rounds' p99s and
// whether any round failed.
type kneeRate struct {
	rate     float64
	p99s     []float64
	failed   bool // errors or saturation in some round
	genBound bool
}

// FindKnee finds, among groups of one target and endpoint, the highest
// offered rate at which the median across rounds of the corrected p99
// stayed within slo and no round had an error or was saturated.
// Closed-model groups are ignored; a point without a corrected latency is
// judged on its actual-send p99. A sweep step's rate is the median of its
// rounds' rates (Group.Rate).
//
// A point the generator could not offer (GeneratorLimited: it fell short
// of its rate while the generator's CPUs were busy) says nothing about the
// target, so it is left out: neither a pass nor the failure that would end
// the curve; a NoteKneeLeftOut note names the rates left out.
//
// Notes say why nothing was found, or warn when a lower rate failed (the
// latency curve was not monotonic, so the knee is less certain than it
// looks) or when the knee's points were generator-bound, in that order.
func FindKnee(groups []Group, slo time.Duration) Knee {
	k := Knee{SLOP99Ns: int64(slo)}
	rates, notOffered := kneeRates(groups, &k)
	slices.Sort(notOffered)
	var leftOut []Note
	if len(notOffered) > 0 {
		leftOut = []Note{{Kind: NoteKneeLeftOut, Values: notOffered}}
	}
	if len(rates) == 0 {
		k.Notes = []Note{{Kind: NoteKneeNoOpenPoints}}
		if leftOut != nil {
			k.Notes = append([]Note{{Kind: NoteKneeNothingOffered}}, leftOut...)
		}
		return k
	}
	slices.SortFunc(rates, func(a, b *kneeRate) int {
		switch {
		case a.rate < b.rate:
			return -1
		case a.rate > b.rate:
			return 1
		}
		return 0
	})
	var failed []float64
	var kneeGenBound bool
	for _, r := range rates {
		if !r.failed && Median(r.p99s) <= float64(slo) {
			k.Rate, k.Found, kneeGenBound = r.rate, true, r.genBound
		} else {
			failed = append(failed, r.rate)
		}
	}
	if !k.Found {
		k.Notes = append([]Note{{Kind: NoteKneeNotFound, Figures: map[string]float64{"slo_p99_ns": float64(slo)}}}, leftOut...)
		return k
	}
	var below []float64
	for _, rt := range failed {
		if rt < k.Rate {
			below = append(below, rt)
		}
	}
	if len(below) > 0 {
		k.Notes = append(k.Notes, Note{Kind: NoteKneeNotMonotonic, Values: below})
	}
	if kneeGenBound {
		k.Notes = append(k.Notes, Note{Kind: NoteKneeGeneratorBound})
	}
	k.Notes = append(k.Notes, leftOut...)
	return k
}

// kneeRates gathers the open-model groups' rounds by offered rate (a sweep
// step's rate being the median of its rounds'), names k's target and
// endpoint, and returns the rates the generator could not offer apart.
func kneeRates(groups []Group, k *Knee) (rates []*kneeRate, notOffered []float64) {
	for _, g := range groups {
		if g.Key.Model != ModelOpen || len(g.Points) == 0 {
			continue
		}
		if k.Target == "" && k.Endpoint == "" {
			k.Target, k.Endpoint = g.Key.Target, g.Key.Endpoint
		}
		// Rounds the generator could not offer are left out; the
		// step's rate is the median of the rounds that remain.
		offered := g
		offered.Points = nil
		for _, p := range g.Points {
			if p.GeneratorLimited {
				if !slices.Contains(notOffered, p.OfferedRate) {
					notOffered = append(notOffered, p.OfferedRate)
				}
				continue
			}
			offered.Points = append(offered.Points, p)
		}
		if len(offered.Points) == 0 {
			continue
		}
		g = offered
		rt := g.Rate()
		i := slices.IndexFunc(rates, func(r *kneeRate) bool { return r.rate == rt })
		if i < 0 { // else a sweep step landed on a fixed rate: one rate
			i = len(rates)
			rates = append(rates, &kneeRate{rate: rt})
		}
		r := rates[i]
		for _, p := range g.Points {
			p99 := p.Latency.P99Ns
			if p.Corrected != nil {
				p99 = p.Corrected.P99Ns
			}
			r.p99s = append(r.p99s, float64(p99))
			r.failed = r.failed || p.Saturated || p.Requests == 0 || p.Successes != p.Requests || errorCount(p) > 0
			r.genBound = r.genBound || p.GeneratorBound
		}
	}
	return rates, notOffered
}

func errorCount(p Point) uint64 {
	var n uint64
	for _, v := range p.Errors {
		n += v
	}
	return n
}
