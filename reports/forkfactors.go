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
// Concurrency: rows with Params["spawners"] (an integer) and
// Params["throughput_per_s"] (spawns per second over the batch), Wall the
// per-spawn wall time.

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"forkbench/results"
)

// factorTitle is how a factor is named under its bars.
func factorTitle(f factor) string {
	name := map[string]string{
		"binary":       "binary size / linkage",
		"package-init": "package init vs file size",
		"gomaxprocs":   "child GOMAXPROCS",
		"gogc":         "child GOGC",
		"parent-rss":   "parent resident size",
	}[f.name]
	if name == "" {
		name = f.name
	}
	a := f.arms[0].Params
	same := true // every arm runs the same program
	for _, r := range f.arms {
		same = same && r.Params["program"] == a["program"]
	}
	switch {
	case a["program"] != "" && same:
		return name + "\n" + a["program"]
	case a["spawned"] != "":
		return name + "\nspawns " + a["spawned"]
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
	if lb, err := plotter.NewLabels(labels); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].Font.Size = vg.Points(8)
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
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

// spawnLevel is one concurrency row.
type spawnLevel struct {
	k          int
	throughput float64 // spawns per second; NaN when not recorded
	row        results.ForkRow
}

// spawnLevels returns fk's concurrency rows by spawners.
func spawnLevels(fk *results.Fork) []spawnLevel {
	var out []spawnLevel
	for _, r := range groupRows(fk, GroupConcurrency) {
		k, err := strconv.Atoi(r.Params[ParamSpawners])
		if err != nil || k <= 0 {
			continue
		}
		tp := math.NaN()
		if v, err := strconv.ParseFloat(r.Params[ParamThroughput], 64); err == nil && finite(v) {
			tp = v
		}
		out = append(out, spawnLevel{k, tp, r})
	}
	slices.SortStableFunc(out, func(a, b spawnLevel) int { return cmp.Compare(a.k, b.k) })
	return out
}

// concurrencyChart draws spawns per second (top) and the wall time of one
// spawn (bottom) against the number of concurrent spawners, each beside
// the line it would follow if spawns scaled perfectly (top) or were fully
// serialised (bottom).
func concurrencyChart(s *Summary) (Chart, bool) {
	title := "Spawning under concurrency (fork concurrency rows: k goroutines spawning the OS-floor program at once)"
	tpTitle := "Spawns per second, all spawners together"
	latTitle := "Wall time of one spawn (median; bars: p25–p75)"
	top := newPlot(title, "concurrent spawners", "spawns per second")
	top.Title.Text += "\n" + tpTitle
	bottom := newPlot(latTitle, "concurrent spawners", "wall time per spawn (ms)")
	leg := plot.NewLegend()
	st := newStyler(s)
	var ticks []plot.Tick
	kmax, tmax, lmax := 0, 0.0, 0.0
	drawnTop, drawnBottom := false, false
	for fi, f := range s.Files {
		lv := spawnLevels(f.Fork)
		if len(lv) == 0 {
			continue
		}
		lk := st.look(fi, TargetCGI)
		name := "measured"
		if len(s.Files) > 1 {
			name += " (" + s.Labels[fi] + ")"
		}
		var tp, lat, idealTp, serial plotter.XYs
		first := lv[0]
		cpus := f.Environment.CPUs
		for _, l := range lv {
			x := float64(l.k)
			if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == x }) {
				ticks = append(ticks, plot.Tick{Value: x, Label: itoa(l.k)})
			}
			kmax = max(kmax, l.k)
			if finite(l.throughput) {
				tp = append(tp, plotter.XY{X: x, Y: l.throughput})
				tmax = math.Max(tmax, l.throughput)
				if finite(first.throughput) && cpus > 0 {
					v := first.throughput * math.Min(float64(l.k)/float64(first.k), float64(cpus))
					idealTp = append(idealTp, plotter.XY{X: x, Y: v})
					tmax = math.Max(tmax, v)
				}
			}
			if m := l.row.Wall.MedianNs / 1e6; finite(m) {
				lat = append(lat, plotter.XY{X: x, Y: m})
				lmax = math.Max(lmax, math.Max(m, l.row.Wall.P75Ns/1e6))
				if e, err := plotter.NewYErrorBars(errBars{x: x, y: m, lo: m - l.row.Wall.P25Ns/1e6, hi: l.row.Wall.P75Ns/1e6 - m}); err == nil && l.row.Wall.P75Ns >= l.row.Wall.P25Ns {
					e.LineStyle.Color, e.LineStyle.Width = lk.color, vg.Points(1)
					bottom.Add(e)
				}
				sv := first.row.Wall.MedianNs / 1e6 * float64(l.k) / float64(first.k)
				if finite(sv) {
					serial = append(serial, plotter.XY{X: x, Y: sv})
					lmax = math.Max(lmax, sv)
				}
			}
		}
		line := func(p *plot.Plot, xys plotter.XYs, c color.Color, dashes []vg.Length, dots bool) (plot.Thumbnailer, plot.Thumbnailer) {
			if len(xys) == 0 {
				return nil, nil
			}
			ln, sc, err := plotter.NewLinePoints(xys)
			if err != nil {
				return nil, nil
			}
			ln.Color, ln.Width, ln.Dashes = c, vg.Points(1.5), dashes
			p.Add(ln)
			if !dots {
				return ln, nil
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: lk.glyph}
			p.Add(sc)
			return ln, sc
		}
		if ln, sc := line(top, tp, lk.color, lk.dashes, true); ln != nil {
			leg.Add(name+" spawns/s (top)", ln, sc)
			drawnTop = true
		}
		if ln, sc := line(bottom, lat, lk.color, lk.dashes, true); ln != nil {
			leg.Add(name+" wall per spawn (bottom)", ln, sc)
			drawnBottom = true
		}
		grey := color.Gray{Y: 0x77}
		dash := []vg.Length{vg.Points(4), vg.Points(3)}
		if ln, _ := line(top, idealTp, grey, dash, false); ln != nil {
			leg.Add(fmt.Sprintf("if spawns scaled to %d CPUs (top)", cpus), ln)
		}
		if ln, _ := line(bottom, serial, lighten(grey, 0.3), []vg.Length{vg.Points(1.5), vg.Points(2)}, false); ln != nil {
			leg.Add("if spawns were serialised (bottom)", ln)
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
