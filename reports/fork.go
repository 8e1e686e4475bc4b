package reports

// This file draws the spawn-cost decomposition written by `bench fork`
// (results.File.Fork). It coordinates with the fork package only through
// the row naming below; rows it does not recognise still appear in the
// fork table, just not in these charts.
//
// Decomposition ("where the CGI millisecond goes"): rows with
// Group "decomposition", one per component, Name the component and
// Params["target"] the deployment it belongs to ("cgi" when absent;
// "fcgi" and "embedded" for the bars drawn beside CGI). Components stack
// in this order, any other names after them in row order:
//
//	os-spawn, runtime-init, package-init, app-init, request, exit+reap
//
// runtime-init is the Go runtime's own start (an empty Go program less the
// OS floor), package-init what the app's dependencies add before main
// (their init functions, the SQLite driver's among them, and a larger
// binary); files written before package-init existed fold it into
// runtime-init.
//
// The bar height is the sum of the components' median wall times.
//
// Amortisation: rows with Group "amortisation", Params["work_n"] (an
// integer, the work done per request) and Params["deployment"] ("cgi",
// "fcgi", "embedded"), Wall the median wall time of one request. The
// overhead share of deployment d at work n is 1 − wall(embedded, n) /
// wall(d, n), drawn against the embedded wall time at n (the work itself);
// without embedded rows there is no baseline and the chart is skipped.

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

// Fork row groups and parameters the charts read.
const (
	GroupDecomposition = results.ForkGroupDecomposition
	GroupAmortisation  = results.ForkGroupAmortisation
	ParamTarget        = results.ForkParamTarget
	ParamWorkN         = results.ForkParamWorkN
	ParamDeployment    = results.ForkParamDeployment
)

// forkComponents is the stacking order of the decomposition.
func forkComponents() []string {
	return []string{"os-spawn", "runtime-init", "package-init", "app-init", "request", "exit+reap"}
}

// part is one component of a deployment's decomposition.
type part struct {
	name   string
	wallNs float64
}

func rowTarget(r results.ForkRow) string {
	if t := r.Params[ParamTarget]; t != "" {
		return t
	}
	return TargetCGI
}

// decomposition returns target's components in stacking order and their
// total median wall time.
func decomposition(fk *results.Fork, target string) ([]part, float64) {
	known := forkComponents()
	var parts []part
	for _, r := range fk.Rows {
		if r.Group == GroupDecomposition && rowTarget(r) == target {
			parts = append(parts, part{r.Name, r.Wall.MedianNs})
		}
	}
	rank := func(n string) int {
		if i := slices.Index(known, n); i >= 0 {
			return i
		}
		return len(known)
	}
	slices.SortStableFunc(parts, func(a, b part) int { return cmp.Compare(rank(a.name), rank(b.name)) })
	total := 0.0
	for _, p := range parts {
		total += p.wallNs
	}
	return parts, total
}

// componentColor is a fixed colour per component, distinct from the
// target palette because a stack's segments are components, not targets.
func componentColor(i int) color.Color {
	p := []color.RGBA{
		{0x4e, 0x79, 0xa7, 0xff}, // os-spawn
		{0xf2, 0x8e, 0x2b, 0xff}, // runtime-init
		{0xed, 0xc9, 0x48, 0xff}, // package-init
		{0xe1, 0x57, 0x59, 0xff}, // app-init
		{0x76, 0xb7, 0xb2, 0xff}, // request
		{0x59, 0xa1, 0x4f, 0xff}, // exit+reap
		{0xb0, 0x7a, 0xa1, 0xff},
		{0xff, 0x9d, 0xa7, 0xff},
		{0x9c, 0x75, 0x5f, 0xff},
		{0xba, 0xb0, 0xac, 0xff},
	}
	return p[i%len(p)]
}

func forkCharts(s *Summary) []Chart {
	var out []Chart
	if c, ok := decompositionChart(s); ok {
		out = append(out, c)
	}
	if c, ok := amortisationChart(s); ok {
		out = append(out, c)
	}
	if c, ok := crossoverChart(s); ok {
		out = append(out, c)
	}
	if c, ok := factorsChart(s); ok {
		out = append(out, c)
	}
	if c, ok := concurrencyChart(s); ok {
		out = append(out, c)
	}
	return out
}

