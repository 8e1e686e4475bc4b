package reports

// This file writes the fork decomposition's tables, one per row group, the
// headline of a file that holds only a decomposition, and its settings
// (a fork file has no load test to describe).

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// forkTableTitle starts every fork table's title, naming the measurement
// as load tables name their load model.
const forkTableTitle = "Fork "

// forkTables returns the tables of fk: one per known group that has rows,
// then every other row, so that nothing the file holds is dropped.
func forkTables(prefix string, fk *results.Fork) []table {
	var out []table
	add := func(t table) {
		if len(t.Rows) > 0 {
			t.Title = prefix + t.Title
			out = append(out, t)
		}
	}
	add(componentsTable(fk))
	add(decompositionTable(fk))
	add(amortisationTable(fk))
	add(modelTable(fk))
	add(factorsTable(fk))
	add(concurrencyTable(fk))
	add(daemonTable(fk))
	add(otherForkTable(fk))
	return out
}

// right marks the columns from i on as numbers.
func rightFrom(n, i int) []bool {
	r := make([]bool, n)
	for j := i; j < n; j++ {
		r[j] = true
	}
	return r
}

// cpuCell is a row's CPU (user+sys) median: only the total is reliable
// for short-lived processes (see results.ForkRow.CPU).
func cpuCell(r results.ForkRow) string {
	if r.NoCPU {
		return dash
	}
	return dur(r.CPUMedianNs())
}

// wallHeader heads the columns of wallCells.
func wallHeader() []string { return []string{"samples", "outliers", "wall p50", "wall p25–p75"} }

// wallCells are a row's sample counts and wall-time distribution (median
// and interquartile range), the columns every per-row fork table shows.
func wallCells(r results.ForkRow) []string {
	return []string{itoa(r.Samples), itoa(r.Outliers), dur(r.Wall.MedianNs), iqr(r.Wall)}
}

// what is what a row measures: its description, or its params.
func what(r results.ForkRow) string {
	if w := r.Params[results.ForkParamWhat]; w != "" {
		return w
	}
	return params(r.Params)
}

func componentsTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "components — measured totals, each a real process or the real handler started directly, no network (median and interquartile range of the samples, warm-up discarded, outliers by Tukey's fences counted, not dropped).",
		Header: slices.Concat([]string{"component"}, wallHeader(), []string{"CPU p50", "what"}),
	}
	t.Right = rightFrom(len(t.Header), 1)
	t.Right[len(t.Right)-1] = false
	for _, r := range groupRows(fk, results.ForkGroupComponents) {
		t.Rows = append(t.Rows, slices.Concat([]string{r.Name}, wallCells(r), []string{cpuCell(r), what(r)}))
	}
	return t
}

func decompositionTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "decomposition — each deployment's request as components (median wall time; derived components are differences of medians, not distributions).",
		Header: []string{"deployment", "component", "wall p50", "share", "source"},
		Right:  []bool{false, false, true, true, false},
	}
	var ds []results.ForkDeployment
	for _, r := range groupRows(fk, results.ForkGroupDecomposition) {
		if d := r.DeploymentOr(results.ForkCGI); !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	for _, d := range ds {
		parts, total := decomposition(fk, d)
		for _, p := range parts {
			share := dash
			if total > 0 && finite(p.wallNs) {
				share = sig(100*p.wallNs/total, 2) + "%"
			}
			src := ""
			for _, r := range groupRows(fk, results.ForkGroupDecomposition) {
				if r.DeploymentOr(results.ForkCGI) == d && r.Name == p.name {
					src = r.Params[results.ForkParamSource]
				}
			}
			t.Rows = append(t.Rows, []string{deploymentName(d), p.name, dur(p.wallNs), share, src})
		}
		t.Rows = append(t.Rows, []string{deploymentName(d), "total", dur(total), "100%", "sum of the components"})
	}
	return t
}

func amortisationTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "amortisation — one request doing n rounds of /work through each deployment (median wall time; overhead share = 1 − embedded / deployment).",
		Header: []string{"work n", "deployment", "samples", "wall p50", "wall p25–p75", "CPU p50 (user+sys)", "overhead share"},
		Right:  []bool{true, false, true, true, true, true, true},
	}
	rows := groupRows(fk, results.ForkGroupAmortisation)
	base := map[int]float64{}
	for _, r := range rows {
		if r.Deployment == results.ForkEmbedded {
			base[r.WorkN] = r.Wall.MedianNs
		}
	}
	for _, r := range rows {
		share := dash
		if b, ok := base[r.WorkN]; ok && r.Deployment != results.ForkEmbedded && r.Wall.MedianNs > 0 {
			share = sig(100*(1-b/r.Wall.MedianNs), 2) + "%"
		}
		t.Rows = append(t.Rows, []string{itoa(r.WorkN), string(r.Deployment), itoa(r.Samples), dur(r.Wall.MedianNs), iqr(r.Wall), cpuCell(r), share})
	}
	return t
}

