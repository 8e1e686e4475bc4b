package reports

// This file draws the crossover curves of the fitted cost model
// (results.Fork.Fits and BreakEvens): for each deployment, requests per CPU-second
// and latency against the work done per request, with the measured
// amortisation points over the fitted lines and the work above which
// CGI's (and FastCGI's) overhead is under 10% marked. It turns the
// decomposition into the decision: below the mark, the deployment is
// mostly overhead; above it, the work dominates.

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"forkbench/results"
)

// crossoverSteps is the number of points each fitted curve is drawn with.
const crossoverSteps = 120

// workScale converts /work rounds to the chart's x unit: milliseconds of
// in-process work when the embedded model has a positive cost per round,
// else the rounds themselves.
type workScale struct {
	perUnitNs float64 // 0: x is in rounds
}

func (w workScale) x(n float64) float64 {
	if w.perUnitNs > 0 {
		return n * w.perUnitNs / 1e6
	}
	return n
}

// rounds converts nanoseconds of in-process work to rounds (0 when x is
// in rounds: there is no conversion).
func (w workScale) rounds(ns float64) float64 {
	if w.perUnitNs > 0 {
		return ns / w.perUnitNs
	}
	return 0
}

func (w workScale) label() string {
	if w.perUnitNs > 0 {
		return "work per request (ms of in-process /work time, log scale)"
	}
	return "work per request (/work rounds, log scale)"
}

// text formats n rounds of work for a legend.
func (w workScale) text(n float64) string {
	if w.perUnitNs > 0 {
		return dur(n * w.perUnitNs)
	}
	return sig(n, 3) + " /work rounds"
}

// workScaleOf is the x unit of fk's crossover: milliseconds of in-process
// work when the embedded fit has a positive cost per round.
func workScaleOf(fk *results.Fork) workScale {
	if emb, ok := fitOf(fk, results.ForkEmbedded); ok && emb.PerUnitNs > 0 {
		return workScale{perUnitNs: emb.PerUnitNs}
	}
	return workScale{}
}

// crossoverChart draws the first file's cost model that has one (an
// overlay of several models' crossovers would be unreadable; the model
// table lists every file's).
func crossoverChart(s *Summary) (Chart, bool) {
	for fi, f := range s.Files {
		if f.Fork == nil {
			continue
		}
		if c, ok := crossoverOf(s, fi, f.Fork); ok {
			return c, true
		}
	}
	return Chart{}, false
}

// workPoint is one measured amortisation median: n /work rounds, its wall
// and CPU time.
type workPoint struct{ n, wall, cpu float64 }

// crossover is what both panels of a crossover chart share.
type crossover struct {
	fk       *results.Fork
	fi       int
	ws       workScale
	measured map[results.ForkDeployment][]workPoint
	lo, hi   float64 // work range drawn, /work rounds
	st       styler
	leg      plot.Legend
	prefix   string // the file's label in legend names, when several
}

// mark is a vertical line at n /work rounds where a deployment's overhead
// falls under 10%.
type mark struct {
	d     results.ForkDeployment
	n     float64
	label string
	fixed bool // the fixed-overhead rule of thumb, not the fitted lines
}

func crossoverOf(s *Summary, fi int, fk *results.Fork) (Chart, bool) {
	if len(fk.Fits) == 0 {
		return Chart{}, false
	}
	c := &crossover{fk: fk, fi: fi, ws: workScaleOf(fk), measured: map[results.ForkDeployment][]workPoint{},
		lo: math.Inf(1), st: newStyler(s), leg: plot.NewLegend()}
	c.leg.TextStyle.Font.Size = vg.Points(10)
	if len(s.Files) > 1 {
		c.prefix = " (" + s.Labels[fi] + ")"
	}
	for _, r := range groupRows(fk, results.ForkGroupAmortisation) {
		if r.WorkN <= 0 || r.Deployment == "" {
			continue // n = 0 has no place on a log axis; it is in the table
		}
		n := float64(r.WorkN)
		c.measured[r.Deployment] = append(c.measured[r.Deployment], workPoint{n, r.Wall.MedianNs, r.CPUMedianNs()})
		c.lo, c.hi = math.Min(c.lo, n), math.Max(c.hi, n)
	}
	if c.hi == 0 {
		c.lo, c.hi = 10, 1e6
	}
	c.lo, c.hi = c.lo/10, c.hi*10
	wallMarks, wallNever := c.marks(results.ForkWall)
	cpuMarks, cpuNever := c.marks(results.ForkCPU)
	for _, m := range append(wallMarks, cpuMarks...) {
		if m.n > 0 {
			c.hi = math.Max(c.hi, m.n*3)
		}
	}
	c.hi = math.Min(c.hi, c.lo*1e8) // a mark absurdly far out stays off the chart, stated in the legend
	title := "Crossover: fitted cost per request (fixed + per-unit × work) against work per request"
	latTitle := "Latency per request (wall time; lines: fitted, dots: measured medians)"
	tpTitle := "Requests per CPU-second (CPU of the CGI child, the FastCGI daemon, the in-process handler)"
	top, okTop := c.panel(tpTitle, "requests per CPU-second (log scale)", results.ForkCPU,
		func(cost float64) float64 { return 1e9 / cost }, cpuMarks, cpuNever, true)
	bottom, okBottom := c.panel(latTitle, "latency per request (ms, log scale)", results.ForkWall,
		func(cost float64) float64 { return cost / 1e6 }, wallMarks, wallNever, !okTop)
	switch {
	case okTop && okBottom:
		top.Title.Text = wrap(title, titleWidth) + "\n" + top.Title.Text
		return Chart{Name: "fork-crossover", Title: title, plot: top, lower: bottom, legend: c.leg, height: 2 * chartHeight}, true
	case okBottom:
		bottom.Title.Text = wrap(title, titleWidth) + "\n" + bottom.Title.Text
		return Chart{Name: "fork-crossover", Title: title, plot: bottom, legend: c.leg}, true
	}
	return Chart{}, false
}