// decompositionChart stacks each deployment's components into one bar:
// CGI first, then FastCGI and embedded beside it.
func decompositionChart(s *Summary) (Chart, bool) {
	type bar struct {
		label string
		parts []part
	}
	var bars []bar
	comps := forkComponents()
	for fi, f := range s.Files {
		if f.Fork == nil {
			continue
		}
		present := map[string]bool{}
		for _, r := range f.Fork.Rows {
			if r.Group == GroupDecomposition {
				present[rowTarget(r)] = true
			}
		}
		// CGI first, the bars to set it against beside it.
		ts := orderedTargets(s.Files, present)
		rank := func(t string) int {
			if i := slices.Index([]string{TargetCGI, TargetFCGI, TargetEmbedded}, t); i >= 0 {
				return i
			}
			return 3
		}
		slices.SortStableFunc(ts, func(a, b string) int { return cmp.Compare(rank(a), rank(b)) })
		for _, t := range ts {
			parts, _ := decomposition(f.Fork, t)
			lbl := displayName(t)
			if len(s.Files) > 1 {
				lbl += " (" + s.Labels[fi] + ")"
			}
			bars = append(bars, bar{lbl, parts})
			for _, p := range parts {
				if !slices.Contains(comps, p.name) {
					comps = append(comps, p.name)
				}
			}
		}
	}
	if len(bars) == 0 {
		return Chart{}, false
	}
	title := "Where the CGI millisecond goes (fork decomposition, median wall time per request)"
	p := newPlot(title, "deployment", "wall time per request (ms)")
	var names []string
	for _, b := range bars {
		names = append(names, b.label)
	}
	p.NominalX(names...)
	leg := plot.NewLegend()
	half := math.Min(0.3, 0.7/float64(len(bars))*2)
	// Positive components stack up from zero, negative ones down from
	// it: a component derived as the difference of two noisy medians can
	// come out below zero, and stacking it on the others would hide the
	// one it overlaps.
	var labels plotter.XYLabels
	type total struct{ x, up, down, sum float64 }
	totals := make([]total, len(bars))
	used := map[string]bool{}
	var segs []*segment
	for bi, b := range bars {
		t := &totals[bi]
		t.x = float64(bi)
		for _, pt := range b.parts {
			v := pt.wallNs / 1e6
			if !finite(v) || v == 0 {
				continue
			}
			ci := slices.Index(comps, pt.name)
			sg := &segment{x: t.x, half: half, fill: componentColor(ci), line: color.Gray{Y: 0x33}}
			if v > 0 {
				sg.y0, sg.y1 = t.up, t.up+v
				t.up += v
			} else {
				sg.y0, sg.y1 = t.down+v, t.down
				t.down += v
				sg.dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			}
			t.sum += v
			segs = append(segs, sg)
			used[pt.name] = true
			sg.name, sg.value = pt.name, pt.wallNs
		}
	}
	if len(segs) == 0 {
		return Chart{}, false
	}
	top, bottom := 0.0, 0.0
	for _, t := range totals {
		top, bottom = math.Max(top, t.up), math.Min(bottom, t.down)
	}
	span := top - bottom
	for _, sg := range segs {
		p.Add(sg)
		// A segment tall enough to hold its value is labelled inside.
		if h := sg.y1 - sg.y0; h >= 0.06*span {
			labels.XYs = append(labels.XYs, plotter.XY{X: sg.x, Y: (sg.y0 + sg.y1) / 2})
			labels.Labels = append(labels.Labels, dur(sg.value))
		}
	}
	for ci, comp := range comps {
		if !used[comp] {
			continue
		}
		name := comp
		for _, sg := range segs {
			if sg.name == comp && sg.value < 0 {
				name = comp + " (negative: below 0)"
				break
			}
		}
		leg.Add(name, swatch{fill: componentColor(ci), line: color.Gray{Y: 0x33}})
	}
	if lb, err := plotter.NewLabels(labels); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].YAlign = draw.YCenter
			lb.TextStyle[i].Font.Size = vg.Points(8)
		}
		p.Add(lb)
	}
	// The net total above each stack: the figure the stack explains.
	var sums plotter.XYLabels
	for _, t := range totals {
		sums.XYs = append(sums.XYs, plotter.XY{X: t.x, Y: t.up})
		txt := dur(t.sum * 1e6)
		if t.down < 0 {
			txt = "net " + txt
		}
		sums.Labels = append(sums.Labels, txt)
	}
	if lb, err := plotter.NewLabels(sums); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].Font.Size = vg.Points(9)
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
	p.Y.Min = bottom * 1.08
	p.Y.Max = top * 1.1
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min + 1
	}
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	if bottom < 0 {
		if zero, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}}); err == nil {
			zero.Color, zero.Width = color.Black, vg.Points(0.8)
			p.Add(zero)
		}
	}
	return Chart{Name: "fork-decomposition", Title: title, plot: p, legend: leg}, true
}

