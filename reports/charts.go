package reports

// This file holds the charts: the Chart type and its SVG and PNG output,
// the fixed styling (one colour per target in every chart, line styles for
// overlaid files), and the builders for the load-test charts. The fork
// charts live in fork.go.

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"forkbench/results"
)

// Chart sizes and resolution. PNGs at 96 dpi keep rendering of a full
// report well under a second per chart.
const (
	chartWidth  = 9 * vg.Inch
	chartHeight = 5 * vg.Inch
	pngDPI      = 96
)

// Chart is one figure of a report, ready to be drawn as SVG or PNG. Name is
// a file-name stem unique within a report ("latency-plaintext"); Title is
// the title drawn on the chart.
type Chart struct {
	Name  string
	Title string

	plot   *plot.Plot
	legend plot.Legend // drawn beside the plot, not over the data
	// lower, when set, is a second panel drawn under plot, sharing its
	// legend: two views of one model (throughput and latency) read
	// together rather than as two charts far apart.
	lower *plot.Plot
	// height is the chart's height; zero means chartHeight.
	height vg.Length
}

func (c Chart) size() (w, h vg.Length) {
	if c.height > 0 {
		return chartWidth, c.height
	}
	return chartWidth, chartHeight
}

// SVG draws c as a standalone SVG document (fonts referenced by name, not
// embedded).
func (c Chart) SVG() ([]byte, error) {
	cv := vgsvg.New(c.size())
	c.draw(draw.New(cv))
	var b bytes.Buffer
	if _, err := cv.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("reports: chart %s: svg: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// PNG draws c as a PNG image.
func (c Chart) PNG() ([]byte, error) {
	w, h := c.size()
	cv := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))
	c.draw(draw.New(cv))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: cv}).WriteTo(&b); err != nil {
		return nil, fmt.Errorf("reports: chart %s: png: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// draw lays the plot out on the left and its legend in a column on the
// right, so that no entry hides a line or a bar.
func (c Chart) draw(dc draw.Canvas) {
	dc.SetColor(color.White) // also paints the legend column
	dc.Fill(dc.Rectangle.Path())
	pc := dc
	lg := c.legend
	r := lg.Rectangle(dc)
	if w := r.Max.X - r.Min.X; w > 0 {
		pad := vg.Points(10)
		pc.Max.X -= w + 2*pad
		lc := dc
		lc.Min.X = pc.Max.X + pad
		lc.Max.Y -= vg.Points(30) // below the title line
		lg.Top, lg.Left = true, true
		lg.Padding = vg.Points(2)
		lg.Draw(lc)
	}
	if c.lower == nil {
		drawPanel(pc, c.plot)
		return
	}
	top, bottom := pc, pc
	mid := pc.Min.Y + (pc.Max.Y-pc.Min.Y)/2
	top.Min.Y, bottom.Max.Y = mid, mid
	drawPanel(top, c.plot)
	drawPanel(bottom, c.lower)
}

// drawPanel draws p on dc. On a logarithmic Y axis it draws the axis
// label itself: gonum reserves room for that label as if it sat at the
// arithmetic middle of the axis range, which on a log axis is near the
// top, and so pushes the plot down under a band of blank space.
func drawPanel(dc draw.Canvas, p *plot.Plot) {
	if _, isLog := p.Y.Scale.(plot.LogScale); !isLog || p.Y.Label.Text == "" {
		p.Draw(dc)
		return
	}
	lbl := p.Y.Label
	cp := *p
	cp.Y.Label.Text = ""
	top := dc.Max.Y
	if p.Title.Text != "" {
		top -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	sty := lbl.TextStyle
	sty.Rotation += math.Pi / 2
	x := dc.Min.X + lbl.TextStyle.Height(lbl.Text) - lbl.TextStyle.FontExtents().Descent
	dc.FillText(sty, vg.Point{X: x, Y: dc.Min.Y + (top-dc.Min.Y)/2}, lbl.Text)
	inner := dc
	inner.Min.X += lbl.TextStyle.Height(lbl.Text) + lbl.Padding
	cp.Draw(inner)
}

// Charts builds every chart the files have data for, in report order.
// Charts whose data is absent are skipped, never drawn empty.
func Charts(files []*results.File) ([]Chart, error) {
	return charts(Summarize(files))
}

func charts(s *Summary) ([]Chart, error) {
	st := newStyler(s)
	var out []Chart
	add := func(cs ...Chart) { out = append(out, cs...) }
	thrTitle := "Throughput per target and endpoint (closed model, median of rounds, bars: min–max)"
	gst, grouped := st.grouped(s)
	if grouped {
		thrTitle = "Throughput per target and endpoint, coloured by " + groupingsText(s) + " (closed model, median of rounds, bars: min–max)"
	}
	if c, ok := barsChart(s, gst, "throughput", thrTitle,
		"throughput (req/s)", func(r *Row) Stat { return r.Throughput }); ok {
		add(c)
	}
	if c, ok := matrixChart(s); ok {
		add(c)
	}
	for _, e := range endpoints(s.Files) {
		c, ok, err := percentileChart(s, st, e)
		if err != nil {
			return nil, err
		}
		if ok {
			add(c)
		}
	}
	for _, e := range endpoints(s.Files) {
		if c, ok := sweepChart(s, st, e); ok {
			add(c)
		}
	}
	if c, ok := barsChart(s, st, "cpu-per-request", "Server CPU time per request (closed model, user+sys of the process tree)",
		"CPU per request (µs)", func(r *Row) Stat {
			if !r.ServerObserved {
				return Stat{}
			}
			return scaleStat(r.CPUPerRequest, 1e-3)
		}); ok {
		add(c)
	}
	if c, ok := barsChart(s, st, "peak-memory", "Peak server memory (closed model, RSS summed over the process tree, max of rounds)",
		"peak RSS (MB)", func(r *Row) Stat {
			if !r.ServerObserved || r.PeakRSS == 0 {
				return Stat{}
			}
			v := r.PeakRSS / 1e6
			return Stat{Median: v, Min: v, Max: v, N: 1}
		}); ok {
		add(c)
	}
	for _, e := range endpoints(s.Files) {
		if c, ok := timelineChart(s, st, e); ok {
			add(c)
		}
	}
	for _, e := range endpoints(s.Files) {
		if c, ok := roundsChart(s, st, e); ok {
			add(c)
		}
	}
	add(forkCharts(s)...)
	return out, nil
}

func scaleStat(s Stat, k float64) Stat {
	return Stat{Median: s.Median * k, Min: s.Min * k, Max: s.Max * k, N: s.N}
}

// palette is the fixed colour per target position in targetOrder:
// embedded blue, fcgi green, cgi red, then the others.
func palette(i int) color.Color {
	p := []color.RGBA{
		{0x1f, 0x77, 0xb4, 0xff}, // embedded
		{0x2c, 0xa0, 0x2c, 0xff}, // fcgi
		{0xd6, 0x27, 0x28, 0xff}, // cgi
		{0xff, 0x7f, 0x0e, 0xff},
		{0x94, 0x67, 0xbd, 0xff},
		{0x8c, 0x56, 0x4b, 0xff},
		{0xe3, 0x77, 0xc2, 0xff},
		{0x7f, 0x7f, 0x7f, 0xff},
		{0xbc, 0xbd, 0x22, 0xff},
		{0x17, 0xbe, 0xcf, 0xff},
	}
	return p[i%len(p)]
}

// lighten blends c with white by f in [0, 1].
func lighten(c color.Color, f float64) color.Color {
	r, g, b, _ := c.RGBA()
	mix := func(v uint32) uint8 { return uint8(float64(v>>8) + (255-float64(v>>8))*f) }
	return color.RGBA{mix(r), mix(g), mix(b), 0xff}
}

// styler gives every series (file × target) its look: the target's colour,
// and for the second and later files a dash pattern, a glyph and a lighter
// fill, with the file's label in its legend name.
type styler struct {
	order  map[string]int
	labels []string
	// group, when set, colours a series by its target's group (front,
	// protocol or language) rather than by the target, and names the
	// group in its legend entry; rank orders the groups.
	group func(file int, target string) string
	rank  func(file int, group string) int
	// shade lightens the group's colour for the second and later targets
	// of a group, so that bars of one group stay told apart.
	shade map[seriesKey]float64
}

// grouped returns st colouring each grouped file's series by group (the
// file's resolved grouping), and whether any file is grouped.
func (st styler) grouped(s *Summary) (styler, bool) {
	ranks := map[string]map[string]int{}
	any := false
	for _, by := range s.GroupBy {
		if by != GroupNone {
			ranks[by] = groupRanks(s.Files, by)
			any = true
		}
	}
	if !any {
		return st, false
	}
	st.group = func(fi int, target string) string {
		if by := s.GroupBy[fi]; by != GroupNone {
			return groupValue(s.Files[fi], by, target)
		}
		return ""
	}
	st.rank = func(fi int, g string) int {
		if by := s.GroupBy[fi]; by != GroupNone {
			return ranks[by][g]
		}
		return 0
	}
	st.shade = map[seriesKey]float64{}
	inGroup := map[[2]string]int{} // file label × group → targets seen
	for _, k := range st.seriesOf(s.Rows) {
		g := [2]string{itoa(k.file), st.group(k.file, k.target)}
		st.shade[k] = math.Min(0.15*float64(inGroup[g]), 0.6)
		inGroup[g]++
	}
	return st, true
}

func newStyler(s *Summary) styler {
	return styler{order: targetOrder(s.Files), labels: s.Labels}
}

type look struct {
	name   string
	color  color.Color
	fill   color.Color // bars
	dashes []vg.Length
	glyph  draw.GlyphDrawer
}

func (st styler) look(file int, target string) look {
	name := target
	if len(st.labels) > 1 {
		name += " (" + st.labels[file] + ")"
	}
	dashes := [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}
	glyphs := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}}
	c := palette(st.order[target])
	if st.group != nil {
		if g := st.group(file, target); g != "" {
			c = lighten(palette(st.rank(file, g)), st.shade[seriesKey{file, target}])
			name = g + ": " + name
		}
	}
	return look{
		name:   name,
		color:  c,
		fill:   lighten(c, math.Min(0.3*float64(file), 0.75)),
		dashes: dashes[file%len(dashes)],
		glyph:  glyphs[file%len(glyphs)],
	}
}

// seriesKey identifies a series: a target in a file.
type seriesKey struct {
	file   int
	target string
}

// seriesOf returns the series present in rows, ordered by file then target.
func (st styler) seriesOf(rows []*Row) []seriesKey {
	var out []seriesKey
	for _, r := range rows {
		k := seriesKey{r.File, r.Target}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b seriesKey) int {
		if a.file != b.file {
			return a.file - b.file
		}
		if st.group != nil {
			ga, gb := st.rank(a.file, st.group(a.file, a.target)), st.rank(b.file, st.group(b.file, b.target))
			if ga != gb {
				return ga - gb
			}
		}
		return st.order[a.target] - st.order[b.target]
	})
	return out
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = wrap(title, titleWidth)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = cleanTicks{}
	p.Y.Tick.Marker = cleanTicks{}
	return p
}

