// Package compare decides whether a run is significantly slower or dearer
// than a baseline, the way benchstat does: for every target × endpoint ×
// load point present in both result files and every metric, it tests the
// per-round values of the two runs with the Mann–Whitney U test
// (golang.org/x/perf/benchmath) and flags a change only when it is both
// significant at alpha and at least the threshold in size.
//
// The samples are the independent rounds of a run (each with fresh target
// processes), never the requests within one round: the variance that
// matters on a noisy machine is between rounds, and treating requests as
// independent samples makes every run look different from every other.
// The price is that few rounds give little power: with 3 rounds against 3
// the smallest possible p-value is 0.1, so at alpha 0.05 nothing can ever
// be flagged. The comparison says so ("need >= 4 rounds") instead of
// reporting "no change" as if it had looked.
//
// Files that differ in schema version, machine (OS, architecture, CPU
// model, CPU count) or settings (durations, connections, rates, transport,
// pinning, target options) are reported as not comparable, naming the
// difference, and never compared. Paths (the app binary, the data
// directory) are not settings: a different build is exactly what a
// comparison is for.
//
// The package also writes result files in the Go benchmark format
// (Export) and measures a machine's noise floor (Calibrate).
package compare

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"golang.org/x/perf/benchmath"

	"forkbench/results"
)

// Defaults of Options' zero values.
const (
	DefaultThreshold = 0.05
	DefaultAlpha     = 0.05
)

// ErrBadInput is wrapped by errors about the command line or unreadable
// files (exit status 2).
var ErrBadInput = errors.New("compare: bad input")

// ErrRegression is wrapped by the error returned when at least one row
// regressed (exit status 1).
var ErrRegression = errors.New("compare: regression")

// ErrNotComparable is wrapped by the error returned when the two files
// cannot be compared at all (exit status 2).
var ErrNotComparable = errors.New("compare: files not comparable")

// Options configure a comparison.
type Options struct {
	// Threshold is the smallest relative change (0.05 = 5%) flagged as
	// improved or regressed; smaller significant changes count as no
	// significant change. Zero means DefaultThreshold.
	Threshold float64
	// Alpha is the significance level of the U test. Zero means
	// DefaultAlpha.
	Alpha float64
	// Metrics are the metric names compared; empty means all.
	Metrics []string
}

func (o Options) threshold() float64 {
	if o.Threshold == 0 {
		return DefaultThreshold
	}
	return o.Threshold
}

func (o Options) alpha() float64 {
	if o.Alpha == 0 {
		return DefaultAlpha
	}
	return o.Alpha
}

// Status is the verdict on one row or one metric.
type Status string

// Verdicts, from the most to the least urgent.
const (
	Regressed     Status = "regressed"
	Improved      Status = "improved"
	NoChange      Status = "no significant change"
	NotComparable Status = "not comparable"
)

// Report is the result of comparing two files.
type Report struct {
	Base      string   `json:"base"`
	New       string   `json:"new"`
	Threshold float64  `json:"threshold"`
	Alpha     float64  `json:"alpha"`
	Metrics   []string `json:"metrics"`
	// Comparable is false when the files differ in schema, machine or
	// settings; Reasons names every difference and Rows is empty.
	Comparable bool           `json:"comparable"`
	Reasons    []results.Note `json:"reasons,omitempty"`
	// Notes are differences that do not prevent comparing but may
	// explain a change (Go version, kernel, commit, binary paths,
	// partial files). Reports written when reasons and notes were
	// sentences are read as NoteText notes.
	Notes []results.Note `json:"notes,omitempty"`
	// Paired is true for a same-sitting A/B comparison (ComparePaired):
	// rounds are paired, the test is Yuen's trimmed t-test on log ratios,
	// Holm-adjusted over the report's Tests, and every change carries its
	// minimum detectable effect.
	Paired bool `json:"paired,omitempty"`
	// Tests is the number of tests a paired report's p-values are
	// adjusted for.
	Tests int `json:"tests,omitempty"`
	// Power is set when the sample sizes cannot reach Alpha at all
	// (NotePowerRounds, NotePowerPairs).
	Power results.Note `json:"power,omitzero"`
	Rows  []Row        `json:"rows"`
	// Counts is the number of rows per status.
	Counts map[Status]int `json:"counts"`
}

// Row is one load point (target × endpoint × model × sweep step or
// rate).
type Row struct {
	results.PointKey
	// Load is PointKey.Load(): "closed", "open@200rps", "sweep@0.5x".
	Load   string `json:"load"`
	Status Status `json:"status"`
	// Reason says why the row is not comparable (NoteOnlyIn,
	// NoteRequestDiffers, …); reports words it.
	Reason  results.Note `json:"reason,omitzero"`
	Metrics []Change     `json:"metrics,omitempty"`
}

