package spawncost

// This file turns the components into the decomposition, measures the
// amortisation curve and fits the cost model to it.

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"forkbench/results"
)

// derived is a decomposition row computed from measured rows.
func derived(d results.ForkDeployment, name, source string, samples int, wall, user, sys, cpu results.Summary) results.ForkRow {
	return results.ForkRow{
		CPU:        &cpu,
		Group:      results.ForkGroupDecomposition,
		Name:       name,
		Deployment: d,
		Params:     map[string]string{results.ForkParamSource: source},
		Samples:    samples,
		Wall:       wall,
		User:       user,
		Sys:        sys,
	}
}

// measured is a decomposition row that is a measured component.
func measured(d results.ForkDeployment, name string, r results.ForkRow) results.ForkRow {
	out := r
	out.Group = results.ForkGroupDecomposition
	out.Name = name
	out.Deployment = d
	out.Params = map[string]string{results.ForkParamSource: "measured: " + r.Name}
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
	rows := m.decompositionRows()
	m.fk.Rows = append(m.fk.Rows, rows...)
	for _, r := range rows {
		if r.Wall.MedianNs < 0 {
			m.note(results.Note{Kind: results.ForkNoteNegativePart, Subject: r.Name, Detail: []string{string(r.Deployment)}, Figures: map[string]float64{"wall_ns": r.Wall.MedianNs}})
		}
	}
	m.initNotes(ctx)
	m.orderingNote()
	m.addsUpNotes(rows)
	return nil
}

// decompositionRows derives every deployment's parts from the components.
func (m *measurer) decompositionRows() []results.ForkRow {
	floor, goNoop, startup := m.rows[m.floorNm], m.rows[results.ForkGoNoop], m.rows[results.ForkStartupOnly]
	goEmpty, haveEmpty := m.rows[results.ForkGoEmpty]
	cgiR, emb, fc := m.rows[results.ForkCGIRequest], m.rows[results.ForkEmbeddedRequest], m.rows[results.ForkFCGIRequest]
	sub := func(d results.ForkDeployment, name, source string, a results.ForkRow, bs ...results.ForkRow) results.ForkRow {
		w, u, s, c := a.Wall, a.User, a.Sys, cpuOf(a)
		for _, b := range bs {
			w, u, s, c = diff(w, b.Wall), diff(u, b.User), diff(s, b.Sys), diff(c, cpuOf(b))
		}
		return derived(d, name, source, minSamples(append(bs, a)...), w, u, s, c)
	}
	cgi, fcgi := results.ForkCGI, results.ForkFCGI
	rows := []results.ForkRow{measured(cgi, results.ForkOSSpawn, floor)}
	if haveEmpty {
		rows = append(rows,
			sub(cgi, results.ForkRuntimeInit, "derived: go-empty − "+m.floorNm+" (the Go runtime's own start)", goEmpty, floor),
			sub(cgi, results.ForkPackageInit, "derived: go-noop − go-empty (the app's dependencies' package initialisers and larger binary)", goNoop, goEmpty))
	} else {
		rows = append(rows, sub(cgi, results.ForkRuntimeInit, "derived: go-noop − "+m.floorNm+" (the Go runtime and the app's package initialisers: no go-empty row)", goNoop, floor))
	}
	return append(rows,
		sub(cgi, results.ForkAppInit, "derived: startup-only − go-noop", startup, goNoop),
		measured(cgi, results.ForkRequest, emb),
		sub(cgi, results.ForkExitReap, "derived: cgi-request − startup-only − embedded-request (the CGI gateway beyond the spawn rows' own exit and reap)", cgiR, startup, emb),
		measured(fcgi, results.ForkRequest, emb),
		sub(fcgi, results.ForkFastCGIGateway, "derived: fcgi-request − embedded-request", fc, emb),
		measured(results.ForkEmbedded, results.ForkRequest, emb))
}

