package history

// This file draws each headline metric over the stored runs and flags
// change points.
//
// Change points: run i of a series is flagged when its rounds differ from
// the rounds of the (up to) Window previous comparable runs pooled
// together by a Mann–Whitney U test at Alpha (benchmath, as compare uses)
// and its median moved by at least Threshold from the window's median. It
// is the comparison the nightly job makes, applied to every night against
// a short moving baseline. A flagged run starts a new segment: later runs
// are tested only against runs from that one on, so a shift of level is
// flagged once, on the night it happens, and not again every night after.
//
// A/B runs (`bench ab`, as the nightly job makes them) hold both builds,
// measured in the same sitting. Their absolute charts show the new build
// only; beside them, ratio charts draw each night's paired ratio new/base
// (the median of the per-round ratios), where the machine's drift between
// sittings has cancelled, and mark the nights `bench ab` judged a
// regression or an improvement.

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"forkbench/compare"
	"forkbench/results"
)

// TrendOptions configure trend charts; zero values take the defaults.
type TrendOptions struct {
	// Metrics are drawn one chart each per endpoint and load; empty
	// means every metric.
	Metrics []string
	// Window is the number of previous runs a run is tested against
	// (default 5).
	Window int
	// Alpha and Threshold decide a change point (defaults 0.05 and 5%).
	Alpha, Threshold float64
	// Sweeps includes rate-sweep points (one chart per factor); off by
	// default, since their offered rates follow each run's capacity.
	Sweeps bool
}

// Run is one stored run in a trend.
type run struct {
	entry Entry
	file  *results.File
}

// Point is one run's value in a series.
type Point struct {
	Time   time.Time `json:"time"`
	Commit string    `json:"commit"`
	Median float64   `json:"median"`
	Rounds int       `json:"rounds"`
	// Change is set on a change point: the shift from the window's
	// median (0.12 = +12%) and the U test's p-value.
	Change *float64 `json:"change,omitempty"`
	P      float64  `json:"p,omitempty"`
	// MDE is, on a ratio series, that night's minimum detectable effect
	// (compare.Change.MDE).
	MDE *float64 `json:"mde,omitempty"`
}

// Series is one metric of one target, endpoint and load over time. On a
// paired series (A/B runs) a point's Median is the ratio new/base.
type Series struct {
	Metric string           `json:"metric"`
	Key    results.PointKey `json:"key"`
	Paired bool             `json:"paired,omitempty"`
	Points []Point          `json:"points"`
}

// Chart is one trend figure: a metric for one endpoint and load, a line
// per target.
type Chart struct {
	Name   string
	Title  string
	Series []Series
	plot   *plot.Plot
}

// Trend builds the series and charts of the runs in the store.
func (s Store) Trend(opt TrendOptions) ([]Chart, error) {
	idx, err := s.Load()
	if err != nil {
		return nil, err
	}
	var runs []run
	for _, e := range idx.Entries {
		f, err := s.Read(e)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		runs = append(runs, run{e, f})
	}
	return trend(runs, opt)
}

func trend(runs []run, opt TrendOptions) ([]Chart, error) {
	if opt.Window <= 0 {
		opt.Window = 5
	}
	if opt.Alpha == 0 {
		opt.Alpha = compare.DefaultAlpha
	}
	if opt.Threshold == 0 {
		opt.Threshold = compare.DefaultThreshold
	}
	metrics := opt.Metrics
	if len(metrics) == 0 {
		metrics = compare.MetricNames()
	}
	var charts []Chart
	for _, m := range metrics {
		type ek struct{ endpoint, load string }
		byChart := map[ek][]Series{}
		var chartOrder []ek
		seriesIdx := map[results.PointKey]int{}
		// samples[key][i] are the rounds of runs[i] (nil when absent).
		samples := map[results.PointKey][][]float64{}
		for i, r := range runs {
			keys, vals, err := compare.Samples(r.file, m)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				if !opt.Sweeps && k.IsSweep() {
					continue
				}
				v := vals[k]
				k, keep := newSide(k)
				if !keep {
					continue
				}
				if _, ok := samples[k]; !ok {
					samples[k] = make([][]float64, len(runs))
					c := ek{k.Endpoint, k.Load()}
					if _, ok := byChart[c]; !ok {
						chartOrder = append(chartOrder, c)
					}
					seriesIdx[k] = len(byChart[c])
					byChart[c] = append(byChart[c], Series{Metric: m, Key: k})
				}
				samples[k][i] = v
			}
		}
		for k, rs := range samples {
			c := ek{k.Endpoint, k.Load()}
			byChart[c][seriesIdx[k]].Points = changePoints(runs, rs, opt)
		}
		for _, c := range chartOrder {
			ch, err := newChart(m, c.endpoint, c.load, byChart[c])
			if err != nil {
				return nil, err
			}
			charts = append(charts, ch)
		}
	}
	ratios, err := ratioCharts(runs, metrics, opt)
	if err != nil {
		return nil, err
	}
	return append(ratios, charts...), nil
}

