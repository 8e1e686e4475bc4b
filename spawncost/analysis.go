package spawncost

// This file turns the components into the decomposition, measures the
// amortisation curve and fits the cost model to it.

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// derived is a decomposition row computed from measured rows.
func derived(target, name, source string, samples int, wall, user, sys, cpu results.Summary) results.ForkRow {
	return results.ForkRow{
		CPU:     &cpu,
		Group:   GroupDecomposition,
		Name:    name,
		Params:  map[string]string{results.ForkParamTarget: target, "source": source},
		Samples: samples,
		Wall:    wall,
		User:    user,
		Sys:     sys,
	}
}

// measured is a decomposition row that is a measured component.
func measured(target, name string, r results.ForkRow) results.ForkRow {
	out := r
	out.Group = GroupDecomposition
	out.Name = name
	out.Params = map[string]string{results.ForkParamTarget: target, "source": "measured: " + r.Name}
	return out
}

// cpuOf is a row's CPU summary, or the sum of its user and sys summaries
// field by field for a row that has none.
func cpuOf(r results.ForkRow) results.Summary {
	if r.CPU != nil {
		return *r.CPU
	}
	return results.Summary{
		MedianNs: r.User.MedianNs + r.Sys.MedianNs,
		P25Ns:    r.User.P25Ns + r.Sys.P25Ns,
		P75Ns:    r.User.P75Ns + r.Sys.P75Ns,
		MinNs:    r.User.MinNs + r.Sys.MinNs,
		MaxNs:    r.User.MaxNs + r.Sys.MaxNs,
	}
}

func minSamples(rs ...results.ForkRow) int {
	n := math.MaxInt
	for _, r := range rs {
		n = min(n, r.Samples)
	}
	return n
}

