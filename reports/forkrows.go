package reports

// This file reads the fork rows the way the fork charts and tables need
// them: rows by group, the components by name, the arms of a factor, and
// the fitted cost model with the break-even it implies. It knows the fork
// package only through the names below (see fork/fork.go and
// fork/analysis.go); rows it does not recognise still appear, in the table
// of other fork rows.

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// More fork row groups and parameters (see also fork.go).
const (
	// GroupComponents holds the measured totals (bin-true, static-noop,
	// go-empty, go-noop, startup-only, embedded-request, cgi-request,
	// fcgi-request).
	GroupComponents = results.ForkGroupComponents
	// GroupFactors holds what makes a spawn cheaper or dearer: rows of
	// the same Name (the factor) with different params (its arms).
	GroupFactors = results.ForkGroupFactors
	// GroupConcurrency is spawning from Params["spawners"] goroutines at
	// once, Params["throughput_per_s"] the spawns per second achieved.
	GroupConcurrency = results.ForkGroupConcurrency
	// GroupDaemon is the FastCGI daemon's cold start, first and steady
	// requests, and restart after SIGKILL.
	GroupDaemon = results.ForkGroupDaemon
	// GroupModel is the fitted cost model: per Params["deployment"], a
	// "fixed" row (ns per request) and a "per-work-unit" row (ns per
	// /work round), Wall.MedianNs the coefficient fitted to wall time and
	// Params["cpu_ns"] the same coefficient fitted to CPU time.
	GroupModel = results.ForkGroupModel

	ParamCPUNs      = results.ForkParamCPUNs
	ParamSpawners   = results.ForkParamSpawners
	ParamThroughput = results.ForkParamThroughput
)

// Names of the model's two coefficients.
const (
	modelFixed   = "fixed"
	modelPerUnit = "per-work-unit"
)

// breakEvenShare is the overhead share the break-even is stated for: the
// work per request above which a deployment's overhead is under 10%.
const breakEvenShare = 0.10

// knownForkGroups are the groups with a table of their own, in report
// order.
func knownForkGroups() []string {
	return []string{GroupComponents, GroupDecomposition, GroupAmortisation, GroupModel, GroupFactors, GroupConcurrency, GroupDaemon}
}

// groupRows returns fk's rows of group, in file order.
func groupRows(fk *results.Fork, group string) []results.ForkRow {
	var out []results.ForkRow
	if fk == nil {
		return nil
	}
	for _, r := range fk.Rows {
		if r.Group == group {
			out = append(out, r)
		}
	}
	return out
}