// newSide maps an A/B run's key to the key its absolute series is drawn
// under: "kind@new" is the night's build, drawn as kind; "kind@base" was
// measured only as the reference and is not drawn (ok false). Other keys
// are unchanged.
func newSide(k results.PointKey) (results.PointKey, bool) {
	kind, label, ok := results.SplitTarget(k.Target)
	switch {
	case !ok:
		return k, true
	case label == compare.LabelNew:
		k.Target = kind
		return k, true
	case label == compare.LabelBase:
		return k, false
	}
	return k, true
}

// ratioCharts draws the paired ratios of the A/B runs among runs: a chart
// per metric, endpoint and load, a line per target, a point per night at
// the median per-round ratio new/base, ringed where the paired test found
// a change of at least the threshold. None when no run is an A/B run.
func ratioCharts(runs []run, metrics []string, opt TrendOptions) ([]Chart, error) {
	type ck struct{ metric, endpoint, load string }
	byChart := map[ck][]Series{}
	var order []ck
	seriesIdx := map[ck]map[results.PointKey]int{}
	for _, r := range runs {
		rep, err := compare.ComparePaired(r.file, compare.LabelBase, compare.LabelNew,
			compare.Options{Metrics: metrics, Alpha: opt.Alpha, Threshold: opt.Threshold})
		if errors.Is(err, compare.ErrBadInput) {
			continue // not an A/B run
		} else if err != nil {
			return nil, err
		}
		for _, row := range rep.Rows {
			if !opt.Sweeps && row.IsSweep() {
				continue
			}
			for _, c := range row.Metrics {
				if c.Delta == nil {
					continue
				}
				key := ck{c.Metric, row.Endpoint, row.Load}
				if _, ok := seriesIdx[key]; !ok {
					seriesIdx[key] = map[results.PointKey]int{}
					order = append(order, key)
				}
				i, ok := seriesIdx[key][row.PointKey]
				if !ok {
					i = len(byChart[key])
					seriesIdx[key][row.PointKey] = i
					byChart[key] = append(byChart[key], Series{Metric: c.Metric, Key: row.PointKey, Paired: true})
				}
				p := Point{Time: r.entry.StartedAt, Commit: r.entry.Commit, Median: 1 + *c.Delta, Rounds: len(c.Ratios), MDE: c.MDE}
				if c.Status == compare.Regressed || c.Status == compare.Improved {
					d := *c.Delta
					p.Change, p.P = &d, c.P
				}
				byChart[key][i].Points = append(byChart[key][i].Points, p)
			}
		}
	}
	var charts []Chart
	for _, key := range order {
		ch, err := newRatioChart(key.metric, key.endpoint, key.load, byChart[key], opt.Threshold)
		if err != nil {
			return nil, err
		}
		charts = append(charts, ch)
	}
	return charts, nil
}