// titleWidth is the longest title line, in characters, that fits above
// the plot area of a chart at the title's font size.
const titleWidth = 90

// wrap breaks s at spaces into lines of at most width characters (a longer
// word stays whole), preferring to break before a parenthesis.
func wrap(s string, width int) string {
	var lines []string
	for len([]rune(s)) > width {
		r := []rune(s)
		cut := -1
		for i := width; i > width/2; i-- {
			if r[i] != ' ' {
				continue
			}
			if r[i+1] == '(' {
				cut = i
				break
			}
			if cut < 0 {
				cut = i
			}
		}
		if cut < 0 {
			cut = strings.IndexRune(s, ' ')
			if cut < 0 {
				break
			}
			cut = len([]rune(s[:cut]))
		}
		lines = append(lines, string(r[:cut]))
		s = string(r[cut+1:])
	}
	return strings.Join(append(lines, s), "\n")
}

// slug makes a name safe for a file name: "json?q=1" → "json-q-1".
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		out = "x"
	}
	return out
}

// logTicks labels a log axis at 1, 2 and 5 per decade (only 1 when the
// axis spans more than three decades), with unlabelled minor ticks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 {
		return nil
	}
	d0 := int(math.Floor(math.Log10(lo)))
	d1 := int(math.Ceil(math.Log10(hi)))
	wide := d1-d0 > 3
	var ts []plot.Tick
	for d := d0; d <= d1; d++ {
		base := math.Pow10(d)
		for m := 1; m < 10; m++ {
			v := float64(m) * base
			if v < lo*0.999 || v > hi*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (!wide && (m == 2 || m == 5)) {
				t.Label = sig(v, 1)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// useLogY puts p's Y axis on a log scale over [lo, hi], padded a little.
func useLogY(p *plot.Plot, lo, hi float64) {
	if lo <= 0 || hi <= 0 || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return
	}
	if hi/lo < 2 {
		lo, hi = lo/1.5, hi*1.5
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	p.Y.Min, p.Y.Max = lo/1.15, hi*1.15
}

// rangeY tracks the positive extent of plotted values for log axes.
type rangeY struct{ lo, hi float64 }

func newRangeY() rangeY { return rangeY{math.Inf(1), math.Inf(-1)} }

func (r *rangeY) add(v float64) {
	if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
		r.lo, r.hi = math.Min(r.lo, v), math.Max(r.hi, v)
	}
}

func (r rangeY) ok() bool { return r.lo <= r.hi }

// barsChart draws grouped bars: one group per endpoint, one bar per series,
// from closed-model rows; min–max across rounds as error bars and the
// median written above each bar. When the bars span more than logBarsRatio
// the Y axis is logarithmic, so that a bar 1000× shorter than its
// neighbour (CGI's throughput beside embedded's) is still visible.
// (Long: one figure's bars, error bars, labels and axes share their
// scale and positions; split, the pieces would pass all of it around.)
func barsChart(s *Summary, st styler, name, title, ylabel string, value func(*Row) Stat) (Chart, bool) {
	var rows []*Row
	for _, r := range s.Rows {
		if r.Model == results.ModelClosed && value(r).Valid() {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return Chart{}, false
	}
	var cats []string
	for _, e := range endpoints(s.Files) {
		for _, r := range rows {
			if r.Endpoint == e {
				cats = append(cats, e)
				break
			}
		}
	}
	series := st.seriesOf(rows)
	yr := newRangeY()
	for _, r := range rows {
		v := value(r)
		yr.add(v.Median)
		yr.add(v.Min)
		yr.add(v.Max)
	}
	logY := yr.ok() && yr.hi/yr.lo > logBarsRatio
	if logY {
		ylabel += ", log scale"
	}
	p := newPlot(title, "endpoint", ylabel)
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.5, float64(len(cats))-0.5
	slot := 0.8 / float64(len(series))
	var leg plot.Legend = plot.NewLegend()
	var labels plotter.XYLabels
	for j, k := range series {
		lk := st.look(k.file, k.target)
		var first *bar
		for ci, e := range cats {
			var r *Row
			for _, x := range rows {
				if x.File == k.file && x.Target == k.target && x.Endpoint == e {
					r = x
				}
			}
			if r == nil {
				continue
			}
			v := value(r)
			if math.IsNaN(v.Median) || math.IsInf(v.Median, 0) || (logY && v.Median <= 0) {
				continue // nothing to draw
			}
			x := float64(ci) + (float64(j)-float64(len(series)-1)/2)*slot
			b := &bar{x: x, half: slot * 0.45, y: v.Median, fill: lk.fill, line: lk.color, dashes: lk.dashes}
			p.Add(b)
			top := v.Median
			if v.N > 1 {
				low := v.Min
				if logY {
					// A round at zero (a target that answered nothing)
					// has no place on a log axis: the bar runs to its foot.
					low = math.Max(low, logFloor(yr.lo))
				}
				eb, err := plotter.NewYErrorBars(errBars{x: x, y: v.Median, lo: v.Median - low, hi: v.Max - v.Median})
				if err == nil {
					eb.LineStyle.Width = vg.Points(1)
					p.Add(eb)
					top = v.Max
				}
			}
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: top})
			labels.Labels = append(labels.Labels, short(v.Median))
			if first == nil {
				first = b
			}
		}
		if first != nil {
			leg.Add(lk.name, first)
		}
	}
	if len(labels.XYs) == 0 {
		return Chart{}, false
	}
	if lb, err := plotter.NewLabels(labels); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].Font.Size = vg.Points(9)
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
	if logY {
		useLogY(p, yr.lo, yr.hi)
		p.Y.Min = logFloor(yr.lo) // bars rise from a whole decade
		p.Y.Max = yr.hi * 1.6     // room for the value labels
	} else {
		p.Y.Min = 0
		p.Y.Max = math.Max(p.Y.Max, yr.hi) * 1.1
	}
	return Chart{Name: name, Title: title, plot: p, legend: leg}, true
}