// marks are where CGI's and FastCGI's overhead falls under 10% on basis
// b (from the document's break-evens), and sentences for those whose
// never does.
func (c *crossover) marks(b results.ForkBasis) (out []mark, never []string) {
	emb, ok := fitOf(c.fk, results.ForkEmbedded)
	if !ok {
		return nil, nil
	}
	what := "wall"
	if b == results.ForkCPU {
		what = "CPU"
	}
	for _, d := range []results.ForkDeployment{results.ForkCGI, results.ForkFCGI} {
		f, okF := fitOf(c.fk, d)
		be, okB := breakEvenOf(c.fk, d, b)
		if !okF || !okB {
			continue
		}
		if be.Found {
			out = append(out, mark{d, be.WorkN, fmt.Sprintf("%s: %s overhead < 10%%\nabove %s of work", deploymentName(d), what, c.ws.text(be.WorkN)), false})
		} else {
			_, pu := f.Coef(b)
			_, pue := emb.Coef(b)
			never = append(never, fmt.Sprintf("%s's %s overhead never falls under 10%% on the fitted lines (%s vs embedded %s per round)",
				deploymentName(d), what, dur(pu), dur(pue)))
		}
		// The fixed-overhead rule of thumb, for CGI's wall time: the mark
		// if the work cost the same in every deployment.
		if ns := be.FixedRuleNs; ns > 0 && d == results.ForkCGI && b == results.ForkWall && c.ws.perUnitNs > 0 {
			out = append(out, mark{d, c.ws.rounds(ns), fmt.Sprintf("%s: fixed cost alone\n< 10%% above %s of work", deploymentName(d), dur(ns)), true})
		}
	}
	return out, never
}

// panel draws one panel: value(cost) of every fit on basis b against the
// work, the measured medians over them, and the marks; with legend, it
// adds the fits to the chart's legend. It is false when nothing could be
// drawn.
func (c *crossover) panel(title, ylabel string, b results.ForkBasis, value func(cost float64) float64, mks []mark, never []string, legend bool) (*plot.Plot, bool) {
	p := newPlot(title, c.ws.label(), ylabel)
	yr := newRangeY()
	said, drawn := c.drawFits(p, b, value, &yr, legend)
	if !drawn || !yr.ok() {
		return nil, false
	}
	useLogY(p, yr.lo, yr.hi)
	for _, mk := range mks {
		if mk.n < c.lo || mk.n > c.hi {
			said = append(said, strings.ReplaceAll(mk.label, "\n", " ")+" (off the chart)")
			continue
		}
		ln, err := plotter.NewLine(plotter.XYs{{X: c.ws.x(mk.n), Y: p.Y.Min}, {X: c.ws.x(mk.n), Y: p.Y.Max}})
		if err != nil {
			continue
		}
		ln.Color, ln.Width = c.st.look(c.fi, string(mk.d)).color, vg.Points(1.2)
		ln.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		if mk.fixed {
			ln.Color = color.Gray{Y: 0x55}
			ln.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		}
		p.Add(ln)
		c.leg.Add(mk.label, ln)
	}
	for _, n := range append(never, said...) {
		p.Title.Text += "\n" + wrap(n, titleWidth)
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.X.Min, p.X.Max = c.ws.x(c.lo), c.ws.x(c.hi)
	return p, true
}

// drawFits draws every fit on basis b as a line of crossoverSteps points
// with the measured medians as dots, widening yr to them. It returns the
// sentences the title must add and whether anything was drawn.
func (c *crossover) drawFits(p *plot.Plot, b results.ForkBasis, value func(cost float64) float64, yr *rangeY, legend bool) ([]string, bool) {
	ns := make([]float64, crossoverSteps)
	for i := range ns {
		ns[i] = c.lo * math.Pow(c.hi/c.lo, float64(i)/float64(crossoverSteps-1))
	}
	var said []string
	drawn := false
	for _, f := range sortedFits(c.fk) {
		if !f.Has(b) {
			continue
		}
		a, per := f.Coef(b)
		lk := c.st.look(c.fi, string(f.Deployment))
		var xys plotter.XYs
		for _, n := range ns {
			// A fixed cost fitted below zero is the noise of the
			// intercept, not a saving: it is drawn as zero, and the
			// legend says so.
			if y := value(math.Max(a, 0) + per*n); finite(y) && y > 0 {
				xys = append(xys, plotter.XY{X: c.ws.x(n), Y: y})
				yr.add(y)
			}
		}
		if len(xys) < 2 {
			continue
		}
		ln, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		ln.Color, ln.Width, ln.Dashes = lk.color, vg.Points(1.8), lk.dashes
		p.Add(ln)
		var dots plotter.XYs
		for _, q := range c.measured[f.Deployment] {
			cost := q.wall
			if b == results.ForkCPU {
				cost = q.cpu
			}
			if y := value(cost); finite(y) && y > 0 {
				dots = append(dots, plotter.XY{X: c.ws.x(q.n), Y: y})
				yr.add(y)
			}
		}
		if a < 0 {
			said = append(said, fmt.Sprintf("%s's fitted fixed cost (%s) is drawn as 0", lk.name, dur(a)))
		}
		th := []plot.Thumbnailer{ln}
		if sc, err := plotter.NewScatter(dots); len(dots) > 0 && err == nil {
			sc.GlyphStyle = draw.GlyphStyle{Color: lk.color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			th = append(th, sc)
		}
		if legend {
			c.leg.Add(lk.name+c.prefix, th...)
		}
		drawn = true
	}
	return said, drawn
}