// segment is one component of a stacked bar, from y0 to y1.
type segment struct {
	x, half, y0, y1 float64
	fill, line      color.Color
	dashes          []vg.Length
	name            string
	value           float64 // ns, for its label
}

// Plot implements plot.Plotter.
func (sg *segment) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	x0, x1 := trX(sg.x-sg.half), trX(sg.x+sg.half)
	y0, y1 := trY(sg.y0), trY(sg.y1)
	pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
	c.FillPolygon(sg.fill, c.ClipPolygonY(pts))
	c.StrokeLines(draw.LineStyle{Color: sg.line, Width: vg.Points(0.5), Dashes: sg.dashes}, c.ClipLinesY(append(pts, pts[0]))...)
}

// DataRange implements plot.DataRanger.
func (sg *segment) DataRange() (xmin, xmax, ymin, ymax float64) {
	return sg.x - sg.half, sg.x + sg.half, math.Min(sg.y0, 0), math.Max(sg.y1, 0)
}

// amortisationChart draws each deployment's overhead share against the
// work per request.
func amortisationChart(s *Summary) (Chart, bool) {
	title := "Amortisation: share of each request spent on deployment overhead (fork rows)"
	p := newPlot(title, "work per request (ms, embedded wall time, log scale)", "overhead share of wall time (%)")
	leg := plot.NewLegend()
	st := newStyler(s)
	drawn := false
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for fi, f := range s.Files {
		if f.Fork == nil {
			continue
		}
		wall := map[string]map[int]float64{}
		for _, r := range f.Fork.Rows {
			if r.Group != GroupAmortisation {
				continue
			}
			n, err := strconv.Atoi(r.Params[ParamWorkN])
			d := r.Params[ParamDeployment]
			if err != nil || d == "" || r.Wall.MedianNs <= 0 {
				continue
			}
			if wall[d] == nil {
				wall[d] = map[int]float64{}
			}
			wall[d][n] = r.Wall.MedianNs
		}
		base := wall[TargetEmbedded]
		if len(base) == 0 {
			continue
		}
		present := map[string]bool{}
		for d := range wall {
			if d != TargetEmbedded {
				present[d] = true
			}
		}
		for _, d := range orderedTargets(s.Files, present) {
			var xys plotter.XYs
			for n, w := range wall[d] {
				if b, ok := base[n]; ok {
					xys = append(xys, plotter.XY{X: b / 1e6, Y: 100 * (1 - b/w)})
				}
			}
			if len(xys) == 0 {
				continue
			}
			slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			for _, xy := range xys {
				xlo, xhi = math.Min(xlo, xy.X), math.Max(xhi, xy.X)
			}
			lk := st.look(fi, d)
			ln, sc, err := plotter.NewLinePoints(xys)
			if err != nil {
				continue
			}
			ln.Color, ln.Width, ln.Dashes = lk.color, vg.Points(1.5), lk.dashes
			sc.GlyphStyle = draw.GlyphStyle{Color: lk.color, Radius: vg.Points(2.5), Shape: lk.glyph}
			p.Add(ln, sc)
			leg.Add(fmt.Sprintf("%s vs embedded", lk.name), ln, sc)
			drawn = true
		}
	}
	if !drawn {
		return Chart{}, false
	}
	if xlo > 0 && xhi/xlo > 10 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.X.Min, p.X.Max = xlo/1.2, xhi*1.2
	} else {
		p.X.Label.Text = "work per request (ms, embedded wall time)"
	}
	p.Y.Min, p.Y.Max = math.Min(p.Y.Min, 0), math.Max(p.Y.Max, 100)
	x0, x1 := xlo, xhi
	if _, isLog := p.X.Scale.(plot.LogScale); isLog {
		x0, x1 = p.X.Min, p.X.Max
	}
	if ln, err := plotter.NewLine(plotter.XYs{{X: x0, Y: 100 * breakEvenShare}, {X: x1, Y: 100 * breakEvenShare}}); err == nil {
		ln.Color, ln.Width, ln.Dashes = color.Black, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ln)
		leg.Add("10% overhead", ln)
	}
	return Chart{Name: "fork-amortisation", Title: title, plot: p, legend: leg}, true
}