// initNotes says what runtime-init and package-init hold.
func (m *measurer) initNotes(ctx context.Context) {
	goEmpty, haveEmpty := m.rows[results.ForkGoEmpty]
	if !haveEmpty {
		m.note(results.Note{Kind: results.ForkNoteInitWhole})
		return
	}
	figs := map[string]float64{}
	for k, r := range map[string]results.ForkRow{"go_empty_bytes": goEmpty, "app_bytes": m.rows[results.ForkGoNoop]} {
		if n, err := strconv.ParseFloat(r.Params["size_bytes"], 64); err == nil {
			figs[k] = n
		}
	}
	m.note(results.Note{Kind: results.ForkNoteInitSplit, Figures: figs})
	m.initTraceNote(ctx)
}

// orderingNote checks OS floor < Go runtime floor < app's runtime floor
// < app start-up < full CGI request, by median wall time.
func (m *measurer) orderingNote() {
	chain := []results.ForkRow{m.rows[m.floorNm]}
	if r, ok := m.rows[results.ForkGoEmpty]; ok {
		chain = append(chain, r)
	}
	chain = append(chain, m.rows[results.ForkGoNoop], m.rows[results.ForkStartupOnly], m.rows[results.ForkCGIRequest])
	held := results.Note{Kind: results.ForkNoteOrderHolds}
	broken := results.Note{Kind: results.ForkNoteOrderBroken}
	for i, r := range chain {
		held.Detail, held.Values = append(held.Detail, r.Name), append(held.Values, r.Wall.MedianNs)
		if lo := chain[max(i-1, 0)]; i > 0 && !(lo.Wall.MedianNs < r.Wall.MedianNs) {
			broken.Detail = append(broken.Detail, lo.Name, r.Name)
			broken.Values = append(broken.Values, lo.Wall.MedianNs, r.Wall.MedianNs)
		}
	}
	if broken.Detail == nil {
		m.note(held)
	} else {
		m.note(broken)
	}
}

// addsUpNotes sets CGI − embedded against the start-up parts (os-spawn +
// runtime-init [+ package-init] + app-init, which telescope to
// startup-only), in wall time and in CPU time.
func (m *measurer) addsUpNotes(rows []results.ForkRow) {
	cgiR, emb, startup := m.rows[results.ForkCGIRequest], m.rows[results.ForkEmbeddedRequest], m.rows[results.ForkStartupOnly]
	var start float64
	var names []string
	for _, r := range rows {
		if r.Deployment == results.ForkCGI && r.Name != results.ForkRequest && r.Name != results.ForkExitReap {
			start += r.Wall.MedianNs
			names = append(names, r.Name)
		}
	}
	gap := cgiR.Wall.MedianNs - emb.Wall.MedianNs
	rel := (gap - start) / start
	n := results.Note{Kind: results.ForkNoteAddsUp, Detail: names,
		Figures: map[string]float64{"gap_ns": gap, "rel": rel, "start_ns": start, "rest_ns": gap - start}}
	switch {
	case math.Abs(rel) <= 0.20:
	case rel > 0:
		n.Kind = results.ForkNoteGapAbove
	default:
		n.Kind = results.ForkNoteGapBelow
		delete(n.Figures, "rest_ns")
	}
	m.note(n)
	// The same in CPU time, which a shared machine disturbs less than
	// wall time (waiting for a core is not CPU time).
	cpu := results.ForkRow.CPUMedianNs
	if c := cpu(startup); c > 0 {
		gapC := cpu(cgiR) - cpu(emb)
		m.note(results.Note{Kind: results.ForkNoteCPUGap, Figures: map[string]float64{
			"cgi_cpu_ns": cpu(cgiR), "embedded_cpu_ns": cpu(emb), "gap_ns": gapC, "startup_cpu_ns": c, "rel": (gapC - c) / c}})
	}
}

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
		for _, d := range results.ForkDeployments() {
			tmpl := results.ForkRow{Group: results.ForkGroupAmortisation, Name: "work", Deployment: d, WorkN: n, Params: map[string]string{"path": path}}
			var err error
			switch d {
			case results.ForkFCGI:
				_, err = m.fcgiRow(ctx, tmpl, p, path, want)
			case results.ForkCGI:
				err = m.measureRow(ctx, tmpl, p, requestFn("cgi", m.host, path, want, childrenCPU))
			case results.ForkEmbedded:
				err = m.measureRow(ctx, tmpl, p, onThread(requestFn("embedded", m.embedded, path, want, threadCPU)))
			}
			if err != nil {
				return err
			}
		}
	}
	return m.stopFCGI(ctx)
}

