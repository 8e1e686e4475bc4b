package reports

// This file reads the spawn-cost document (results.Fork, written by `bench
// fork`) the way its charts and tables need it: rows by group, the
// components by name, the arms of a factor. Every figure is in the
// document already (the decomposition, the fitted cost model and the
// break-even it implies, computed by the spawncost package where it
// measures); this package only renders. Rows of groups it does not know
// still appear, in the table of other rows.

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// groupRows returns fk's rows of group, in file order.
func groupRows(fk *results.Fork, group results.ForkGroup) []results.ForkRow {
	if fk == nil {
		return nil
	}
	var out []results.ForkRow
	for _, r := range fk.Rows {
		if r.Group == group {
			out = append(out, r)
		}
	}
	return out
}

// component returns the components row called name.
func component(fk *results.Fork, name string) (results.ForkRow, bool) {
	for _, r := range groupRows(fk, results.ForkGroupComponents) {
		if r.Name == name {
			return r, true
		}
	}
	return results.ForkRow{}, false
}

// finite reports whether every v is a real number.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// dur formats nanoseconds in the unit that keeps three significant
// digits readable: "27.5 ms", "189 µs", "882 ns". Fork figures span six
// decades (an in-process call beside a process start), which one unit
// cannot show.
func dur(ns float64) string {
	if !finite(ns) {
		return dash
	}
	a := math.Abs(ns)
	switch {
	case a >= 1e9:
		return sig(ns/1e9, 3) + " s"
	case a >= 1e6:
		return sig(ns/1e6, 3) + " ms"
	case a >= 1e3:
		return sig(ns/1e3, 3) + " µs"
	case a == 0:
		return "0"
	}
	return sig(ns, 3) + " ns"
}

// iqr formats a row's interquartile range.
func iqr(s results.Summary) string { return dur(s.P25Ns) + " – " + dur(s.P75Ns) }

// deploymentName is how a spawn-cost deployment is named in charts.
func deploymentName(d results.ForkDeployment) string { return displayName(string(d)) }

// factor is one factor's arms in file order.
type factor struct {
	name string
	arms []results.ForkRow
}

// factorsOf groups the factor rows by Name, factors in order of first
// appearance.
func factorsOf(fk *results.Fork) []factor {
	var out []factor
	for _, r := range groupRows(fk, results.ForkGroupFactors) {
		i := slices.IndexFunc(out, func(f factor) bool { return f.name == r.Name })
		if i < 0 {
			out = append(out, factor{name: r.Name})
			i = len(out) - 1
		}
		out[i].arms = append(out[i].arms, r)
	}
	return out
}

// armKeys are the params that tell a factor's arms apart, most telling
// first; any other differing param is used after them.
func armKeys() []string {
	return []string{results.ForkParamVariant, results.ForkParamValue, results.ForkParamHeapBytes}
}

// armLabel names arm r of f by the params in which the arms differ.
func armLabel(f factor, r results.ForkRow) string {
	differs := func(k string) bool {
		for _, a := range f.arms {
			if a.Params[k] != f.arms[0].Params[k] {
				return true
			}
		}
		return false
	}
	for _, k := range armKeys() {
		if differs(k) {
			return armValue(k, r.Params[k])
		}
	}
	var keys []string
	for _, a := range f.arms {
		for k := range a.Params {
			if !slices.Contains(keys, k) && differs(k) && k != results.ForkParamWhat {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var b []string
	for _, k := range keys {
		b = append(b, k+"="+r.Params[k])
	}
	if len(b) == 0 {
		return r.Name
	}
	return strings.Join(b, " ")
}

// armValue formats the value v of an arm's param k: a heap size in
// binary units, anything else as it is.
func armValue(k, v string) string {
	if k != results.ForkParamHeapBytes {
		return v
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return v
	}
	if n == 0 {
		return "no heap"
	}
	num, unit, _ := strings.Cut(bytesHuman(n), " ")
	return "heap " + trimZeros(num) + " " + unit
}

// fitOf returns the cost model fitted to deployment d.
func fitOf(fk *results.Fork, d results.ForkDeployment) (results.ForkFit, bool) {
	for _, f := range fk.Fits {
		if f.Deployment == d {
			return f, true
		}
	}
	return results.ForkFit{}, false
}

// breakEvenOf returns d's break-even on basis b.
func breakEvenOf(fk *results.Fork, d results.ForkDeployment, b results.ForkBasis) (results.ForkBreakEven, bool) {
	for _, be := range fk.BreakEvens {
		if be.Deployment == d && be.Basis == b {
			return be, true
		}
	}
	return results.ForkBreakEven{}, false
}

// sortedFits is fk's fits in drawing order (CGI, FastCGI, embedded, then
// others).
func sortedFits(fk *results.Fork) []results.ForkFit {
	fs := slices.Clone(fk.Fits)
	slices.SortStableFunc(fs, func(a, b results.ForkFit) int { return a.Deployment.Rank() - b.Deployment.Rank() })
	return fs
}