// logFloor is the foot of a log-scale bar chart whose smallest positive
// value is lo: the whole decade below it.
func logFloor(lo float64) float64 { return math.Pow10(int(math.Floor(math.Log10(lo / 1.15)))) }

// logBarsRatio is the largest/smallest bar above which a bar chart's Y
// axis becomes logarithmic.
const logBarsRatio = 20

// bar is one bar that rises from the bottom of the Y axis, whatever its
// scale: plotter.BarChart starts at zero, which a log axis cannot show.
type bar struct {
	x, half, y float64 // centre, half width (data units), top
	fill, line color.Color
	dashes     []vg.Length
	// hatch, when non-zero, draws a hatching pattern over the fill
	// (hatchLines) in hatchColor: the matrix chart's mark of language.
	hatch      int
	hatchColor color.Color
}

// Plot implements plot.Plotter.
func (b *bar) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	base := math.Max(p.Y.Min, 0)
	if _, isLog := p.Y.Scale.(plot.LogScale); isLog {
		base = p.Y.Min
	}
	x0, x1 := trX(b.x-b.half), trX(b.x+b.half)
	y0, y1 := trY(base), trY(math.Min(b.y, p.Y.Max))
	pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
	c.FillPolygon(b.fill, c.ClipPolygonY(pts))
	if b.hatch > 0 {
		hs := draw.LineStyle{Color: b.hatchColor, Width: vg.Points(0.8)}
		c.StrokeLines(hs, c.ClipLinesY(hatchLines(x0, y0, x1, y1, b.hatch)...)...)
	}
	ls := draw.LineStyle{Color: b.line, Width: vg.Points(1), Dashes: b.dashes}
	c.StrokeLines(ls, c.ClipLinesY(append(pts, pts[0]))...)
}