// decompose derives the components of a CGI request and checks that they
// add up:
//
//	os-spawn      = static no-op (measured)
//	runtime-init  = go-empty − static no-op
//	package-init  = go-noop − go-empty
//	app-init      = startup-only − go-noop
//	request       = embedded request (measured)
//	exit+reap     = CGI request − startup-only − embedded request
//
// runtime-init is the Go runtime's own start (an empty main); package-init
// is what the app's dependencies add before main can run (their init
// functions, the SQLite driver's included, and a larger binary to load),
// which -noop cannot skip. Without the empty Go program (no go tool),
// runtime-init = go-noop − static no-op holds both and there is no
// package-init row. Every spawn row already includes its own exit and
// reap, so the last component is what the CGI path adds beyond them: the
// host's pipes and environment, the child reading its request and writing
// a CGI response, the host parsing it, and the process-group kill and
// reap.
func (m *measurer) decompose(ctx context.Context) error {
	floor, goNoop, startup := m.rows[m.floorNm], m.rows["go-noop"], m.rows["startup-only"]
	goEmpty, haveEmpty := m.rows["go-empty"]
	cgiR, emb, fc := m.rows["cgi-request"], m.rows["embedded-request"], m.rows["fcgi-request"]
	sub := func(a, b results.ForkRow) (w, u, s, c results.Summary) {
		return diff(a.Wall, b.Wall), diff(a.User, b.User), diff(a.Sys, b.Sys), diff(cpuOf(a), cpuOf(b))
	}
	rows := []results.ForkRow{measured("cgi", "os-spawn", floor)}
	if haveEmpty {
		w, u, s, c := sub(goEmpty, floor)
		rows = append(rows, derived("cgi", "runtime-init", "derived: go-empty − "+m.floorNm+" (the Go runtime's own start)", minSamples(goEmpty, floor), w, u, s, c))
		w, u, s, c = sub(goNoop, goEmpty)
		rows = append(rows, derived("cgi", "package-init", "derived: go-noop − go-empty (the app's dependencies' package initialisers and larger binary)", minSamples(goNoop, goEmpty), w, u, s, c))
	} else {
		w, u, s, c := sub(goNoop, floor)
		rows = append(rows, derived("cgi", "runtime-init", "derived: go-noop − "+m.floorNm+" (the Go runtime and the app's package initialisers: no go-empty row)", minSamples(goNoop, floor), w, u, s, c))
	}
	w, u, s, c := sub(startup, goNoop)
	rows = append(rows, derived("cgi", "app-init", "derived: startup-only − go-noop", minSamples(startup, goNoop), w, u, s, c))
	rows = append(rows, measured("cgi", "request", emb))
	w, u, s, c = sub(cgiR, startup)
	w, u, s, c = diff(w, emb.Wall), diff(u, emb.User), diff(s, emb.Sys), diff(c, cpuOf(emb))
	rows = append(rows, derived("cgi", "exit+reap", "derived: cgi-request − startup-only − embedded-request (the CGI gateway beyond the spawn rows' own exit and reap)", minSamples(cgiR, startup, emb), w, u, s, c))
	rows = append(rows, measured("fcgi", "request", emb))
	w, u, s, c = sub(fc, emb)
	rows = append(rows, derived("fcgi", "fastcgi-gateway", "derived: fcgi-request − embedded-request", minSamples(fc, emb), w, u, s, c))
	rows = append(rows, measured("embedded", "request", emb))
	m.fk.Rows = append(m.fk.Rows, rows...)
	for _, r := range rows {
		if r.Wall.MedianNs < 0 {
			m.note("decomposition/%s (%s): negative median (%s): the difference of two noisy medians; the component is smaller than the noise.", r.Name, r.Params["target"], fmtNs(r.Wall.MedianNs))
		}
	}

	if haveEmpty {
		m.note("runtime-init is the Go runtime's own start (an empty main, %s bytes); package-init is everything the app's dependencies add before main (%s bytes of binary): their init functions, the SQLite driver's included, and loading a larger binary. -noop cannot exit earlier, so both precede any app start-up.",
			goEmpty.Params["size_bytes"], goNoop.Params["size_bytes"])
		m.initTraceNote(ctx)
	} else {
		m.note("runtime-init is everything a Go binary does before main: the runtime's start and every package initialiser linked into the app (the SQLite driver's included); without the empty Go program it cannot be split into runtime-init and package-init.")
	}

	// OS floor < Go runtime floor < app's runtime floor < app start-up <
	// full CGI request.
	chain := []results.ForkRow{floor}
	if haveEmpty {
		chain = append(chain, goEmpty)
	}
	chain = append(chain, goNoop, startup, cgiR)
	var broken, held []string
	for i, r := range chain {
		held = append(held, r.Name+" "+fmtNs(r.Wall.MedianNs))
		if i > 0 && !(chain[i-1].Wall.MedianNs < r.Wall.MedianNs) {
			broken = append(broken, fmt.Sprintf("%s (%s) ≥ %s (%s)", chain[i-1].Name, fmtNs(chain[i-1].Wall.MedianNs), r.Name, fmtNs(r.Wall.MedianNs)))
		}
	}
	if broken == nil {
		m.note("Ordering holds (median wall): %s.", strings.Join(held, " < "))
	} else {
		m.note("Ordering OS floor < Go runtime floor < app's runtime floor < app start-up < CGI request does NOT hold: %s.", strings.Join(broken, "; "))
	}

	// (CGI − embedded) against the start-up components (os-spawn +
	// runtime-init [+ package-init] + app-init, which telescope to
	// startup-only).
	var start float64
	var names []string
	for _, r := range rows {
		if r.Params["target"] == "cgi" && r.Name != "request" && r.Name != "exit+reap" {
			start += r.Wall.MedianNs
			names = append(names, r.Name)
		}
	}
	startNames := strings.Join(names, " + ")
	gap := cgiR.Wall.MedianNs - emb.Wall.MedianNs
	rel := (gap - start) / start
	switch {
	case math.Abs(rel) <= 0.20:
		m.note("Decomposition adds up: CGI − embedded = %s, within 20%% (%+.0f%%) of the start-up components' sum (%s = %s); the remaining %s is exit+reap, the CGI gateway.",
			fmtNs(gap), 100*rel, startNames, fmtNs(start), fmtNs(gap-start))
	case rel > 0:
		m.note("Decomposition does NOT add up within 20%%: CGI − embedded = %s is %+.0f%% against the start-up components' sum (%s = %s). The extra %s is what only the CGI path does: the host builds the environment and pipes, the child runs net/http/cgi (reads its request from the environment, writes a CGI response through a pipe), the host parses that response, kills the process group and reaps; a spawn row measures none of it. On a loaded machine, more context switches per request also land here.",
			fmtNs(gap), 100*rel, startNames, fmtNs(start), fmtNs(gap-start))
	default:
		m.note("Decomposition does NOT add up within 20%%: CGI − embedded = %s is %+.0f%% against the start-up components' sum (%s = %s): the CGI request was cheaper than start-up alone, which no mechanism explains; suspect noise (the machine was shared) or the page cache and CPU frequency changing between rows.",
			fmtNs(gap), 100*rel, startNames, fmtNs(start))
	}
	// The same in CPU time, which a shared machine disturbs less than
	// wall time (waiting for a core is not CPU time).
	cpu := results.ForkRow.CPUMedianNs
	if c := cpu(startup); c > 0 {
		gapC := cpu(cgiR) - cpu(emb)
		m.note("In CPU time (user+sys medians, less disturbed by a shared machine): CGI child %s − embedded %s = %s against startup-only %s (%+.0f%%).",
			fmtNs(cpu(cgiR)), fmtNs(cpu(emb)), fmtNs(gapC), fmtNs(c), 100*(gapC-c)/c)
	}
	return nil
}