func modelTable(fk *results.Fork) table {
	t := table{
		Title: forkTableTitle + "cost model — least-squares fit of the amortisation medians: cost per request = fixed + per-unit × n (n /work rounds); break-even: work above which the overhead is under 10% of the request.",
		Header: []string{"deployment", "fixed (wall)", "per unit (wall)", "fixed (CPU)", "per unit (CPU)", "R² (wall)", "points",
			"10% break-even (wall)", "10% break-even (CPU)"},
	}
	t.Right = rightFrom(len(t.Header), 1)
	ws := workScaleOf(fk)
	be := func(d results.ForkDeployment, b results.ForkBasis) string {
		be, ok := breakEvenOf(fk, d, b)
		switch {
		case !ok:
			return dash
		case !be.Found:
			return "never"
		}
		return ws.text(be.WorkN)
	}
	for _, f := range sortedFits(fk) {
		cpuFixed, cpuPer := dash, dash
		if f.HasCPU {
			cpuFixed, cpuPer = dur(f.CPUFixedNs), dur(f.CPUPerUnitNs)
		}
		t.Rows = append(t.Rows, []string{string(f.Deployment), dur(f.FixedNs), dur(f.PerUnitNs), cpuFixed, cpuPer, strconv.FormatFloat(f.R2, 'f', 3, 64), itoa(f.Points),
			be(f.Deployment, results.ForkWall), be(f.Deployment, results.ForkCPU)})
	}
	return t
}

func factorsTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "factors — what makes a spawn cheaper or dearer, each factor's arms measured interleaved (median and interquartile range; relative to the factor's first arm).",
		Header: slices.Concat([]string{"factor", "arm"}, wallHeader(), []string{"vs first arm", "CPU p50", "params"}),
	}
	t.Right = rightFrom(len(t.Header), 2)
	t.Right[len(t.Right)-1] = false
	for _, f := range factorsOf(fk) {
		base := f.arms[0].Wall.MedianNs
		for i, r := range f.arms {
			rel := dash
			if i == 0 {
				rel = "baseline"
			} else if base > 0 && finite(r.Wall.MedianNs) {
				rel = fmt.Sprintf("%+.0f%%", 100*(r.Wall.MedianNs/base-1))
				if rel == "+0%" || rel == "-0%" {
					rel = "±0%"
				}
			}
			t.Rows = append(t.Rows, slices.Concat([]string{f.name, armLabel(f, r)}, wallCells(r), []string{rel, cpuCell(r), params(r.Params)}))
		}
	}
	return t
}

func concurrencyTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "concurrency — k goroutines spawning at once (spawns per second over the batch; wall time of one spawn, median and interquartile range).",
		Header: slices.Concat([]string{"spawners", "program", "spawns/s", "speed-up"}, wallHeader()),
		Right:  []bool{true, false, true, true, true, true, true, true},
	}
	for _, r := range spawnLevels(fk) {
		tp, sp := dash, dash
		if r.ThroughputPerS > 0 {
			tp = rate(r.ThroughputPerS)
		}
		if r.Speedup > 0 {
			sp = strconv.FormatFloat(r.Speedup, 'f', 2, 64) + "×"
		}
		t.Rows = append(t.Rows, slices.Concat([]string{itoa(r.Spawners), r.Params[results.ForkParamProgram], tp, sp}, wallCells(r)))
	}
	return t
}

func daemonTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "daemon — the FastCGI daemon over its life: cold start, first request, steady state, restart after SIGKILL (median and interquartile range; CPU not measured).",
		Header: slices.Concat([]string{"event"}, wallHeader(), []string{"what"}),
		Right:  []bool{false, true, true, true, true, false},
	}
	for _, r := range groupRows(fk, results.ForkGroupDaemon) {
		t.Rows = append(t.Rows, slices.Concat([]string{r.Name}, wallCells(r), []string{what(r)}))
	}
	return t
}

// otherForkTable holds the rows of groups this report does not know.
func otherForkTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "rows of other groups (median and interquartile range of samples).",
		Header: slices.Concat([]string{"group", "name", "params"}, wallHeader(), []string{"CPU p50"}),
		Right:  []bool{false, false, false, true, true, true, true, true},
	}
	for _, r := range fk.Rows {
		if slices.Contains(results.ForkGroups(), r.Group) {
			continue
		}
		t.Rows = append(t.Rows, slices.Concat([]string{string(r.Group), r.Name, params(r.Params)}, wallCells(r), []string{cpuCell(r)}))
	}
	return t
}

// forkOnly reports whether f is a decomposition without a load test
// (what `bench fork` writes).
func forkOnly(f *results.File) bool {
	return len(f.Points) == 0 && f.Fork != nil && len(f.Fork.Rows) > 0
}

// forkHeadline states what a CGI request costs beyond the same request
// in-process and how much of that is the Go runtime's start and the app's
// package initialisation: from the measured components when present, else
// from the decomposition bars.
func forkHeadline(fk *results.Fork) (string, bool) {
	gap, ok := cgiGap(fk)
	if !ok {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "A CGI request costs %s more wall time than the same request in-process (fork decomposition, medians)", durProse(gap))
	b.WriteString(startupWords(fk, gap))
	emb, okE := component(fk, results.ForkEmbeddedRequest)
	if fc, ok := component(fk, results.ForkFCGIRequest); ok && okE && finite(fc.Wall.MedianNs) {
		fmt.Fprintf(&b, ". FastCGI costs %s more", durProse(fc.Wall.MedianNs-emb.Wall.MedianNs))
	}
	b.WriteString(".")
	return b.String(), true
}