// DataRange implements plot.DataRanger.
func (b *bar) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.x - b.half, b.x + b.half, math.Min(0, b.y), b.y
}

// Thumbnail implements plot.Thumbnailer.
func (b *bar) Thumbnail(c *draw.Canvas) {
	swatch{fill: b.fill, line: b.line}.Thumbnail(c)
}

// short formats a value for a label on a bar: 3 significant digits, with
// k or M for thousands and millions ("20.1k", "28.0", "0.412").
func short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return sig(v/1e6, 3) + "M"
	case a >= 1e4:
		return sig(v/1e3, 3) + "k"
	}
	return sig(v, 3)
}

// cleanTicks is gonum's default linear ticks, labelled without trailing
// zeros ("75000", not "75000.00").
type cleanTicks struct{}

func (cleanTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ts {
		switch {
		case t.Label == "":
		case math.Abs(t.Value) < 1e-9*(hi-lo):
			ts[i].Label = "0"
		default:
			ts[i].Label = trimZeros(sig(t.Value, 6))
		}
	}
	return ts
}

// errBars is one point with asymmetric Y error bars.
type errBars struct{ x, y, lo, hi float64 }

func (e errBars) Len() int                      { return 1 }
func (e errBars) XY(int) (float64, float64)     { return e.x, e.y }
func (e errBars) YError(int) (float64, float64) { return e.lo, e.hi }

