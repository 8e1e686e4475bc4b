package reports

// This file draws what makes a spawn cheaper or dearer (fork rows of group
// "factors") and spawning under concurrency (group "concurrency").
//
// Factors: rows of one Name are the arms of one factor (binary variants,
// the child's GOMAXPROCS or GOGC, the parent's resident size), measured
// interleaved; the first arm is the baseline. Each factor spawns a
// different program, so the bars show each arm's median wall time relative
// to its factor's first arm, with the absolute median written above it.
//
// Concurrency: rows of Spawners goroutines spawning at once,
// ThroughputPerS the spawns per second over the batch, Wall the per-spawn
// wall time.

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"forkbench/results"
)

// factorTitle is how a factor is named under its bars.
func factorTitle(f factor) string {
	name := map[string]string{
		results.ForkFactorBinary:      "binary size / linkage",
		results.ForkFactorPackageInit: "package init vs file size",
		results.ForkFactorGOMAXPROCS:  "child GOMAXPROCS",
		results.ForkFactorGOGC:        "child GOGC",
		results.ForkFactorParentRSS:   "parent resident size",
	}[f.name]
	if name == "" {
		name = f.name
	}
	prog, spawned := f.arms[0].Params[results.ForkParamProgram], f.arms[0].Params[results.ForkParamSpawned]
	same := true // every arm runs the same program
	for _, r := range f.arms {
		same = same && r.Params[results.ForkParamProgram] == prog
	}
	switch {
	case prog != "" && same:
		return name + "\n" + prog
	case spawned != "":
		return name + "\nspawns " + spawned
	}
	return name
}

// armColor is the fill of a factor's i-th arm: the baseline grey, the
// others in the component palette.
func armColor(i int) color.Color {
	if i == 0 {
		return color.Gray{Y: 0xc8}
	}
	return componentColor(i - 1)
}

// factorsChart draws each factor's arms side by side, relative to its
// first arm.
func factorsChart(s *Summary) (Chart, bool) {
	type group struct {
		title string
		f     factor
	}
	var groups []group
	for fi, f := range s.Files {
		for _, fc := range factorsOf(f.Fork) {
			if len(fc.arms) == 0 || !(fc.arms[0].Wall.MedianNs > 0) || !finite(fc.arms[0].Wall.MedianNs) {
				continue // no baseline to be relative to
			}
			t := factorTitle(fc)
			if len(s.Files) > 1 {
				t += "\n(" + s.Labels[fi] + ")"
			}
			groups = append(groups, group{t, fc})
		}
	}
	if len(groups) == 0 {
		return Chart{}, false
	}
	title := "What makes a spawn cheaper or dearer (fork factors: median wall time per spawn relative to each factor's first arm; bars: p25–p75)"
	p := newPlot(title, "", "median wall time, % of the factor's first arm")
	var cats []string
	most := 0
	for _, g := range groups {
		cats = append(cats, g.title)
		most = max(most, len(g.f.arms))
	}
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.5, float64(len(cats))-0.5
	slot := 0.8 / float64(most)
	var labels plotter.XYLabels
	hi := 100.0
	for gi, g := range groups {
		base := g.f.arms[0].Wall.MedianNs
		n := len(g.f.arms)
		for ai, r := range g.f.arms {
			v := 100 * r.Wall.MedianNs / base
			if !finite(v) {
				continue
			}
			x := float64(gi) + (float64(ai)-float64(n-1)/2)*slot
			p.Add(&bar{x: x, half: slot * 0.42, y: v, fill: armColor(ai), line: color.Gray{Y: 0x33}})
			top := v
			lo, up := 100*r.Wall.P25Ns/base, 100*r.Wall.P75Ns/base
			if finite(lo, up) && up > lo {
				if eb, err := plotter.NewYErrorBars(errBars{x: x, y: v, lo: v - lo, hi: up - v}); err == nil {
					eb.LineStyle.Width = vg.Points(1)
					p.Add(eb)
					top = math.Max(top, up)
				}
			}
			hi = math.Max(hi, top)
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: top})
			labels.Labels = append(labels.Labels, armLabel(g.f, r)+"\n"+dur(r.Wall.MedianNs))
		}
	}
	addLabels(p, labels, draw.YBottom, 8, 3)
	if ref, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 100}, {X: p.X.Max, Y: 100}}); err == nil {
		ref.Color, ref.Width, ref.Dashes = color.Gray{Y: 0x66}, vg.Points(0.8), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ref)
	}
	p.Y.Min, p.Y.Max = 0, hi*1.2 // room for the two-line labels
	leg := plot.NewLegend()
	for i := range most {
		name := fmt.Sprintf("arm %d", i+1)
		if i == 0 {
			name = "arm 1: baseline (100%)"
		}
		leg.Add(name, swatch{fill: armColor(i), line: color.Gray{Y: 0x33}})
	}
	return Chart{Name: "fork-factors", Title: title, plot: p, legend: leg}, true
}

