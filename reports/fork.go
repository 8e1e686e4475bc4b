package reports

// This file draws the spawn-cost decomposition written by `bench fork`
// (results.File.Fork; see results/spawncost.go for the document).
//
// Decomposition ("where the CGI millisecond goes"): the rows of group
// decomposition, one per part, stacked into one bar per deployment
// (Deployment, CGI when empty) in the order of results.ForkParts, any
// other part after them in row order. The bar height is the sum of the
// parts' median wall times.
//
// Amortisation: the rows of group amortisation, one request doing WorkN
// rounds of /work through Deployment. The overhead share of deployment d
// at work n is 1 − wall(embedded, n) / wall(d, n), drawn against the
// embedded wall time at n (the work itself); without embedded rows there
// is no baseline and the chart is skipped.

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

// part is one component of a deployment's decomposition.
type part struct {
	name   string
	wallNs float64
}

// decomposition returns d's parts in stacking order and their total
// median wall time.
func decomposition(fk *results.Fork, d results.ForkDeployment) ([]part, float64) {
	known := results.ForkParts()
	var parts []part
	for _, r := range groupRows(fk, results.ForkGroupDecomposition) {
		if r.DeploymentOr(results.ForkCGI) == d {
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

// decompositionDeployments lists the deployments fk decomposes, CGI first
// and the ones to set it against beside it.
func decompositionDeployments(fk *results.Fork) []results.ForkDeployment {
	var ds []results.ForkDeployment
	for _, r := range groupRows(fk, results.ForkGroupDecomposition) {
		if d := r.DeploymentOr(results.ForkCGI); !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.SortStableFunc(ds, func(a, b results.ForkDeployment) int { return a.Rank() - b.Rank() })
	return ds
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

// stackBar is one deployment's decomposition, drawn as one stacked bar.
type stackBar struct {
	label string
	parts []part
}

// decompositionBars returns the bars of every file's decomposition and
// the parts' names in colour order: the stacking order, then any other
// part in order of appearance.
func decompositionBars(s *Summary) ([]stackBar, []string) {
	var bars []stackBar
	comps := results.ForkParts()
	for fi, f := range s.Files {
		if f.Fork == nil {
			continue
		}
		for _, d := range decompositionDeployments(f.Fork) {
			parts, _ := decomposition(f.Fork, d)
			lbl := deploymentName(d)
			if len(s.Files) > 1 {
				lbl += " (" + s.Labels[fi] + ")"
			}
			bars = append(bars, stackBar{lbl, parts})
			for _, p := range parts {
				if !slices.Contains(comps, p.name) {
					comps = append(comps, p.name)
				}
			}
		}
	}
	return bars, comps
}

// stackTotal is where a stacked bar ends: up and down from zero, and its
// net sum (ms).
type stackTotal struct{ x, up, down, sum float64 }

// stack turns bars into segments. Positive parts stack up from zero,
// negative ones down from it: a part derived as the difference of two
// noisy medians can come out below zero, and stacking it on the others
// would hide the one it overlaps.
func stack(bars []stackBar, comps []string) ([]*segment, []stackTotal) {
	half := math.Min(0.3, 0.7/float64(len(bars))*2)
	totals := make([]stackTotal, len(bars))
	var segs []*segment
	for bi, b := range bars {
		t := &totals[bi]
		t.x = float64(bi)
		for _, pt := range b.parts {
			v := pt.wallNs / 1e6
			if !finite(v) || v == 0 {
				continue
			}
			sg := &segment{x: t.x, half: half, fill: componentColor(slices.Index(comps, pt.name)), line: color.Gray{Y: 0x33}, name: pt.name, value: pt.wallNs}
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
		}
	}
	return segs, totals
}

// decompositionChart stacks each deployment's parts into one bar: CGI
// first, then FastCGI and embedded beside it.
func decompositionChart(s *Summary) (Chart, bool) {
	bars, comps := decompositionBars(s)
	if len(bars) == 0 {
		return Chart{}, false
	}
	segs, totals := stack(bars, comps)
	if len(segs) == 0 {
		return Chart{}, false
	}
	title := "Where the CGI millisecond goes (fork decomposition, median wall time per request)"
	p := newPlot(title, "deployment", "wall time per request (ms)")
	var names []string
	for _, b := range bars {
		names = append(names, b.label)
	}
	p.NominalX(names...)
	top, bottom := 0.0, 0.0
	for _, t := range totals {
		top, bottom = math.Max(top, t.up), math.Min(bottom, t.down)
	}
	var labels plotter.XYLabels
	for _, sg := range segs {
		p.Add(sg)
		// A segment tall enough to hold its value is labelled inside.
		if h := sg.y1 - sg.y0; h >= 0.06*(top-bottom) {
			labels.XYs = append(labels.XYs, plotter.XY{X: sg.x, Y: (sg.y0 + sg.y1) / 2})
			labels.Labels = append(labels.Labels, dur(sg.value))
		}
	}
	addLabels(p, labels, draw.YCenter, 8, 0)
	addStackTotals(p, totals)
	p.Y.Min, p.Y.Max = bottom*1.08, top*1.1
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
	return Chart{Name: "fork-decomposition", Title: title, plot: p, legend: partsLegend(comps, segs)}, true
}

// partsLegend names the colour of every part drawn, saying so of a
// negative one.
func partsLegend(comps []string, segs []*segment) plot.Legend {
	leg := plot.NewLegend()
	for ci, comp := range comps {
		used, name := false, comp
		for _, sg := range segs {
			if sg.name == comp {
				used = true
				if sg.value < 0 {
					name = comp + " (negative: below 0)"
				}
			}
		}
		if used {
			leg.Add(name, swatch{fill: componentColor(ci), line: color.Gray{Y: 0x33}})
		}
	}
	return leg
}

// addStackTotals writes the net total above each stack: the figure the
// stack explains.
func addStackTotals(p *plot.Plot, totals []stackTotal) {
	var sums plotter.XYLabels
	for _, t := range totals {
		sums.XYs = append(sums.XYs, plotter.XY{X: t.x, Y: t.up})
		txt := dur(t.sum * 1e6)
		if t.down < 0 {
			txt = "net " + txt
		}
		sums.Labels = append(sums.Labels, txt)
	}
	addLabels(p, sums, draw.YBottom, 9, 3)
}

// addLabels adds labels centred on their x, at size points, raised by
// offset points.
func addLabels(p *plot.Plot, labels plotter.XYLabels, yAlign draw.YAlignment, size, offset float64) {
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].XAlign = draw.XCenter
		lb.TextStyle[i].YAlign = yAlign
		lb.TextStyle[i].Font.Size = vg.Points(size)
	}
	lb.Offset = vg.Point{Y: vg.Points(offset)}
	p.Add(lb)
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

// overheadCurves returns, per deployment of fk other than embedded, its
// overhead share (%) against the embedded wall time (ms) at each work
// size, sorted by work; none without embedded rows.
func overheadCurves(fk *results.Fork) map[results.ForkDeployment]plotter.XYs {
	wall := map[results.ForkDeployment]map[int]float64{}
	for _, r := range groupRows(fk, results.ForkGroupAmortisation) {
		if r.Deployment == "" || r.Wall.MedianNs <= 0 {
			continue
		}
		if wall[r.Deployment] == nil {
			wall[r.Deployment] = map[int]float64{}
		}
		wall[r.Deployment][r.WorkN] = r.Wall.MedianNs
	}
	base := wall[results.ForkEmbedded]
	out := map[results.ForkDeployment]plotter.XYs{}
	for d, ws := range wall {
		if d == results.ForkEmbedded || len(base) == 0 {
			continue
		}
		var xys plotter.XYs
		for n, w := range ws {
			if b, ok := base[n]; ok {
				xys = append(xys, plotter.XY{X: b / 1e6, Y: 100 * (1 - b/w)})
			}
		}
		if len(xys) > 0 {
			slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
			out[d] = xys
		}
	}
	return out
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
		curves := overheadCurves(f.Fork)
		present := map[string]bool{}
		for d := range curves {
			present[string(d)] = true
		}
		for _, d := range orderedTargets(s.Files, present) {
			xys := curves[results.ForkDeployment(d)]
			xlo, xhi = math.Min(xlo, xys[0].X), math.Max(xhi, xys[len(xys)-1].X)
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
	share := 100 * results.ForkBreakEvenShare
	if ln, err := plotter.NewLine(plotter.XYs{{X: x0, Y: share}, {X: x1, Y: share}}); err == nil {
		ln.Color, ln.Width, ln.Dashes = color.Black, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ln)
		leg.Add("10% overhead", ln)
	}
	return Chart{Name: "fork-amortisation", Title: title, plot: p, legend: leg}, true
}