// latencySelection picks, for endpoint e, the rows whose latency the
// percentile and timeline charts show: open-model rows at the lowest
// offered rate valid for every target (or each target's lowest valid rate
// when they share none), else the closed model. A target with no valid
// open-model point at all (CGI saturated at every offered rate) is shown
// from its closed-model row rather than left out: the chart then says so
// in its title and legend (see selectionText and seriesName); a reference
// (results.Settings.References) is not.
func latencySelection(s *Summary, e string) (rows []*Row, model results.Model) {
	var open, closed []*Row
	for _, r := range s.Rows {
		switch {
		case r.Endpoint != e:
		case r.Model == results.ModelOpen && r.LatencyValid:
			open = append(open, r)
		case r.Model == results.ModelClosed && r.P50.Valid():
			closed = append(closed, r)
		}
	}
	if len(open) == 0 {
		return closed, results.ModelClosed
	}
	st := styler{order: targetOrder(s.Files)}
	series := st.seriesOf(open)
	rates := map[float64]int{}
	for _, r := range open {
		rates[r.Rate]++
	}
	common := math.Inf(1)
	for rt, n := range rates {
		if n == len(series) && rt < common {
			common = rt
		}
	}
	// A reference, measured in the closed model only by design, is not
	// a target that lacks a valid open-model point: among open-model
	// lines its queueing latency would only mislead.
	fallback := slices.DeleteFunc(slices.Clone(closed), s.isReference)
	for _, k := range st.seriesOf(append(slices.Clone(open), fallback...)) {
		var pick *Row
		for _, r := range open {
			if r.File != k.file || r.Target != k.target {
				continue
			}
			if r.Rate == common || (math.IsInf(common, 1) && (pick == nil || r.Rate < pick.Rate)) {
				pick = r
			}
		}
		if pick == nil {
			for _, r := range fallback {
				if r.File == k.file && r.Target == k.target {
					pick = r
				}
			}
		}
		if pick != nil {
			rows = append(rows, pick)
		}
	}
	return rows, results.ModelOpen
}

// selectionText says where the latency of rows came from, for titles;
// sameRate reports whether every open-model row has the same offered
// rate, so that legends need not repeat it.
func selectionText(rows []*Row, model results.Model) (text string, sameRate bool) {
	if model == results.ModelClosed {
		return "closed model: no valid open-model points, latency hides queueing", true
	}
	var open []*Row
	var fallback []string
	for _, r := range rows {
		if r.Model == results.ModelOpen {
			open = append(open, r)
		} else if !slices.Contains(fallback, r.Target) {
			fallback = append(fallback, r.Target)
		}
	}
	sameRate = true
	for _, r := range open {
		sameRate = sameRate && r.Rate == open[0].Rate
	}
	text = "open model, from intended send"
	if sameRate {
		text = fmt.Sprintf("open model at %s req/s, from intended send", rate(open[0].Rate))
	}
	if len(fallback) > 0 {
		text += fmt.Sprintf("; %s: closed model, no valid open-model point", strings.Join(fallback, ", "))
	}
	return text, sameRate
}

// seriesName is the legend name of a latency row picked by
// latencySelection: the rate when the rows differ in rate, and the model
// when the row is a closed-model fallback among open-model rows.
func seriesName(lk look, r *Row, model results.Model, sameRate bool) string {
	switch {
	case r.Model != model:
		return lk.name + " (closed model)"
	case !sameRate:
		return lk.name + " @ " + rate(r.Rate) + " req/s"
	}
	return lk.name
}

// fallbackDashes marks a closed-model fallback line among open-model lines.
func fallbackDashes() []vg.Length { return []vg.Length{vg.Points(7), vg.Points(3)} }

// nines maps a quantile q in [0, 1) to the HDR "nines" axis: −log10(1−q).
func nines(q float64) float64 { return -math.Log10(1 - q) }