// component returns the components row called name.
func component(fk *results.Fork, name string) (results.ForkRow, bool) {
	for _, r := range groupRows(fk, GroupComponents) {
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

// cpuMeasured reports whether r carries CPU figures: daemon rows say
// Params[results.ForkParamCPU] = results.ForkCPUNotMeasured.
func cpuMeasured(r results.ForkRow) bool {
	return r.Params[results.ForkParamCPU] != results.ForkCPUNotMeasured
}

// factor is one factor's arms in file order.
type factor struct {
	name string
	arms []results.ForkRow
}

// factorsOf groups the factor rows by Name, factors in order of first
// appearance.
func factorsOf(fk *results.Fork) []factor {
	var out []factor
	for _, r := range groupRows(fk, GroupFactors) {
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
func armKeys() []string { return []string{"variant", "value", "heap_bytes"} }

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
	fmtv := func(k, v string) string {
		if k == "heap_bytes" {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				if n == 0 {
					return "no heap"
				}
				num, unit, _ := strings.Cut(bytesHuman(n), " ")
				return "heap " + trimZeros(num) + " " + unit
			}
		}
		return v
	}
	for _, k := range armKeys() {
		if differs(k) {
			return fmtv(k, r.Params[k])
		}
	}
	var keys []string
	for _, a := range f.arms {
		for k := range a.Params {
			if !slices.Contains(keys, k) && differs(k) && k != "what" {
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

// costModel is one deployment's fitted cost per request, cost = fixed +
// perUnit·n for n /work rounds, fitted to wall time and to CPU time
// (NaN when the file has no CPU fit).
type costModel struct {
	deployment           string
	fixed, perUnit       float64
	cpuFixed, cpuPerUnit float64
	r2                   float64
	points               int
}

// costModels returns the deployments' models in deployment order (CGI,
// FastCGI, embedded, then others), each only when both coefficients are
// present and finite.
func costModels(fk *results.Fork) []costModel {
	by := map[string]*costModel{}
	var order []string
	have := map[string]int{}
	for _, r := range groupRows(fk, GroupModel) {
		d := r.Params[ParamDeployment]
		if d == "" {
			continue
		}
		m := by[d]
		if m == nil {
			m = &costModel{deployment: d, cpuFixed: math.NaN(), cpuPerUnit: math.NaN(), r2: math.NaN()}
			by[d] = m
			order = append(order, d)
		}
		cpu := math.NaN()
		if v, err := strconv.ParseFloat(r.Params[ParamCPUNs], 64); err == nil && finite(v) {
			cpu = v
		}
		switch r.Name {
		case modelFixed:
			m.fixed, m.cpuFixed = r.Wall.MedianNs, cpu
			have[d] |= 1
		case modelPerUnit:
			m.perUnit, m.cpuPerUnit = r.Wall.MedianNs, cpu
			have[d] |= 2
		default:
			continue
		}
		if v, err := strconv.ParseFloat(r.Params["r2"], 64); err == nil {
			m.r2 = v
		}
		m.points = max(m.points, r.Samples)
	}
	rank := func(d string) int {
		if i := slices.Index([]string{TargetCGI, TargetFCGI, TargetEmbedded}, d); i >= 0 {
			return i
		}
		return 3
	}
	slices.SortStableFunc(order, func(a, b string) int { return rank(a) - rank(b) })
	var out []costModel
	for _, d := range order {
		m := *by[d]
		if have[d] == 3 && finite(m.fixed, m.perUnit) {
			out = append(out, m)
		}
	}
	return out
}

// hasCPU reports whether m has a CPU fit.
func (m costModel) hasCPU() bool { return finite(m.cpuFixed, m.cpuPerUnit) }

// coef returns m's coefficients for wall time or CPU time.
func (m costModel) coef(cpu bool) (fixed, perUnit float64) {
	if cpu {
		return m.cpuFixed, m.cpuPerUnit
	}
	return m.fixed, m.perUnit
}

// breakEven is the work n (in /work rounds) above which the overhead share
// 1 − base(n)/d(n) of a deployment d = a + b·n over the baseline base = ae
// + be·n stays under breakEvenShare. ok is false when the lines never
// bring it there: d's cost grows with the work at least as fast as the
// baseline's, so its overhead share never falls to 10%.
//
//	1 − (ae + be·n)/(a + b·n) < s  ⇔  n·(be − (1−s)·b) > (1−s)·a − ae
func breakEven(a, b, ae, be float64) (n float64, ok bool) {
	k := 1 - breakEvenShare
	den := be - k*b
	if !finite(a, b, ae, be) || den <= 0 {
		return 0, false
	}
	return max(0, (k*a-ae)/den), true
}

// fixedRule is the usual rule of thumb, which counts only the fixed
// overhead (the work costing the same everywhere): the overhead is under
// 10% once the work costs (1−s)/s times the fixed-cost difference, 9× for
// 10%. It is in nanoseconds of work; ok is false when d's fixed cost is
// not above the baseline's.
func fixedRule(a, ae float64) (ns float64, ok bool) {
	over := a - ae
	if !finite(over) || over <= 0 {
		return 0, false
	}
	return over * (1 - breakEvenShare) / breakEvenShare, true
}

// modelOf returns the model of deployment d.
func modelOf(ms []costModel, d string) (costModel, bool) {
	for _, m := range ms {
		if m.deployment == d {
			return m, true
		}
	}
	return costModel{}, false
}