// fit is a least-squares line y = a + b·x, with the 95% confidence
// interval [bLo, bHi] of its slope (equal to b when n < 3: a line through
// two points has no residual to judge it by).
type fit struct {
	a, b, r2 float64
	bLo, bHi float64
	n        int
}

// minFitSizes is the fewest distinct work sizes the cost model is fitted
// to: with two, the line passes through both points (R² = 1 whatever the
// noise) and its slope has no confidence interval.
const minFitSizes = 3

// tQuantile975 is Student's t distribution's 97.5% quantile for df
// degrees of freedom (two-sided 95%); 1.96 from 30 on.
func tQuantile975(df int) float64 {
	table := []float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045}
	if df >= 1 && df <= len(table) {
		return table[df-1]
	}
	return 1.96
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
	f := fit{a: my - b*mx, b: b, r2: 1, n: n, bLo: b, bHi: b}
	var sse float64
	for i := range xs {
		e := ys[i] - (f.a + f.b*xs[i])
		sse += e * e
	}
	if syy > 0 {
		f.r2 = 1 - sse/syy
	}
	if n >= 3 {
		half := tQuantile975(n-2) * math.Sqrt(sse/float64(n-2)/sxx)
		f.bLo, f.bHi = b-half, b+half
	}
	return f, true
}

// distinct counts the distinct values of xs.
func distinct(xs []float64) int {
	seen := map[float64]bool{}
	for _, x := range xs {
		seen[x] = true
	}
	return len(seen)
}

// model fits, per deployment, median wall (and CPU) time per request as a
// fixed cost plus a cost per unit of work (one SHA-256 round of /work),
// and derives from the fits the break-even work above which CGI's and
// FastCGI's overhead is under 10% of the request.
func (m *measurer) model(context.Context) error {
	type pts struct{ n, wall, cpu []float64 }
	by := map[results.ForkDeployment]*pts{}
	for _, r := range m.fk.Rows {
		if r.Group != results.ForkGroupAmortisation {
			continue
		}
		if by[r.Deployment] == nil {
			by[r.Deployment] = &pts{}
		}
		p := by[r.Deployment]
		p.n, p.wall, p.cpu = append(p.n, float64(r.WorkN)), append(p.wall, r.Wall.MedianNs), append(p.cpu, r.CPUMedianNs())
	}
	for _, d := range results.ForkDeployments() {
		p := by[d]
		if p == nil {
			continue
		}
		if k := distinct(p.n); k < minFitSizes {
			m.note(results.Note{Kind: results.ForkNoteFewSizes, Subject: string(d), Figures: map[string]float64{"sizes": float64(k), "need": minFitSizes}})
			continue
		}
		fw, ok := fitLine(p.n, p.wall)
		if !ok {
			continue
		}
		if !(fw.bLo > 0) {
			m.note(results.Note{Kind: results.ForkNoteSlopeInNoise, Subject: string(d), Figures: map[string]float64{"slope_lo_ns": fw.bLo, "slope_hi_ns": fw.bHi}})
			continue
		}
		fc, okC := fitLine(p.n, p.cpu)
		m.fk.Fits = append(m.fk.Fits, results.ForkFit{Deployment: d, FixedNs: fw.a, PerUnitNs: fw.b,
			PerUnitLoNs: fw.bLo, PerUnitHiNs: fw.bHi,
			HasCPU: okC, CPUFixedNs: fc.a, CPUPerUnitNs: fc.b, R2: fw.r2, Points: fw.n})
	}
	m.fk.BreakEvens = results.ForkBreakEvens(m.fk.Fits)
	return nil
}

// fmtParams is params as sorted k=v pairs.
func fmtParams(p map[string]string) string {
	var b []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if k == results.ForkParamWhat || k == results.ForkParamSource || k == results.ForkParamCPU {
			continue
		}
		b = append(b, k+"="+p[k])
	}
	return strings.Join(b, " ")
}