// percentileChart draws the latency distribution per target on endpoint e
// from the histograms merged across rounds.
func percentileChart(s *Summary, st styler, e string) (Chart, bool, error) {
	rows, model := latencySelection(s, e)
	if len(rows) == 0 {
		return Chart{}, false, nil
	}
	what, same := selectionText(rows, model)
	title := fmt.Sprintf("Latency by percentile, %s (%s, merged rounds)", e, what)
	p := newPlot(title, "percentile (log scale of nines)", "latency (ms, log scale)")
	leg := plot.NewLegend()
	yr := newRangeY()
	maxX := 0.0
	drawn := 0
	for _, r := range rows {
		var ls []results.Latency
		for _, pt := range r.points {
			if l := latencyOf(pt); l != nil && l.Count > 0 {
				ls = append(ls, *l)
			} else if l == nil && pt.Latency.Count > 0 {
				ls = append(ls, pt.Latency) // open point without intended-send latency; noted
			}
		}
		if len(ls) == 0 {
			continue
		}
		merged, err := results.Merge(ls...)
		if err != nil {
			return Chart{}, false, fmt.Errorf("reports: %s %s: %w", r.Target, r.Endpoint, err)
		}
		h, err := results.DecodeHistogram(merged.Histogram)
		if err != nil {
			return Chart{}, false, fmt.Errorf("reports: %s %s: %w", r.Target, r.Endpoint, err)
		}
		top := math.Min(5, math.Log10(float64(merged.Count)))
		var xys plotter.XYs
		for x := 0.0; x <= top+1e-9; x += 0.025 {
			q := 1 - math.Pow(10, -x)
			v := float64(h.ValueAtQuantile(100*q)) / 1e6
			xys = append(xys, plotter.XY{X: x, Y: v})
			yr.add(v)
		}
		maxX = math.Max(maxX, top)
		lk := st.look(r.File, r.Target)
		ln, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		ln.Color = lk.color
		ln.Width = vg.Points(1.5)
		ln.Dashes = lk.dashes
		if r.Model != model {
			ln.Dashes = fallbackDashes()
		}
		p.Add(ln)
		leg.Add(seriesName(lk, r, model, same), ln)
		drawn++
	}
	if drawn == 0 || !yr.ok() {
		return Chart{}, false, nil
	}
	var ticks []plot.Tick
	for _, t := range []struct {
		q     float64
		label string
	}{{0, "0%"}, {0.5, "50%"}, {0.9, "90%"}, {0.99, "99%"}, {0.999, "99.9%"}, {0.9999, "99.99%"}, {0.99999, "99.999%"}} {
		if x := nines(t.q); x <= maxX+1e-9 {
			ticks = append(ticks, plot.Tick{Value: x, Label: t.label})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0, math.Max(maxX, 1)
	useLogY(p, yr.lo, yr.hi)
	return Chart{Name: "latency-" + slug(e), Title: title, plot: p, legend: leg}, true, nil
}

// sweepChart draws p50 and p99 against offered rate for the open-model
// points of endpoint e, with each target's knee and the SLO marked.
// sweepRows are the open-model rows of endpoint e: fixed rates and sweep
// steps, one row per step (its rate the median of its rounds').
func sweepRows(s *Summary, e string) []*Row {
	var rows []*Row
	for _, r := range s.Rows {
		if r.Endpoint == e && r.Model == results.ModelOpen {
			rows = append(rows, r)
		}
	}
	return rows
}

// sweepCurve is one series' points of a sweep chart: p50 and p99 (ms)
// against the offered rate, one point per row, saturated and undrawable
// rows left out; tried is the highest rate the series offered.
func sweepCurve(rows []*Row, k seriesKey) (p50, p99 plotter.XYs, tried float64) {
	for _, r := range rows {
		if r.File != k.file || r.Target != k.target {
			continue
		}
		tried = math.Max(tried, r.Rate)
		if !r.LatencyValid || r.P50.Median <= 0 {
			continue // not valid, or not drawable on a log axis
		}
		p50 = append(p50, plotter.XY{X: r.Rate, Y: r.P50.Median / 1e6})
		if r.P99.Valid() && r.P99.Median > 0 { // p99 is shown only with enough samples
			p99 = append(p99, plotter.XY{X: r.Rate, Y: r.P99.Median / 1e6})
		}
	}
	return p50, p99, tried
}

// kneeMark is a knee drawn on a sweep chart.
type kneeMark struct {
	lk    look
	rate  float64
	above bool // the knee is the highest rate tried: the true one may lie above
}

func sweepChart(s *Summary, st styler, e string) (Chart, bool) {
	rows := sweepRows(s, e)
	series := st.seriesOf(rows)
	swept := false
	for _, k := range series {
		p50, _, _ := sweepCurve(rows, k)
		swept = swept || len(p50) >= 2
	}
	if !swept {
		return Chart{}, false
	}
	title := fmt.Sprintf("Latency vs offered rate, %s (open model, from intended send; saturated points omitted, p99 only with ≥ 1,000 samples)", e)
	p := newPlot(title, "offered rate (req/s)", "latency (ms, log scale)")
	leg := plot.NewLegend()
	yr := newRangeY()
	xmin, xmax := math.Inf(1), 0.0
	for _, r := range rows {
		xmax = math.Max(xmax, r.Rate)
		if r.Rate > 0 {
			xmin = math.Min(xmin, r.Rate)
		}
	}
	var knees []kneeMark
	var slos []int64
	for _, k := range series {
		lk := st.look(k.file, k.target)
		p50, p99, tried := sweepCurve(rows, k)
		for _, xy := range slices.Concat(p50, p99) {
			yr.add(xy.Y)
		}
		addCurves(p, &leg, lk, curveStyle{p99: 2, p50: 1.2, dot: 2.5}, p50, p99)
		ks, ss := kneesOf(s.Files[k.file], k.target, e, lk, tried)
		knees = append(knees, ks...)
		for _, slo := range ss {
			if !slices.Contains(slos, slo) {
				slos = append(slos, slo)
			}
		}
	}
	if !yr.ok() {
		return Chart{}, false
	}
	for _, slo := range slos {
		yr.add(float64(slo) / 1e6)
	}
	// A doubling sweep (200, 400, … 6400) reads evenly on a log axis;
	// on a linear one its low rates, where CGI gives out, are squeezed
	// into the corner.
	logX := xmin > 0 && xmax/xmin >= 8
	x0 := 0.0
	if logX {
		x0 = xmin
	}
	addKnees(p, &leg, knees, yr.lo/1.15, yr.hi*1.15)
	for _, slo := range slos {
		ln, err := plotter.NewLine(plotter.XYs{{X: x0, Y: float64(slo) / 1e6}, {X: xmax, Y: float64(slo) / 1e6}})
		if err != nil {
			continue
		}
		ln.Color, ln.Width, ln.Dashes = color.Black, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ln)
		leg.Add("SLO p99 ≤ "+human(slo), ln)
	}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
		p.X.Min, p.X.Max = xmin/1.15, xmax*1.15
		p.X.Label.Text = "offered rate (req/s, log scale)"
	} else {
		p.X.Min = 0
	}
	useLogY(p, yr.lo, yr.hi)
	return Chart{Name: "sweep-" + slug(e), Title: title, plot: p, legend: leg}, true
}