// Change is one metric of one row.
type Change struct {
	Metric string `json:"metric"`
	Status Status `json:"status"`
	// Base and New are the medians across rounds; BaseN and NewN the
	// numbers of rounds.
	Base  float64 `json:"base"`
	New   float64 `json:"new"`
	BaseN int     `json:"base_n"`
	NewN  int     `json:"new_n"`
	// Delta is New/Base − 1 (0.12 = 12% more); nil when Base is zero.
	Delta *float64 `json:"delta,omitempty"`
	// DeltaLo and DeltaHi bound Delta at confidence 1−Alpha; nil when the
	// samples are too small for an interval.
	DeltaLo *float64 `json:"delta_lo,omitempty"`
	DeltaHi *float64 `json:"delta_hi,omitempty"`
	P       float64  `json:"p"`
	// PRaw is, in a paired comparison, the test's own p-value before the
	// Holm adjustment P carries.
	PRaw float64 `json:"p_raw,omitempty"`
	// MDE is a paired comparison's minimum detectable effect (0.07 = 7%)
	// at Alpha and DefaultPower; nil when it is infinite (too few pairs)
	// or unknown (MDEOf renders both). Ratios are the per-round ratios new/base it came from.
	MDE    *float64  `json:"mde,omitempty"`
	Ratios []float64 `json:"ratios,omitempty"`
	// Note explains a no-change verdict that is not a clean "p ≥ alpha"
	// (too few rounds, below the threshold) or a missing value, as data
	// (NoteBelowThreshold, NoteMDE, …) that reports words.
	Note results.Note `json:"note,omitzero"`

	format       func(float64) string
	higherBetter bool
}

// newReport checks o (known metrics; alpha in (0, 1) and a threshold not
// negative, defaults filled in, else ErrBadInput) and starts the report
// Compare and ComparePaired fill: its levels, metrics and counts.
func (o Options) newReport() (*Report, []metric, error) {
	ms, err := selectMetrics(o.Metrics)
	if err != nil {
		return nil, nil, err
	}
	alpha, thr := o.alpha(), o.threshold()
	if alpha <= 0 || alpha >= 1 {
		return nil, nil, fmt.Errorf("%w: alpha %v not in (0, 1)", ErrBadInput, alpha)
	}
	if thr < 0 {
		return nil, nil, fmt.Errorf("%w: negative threshold %v", ErrBadInput, thr)
	}
	r := &Report{Threshold: thr, Alpha: alpha, Counts: map[Status]int{}}
	for _, m := range ms {
		r.Metrics = append(r.Metrics, m.Name)
	}
	return r, ms, nil
}

// Compare compares newF against base. It returns an error only for bad
// options; incomparable files are a Report with Comparable false.
func Compare(base, newF *results.File, opt Options) (*Report, error) {
	r, ms, err := opt.newReport()
	if err != nil {
		return nil, err
	}
	alpha, thr := r.Alpha, r.Threshold
	r.Base, r.New = label(base), label(newF)
	r.Reasons = results.Comparable(base, newF)
	r.Notes = notes(base, newF)
	if len(r.Reasons) > 0 {
		return r, nil
	}
	r.Comparable = true

	th := &benchmath.Thresholds{CompareAlpha: alpha}
	bGroups, nGroups := results.Groups(base), results.Groups(newF)
	nByKey := map[results.PointKey]results.Group{}
	for _, g := range nGroups {
		nByKey[g.Key] = g
	}
	bKeys := map[results.PointKey]bool{}
	minN := math.MaxInt
	for _, b := range bGroups {
		bKeys[b.Key] = true
		n, ok := nByKey[b.Key]
		row := Row{PointKey: b.Key, Load: b.Key.Load()}
		switch {
		case !ok:
			row.Status, row.Reason = NotComparable, results.Note{Kind: NoteOnlyIn, Subject: LabelBase}
		case request(b) != request(n):
			row.Status, row.Reason = NotComparable, results.Note{Kind: NoteRequestDiffers, Detail: []string{request(b), request(n)}}
		case b.Points[0].Engine != "" && n.Points[0].Engine != "" && b.Points[0].Engine != n.Points[0].Engine:
			// A different generator engine can move capacity figures
			// by itself (the generator may have been the limit).
			row.Status, row.Reason = NotComparable, results.Note{Kind: NoteEngineDiffers, Detail: []string{b.Points[0].Engine, n.Points[0].Engine}}
		default:
			minN = min(minN, len(b.Points), len(n.Points))
			row.Metrics = compareSeries(b, n, ms, th, thr)
			row.Status = rowStatus(row.Metrics)
			if row.Status == NotComparable {
				row.Reason = results.Note{Kind: NoteNoMetric}
			}
		}
		r.Rows = append(r.Rows, row)
	}
	for _, g := range nGroups {
		if !bKeys[g.Key] {
			r.Rows = append(r.Rows, Row{PointKey: g.Key, Load: g.Key.Load(), Status: NotComparable, Reason: results.Note{Kind: NoteOnlyIn, Subject: LabelNew}})
		}
	}
	for _, row := range r.Rows {
		r.Counts[row.Status]++
	}
	if need := minRounds(alpha); minN != math.MaxInt && minN < need {
		r.Power = results.Note{Kind: NotePowerRounds, Figures: map[string]float64{
			"rounds": float64(minN), "min_p": minPValue(minN), "alpha": alpha, "need": float64(need)}}
	}
	return r, nil
}