// deployments of the amortisation curve, in drawing order.
func deploymentNames() []string { return []string{"cgi", "fcgi", "embedded"} }

// amortise measures /work?n= at each size through each deployment, then
// stops the daemon.
func (m *measurer) amortise(ctx context.Context) error {
	p := m.cfg.amortPlan()
	for _, n := range m.cfg.workSizes() {
		path := "/work?n=" + strconv.Itoa(n)
		want, err := m.reference(path)
		if err != nil {
			return err
		}
		params := func(d string) map[string]string {
			return map[string]string{results.ForkParamWorkN: strconv.Itoa(n), results.ForkParamDeployment: d, "path": path}
		}
		for _, d := range deploymentNames() {
			switch d {
			case "fcgi":
				if err := m.fcgiRow(ctx, GroupAmortisation, "work", params(d), p, path, want); err != nil {
					return err
				}
				continue
			case "cgi":
				ss, cut, err := collect(ctx, p, m.cgiFn(path, want))
				if err != nil {
					return err
				}
				m.add(forkRow(GroupAmortisation, "work", params(d), ss), cut, p.reps)
			case "embedded":
				ss, cut, err := collect(ctx, p, m.embeddedFn(path, want))
				if err != nil {
					return err
				}
				m.add(forkRow(GroupAmortisation, "work", params(d), ss), cut, p.reps)
			}
		}
	}
	return m.stopFCGI(ctx)
}

// fit is a least-squares line y = a + b·x.
type fit struct {
	a, b, r2 float64
	n        int
}

// fitLine fits y = a + b·x by ordinary least squares. With fewer than two
// distinct x it returns ok false.
func fitLine(xs, ys []float64) (fit, bool) {
	n := len(xs)
	if n < 2 || len(ys) != n {
		return fit{}, false
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/float64(n), sy/float64(n)
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return fit{}, false
	}
	b := sxy / sxx
	f := fit{a: my - b*mx, b: b, r2: 1, n: n}
	if syy > 0 {
		var sse float64
		for i := range xs {
			e := ys[i] - (f.a + f.b*xs[i])
			sse += e * e
		}
		f.r2 = 1 - sse/syy
	}
	return f, true
}