// curveStyle is how addCurves draws a series: the widths in points of
// its p99 line and of its thinner, lighter p50 line, and the radius in
// points of the dots marking its points (0: no dots).
type curveStyle struct{ p99, p50, dot float64 }

// addCurves draws one series' p99 and p50 lines in lk's colour, dashes
// and glyph, named lk.name in the legend.
func addCurves(p *plot.Plot, leg *plot.Legend, lk look, cs curveStyle, p50, p99 plotter.XYs) {
	for _, pair := range []struct {
		xys   plotter.XYs
		label string
		c     color.Color
		w     float64
	}{{p99, "p99", lk.color, cs.p99}, {p50, "p50", lighten(lk.color, 0.45), cs.p50}} {
		if len(pair.xys) == 0 {
			continue
		}
		ln, sc, err := plotter.NewLinePoints(pair.xys)
		if err != nil {
			continue
		}
		ln.Color, ln.Width, ln.Dashes = pair.c, vg.Points(pair.w), lk.dashes
		if cs.dot == 0 {
			p.Add(ln)
			leg.Add(lk.name+" "+pair.label, ln)
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: pair.c, Radius: vg.Points(cs.dot), Shape: lk.glyph}
		p.Add(ln, sc)
		leg.Add(lk.name+" "+pair.label, ln, sc)
	}
}

// kneesOf returns the knees of target on endpoint e recorded in f, and
// the SLOs they and f were judged against.
func kneesOf(f *results.File, target, e string, lk look, tried float64) ([]kneeMark, []int64) {
	var knees []kneeMark
	var slos []int64
	for _, kn := range f.Knees {
		if kn.Target == target && kn.Endpoint == e {
			if kn.Found {
				knees = append(knees, kneeMark{lk, kn.Rate, kn.Rate >= tried})
			}
			if kn.SLOP99Ns > 0 {
				slos = append(slos, kn.SLOP99Ns)
			}
		}
	}
	if slo := f.Settings.SLOP99Ns; slo > 0 {
		slos = append(slos, slo)
	}
	return knees, slos
}

// addKnees draws a vertical line per knee from lo to hi.
func addKnees(p *plot.Plot, leg *plot.Legend, knees []kneeMark, lo, hi float64) {
	for i, kn := range knees {
		// Knees at the same rate share a line: interleave their dashes
		// so that every colour shows.
		same, nth := 0, 0
		for j, o := range knees {
			if o.rate == kn.rate {
				if j < i {
					nth++
				}
				same++
			}
		}
		ln, err := plotter.NewLine(plotter.XYs{{X: kn.rate, Y: lo}, {X: kn.rate, Y: hi}})
		if err != nil {
			continue
		}
		ln.Color, ln.Width = kn.lk.color, vg.Points(1.2)
		ln.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		if same > 1 {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(5 * float64(same-1))}
			ln.DashOffs = vg.Points(5 * float64(nth))
		}
		p.Add(ln)
		at := ""
		if kn.above {
			at = "≥ "
		}
		leg.Add(fmt.Sprintf("%s knee %s%s req/s", kn.lk.name, at, rate(kn.rate)), ln)
	}
}

// timelineChart draws latency over time in the first round of each
// target's selected point on endpoint e.
func timelineChart(s *Summary, st styler, e string) (Chart, bool) {
	rows, model := latencySelection(s, e)
	what, same := selectionText(rows, model)
	title := fmt.Sprintf("Latency over time, %s (first round, %s)", e, what)
	p := newPlot(title, "time into the measured window (s)", "latency per interval (ms, log scale)")
	leg := plot.NewLegend()
	yr := newRangeY()
	for _, r := range rows {
		pt := r.points[0]
		if len(pt.Timeline) == 0 {
			continue
		}
		lk := st.look(r.File, r.Target)
		lk.name = seriesName(lk, r, model, same)
		if r.Model != model {
			lk.dashes = fallbackDashes()
		}
		var p50, p99 plotter.XYs
		for _, b := range pt.Timeline {
			if b.Requests == 0 || b.P50Ns <= 0 || b.P99Ns <= 0 {
				continue // an empty interval has no latency
			}
			x := float64(b.OffsetNs) / 1e9
			p50 = append(p50, plotter.XY{X: x, Y: float64(b.P50Ns) / 1e6})
			p99 = append(p99, plotter.XY{X: x, Y: float64(b.P99Ns) / 1e6})
			yr.add(float64(b.P50Ns) / 1e6)
			yr.add(float64(b.P99Ns) / 1e6)
		}
		cs := curveStyle{p99: 1.5, p50: 1}
		if len(p99) <= timelineDots {
			// Few intervals (a short run): mark them, or two points
			// read as a trend.
			cs.dot = 2
		}
		addCurves(p, &leg, lk, cs, p50, p99)
	}
	if !yr.ok() {
		return Chart{}, false
	}
	p.X.Min = 0
	useLogY(p, yr.lo, yr.hi)
	return Chart{Name: "timeline-" + slug(e), Title: title, plot: p, legend: leg}, true
}

// timelineDots is the most intervals a timeline line has for its points
// to be marked with dots.
const timelineDots = 30

