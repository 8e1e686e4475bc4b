package reports

// This file draws the crossover curves of the fitted cost model (fork
// rows of group "model"): for each deployment, requests per CPU-second
// and latency against the work done per request, with the measured
// amortisation points over the fitted lines and the work above which
// CGI's (and FastCGI's) overhead is under 10% marked. It turns the
// decomposition into the decision: below the mark, the deployment is
// mostly overhead; above it, the work dominates.

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
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

func crossoverOf(s *Summary, fi int, fk *results.Fork) (Chart, bool) {
	ms := costModels(fk)
	if len(ms) == 0 {
		return Chart{}, false
	}
	emb, haveEmb := modelOf(ms, TargetEmbedded)
	ws := workScale{}
	if haveEmb && emb.perUnit > 0 {
		ws.perUnitNs = emb.perUnit
	}
	// The measured amortisation points, per deployment.
	type pt struct{ n, wall, cpu float64 }
	measured := map[string][]pt{}
	lo, hi := math.Inf(1), 0.0
	for _, r := range groupRows(fk, GroupAmortisation) {
		n, err := strconv.Atoi(r.Params[ParamWorkN])
		d := r.Params[ParamDeployment]
		if err != nil || n <= 0 || d == "" {
			continue // n = 0 has no place on a log axis; it is in the table
		}
		measured[d] = append(measured[d], pt{float64(n), r.Wall.MedianNs, r.CPUMedianNs()})
		lo, hi = math.Min(lo, float64(n)), math.Max(hi, float64(n))
	}
	if hi == 0 {
		lo, hi = 10, 1e6
	}
	lo, hi = lo/10, hi*10
	// Marks: where CGI's and FastCGI's overhead falls under 10%, on wall
	// time (latency panel) and CPU time (throughput panel).
	type mark struct {
		d     string
		n     float64
		label string
		fixed bool // the fixed-overhead rule of thumb, not the fitted lines
	}
	marks := func(cpu bool) (out []mark, never []string) {
		if !haveEmb {
			return nil, nil
		}
		ae, be := emb.coef(cpu)
		what := "wall"
		if cpu {
			what = "CPU"
		}
		for _, d := range []string{TargetCGI, TargetFCGI} {
			m, ok := modelOf(ms, d)
			if !ok || (cpu && !m.hasCPU()) {
				continue
			}
			a, b := m.coef(cpu)
			if n, ok := breakEven(a, b, ae, be); ok {
				out = append(out, mark{d, n, fmt.Sprintf("%s: %s overhead < 10%%\nabove %s of work", displayName(d), what, ws.text(n)), false})
			} else {
				never = append(never, fmt.Sprintf("%s's %s overhead never falls under 10%% on the fitted lines (%s vs embedded %s per round)",
					displayName(d), what, dur(b), dur(be)))
			}
			// The fixed-overhead rule of thumb, for CGI's wall time: the
			// mark if the work cost the same in every deployment.
			if ns, ok := fixedRule(a, ae); ok && d == TargetCGI && !cpu && ws.perUnitNs > 0 {
				out = append(out, mark{d, ws.rounds(ns), fmt.Sprintf("%s: fixed cost alone\n< 10%% above %s of work", displayName(d), dur(ns)), true})
			}
		}
		return out, never
	}
	wallMarks, wallNever := marks(false)
	cpuMarks, cpuNever := marks(true)
	for _, m := range append(wallMarks, cpuMarks...) {
		if m.n > 0 {
			hi = math.Max(hi, m.n*3)
		}
	}
	hi = math.Min(hi, lo*1e8) // a mark absurdly far out stays off the chart, stated in the legend
	ns := make([]float64, crossoverSteps)
	for i := range ns {
		ns[i] = lo * math.Pow(hi/lo, float64(i)/float64(crossoverSteps-1))
	}

	st := newStyler(s)
	leg := plot.NewLegend()
	leg.TextStyle.Font.Size = vg.Points(10)
	prefix := ""
	if len(s.Files) > 1 {
		prefix = " (" + s.Labels[fi] + ")"
	}
	panel := func(title, ylabel string, cpu bool, value func(cost float64) float64, mvalue func(pt) float64, mks []mark, never []string, legend bool) (*plot.Plot, bool) {
		p := newPlot(title, ws.label(), ylabel)
		var said []string
		yr := newRangeY()
		drawn := false
		for _, m := range ms {
			if cpu && !m.hasCPU() {
				continue
			}
			a, b := m.coef(cpu)
			lk := st.look(fi, m.deployment)
			var xys plotter.XYs
			for _, n := range ns {
				// A fixed cost fitted below zero is the noise of the
				// intercept, not a saving: it is drawn as zero, and the
				// legend says so.
				y := value(math.Max(a, 0) + b*n)
				if finite(y) && y > 0 {
					xys = append(xys, plotter.XY{X: ws.x(n), Y: y})
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
			for _, q := range measured[m.deployment] {
				if y := mvalue(q); finite(y) && y > 0 {
					dots = append(dots, plotter.XY{X: ws.x(q.n), Y: y})
					yr.add(y)
				}
			}
			name := lk.name + prefix
			if a < 0 {
				said = append(said, fmt.Sprintf("%s's fitted fixed cost (%s) is drawn as 0", lk.name, dur(a)))
			}
			if len(dots) > 0 {
				sc, err := plotter.NewScatter(dots)
				if err == nil {
					sc.GlyphStyle = draw.GlyphStyle{Color: lk.color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
					p.Add(sc)
					if legend {
						leg.Add(name, ln, sc)
					}
				}
			} else if legend {
				leg.Add(name, ln)
			}
			drawn = true
		}
		if !drawn || !yr.ok() {
			return nil, false
		}
		useLogY(p, yr.lo, yr.hi)
		for _, mk := range mks {
			if mk.n < lo || mk.n > hi {
				said = append(said, strings.ReplaceAll(mk.label, "\n", " ")+" (off the chart)")
				continue
			}
			ln, err := plotter.NewLine(plotter.XYs{{X: ws.x(mk.n), Y: p.Y.Min}, {X: ws.x(mk.n), Y: p.Y.Max}})
			if err != nil {
				continue
			}
			ln.Color, ln.Width = st.look(fi, mk.d).color, vg.Points(1.2)
			ln.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			if mk.fixed {
				ln.Color = color.Gray{Y: 0x55}
				ln.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			}
			p.Add(ln)
			leg.Add(mk.label, ln)
		}
		for _, n := range append(never, said...) {
			p.Title.Text += "\n" + wrap(n, titleWidth)
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.X.Min, p.X.Max = ws.x(lo), ws.x(hi)
		return p, true
	}
	title := "Crossover: fitted cost per request (fixed + per-unit × work) against work per request"
	latTitle := "Latency per request (wall time; lines: fitted, dots: measured medians)"
	tpTitle := "Requests per CPU-second (CPU of the CGI child, the FastCGI daemon, the in-process handler)"
	top, okTop := panel(tpTitle, "requests per CPU-second (log scale)", true,
		func(c float64) float64 { return 1e9 / c }, func(q pt) float64 { return 1e9 / q.cpu }, cpuMarks, cpuNever, true)
	bottom, okBottom := panel(latTitle, "latency per request (ms, log scale)", false,
		func(c float64) float64 { return c / 1e6 }, func(q pt) float64 { return q.wall / 1e6 }, wallMarks, wallNever, !okTop)
	switch {
	case okTop && okBottom:
		top.Title.Text = wrap(title, titleWidth) + "\n" + top.Title.Text
		return Chart{Name: "fork-crossover", Title: title, plot: top, lower: bottom, legend: leg, height: 2 * chartHeight}, true
	case okBottom:
		bottom.Title.Text = wrap(title, titleWidth) + "\n" + bottom.Title.Text
		return Chart{Name: "fork-crossover", Title: title, plot: bottom, legend: leg}, true
	}
	return Chart{}, false
}