// cgiGap is CGI's median wall time less embedded's: from the measured
// components when present, else from the decomposition bars.
func cgiGap(fk *results.Fork) (float64, bool) {
	cgi, ok1 := component(fk, results.ForkCGIRequest)
	emb, ok2 := component(fk, results.ForkEmbeddedRequest)
	if ok1 && ok2 && finite(cgi.Wall.MedianNs, emb.Wall.MedianNs) {
		return cgi.Wall.MedianNs - emb.Wall.MedianNs, true
	}
	cp, ct := decomposition(fk, results.ForkCGI)
	ep, et := decomposition(fk, results.ForkEmbedded)
	if len(cp) > 0 && len(ep) > 0 && finite(ct, et) {
		return ct - et, true
	}
	return 0, false
}

// startupWords says, for the headline, what of gap the CGI decomposition's
// start-up parts are: in stacking order when runtime-init and
// package-init are apart, else runtime-init first.
func startupWords(fk *results.Fork, gap float64) string {
	parts, _ := decomposition(fk, results.ForkCGI)
	val := func(name string) (float64, bool) {
		for _, p := range parts {
			if p.name == name && finite(p.wallNs) {
				return p.wallNs, true
			}
		}
		return 0, false
	}
	pct := func(v float64) string {
		if gap > 0 && v > 0 {
			return " (" + sig(100*v/gap, 2) + "%)"
		}
		return ""
	}
	rt, okRT := val(results.ForkRuntimeInit)
	pk, okPK := val(results.ForkPackageInit)
	if !okRT {
		return ""
	}
	var words []string
	verb := " " // " is " for the first part of the stacking order
	add := func(name, what string) {
		if v, ok := val(name); ok {
			words = append(words, durProse(v)+verb+what)
			verb = " "
		}
	}
	if !okPK {
		add(results.ForkOSSpawn, "the OS spawn")
		add(results.ForkAppInit, "the app's start-up")
		s := fmt.Sprintf("; %s of it is Go runtime start-up%s", durProse(rt), pct(rt))
		if len(words) > 0 {
			s += ", " + strings.Join(words, " and ")
		}
		return s
	}
	// runtime-init is the runtime alone, package-init the app's
	// dependencies before main: the stacking order, in words.
	verb = " is "
	add(results.ForkOSSpawn, "the OS spawn")
	add(results.ForkRuntimeInit, "the Go runtime's start-up"+pct(rt))
	what := "the app's package initialisation before main (the init functions of every package it links, the SQLite driver's among them)"
	if p := pct(pk); p != "" {
		what = "the app's package initialisation before main" + strings.TrimSuffix(p, ")") + "; the init functions of every package it links, the SQLite driver's among them)"
	}
	add(results.ForkPackageInit, what)
	add(results.ForkAppInit, "the app's own start-up")
	last := len(words) - 1
	return "; of that, " + strings.Join(words[:last], ", ") + " and " + words[last]
}

// durProse is dur for sentences: two significant digits, no trailing
// zeros ("27 ms", "0.19 ms" reads as "190 µs").
func durProse(ns float64) string {
	a := math.Abs(ns)
	unit, scale := "ns", 1.0
	switch {
	case a >= 1e9:
		unit, scale = "s", 1e9
	case a >= 1e6:
		unit, scale = "ms", 1e6
	case a >= 1e3:
		unit, scale = "µs", 1e3
	}
	return trimZeros(sig(ns/scale, 2)) + " " + unit
}

// forkSettings describes a fork-only file's run: there is no load plan,
// so it says what was measured instead of listing empty load settings.
func forkSettings(f *results.File) []kv {
	out := []kv{}
	if f.Settings.Scenario != "" {
		out = append(out, kv{"Scenario", f.Settings.Scenario})
	}
	out = append(out, kv{"Measurement", "bench fork: processes and in-process fronts started directly, no network, no load generator"})
	counts := map[results.ForkGroup]int{}
	var groups []results.ForkGroup
	minS, maxS := math.MaxInt, 0
	for _, r := range f.Fork.Rows {
		if counts[r.Group] == 0 {
			groups = append(groups, r.Group)
		}
		counts[r.Group]++
		if r.Group != results.ForkGroupDecomposition && r.Samples > 0 {
			minS, maxS = min(minS, r.Samples), max(maxS, r.Samples)
		}
	}
	var g []string
	for _, n := range groups {
		g = append(g, fmt.Sprintf("%s %d", n, counts[n]))
	}
	out = append(out, kv{"Fork rows", strings.Join(g, ", ")})
	if maxS > 0 {
		out = append(out, kv{"Samples per row", fmt.Sprintf("%d–%d (after warm-up)", minS, maxS)})
	}
	return out
}
