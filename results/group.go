package results

// This file is the one way points are grouped across rounds: every
// consumer (knee, compare, history, reports) groups with Groups and
// reduces with Median, so "the figure of a load point" means the same
// thing everywhere.

import (
	"math"
	"slices"
	"strconv"
)

// PointKey identifies one load point across rounds and files: a target,
// an endpoint, a model and either a sweep step or an offered rate.
//
// Points of a rate sweep are keyed by their step, not their rate: each
// round offers a step at a fraction of the capacity it measured itself,
// so the rates of one step differ a little between rounds (and runs).
type PointKey struct {
	Target   string `json:"target"`
	Endpoint string `json:"endpoint"`
	Model    Model  `json:"model"`
	// Step is the sweep step (the fraction of capacity) of a sweep
	// point; 0 for every other point.
	Step float64 `json:"sweep_step,omitempty"`
	// Rate is the offered rate of a point that is not in a sweep (0 for
	// the closed model, which offers no rate, and for sweep points).
	Rate float64 `json:"rate,omitempty"`
}

// IsSweep reports whether k is a step of a rate sweep.
func (k PointKey) IsSweep() bool { return k.Step > 0 }

// Load names the load of k in one word: "closed", "open@200rps" for a
// fixed-rate open point, "sweep@0.5x" for a sweep step.
func (k PointKey) Load() string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	switch {
	case k.IsSweep():
		return "sweep@" + num(k.Step) + "x"
	case k.Model == ModelOpen:
		return "open@" + num(k.Rate) + "rps"
	case k.Rate > 0:
		return string(k.Model) + "@" + num(k.Rate)
	}
	return string(k.Model)
}

// String is "target endpoint load".
func (k PointKey) String() string { return k.Target + " " + k.Endpoint + " " + k.Load() }

// KeyOf returns the key of p.
func KeyOf(p Point) PointKey {
	k := PointKey{Target: p.Target, Endpoint: p.Endpoint, Model: p.Model}
	if p.SweepFactor > 0 {
		k.Step = p.SweepFactor
	} else {
		k.Rate = p.OfferedRate
	}
	return k
}

// Group is one load point across rounds: its key and its points (one per
// round, in round order).
type Group struct {
	Key    PointKey
	Points []Point
}

// Rate is the group's offered rate: the median of its rounds' (a sweep
// step's rate differs between rounds).
func (g Group) Rate() float64 {
	rs := make([]float64, len(g.Points))
	for i, p := range g.Points {
		rs[i] = p.OfferedRate
	}
	return Median(rs)
}

// Values returns v of every point of g for which ok is true, in round
// order.
func (g Group) Values(v func(Point) (float64, bool)) []float64 {
	var out []float64
	for _, p := range g.Points {
		if x, ok := v(p); ok {
			out = append(out, x)
		}
	}
	return out
}

// Groups collects f's points by PointKey, in order of first appearance,
// each group's points in round order.
//
// Files written before sweep points recorded their step (SweepFactor)
// are read as the runner wrote them: per target, endpoint and round, the
// fixed-rate open point first, then the sweep's points in ascending
// order, one per sweep factor.
func Groups(f *File) []Group {
	legacy := legacySweep(f)
	var out []Group
	idx := map[PointKey]int{}
	for _, p := range f.Points {
		k := KeyOf(p)
		if legacy != nil {
			k = legacy.key(p)
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Group{Key: k})
		}
		out[i].Points = append(out[i].Points, p)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Points, func(a, b Point) int { return a.Round - b.Round })
	}
	return out
}

// legacy infers the sweep steps of a file that did not record them.
type legacy struct {
	fixed    map[float64]bool
	factors  []float64
	sweepIdx map[[3]string]int
	seen     map[[3]string]bool
}

// legacySweep returns the inference for f, or nil when f records its
// sweep steps (or has no sweep).
func legacySweep(f *File) *legacy {
	if !slices.Contains(f.Settings.Models, ModelSweep) {
		return nil
	}
	for _, p := range f.Points {
		if p.SweepFactor > 0 {
			return nil
		}
	}
	l := &legacy{fixed: map[float64]bool{}, factors: f.Settings.SweepFactors,
		sweepIdx: map[[3]string]int{}, seen: map[[3]string]bool{}}
	if slices.Contains(f.Settings.Models, ModelOpen) {
		for _, r := range f.Settings.Rates {
			l.fixed[r] = true
		}
	}
	return l
}

func (l *legacy) key(p Point) PointKey {
	k := KeyOf(p)
	if p.Model != ModelOpen {
		return k
	}
	tr := [3]string{p.Target, p.Endpoint, strconv.Itoa(p.Round)}
	if l.fixed[p.OfferedRate] && !l.seen[tr] {
		l.seen[tr] = true
		return k
	}
	i := l.sweepIdx[tr]
	l.sweepIdx[tr]++
	if i < len(l.factors) {
		k.Step, k.Rate = l.factors[i], 0
	}
	return k
}

// Median is the median of vs: the middle value, or the mean of the two
// middle values for an even count (benchstat's convention); NaN when vs
// is empty. vs is not modified.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
