package reports

// This file draws the matrix chart of a run over several fronts: one bar
// per target, clustered by protocol, coloured by front and hatched by
// language, so that "Apache CGI vs nginx fcgiwrap vs our CGI" and "Go vs
// Python behind the same front" read off one figure.

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"forkbench/results"
)

// matrixHeight leaves room under the bars for the target names, written
// vertically.
const matrixHeight = 6 * vg.Inch

// groupingsText names the groupings of the grouped files ("front", or
// "front, protocol" when overlaid files differ).
func groupingsText(s *Summary) string {
	var bys []string
	for _, by := range s.GroupBy {
		if by != GroupNone && !slices.Contains(bys, by) {
			bys = append(bys, by)
		}
	}
	return strings.Join(bys, ", ")
}

// matrixRows picks, in the first file that spans several fronts, the
// closed-model rows of its first endpoint with a measured throughput.
func matrixRows(s *Summary) (int, string, []*Row) {
	for fi, f := range s.Files {
		if !isMatrix(f) {
			continue
		}
		rows := slices.DeleteFunc(s.rowsOf(fi, results.ModelClosed), func(r *Row) bool {
			return r.Step > 0 || !r.Throughput.Valid() || r.Throughput.Median <= 0
		})
		for _, e := range endpoints([]*results.File{f}) {
			var out []*Row
			for _, r := range rows {
				if r.Endpoint == e {
					out = append(out, r)
				}
			}
			if len(out) > 0 {
				return fi, e, out
			}
		}
	}
	return 0, "", nil
}

// matrixChart draws the closed-model throughput of every target of a
// matrix run on a log scale. It is skipped (false) unless a file's
// targets span more than one front.
// (Long: the clusters, bars, labels, ticks and legend share one layout.)
func matrixChart(s *Summary) (Chart, bool) {
	fi, endpoint, rows := matrixRows(s)
	if len(rows) == 0 {
		return Chart{}, false
	}
	f := s.Files[fi]
	fr, pr, lr := groupRanks(s.Files, GroupFront), groupRanks(s.Files, GroupProtocol), groupRanks(s.Files, GroupLanguage)
	to := targetOrder(s.Files)
	val := func(r *Row, by string) string { return groupValue(f, by, r.Target) }
	slices.SortStableFunc(rows, func(a, b *Row) int {
		return cmp.Or(
			cmp.Compare(pr[val(a, GroupProtocol)], pr[val(b, GroupProtocol)]),
			cmp.Compare(fr[val(a, GroupFront)], fr[val(b, GroupFront)]),
			cmp.Compare(lr[val(a, GroupLanguage)], lr[val(b, GroupLanguage)]),
			cmp.Compare(to[a.Target], to[b.Target]),
		)
	})
	var protos []string
	var sizes []int
	for _, r := range rows {
		if p := val(r, GroupProtocol); len(protos) == 0 || protos[len(protos)-1] != p {
			protos, sizes = append(protos, p), append(sizes, 0)
		}
		sizes[len(sizes)-1]++
	}
	slot := 0.8 / float64(slices.Max(sizes))
	yr := newRangeY()
	for _, r := range rows {
		yr.add(r.Throughput.Min)
		yr.add(r.Throughput.Max)
	}
	title := s.prefix(fi) + "Throughput of every target on " + endpoint +
		" (closed model, median of rounds, log scale): clustered by protocol, coloured by front, hatched by language"
	p := newPlot(title, "", "throughput (req/s), log scale")
	p.X.Min, p.X.Max = -0.5, float64(len(protos))-0.5
	p.X.Tick.Label.Rotation = math.Pi / 2
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	var ticks []plot.Tick
	var values, clusters plotter.XYLabels
	top := yr.hi * 6 // the cluster names sit above the tallest bar's label
	i := 0
	for ci, n := range sizes {
		for j := range n {
			r := rows[i]
			i++
			x := float64(ci) + (float64(j)-float64(n-1)/2)*slot
			c := palette(fr[val(r, GroupFront)])
			p.Add(&bar{x: x, half: slot * 0.42, y: r.Throughput.Median, fill: lighten(c, 0.35), line: c,
				hatch: lr[val(r, GroupLanguage)], hatchColor: c})
			ticks = append(ticks, plot.Tick{Value: x, Label: r.Target})
			values.XYs = append(values.XYs, plotter.XY{X: x, Y: r.Throughput.Median})
			values.Labels = append(values.Labels, short(r.Throughput.Median))
		}
		clusters.XYs = append(clusters.XYs, plotter.XY{X: float64(ci), Y: top})
		clusters.Labels = append(clusters.Labels, protos[ci])
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, l := range []struct {
		xy   plotter.XYLabels
		size vg.Length
	}{{values, 8}, {clusters, 11}} {
		if lb, err := plotter.NewLabels(l.xy); err == nil {
			for k := range lb.TextStyle {
				lb.TextStyle[k].XAlign = draw.XCenter
				lb.TextStyle[k].Font.Size = vg.Points(float64(l.size))
			}
			lb.Offset = vg.Point{Y: vg.Points(3)}
			p.Add(lb)
		}
	}
	useLogY(p, yr.lo, yr.hi)
	p.Y.Min, p.Y.Max = logFloor(yr.lo), top*2.5
	return Chart{Name: "matrix", Title: title, plot: p, legend: matrixLegend(rows, f, fr, lr), height: matrixHeight}, true
}

// matrixLegend lists the fronts (colours) and languages (hatching) the
// matrix chart's bars use.
func matrixLegend(rows []*Row, f *results.File, fr, lr map[string]int) plot.Legend {
	leg := plot.NewLegend()
	for _, by := range []string{GroupFront, GroupLanguage} {
		rank := fr
		if by == GroupLanguage {
			rank = lr
		}
		var vals []string
		for _, r := range rows {
			if v := groupValue(f, by, r.Target); !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		slices.SortFunc(vals, func(a, b string) int { return cmp.Compare(rank[a], rank[b]) })
		for _, v := range vals {
			if by == GroupFront {
				c := palette(fr[v])
				leg.Add("front "+v, swatch{fill: lighten(c, 0.35), line: c})
			} else {
				leg.Add("language "+v, hatchSwatch{hatch: lr[v]})
			}
		}
	}
	return leg
}
