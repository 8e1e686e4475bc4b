package reports

// This file holds the one reduction from result files to figures: every
// table, chart and the headline read a Summary rather than the raw points,
// so that a number means the same thing wherever it is shown.

import (
	"cmp"
	"math"
	"slices"

	"forkbench/results"
)

// Latency sources, named next to every latency figure.
const (
	// SourceCorrected is latency measured from the intended send time of
	// each request (open model): queueing shows.
	SourceCorrected = "corrected"
	// SourceMeasured is latency measured from the actual send: in the
	// closed model it hides queueing and is not a latency figure.
	SourceMeasured = "measured"
)

// Target names the suite ships, in the order every table, legend and
// palette uses: the baseline first, then from cheapest to dearest.
const (
	TargetEmbedded = "embedded"
	TargetFCGI     = "fcgi"
	TargetCGI      = "cgi"
)

// spreadLimit is the (max−min)/median across rounds above which a figure
// is flagged as unstable in the notes.
const spreadLimit = 0.20

// cpuResolutionLimit is the share of its value by which a CPU per request
// figure may be uncertain (clock-tick truncation) before the notes say so.
const cpuResolutionLimit = 0.10

// Stat is one figure across rounds: its median and range. N is the number
// of rounds it came from; a Stat with N == 0 was not measured.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// Valid reports whether the figure was measured at all.
func (s Stat) Valid() bool { return s.N > 0 }

// Spread is (max−min)/median, the relative width of the range across
// rounds; 0 when there is a single round or the median is 0.
func (s Stat) Spread() float64 {
	if s.N < 2 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / math.Abs(s.Median)
}

// newStat reduces vs (one value per round) to its median and range.
func newStat(vs []float64) Stat {
	if len(vs) == 0 {
		return Stat{}
	}
	return Stat{Median: results.Median(vs), Min: slices.Min(vs), Max: slices.Max(vs), N: len(vs)}
}

// Ratios are a row's figures divided by the embedded target's for the same
// file, endpoint, model and offered rate. A ratio is NaN when either side
// is missing, invalid or zero.
type Ratios struct {
	Throughput       float64
	P50, P90         float64
	P99, P999        float64
	CPUPerRequest    float64
	PeakRSS          float64
	SpawnsPerRequest float64
}

// Row is one aggregated point: a file × load point (results.Group:
// target × endpoint × model × sweep step or offered rate), reduced across
// its rounds.
type Row struct {
	File     int    // index of the file in the slice given to Summarize
	Label    string // the file's overlay label
	Target   string
	Endpoint string
	Path     string // path and query sent (of the first round)
	Model    results.Model
	// Rate is the offered rate, req/s: the median of the rounds' for a
	// sweep step, whose rate differs between rounds; 0 for the closed
	// model.
	Rate float64
	// Step is the sweep step (fraction of capacity) of a sweep row, 0
	// for other rows.
	Step   float64
	Rounds int

	Throughput Stat // successful responses per second

	// P50…P999 are latency percentiles in nanoseconds from LatencySource.
	// A percentile is left empty (not Valid) unless every round had
	// enough samples above it (results.PercentileShown).
	P50, P90, P99, P999 Stat
	// Samples is the fewest latency samples in a round: what decides which
	// percentiles are shown.
	Samples       int64
	LatencySource string
	// ErrorP50 is the median latency of failed requests (ns), across
	// rounds that had any; not Valid when none failed.
	ErrorP50 Stat
	// LatencyValid is false when any round of an open-model point was
	// saturated: queueing inside the generator then distorts latency.
	LatencyValid bool

	SaturatedRounds      int
	GeneratorBoundRounds int
	// GeneratorLimitedRounds counts open-model rounds the generator could
	// not offer (saturated while generator-bound): they describe the
	// generator, not the target, and no knee rests on them.
	GeneratorLimitedRounds int

	Requests uint64 // summed over rounds
	// Unfinished is the most requests in flight at a round's window end
	// (stuck connections); UnfinishedAge the oldest's age (ns);
	// UnansweredRounds the rounds in which the target answered nothing.
	Unfinished       uint64
	Stuck            uint64 // most connections stuck (results.Point.Stuck) in a round
	UnfinishedAge    float64
	UnansweredRounds int
	Errors           uint64            // summed over rounds: every failed request
	ErrorsByKind     map[string]uint64 // summed over rounds; "other" holds failures no kind explains

	ServerObserved bool
	CPUPerRequest  Stat // server CPU per request, ns
	// CPUResolution is how far CPU per request may be off through /proc's
	// clock-tick truncation (ns, the worst round): the window's
	// resolution over its answered requests.
	CPUResolution    float64
	PeakRSS          float64 // bytes, max over rounds
	SpawnsPerRequest Stat
	GeneratorShare   float64 // generator CoreShare, max over rounds

	VsEmbedded Ratios

	points []*results.Point // the rounds, in round order
}

// Summary is the reduction of one or more result files.
type Summary struct {
	Files  []*results.File
	Labels []string // one per file
	Rows   []*Row   // ordered by file, model (closed first), endpoint, target, rate
	// GroupBy is each file's resolved grouping (GroupNone, GroupFront,
	// …): the tables of a grouped file are ordered and sectioned by it.
	GroupBy []string
}