// request is the method and path a group's points sent, which must match
// between files.
func request(g results.Group) string {
	return strings.TrimSpace(g.Points[0].Method + " " + g.Points[0].Path)
}

// minPValue is the smallest two-sided U-test p-value with n rounds a side.
func minPValue(n int) float64 { return min(1, 2/binom(2*n, n)) }

func label(f *results.File) string {
	if f.Label != "" {
		return f.Label
	}
	c := f.Environment.GitCommit
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown commit"
	}
	return c + " " + f.StartedAt.UTC().Format("2006-01-02 15:04")
}

// compareSeries tests every metric of one row.
func compareSeries(b, n results.Group, ms []metric, th *benchmath.Thresholds, thr float64) []Change {
	var out []Change
	for _, m := range ms {
		bv, nv := values(b, m), values(n, m)
		c := Change{Metric: m.Name, BaseN: len(bv), NewN: len(nv), format: m.format}
		if m.quantile > 0 && (len(bv) < len(b.Points) || len(nv) < len(n.Points)) {
			// A percentile with fewer than 10 samples above it in some
			// round is that round's largest few values, not a tail: the
			// tables do not show it, so it is not tested either.
			c.Status = NotComparable
			c.Note = results.Note{Kind: NotePercentileThin, Subject: m.Name,
				Figures: map[string]float64{"min_samples": float64(results.PercentileMinSamples(m.quantile))}}
			c.P = 1
			out = append(out, c)
			continue
		}
		if len(bv) == 0 || len(nv) == 0 {
			c.Status = NotComparable
			c.Note = results.Note{Kind: NoteNotMeasured}
			c.P = 1
			out = append(out, c)
			continue
		}
		sb := benchmath.NewSample(slices.Clone(bv), th)
		sn := benchmath.NewSample(slices.Clone(nv), th)
		cmp := benchmath.AssumeNothing.Compare(sb, sn)
		c.P = cmp.P
		c.Base, c.New = results.Median(bv), results.Median(nv)
		if c.Base != 0 {
			d := c.New/c.Base - 1
			c.Delta = &d
		} else if c.New == 0 {
			d := 0.0
			c.Delta = &d
		}
		if lo, hi, ok := ratioCI(bv, nv, 1-th.CompareAlpha); ok {
			lo, hi = lo-1, hi-1
			c.DeltaLo, c.DeltaHi = &lo, &hi
		}
		significant := cmp.P <= th.CompareAlpha
		switch {
		case significant && c.Delta != nil && math.Abs(*c.Delta) >= thr:
			worse := (*c.Delta > 0) != m.HigherBetter
			c.Status = Improved
			if worse {
				c.Status = Regressed
			}
		case significant && c.Delta == nil:
			// From zero to something: no percentage, but a change.
			worse := (c.New > c.Base) != m.HigherBetter
			c.Status = Improved
			if worse {
				c.Status = Regressed
			}
		default:
			c.Status = NoChange
			switch {
			case len(cmp.Warnings) > 0:
				c.Note = results.Note{Kind: NoteTestWarning}
				for _, w := range cmp.Warnings {
					c.Note.Detail = append(c.Note.Detail, w.Error())
				}
			case significant:
				c.Note = belowThreshold(thr)
			}
		}
		out = append(out, c)
	}
	return out
}

func rowStatus(cs []Change) Status {
	has := map[Status]bool{}
	for _, c := range cs {
		has[c.Status] = true
	}
	switch {
	case has[Regressed]:
		return Regressed
	case has[Improved]:
		return Improved
	case has[BelowDetection]:
		return BelowDetection
	case has[NoChange]:
		return NoChange
	default:
		return NotComparable
	}
}

// belowThreshold is the note on a significant change smaller than thr.
func belowThreshold(thr float64) results.Note {
	return results.Note{Kind: NoteBelowThreshold, Figures: map[string]float64{"threshold": thr}}
}

// notes names differences that leave the files comparable.
func notes(a, b *results.File) []results.Note {
	var out []results.Note
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, results.Note{Kind: NoteChanged, Subject: what, Detail: []string{x, y}})
		}
	}
	ea, eb := a.Environment, b.Environment
	diff("commit", ea.GitCommit, eb.GitCommit)
	diff("Go version", ea.GoVersion, eb.GoVersion)
	diff("kernel", ea.Kernel, eb.Kernel)
	diff("host", ea.Hostname, eb.Hostname)
	diff("suite version", ea.SuiteVersion, eb.SuiteVersion)
	diff("scenario", a.Settings.Scenario, b.Settings.Scenario)
	names, va, vb := results.PathOptions(a, b)
	for i, k := range names {
		diff(k, va[i], vb[i])
	}
	if eb.GitDirty {
		out = append(out, results.Note{Kind: NoteNewDirty})
	}
	for _, f := range []struct {
		name string
		f    *results.File
	}{{LabelBase, a}, {LabelNew, b}} {
		if f.f.Partial {
			out = append(out, results.Note{Kind: NotePartial, Subject: f.name, Detail: []string{f.f.PartialReason}})
		}
	}
	return out
}
