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
	if !cpuMeasured(r) {
		return dash
	}
	return dur(r.CPUMedianNs())
}

func componentsTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "components — measured totals, each a real process or the real handler started directly, no network (median and interquartile range of the samples, warm-up discarded, outliers by Tukey's fences counted, not dropped).",
		Header: []string{"component", "samples", "outliers", "wall p50", "wall p25–p75", "CPU p50", "what"},
	}
	t.Right = rightFrom(len(t.Header), 1)
	t.Right[len(t.Right)-1] = false
	for _, r := range groupRows(fk, GroupComponents) {
		what := r.Params["what"]
		if what == "" {
			what = params(r.Params)
		}
		t.Rows = append(t.Rows, []string{r.Name, itoa(r.Samples), itoa(r.Outliers), dur(r.Wall.MedianNs), iqr(r.Wall), cpuCell(r), what})
	}
	return t
}

func decompositionTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "decomposition — each deployment's request as components (median wall time; derived components are differences of medians, not distributions).",
		Header: []string{"deployment", "component", "wall p50", "share", "source"},
		Right:  []bool{false, false, true, true, false},
	}
	var ts []string
	for _, r := range groupRows(fk, GroupDecomposition) {
		if !slices.Contains(ts, rowTarget(r)) {
			ts = append(ts, rowTarget(r))
		}
	}
	for _, tg := range ts {
		parts, total := decomposition(fk, tg)
		for _, p := range parts {
			share := dash
			if total > 0 && finite(p.wallNs) {
				share = sig(100*p.wallNs/total, 2) + "%"
			}
			src := ""
			for _, r := range groupRows(fk, GroupDecomposition) {
				if rowTarget(r) == tg && r.Name == p.name {
					src = r.Params["source"]
				}
			}
			t.Rows = append(t.Rows, []string{displayName(tg), p.name, dur(p.wallNs), share, src})
		}
		t.Rows = append(t.Rows, []string{displayName(tg), "total", dur(total), "100%", "sum of the components"})
	}
	return t
}

func amortisationTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "amortisation — one request doing n rounds of /work through each deployment (median wall time; overhead share = 1 − embedded / deployment).",
		Header: []string{"work n", "deployment", "samples", "wall p50", "wall p25–p75", "CPU p50 (user+sys)", "overhead share"},
		Right:  []bool{true, false, true, true, true, true, true},
	}
	rows := groupRows(fk, GroupAmortisation)
	base := map[string]float64{}
	for _, r := range rows {
		if r.Params[ParamDeployment] == TargetEmbedded {
			base[r.Params[ParamWorkN]] = r.Wall.MedianNs
		}
	}
	for _, r := range rows {
		share := dash
		if b, ok := base[r.Params[ParamWorkN]]; ok && r.Params[ParamDeployment] != TargetEmbedded && r.Wall.MedianNs > 0 {
			share = sig(100*(1-b/r.Wall.MedianNs), 2) + "%"
		}
		cpu := dash
		if cpuMeasured(r) {
			cpu = dur(r.CPUMedianNs())
		}
		t.Rows = append(t.Rows, []string{r.Params[ParamWorkN], r.Params[ParamDeployment], itoa(r.Samples), dur(r.Wall.MedianNs), iqr(r.Wall), cpu, share})
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
	ms := costModels(fk)
	emb, haveEmb := modelOf(ms, TargetEmbedded)
	ws := workScale{}
	if haveEmb && emb.perUnit > 0 {
		ws.perUnitNs = emb.perUnit
	}
	be := func(m costModel, cpu bool) string {
		if !haveEmb || m.deployment == TargetEmbedded || (cpu && (!m.hasCPU() || !emb.hasCPU())) {
			return dash
		}
		a, b := m.coef(cpu)
		ae, bE := emb.coef(cpu)
		if n, ok := breakEven(a, b, ae, bE); ok {
			return ws.text(n)
		}
		return "never"
	}
	for _, m := range ms {
		r2 := dash
		if finite(m.r2) {
			r2 = strconv.FormatFloat(m.r2, 'f', 3, 64)
		}
		t.Rows = append(t.Rows, []string{m.deployment, dur(m.fixed), dur(m.perUnit), dur(m.cpuFixed), dur(m.cpuPerUnit), r2, itoa(m.points),
			be(m, false), be(m, true)})
	}
	return t
}

func factorsTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "factors — what makes a spawn cheaper or dearer, each factor's arms measured interleaved (median and interquartile range; relative to the factor's first arm).",
		Header: []string{"factor", "arm", "samples", "outliers", "wall p50", "wall p25–p75", "vs first arm", "CPU p50", "params"},
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
			t.Rows = append(t.Rows, []string{f.name, armLabel(f, r), itoa(r.Samples), itoa(r.Outliers), dur(r.Wall.MedianNs), iqr(r.Wall), rel, cpuCell(r), params(r.Params)})
		}
	}
	return t
}

func concurrencyTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "concurrency — k goroutines spawning at once (spawns per second over the batch; wall time of one spawn, median and interquartile range).",
		Header: []string{"spawners", "program", "spawns/s", "speed-up", "samples", "outliers", "wall p50", "wall p25–p75"},
		Right:  []bool{true, false, true, true, true, true, true, true},
	}
	for _, l := range spawnLevels(fk) {
		tp := dash
		if finite(l.throughput) {
			tp = rate(l.throughput)
		}
		sp := l.row.Params["speedup"]
		if sp == "" {
			sp = dash
		} else {
			sp += "×"
		}
		t.Rows = append(t.Rows, []string{itoa(l.k), l.row.Params["program"], tp, sp, itoa(l.row.Samples), itoa(l.row.Outliers), dur(l.row.Wall.MedianNs), iqr(l.row.Wall)})
	}
	return t
}

func daemonTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "daemon — the FastCGI daemon over its life: cold start, first request, steady state, restart after SIGKILL (median and interquartile range; CPU not measured).",
		Header: []string{"event", "samples", "outliers", "wall p50", "wall p25–p75", "what"},
		Right:  []bool{false, true, true, true, true, false},
	}
	for _, r := range groupRows(fk, GroupDaemon) {
		what := r.Params["what"]
		if what == "" {
			what = params(r.Params)
		}
		t.Rows = append(t.Rows, []string{r.Name, itoa(r.Samples), itoa(r.Outliers), dur(r.Wall.MedianNs), iqr(r.Wall), what})
	}
	return t
}

// otherForkTable holds the rows of groups this report does not know.
func otherForkTable(fk *results.Fork) table {
	t := table{
		Title:  forkTableTitle + "rows of other groups (median and interquartile range of samples).",
		Header: []string{"group", "name", "params", "samples", "outliers", "wall p50", "wall p25–p75", "CPU p50"},
		Right:  []bool{false, false, false, true, true, true, true, true},
	}
	for _, r := range fk.Rows {
		if slices.Contains(knownForkGroups(), r.Group) {
			continue
		}
		t.Rows = append(t.Rows, []string{r.Group, r.Name, params(r.Params), itoa(r.Samples), itoa(r.Outliers), dur(r.Wall.MedianNs), iqr(r.Wall), cpuCell(r)})
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
	var gap float64
	have := false
	cgi, ok1 := component(fk, "cgi-request")
	emb, ok2 := component(fk, "embedded-request")
	if ok1 && ok2 && finite(cgi.Wall.MedianNs, emb.Wall.MedianNs) {
		gap, have = cgi.Wall.MedianNs-emb.Wall.MedianNs, true
	} else {
		cp, ct := decomposition(fk, TargetCGI)
		ep, et := decomposition(fk, TargetEmbedded)
		if len(cp) > 0 && len(ep) > 0 && finite(ct, et) {
			gap, have = ct-et, true
		}
	}
	if !have {
		return "", false
	}
	parts, _ := decomposition(fk, TargetCGI)
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
	var b strings.Builder
	fmt.Fprintf(&b, "A CGI request costs %s more wall time than the same request in-process (fork decomposition, medians)", durProse(gap))
	rt, okRT := val("runtime-init")
	if pk, ok := val("package-init"); okRT && ok {
		// runtime-init is the runtime alone, package-init the app's
		// dependencies before main: the stacking order, in words.
		type piece struct{ v, what string }
		var ps []piece
		if v, ok := val("os-spawn"); ok {
			ps = append(ps, piece{durProse(v), "the OS spawn"})
		}
		ps = append(ps, piece{durProse(rt), "the Go runtime's start-up" + pct(rt)})
		what := "the app's package initialisation before main (the init functions of every package it links, the SQLite driver's among them)"
		if p := pct(pk); p != "" {
			what = "the app's package initialisation before main" + strings.TrimSuffix(p, ")") + "; the init functions of every package it links, the SQLite driver's among them)"
		}
		ps = append(ps, piece{durProse(pk), what})
		if v, ok := val("app-init"); ok {
			ps = append(ps, piece{durProse(v), "the app's own start-up"})
		}
		var words []string
		for i, p := range ps {
			verb := " "
			if i == 0 {
				verb = " is "
			}
			words = append(words, p.v+verb+p.what)
		}
		last := len(words) - 1
		b.WriteString("; of that, " + strings.Join(words[:last], ", ") + " and " + words[last])
	} else if okRT {
		fmt.Fprintf(&b, "; %s of it is Go runtime start-up%s", durProse(rt), pct(rt))
		var rest []string
		if v, ok := val("os-spawn"); ok {
			rest = append(rest, durProse(v)+" the OS spawn")
		}
		if v, ok := val("app-init"); ok {
			rest = append(rest, durProse(v)+" the app's start-up")
		}
		if len(rest) > 0 {
			b.WriteString(", " + strings.Join(rest, " and "))
		}
	}
	if fc, ok := component(fk, "fcgi-request"); ok && ok2 && finite(fc.Wall.MedianNs) {
		fmt.Fprintf(&b, ". FastCGI costs %s more", durProse(fc.Wall.MedianNs-emb.Wall.MedianNs))
	}
	b.WriteString(".")
	return b.String(), true
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
	counts := map[string]int{}
	var groups []string
	minS, maxS := math.MaxInt, 0
	for _, r := range f.Fork.Rows {
		if counts[r.Group] == 0 {
			groups = append(groups, r.Group)
		}
		counts[r.Group]++
		if r.Group != GroupModel && r.Group != GroupDecomposition && r.Samples > 0 {
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