// roundsChart draws, for endpoint e, the closed-model throughput of every
// round relative to the median of its target's rounds, as a box per target
// with the rounds as dots, so that drift or one bad round shows on the same
// scale for a target doing 40000 req/s and one doing 30. The medians
// themselves are under each target's name. It is skipped when no target
// has two rounds: one round has no spread to show.
func roundsChart(s *Summary, st styler, e string) (Chart, bool) {
	var rows []*Row
	multi := false
	for _, r := range s.Rows {
		if r.Endpoint == e && r.Model == results.ModelClosed && r.Throughput.Valid() && r.Throughput.Median > 0 {
			rows = append(rows, r)
			multi = multi || len(r.points) > 1
		}
	}
	if !multi {
		return Chart{}, false
	}
	title := fmt.Sprintf("Throughput across rounds, %s (closed model; box: quartiles, dots: rounds)", e)
	p := newPlot(title, "target (median of rounds)", "round throughput / median of rounds (%)")
	leg := plot.NewLegend()
	var names []string
	lo, hi := 100.0, 100.0
	for i, r := range rows {
		lk := st.look(r.File, r.Target)
		names = append(names, fmt.Sprintf("%s\n%s req/s", lk.name, short(r.Throughput.Median)))
		var vs plotter.Values
		var dots plotter.XYs
		for j, pt := range r.points {
			v := 100 * pt.Throughput / r.Throughput.Median
			vs = append(vs, v)
			// Spread the dots a little so equal rounds stay visible.
			dots = append(dots, plotter.XY{X: float64(i) + 0.25 + 0.05*float64(j%3), Y: v})
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		bp, err := plotter.NewBoxPlot(vg.Points(30), float64(i), vs)
		if err != nil {
			continue
		}
		bp.FillColor = lighten(lk.color, 0.6)
		bp.BoxStyle.Color, bp.MedianStyle.Color, bp.WhiskerStyle.Color = lk.color, lk.color, lk.color
		bp.MedianStyle.Width = vg.Points(2)
		bp.BoxStyle.Dashes = lk.dashes
		bp.GlyphStyle.Color = lk.color
		sc, err := plotter.NewScatter(dots)
		if err != nil {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: lk.color, Radius: vg.Points(2.5), Shape: lk.glyph}
		p.Add(bp, sc)
		leg.Add(fmt.Sprintf("%s (%d round%s)", lk.name, len(vs), plural(len(vs))), swatch{fill: bp.FillColor, line: lk.color}, sc)
	}
	if ref, err := plotter.NewLine(plotter.XYs{{X: -0.6, Y: 100}, {X: float64(len(rows)) - 0.4, Y: 100}}); err == nil {
		ref.Color, ref.Width, ref.Dashes = color.Gray{Y: 0x99}, vg.Points(0.8), []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ref)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(rows))-0.4
	// At least ±5% so that a tight spread looks tight, not magnified.
	pad := math.Max(hi-lo, 10) * 0.1
	p.Y.Min, p.Y.Max = math.Min(lo, 95)-pad, math.Max(hi, 105)+pad
	return Chart{Name: "rounds-" + slug(e), Title: title, plot: p, legend: leg}, true
}

// swatch is a legend thumbnail: a filled, outlined rectangle.
type swatch struct{ fill, line color.Color }

func (sw swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y},
	}
	c.FillPolygon(sw.fill, pts)
	c.StrokeLines(draw.LineStyle{Color: sw.line, Width: vg.Points(1)}, append(pts, pts[0]))
}

// hatchLines returns the lines of hatching pattern n (1 "/", 2 "\\", 3
// both, then again) inside the rectangle (x0, y0)–(x1, y1).
func hatchLines(x0, y0, x1, y1 vg.Length, n int) [][]vg.Point {
	if x1 < x0 {
		x0, x1 = x1, x0
	}
	if y1 < y0 {
		y0, y1 = y1, y0
	}
	h := y1 - y0
	if h <= 0 || x1 <= x0 {
		return nil
	}
	step := vg.Points(5)
	var out [][]vg.Point
	for dir := 1; dir <= 2; dir++ {
		if (n-1)%3+1 != dir && (n-1)%3+1 != 3 {
			continue
		}
		// Lines of slope ±1 through (k, y0), clipped to [x0, x1].
		for k := x0 - h; k < x1; k += step {
			t0 := max(0, (x0-k)/h)
			t1 := min(1, (x1-k)/h)
			if t1 <= t0 {
				continue
			}
			a := vg.Point{X: k + t0*h, Y: y0 + t0*h}
			b := vg.Point{X: k + t1*h, Y: y0 + t1*h}
			if dir == 2 { // mirror within the rectangle
				a.X, b.X = x0+x1-a.X, x0+x1-b.X
			}
			out = append(out, []vg.Point{a, b})
		}
	}
	return out
}

// hatchSwatch is a legend entry for a hatching pattern on white.
type hatchSwatch struct{ hatch int }

func (hs hatchSwatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y},
	}
	c.FillPolygon(color.White, pts)
	gray := color.Gray{Y: 0x40}
	if hs.hatch > 0 {
		c.StrokeLines(draw.LineStyle{Color: gray, Width: vg.Points(0.8)}, hatchLines(c.Min.X, c.Min.Y, c.Max.X, c.Max.Y, hs.hatch)...)
	}
	c.StrokeLines(draw.LineStyle{Color: gray, Width: vg.Points(1)}, append(pts, pts[0]))
}