// spawnLevels returns fk's concurrency rows by spawners.
func spawnLevels(fk *results.Fork) []results.ForkRow {
	var out []results.ForkRow
	for _, r := range groupRows(fk, results.ForkGroupConcurrency) {
		if r.Spawners > 0 {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b results.ForkRow) int { return cmp.Compare(a.Spawners, b.Spawners) })
	return out
}

// spawnSeries are one file's concurrency curves: spawns per second (tp)
// beside what perfect scaling to the file's CPUs would give (ideal), and
// the wall time of one spawn (lat, ms, with its p25–p75 bars) beside what
// full serialisation would give (serial).
type spawnSeries struct {
	tp, ideal, lat, serial plotter.XYs
	bars                   []errBars
	ticks                  []int
	tmax, lmax             float64
}

// concurrencySeries computes fk's spawnSeries on a machine of cpus CPUs.
func concurrencySeries(fk *results.Fork, cpus int) spawnSeries {
	var ss spawnSeries
	lv := spawnLevels(fk)
	if len(lv) == 0 {
		return ss
	}
	first := lv[0]
	for _, l := range lv {
		x, k := float64(l.Spawners), float64(l.Spawners)/float64(first.Spawners)
		ss.ticks = append(ss.ticks, l.Spawners)
		if l.ThroughputPerS > 0 {
			ss.tp = append(ss.tp, plotter.XY{X: x, Y: l.ThroughputPerS})
			ss.tmax = math.Max(ss.tmax, l.ThroughputPerS)
			if first.ThroughputPerS > 0 && cpus > 0 {
				v := first.ThroughputPerS * math.Min(k, float64(cpus))
				ss.ideal = append(ss.ideal, plotter.XY{X: x, Y: v})
				ss.tmax = math.Max(ss.tmax, v)
			}
		}
		w := l.Wall
		if m := w.MedianNs / 1e6; finite(m) {
			ss.lat = append(ss.lat, plotter.XY{X: x, Y: m})
			ss.lmax = math.Max(ss.lmax, math.Max(m, w.P75Ns/1e6))
			if w.P75Ns >= w.P25Ns {
				ss.bars = append(ss.bars, errBars{x: x, y: m, lo: m - w.P25Ns/1e6, hi: w.P75Ns/1e6 - m})
			}
			if sv := first.Wall.MedianNs / 1e6 * k; finite(sv) {
				ss.serial = append(ss.serial, plotter.XY{X: x, Y: sv})
				ss.lmax = math.Max(ss.lmax, sv)
			}
		}
	}
	return ss
}