// Summarize reduces files to one Row per file × load point
// (results.Groups): a sweep step is one row whatever rate each round
// offered it at. It never fails: a figure it cannot compute is left
// invalid and shows as absent.
func Summarize(files []*results.File) *Summary {
	return summarize(files, Options{})
}

// summarize is Summarize with the grouping of opt resolved per file.
func summarize(files []*results.File, opt Options) *Summary {
	s := &Summary{Files: files, Labels: labels(files)}
	for fi, f := range files {
		s.GroupBy = append(s.GroupBy, groupingOf(f, opt))
		byKey := map[results.PointKey]*Row{}
		var order []*Row
		for _, g := range results.Groups(f) {
			p := g.Points[0]
			r := &Row{File: fi, Label: s.Labels[fi], Target: p.Target, Endpoint: p.Endpoint,
				Path: p.Path, Model: g.Key.Model, Step: g.Key.Step}
			if g.Key.Model == results.ModelOpen {
				r.Rate = g.Rate()
			}
			for i := range g.Points {
				r.points = append(r.points, &g.Points[i])
			}
			r.reduce()
			byKey[g.Key] = r
			order = append(order, r)
		}
		tOrder := targetOrder(files)
		eOrder := endpointOrder(f)
		slices.SortStableFunc(order, func(a, b *Row) int {
			return cmp.Or(
				cmp.Compare(modelRank(a.Model), modelRank(b.Model)),
				cmp.Compare(a.Model, b.Model),
				cmp.Compare(min(a.Step, 1e-9), min(b.Step, 1e-9)), // fixed rates first, then the sweep
				cmp.Compare(eOrder[a.Endpoint], eOrder[b.Endpoint]),
				cmp.Compare(tOrder[a.Target], tOrder[b.Target]),
				cmp.Compare(a.Rate, b.Rate),
			)
		})
		for _, r := range order {
			k := results.KeyOf(*r.points[0])
			k.Target = TargetEmbedded
			if base := byKey[k]; base != nil {
				r.VsEmbedded = ratios(r, base)
			} else {
				r.VsEmbedded = nanRatios()
			}
		}
		s.Rows = append(s.Rows, order...)
	}
	return s
}

// reduce computes r's figures from its points (in round order).
func (r *Row) reduce() {
	r.Rounds = len(r.points)
	r.ErrorsByKind = map[string]uint64{}
	r.LatencySource = SourceMeasured
	if r.Model == results.ModelOpen {
		r.LatencySource = SourceCorrected
	}
	var thr, p50, p90, p99, p999, cpu, spawns, errP50 []float64
	r.Samples = -1
	for _, p := range r.points {
		thr = append(thr, p.Throughput)
		l := latencyOf(p)
		if l == nil {
			// An open point without intended-send latency cannot give a
			// corrected figure; fall back and say so.
			l = &p.Latency
			r.LatencySource = SourceMeasured
		}
		if l.Count > 0 {
			p50 = append(p50, float64(l.P50Ns))
			p90 = append(p90, float64(l.P90Ns))
			p99 = append(p99, float64(l.P99Ns))
			p999 = append(p999, float64(l.P999Ns))
		}
		if r.Samples < 0 || l.Count < r.Samples {
			r.Samples = l.Count
		}
		if p.ErrorLatency != nil && p.ErrorLatency.Count > 0 {
			errP50 = append(errP50, float64(p.ErrorLatency.P50Ns))
		}
		if p.Saturated {
			r.SaturatedRounds++
		}
		if p.GeneratorLimited {
			r.GeneratorLimitedRounds++
		}
		if p.GeneratorBound {
			r.GeneratorBoundRounds++
		}
		r.Requests += p.Requests
		r.Unfinished = max(r.Unfinished, p.Unfinished)
		r.Stuck = max(r.Stuck, p.Stuck)
		r.UnfinishedAge = max(r.UnfinishedAge, float64(p.UnfinishedMaxAgeNs))
		if p.Unanswered() {
			r.UnansweredRounds++
		}
		var kinds uint64
		for k, n := range p.Errors {
			r.ErrorsByKind[k] += n
			kinds += n
		}
		if failed := p.Requests - min(p.Successes, p.Requests); failed > kinds {
			r.ErrorsByKind["other"] += failed - kinds
			kinds = failed
		}
		r.Errors += kinds
		if p.Server.Observed {
			r.ServerObserved = true
			cpu = append(cpu, p.Server.CPUPerRequestNs)
			if n := max(p.Answered, 1); p.Server.CPUResolutionNs > 0 {
				r.CPUResolution = max(r.CPUResolution, float64(p.Server.CPUResolutionNs)/float64(n))
			}
			spawns = append(spawns, p.Server.SpawnsPerRequest)
			r.PeakRSS = max(r.PeakRSS, float64(p.Server.PeakRSSBytes))
		}
		r.GeneratorShare = max(r.GeneratorShare, p.Generator.CoreShare)
	}
	r.Throughput = newStat(thr)
	r.Samples = max(r.Samples, 0)
	r.P50, r.P90, r.P99, r.P999 = shownStat(p50, r.Samples, 50), shownStat(p90, r.Samples, 90), shownStat(p99, r.Samples, 99), shownStat(p999, r.Samples, 99.9)
	r.ErrorP50 = newStat(errP50)
	r.LatencyValid = r.P50.Valid() && !(r.Model == results.ModelOpen && r.SaturatedRounds > 0)
	r.CPUPerRequest = newStat(cpu)
	r.SpawnsPerRequest = newStat(spawns)
}