// changePoints turns one series' rounds per run into points, testing each
// run against the pooled rounds of the previous Window runs made on the
// same machine with the same settings (results.Comparable).
func changePoints(runs []run, rounds [][]float64, opt TrendOptions) []Point {
	th := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
	var out []Point
	segment := 0 // first run of the current level
	for i, r := range runs {
		if len(rounds[i]) == 0 {
			continue
		}
		p := Point{Time: r.entry.StartedAt, Commit: r.entry.Commit, Rounds: len(rounds[i]), Median: results.Median(rounds[i])}
		var window []float64
		n := 0
		for j := i - 1; j >= segment && n < opt.Window; j-- {
			if len(rounds[j]) == 0 || len(results.Comparable(runs[j].file, r.file)) > 0 {
				continue
			}
			window = append(window, rounds[j]...)
			n++
		}
		if len(window) > 0 {
			cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(window, th), benchmath.NewSample(slices.Clone(rounds[i]), th))
			if wm := results.Median(window); wm != 0 && cmp.P <= opt.Alpha {
				if d := p.Median/wm - 1; math.Abs(d) >= opt.Threshold {
					p.Change, p.P = &d, cmp.P
					segment = i
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// titles of the metrics on charts.
func metricTitle(m string) string {
	switch m {
	case compare.MetricP50:
		return "p50 latency"
	case compare.MetricP99:
		return "p99 latency"
	case compare.MetricThroughput:
		return "throughput"
	case compare.MetricCPU:
		return "server CPU per request"
	case compare.MetricRSS:
		return "peak RSS"
	}
	return m
}

// axis scales a metric's value for its axis label.
func axis(m string) (label string, scale float64) {
	switch m {
	case compare.MetricP50, compare.MetricP99:
		return "ms", 1e3
	case compare.MetricThroughput:
		return "req/s", 1
	case compare.MetricCPU:
		return "µs/request", 1e-3
	case compare.MetricRSS:
		return "MiB", 1.0 / (1 << 20)
	}
	return m, 1
}

func newChart(m, endpoint, load string, ss []Series) (Chart, error) {
	p := plot.New()
	title := fmt.Sprintf("%s — %s, %s (median of rounds; ○ change point)", metricTitle(m), endpoint, load)
	label, scale := axis(m)
	p.Y.Min = 0
	name := "trend-" + m + "-" + fileSafe(endpoint) + "-" + fileSafe(load)
	return drawSeries(p, name, title, label, scale, ss)
}

// newRatioChart draws paired ratio series around 1 (no change), with the
// threshold's band dashed.
func newRatioChart(m, endpoint, load string, ss []Series, threshold float64) (Chart, error) {
	p := plot.New()
	title := fmt.Sprintf("%s new/base — %s, %s (paired, same sitting; ○ flagged by bench ab)", metricTitle(m), endpoint, load)
	for _, y := range []float64{1 - threshold, 1, 1 + threshold} {
		l, err := plotter.NewLine(plotter.XYs{{X: float64(ss[0].Points[0].Time.Unix()), Y: y}, {X: float64(ss[0].Points[len(ss[0].Points)-1].Time.Unix()), Y: y}})
		if err != nil {
			return Chart{}, fmt.Errorf("history: chart %s: %w", title, err)
		}
		l.Color = color.Gray{Y: 128}
		if y != 1 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
	}
	p.Y.Tick.Marker = ratioTicks{}
	name := "ratio-" + m + "-" + fileSafe(endpoint) + "-" + fileSafe(load)
	return drawSeries(p, name, title, "new / base", 1, ss)
}

// ratioTicks labels a ratio axis with two decimals at a round step, so
// that 1.05 reads "1.05" (gonum's default would print "1.1").
type ratioTicks struct{}

// Ticks returns ticks at the roundest step giving at most 10 of them.
func (ratioTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, s := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5} {
		if (hi-lo)/s <= 10 {
			step = s
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step/1e6; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.2f", v)})
	}
	return ts
}

// drawSeries adds a line per series to p, rings the change points, and
// names the chart.
func drawSeries(p *plot.Plot, name, title, label string, scale float64, ss []Series) (Chart, error) {
	p.Title.Text = title
	p.Y.Label.Text = label
	p.X.Label.Text = "run started (UTC)"
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02\n15:04"}
	p.Add(plotter.NewGrid())
	var flagged plotter.XYs
	for i, s := range ss {
		var xys plotter.XYs
		for _, pt := range s.Points {
			xy := plotter.XY{X: float64(pt.Time.Unix()), Y: pt.Median * scale}
			xys = append(xys, xy)
			if pt.Change != nil {
				flagged = append(flagged, xy)
			}
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return Chart{}, fmt.Errorf("history: chart %s: %w", title, err)
		}
		c := plotutil.Color(i)
		line.Color, pts.Color = c, c
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(s.Key.Target, line, pts)
	}
	if len(flagged) > 0 {
		sc, err := plotter.NewScatter(flagged)
		if err != nil {
			return Chart{}, fmt.Errorf("history: chart %s: %w", title, err)
		}
		sc.Shape = draw.RingGlyph{}
		sc.Radius = vg.Points(8)
		sc.Color = color.RGBA{R: 220, A: 255}
		p.Add(sc)
		p.Legend.Add("change point", sc)
	}
	p.Legend.Top = true
	return Chart{Name: name, Title: title, Series: ss, plot: p}, nil
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == '@' {
			return r
		}
		return '_'
	}, s)
}

// Render draws c in format "svg" or "png".
func (c Chart) Render(format string) ([]byte, error) {
	wt, err := c.plot.WriterTo(9*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return nil, fmt.Errorf("history: chart %s: %w", c.Name, err)
	}
	var b strings.Builder
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("history: chart %s: %w", c.Name, err)
	}
	return []byte(b.String()), nil
}