// addCurve draws xys on p as a line (with glyph dots when glyph is not
// nil) and returns what its legend entry shows; nil when nothing was
// drawn.
func addCurve(p *plot.Plot, xys plotter.XYs, c color.Color, dashes []vg.Length, glyph draw.GlyphDrawer) []plot.Thumbnailer {
	if len(xys) == 0 {
		return nil
	}
	ln, sc, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil
	}
	ln.Color, ln.Width, ln.Dashes = c, vg.Points(1.5), dashes
	p.Add(ln)
	if glyph == nil {
		return []plot.Thumbnailer{ln}
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: glyph}
	p.Add(sc)
	return []plot.Thumbnailer{ln, sc}
}

// concurrencyChart draws spawns per second (top) and the wall time of one
// spawn (bottom) against the number of concurrent spawners, each beside
// the line it would follow if spawns scaled perfectly (top) or were fully
// serialised (bottom).
func concurrencyChart(s *Summary) (Chart, bool) {
	title := "Spawning under concurrency (fork concurrency rows: k goroutines spawning the OS-floor program at once)"
	latTitle := "Wall time of one spawn (median; bars: p25–p75)"
	top := newPlot(title, "concurrent spawners", "spawns per second")
	top.Title.Text += "\nSpawns per second, all spawners together"
	bottom := newPlot(latTitle, "concurrent spawners", "wall time per spawn (ms)")
	leg := plot.NewLegend()
	st := newStyler(s)
	var ticks []plot.Tick
	kmax, tmax, lmax := 0, 0.0, 0.0
	drawnTop, drawnBottom := false, false
	grey := color.Gray{Y: 0x77}
	for fi, f := range s.Files {
		ss := concurrencySeries(f.Fork, f.Environment.CPUs)
		lk := st.look(fi, TargetCGI)
		name := "measured"
		if len(s.Files) > 1 {
			name += " (" + s.Labels[fi] + ")"
		}
		for _, k := range ss.ticks {
			if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == float64(k) }) {
				ticks = append(ticks, plot.Tick{Value: float64(k), Label: itoa(k)})
			}
			kmax = max(kmax, k)
		}
		tmax, lmax = math.Max(tmax, ss.tmax), math.Max(lmax, ss.lmax)
		for _, b := range ss.bars {
			if e, err := plotter.NewYErrorBars(b); err == nil {
				e.LineStyle.Color, e.LineStyle.Width = lk.color, vg.Points(1)
				bottom.Add(e)
			}
		}
		if th := addCurve(top, ss.tp, lk.color, lk.dashes, lk.glyph); th != nil {
			leg.Add(name+" spawns/s (top)", th...)
			drawnTop = true
		}
		if th := addCurve(bottom, ss.lat, lk.color, lk.dashes, lk.glyph); th != nil {
			leg.Add(name+" wall per spawn (bottom)", th...)
			drawnBottom = true
		}
		if th := addCurve(top, ss.ideal, grey, []vg.Length{vg.Points(4), vg.Points(3)}, nil); th != nil {
			leg.Add(fmt.Sprintf("if spawns scaled to %d CPUs (top)", f.Environment.CPUs), th...)
		}
		if th := addCurve(bottom, ss.serial, lighten(grey, 0.3), []vg.Length{vg.Points(1.5), vg.Points(2)}, nil); th != nil {
			leg.Add("if spawns were serialised (bottom)", th...)
		}
	}
	if !drawnBottom {
		return Chart{}, false
	}
	slices.SortFunc(ticks, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) })
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = 0.5, float64(kmax)+0.5
		p.Y.Min = 0
	}
	top.Y.Max = math.Max(top.Y.Max, tmax) * 1.1
	bottom.Y.Max = math.Max(bottom.Y.Max, lmax) * 1.1
	if !drawnTop {
		bottom.Title.Text = wrap(title, titleWidth) + "\n" + latTitle
		return Chart{Name: "fork-concurrency", Title: title, plot: bottom, legend: leg}, true
	}
	return Chart{Name: "fork-concurrency", Title: title, plot: top, lower: bottom, legend: leg, height: chartHeight * 8 / 5}, true
}