// shownStat is newStat(vs) for percentile q when the round with the fewest
// samples (n) had enough above q to show it, and the empty Stat otherwise.
func shownStat(vs []float64, n int64, q float64) Stat {
	if !results.PercentileShown(n, q) {
		return Stat{}
	}
	return newStat(vs)
}

// latencyOf is the latency distribution a point's latency figures come
// from: intended-send latency for the open model, measured otherwise. It
// returns nil for an open point that lacks intended-send latency.
func latencyOf(p *results.Point) *results.Latency {
	if p.Model == results.ModelOpen {
		return p.Corrected
	}
	return &p.Latency
}

func nanRatios() Ratios {
	n := math.NaN()
	return Ratios{n, n, n, n, n, n, n, n}
}

func ratios(r, base *Row) Ratios {
	q := nanRatios()
	div := func(a, b Stat) float64 {
		if !a.Valid() || !b.Valid() || b.Median == 0 {
			return math.NaN()
		}
		return a.Median / b.Median
	}
	q.Throughput = div(r.Throughput, base.Throughput)
	if r.LatencyValid && base.LatencyValid {
		q.P50, q.P90 = div(r.P50, base.P50), div(r.P90, base.P90)
		q.P99, q.P999 = div(r.P99, base.P99), div(r.P999, base.P999)
	}
	q.CPUPerRequest = div(r.CPUPerRequest, base.CPUPerRequest)
	q.SpawnsPerRequest = div(r.SpawnsPerRequest, base.SpawnsPerRequest)
	if r.ServerObserved && base.ServerObserved && base.PeakRSS > 0 {
		q.PeakRSS = r.PeakRSS / base.PeakRSS
	}
	return q
}

// Find returns the row for file fi, target, endpoint, model and rate, or
// nil.
func (s *Summary) Find(fi int, target, endpoint string, model results.Model, rate float64) *Row {
	for _, r := range s.Rows {
		if r.File == fi && r.Target == target && r.Endpoint == endpoint && r.Model == model && r.Rate == rate {
			return r
		}
	}
	return nil
}

// prefix starts the titles and notes of file fi: its label when files
// are overlaid, else nothing.
func (s *Summary) prefix(fi int) string {
	if len(s.Files) > 1 {
		return s.Labels[fi] + ": "
	}
	return ""
}

// rowsOf returns the rows of file fi in model m, in summary order.
func (s *Summary) rowsOf(fi int, m results.Model) []*Row {
	var out []*Row
	for _, r := range s.Rows {
		if r.File == fi && r.Model == m {
			out = append(out, r)
		}
	}
	return out
}

// labels returns each file's overlay label: its Label, or "file N" when
// the caller set none.
func labels(files []*results.File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Label
		if out[i] == "" {
			out[i] = "file " + itoa(i+1)
		}
	}
	return out
}

func modelRank(m results.Model) int {
	switch m {
	case results.ModelClosed:
		return 0
	case results.ModelOpen:
		return 1
	}
	return 2
}

// targetOrder ranks target names: embedded, fcgi, cgi, then the others in
// order of first appearance across files. Colours follow this order, so a
// target keeps its colour in every chart.
func targetOrder(files []*results.File) map[string]int {
	o := map[string]int{TargetEmbedded: 0, TargetFCGI: 1, TargetCGI: 2}
	add := func(t string) {
		if _, ok := o[t]; !ok {
			o[t] = len(o)
		}
	}
	for _, f := range files {
		for _, t := range f.Settings.Targets {
			add(t)
		}
		for i := range f.Points {
			add(f.Points[i].Target)
		}
	}
	return o
}

// orderedTargets returns the targets present in rows, in targetOrder.
func orderedTargets(files []*results.File, present map[string]bool) []string {
	o := targetOrder(files)
	var out []string
	for t := range present {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(o[a], o[b]) })
	return out
}

// endpointOrder ranks endpoints as the run plan listed them, then by first
// appearance.
func endpointOrder(f *results.File) map[string]int {
	o := map[string]int{}
	add := func(e string) {
		if _, ok := o[e]; !ok {
			o[e] = len(o)
		}
	}
	for _, e := range f.Settings.Endpoints {
		add(e)
	}
	for i := range f.Points {
		add(f.Points[i].Endpoint)
	}
	return o
}

// endpoints returns the endpoints present in any file, in order.
func endpoints(files []*results.File) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range files {
		o := endpointOrder(f)
		es := make([]string, 0, len(o))
		for e := range o {
			es = append(es, e)
		}
		slices.SortFunc(es, func(a, b string) int { return cmp.Compare(o[a], o[b]) })
		for _, e := range es {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}