// model fits, per deployment, median wall (and CPU) time per request as a
// fixed cost plus a cost per unit of work (one SHA-256 round of /work),
// and states the break-even work above which CGI's and FastCGI's
// overhead is under 10% of the request.
func (m *measurer) model(context.Context) error {
	type pts struct{ n, wall, cpu []float64 }
	by := map[string]*pts{}
	for _, r := range m.fk.Rows {
		if r.Group != GroupAmortisation {
			continue
		}
		n, err := strconv.Atoi(r.Params[results.ForkParamWorkN])
		if err != nil {
			continue
		}
		d := r.Params[results.ForkParamDeployment]
		if by[d] == nil {
			by[d] = &pts{}
		}
		by[d].n = append(by[d].n, float64(n))
		by[d].wall = append(by[d].wall, r.Wall.MedianNs)
		by[d].cpu = append(by[d].cpu, r.CPUMedianNs())
	}
	fits := map[string]fit{}
	for _, d := range deploymentNames() {
		p := by[d]
		if p == nil {
			continue
		}
		fw, ok := fitLine(p.n, p.wall)
		if !ok {
			m.note("model/%s: fewer than two work sizes; no fit.", d)
			continue
		}
		fc, _ := fitLine(p.n, p.cpu)
		fits[d] = fw
		params := func(unit string, cpu float64) map[string]string {
			return map[string]string{results.ForkParamDeployment: d, "unit": unit,
				"r2": strconv.FormatFloat(fw.r2, 'f', 4, 64), "points": strconv.Itoa(fw.n),
				results.ForkParamCPUNs: strconv.FormatFloat(cpu, 'f', 1, 64)}
		}
		// Wall holds the coefficient; Params["cpu_ns"] the same
		// coefficient fitted to CPU time (user+sys).
		m.fk.Rows = append(m.fk.Rows,
			results.ForkRow{Group: GroupModel, Name: "fixed", Params: params("ns per request", fc.a), Samples: fw.n, Wall: point(fw.a)},
			results.ForkRow{Group: GroupModel, Name: "per-work-unit", Params: params("ns per /work round", fc.b), Samples: fw.n, Wall: point(fw.b)},
		)
	}
	emb, ok := fits["embedded"]
	if !ok {
		return nil
	}
	for _, d := range []string{"cgi", "fcgi"} {
		f, ok := fits[d]
		if !ok {
			continue
		}
		m.note("model/%s: wall ≈ %s + %.1f ns × n per request (R² %.3f); embedded ≈ %s + %.1f ns × n.", d, fmtNs(f.a), f.b, f.r2, fmtNs(emb.a), emb.b)
		m.note("%s", breakEven(d, f, emb, by[d].n, by[d].wall, by["embedded"].wall))
	}
	return nil
}

// breakEven states the work per request above which d's overhead share,
// 1 − embedded/d, falls under 10%: from the fitted lines, and where the
// measured points cross it.
func breakEven(d string, f, emb fit, ns, wall, embWall []float64) string {
	up := strings.ToUpper(d)
	// share(n) = 1 − (a_e + b_e·n)/(a + b·n) = 0.1  ⇔  n = (0.9a − a_e)/(b_e − 0.9b)
	var b strings.Builder
	if den := emb.b - 0.9*f.b; den > 0 {
		n := max(0, (0.9*f.a-emb.a)/den)
		fmt.Fprintf(&b, "Break-even %s: above ~%s of work per request, %s's overhead is under 10%% (fitted lines: n ≈ %.0f /work rounds", d, fmtNs(emb.a+emb.b*n), up, n)
	} else {
		fmt.Fprintf(&b, "Break-even %s: none; the fitted lines never bring %s's overhead under 10%% (its cost grows with the work at least as fast as the work's own", d, up)
	}
	idx := make([]int, len(ns))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return cmp.Compare(ns[x], ns[y]) })
	crossed := false
	for _, i := range idx {
		if i < len(embWall) && wall[i] > 0 && 1-embWall[i]/wall[i] < 0.10 {
			fmt.Fprintf(&b, "; measured: first under 10%% at n = %.0f, %s of work, share %.0f%%)", ns[i], fmtNs(embWall[i]), 100*(1-embWall[i]/wall[i]))
			crossed = true
			break
		}
	}
	if !crossed {
		fmt.Fprintf(&b, "; no measured size is under 10%%)")
	}
	// The usual rule of thumb counts only the fixed overhead: it is under
	// 10% once the work is 9× the fixed-cost difference.
	if over := f.a - emb.a; over > 0 {
		fmt.Fprintf(&b, ". Counting only the fixed overhead (%s), the rule of thumb is ~%s of work", fmtNs(over), fmtNs(9*over))
	}
	b.WriteString(".")
	return b.String()
}

// fmtNs formats nanoseconds for notes and tables.
func fmtNs(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.2fs", ns/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

// fmtParams is params as sorted k=v pairs.
func fmtParams(p map[string]string) string {
	var b []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if k == "what" || k == "source" || k == results.ForkParamCPU {
			continue
		}
		b = append(b, k+"="+p[k])
	}
	return strings.Join(b, " ")
}
