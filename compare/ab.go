package compare

// This file compares the two sides of one `bench ab` run: every target
// measured twice in the same sitting, once per build ("fcgi@base",
// "fcgi@new"), in interleaved rounds. Each round's ratio new/base is
// paired (same round, same machine state), so the drift between rounds
// cancels out of it; the test is Yuen's trimmed-mean t on the log ratios,
// corrected for the number of tests the report makes (paired.go), and
// every verdict carries the minimum detectable effect of the noise that
// pairing leaves.

import (
	"fmt"
	"math"
	"slices"

	"forkbench/results"
)

// BelowDetection is the verdict on a metric whose change was not
// significant while the machine's noise hides changes as large as the
// threshold: it says what was not seen, never "no change".
const BelowDetection Status = "below what this machine can detect"

// DefaultPower is the power the minimum detectable effect is stated at.
const DefaultPower = 0.8

// The labels of the two builds of a `bench ab` run: its targets are named
// "kind@base" and "kind@new" in the results file, which is how the
// history tells an A/B run's paired figures from a plain run's.
const (
	LabelBase = "base"
	LabelNew  = "new"
)

// pairKey is a point's identity on one side: its key without the build
// label, and its round.
type pairKey struct {
	key   results.PointKey
	round int
}

// ComparePaired compares the targets labelled newLabel in f with those
// labelled baseLabel, round by round. It returns an error only for bad
// options or a file holding no labelled targets.
func ComparePaired(f *results.File, baseLabel, newLabel string, opt Options) (*Report, error) {
	r, ms, err := opt.newReport()
	if err != nil {
		return nil, err
	}
	alpha, thr := r.Alpha, r.Threshold
	if baseLabel == newLabel {
		return nil, fmt.Errorf("%w: base and new have the same label %q", ErrBadInput, baseLabel)
	}
	sides := map[string]map[pairKey]results.Point{baseLabel: {}, newLabel: {}}
	var keys []results.PointKey // base keys (label stripped), file order
	seen := map[results.PointKey]bool{}
	for _, p := range f.Points {
		kind, lab, ok := results.SplitTarget(p.Target)
		side, known := sides[lab]
		if !ok || !known {
			continue
		}
		k := results.KeyOf(p)
		k.Target = kind
		side[pairKey{k, p.Round}] = p
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no target labelled @%s or @%s in the file", ErrBadInput, baseLabel, newLabel)
	}
	r.Base, r.New, r.Paired, r.Comparable = baseLabel, newLabel, true, true
	if f.Partial {
		r.Notes = append(r.Notes, results.Note{Kind: NotePartialPaired, Detail: []string{f.PartialReason}})
	}
	minN := math.MaxInt
	for _, k := range keys {
		row := Row{PointKey: k, Load: k.Load()}
		pairs := pairsOf(sides[baseLabel], sides[newLabel], k)
		if len(pairs) == 0 {
			row.Status, row.Reason = NotComparable, results.Note{Kind: NoteNoPairs}
		} else {
			minN = min(minN, len(pairs))
			for _, m := range ms {
				row.Metrics = append(row.Metrics, pairedChange(pairs, m))
			}
		}
		r.Rows = append(r.Rows, row)
	}
	r.Tests = judgePaired(r.Rows, alpha, thr)
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Status == NotComparable {
			continue
		}
		row.Status = rowStatus(row.Metrics)
		if row.Status == NotComparable {
			row.Reason = results.Note{Kind: NoteNoMetricPaired}
		}
	}
	for _, row := range r.Rows {
		r.Counts[row.Status]++
	}
	if minN != math.MaxInt && minN < minPaired {
		r.Power = results.Note{Kind: NotePowerPairs, Figures: map[string]float64{"pairs": float64(minN), "need": minPaired}}
	}
	return r, nil
}

// pairsOf returns the (base, new) points of k, round by round, for the
// rounds that measured both.
func pairsOf(base, newS map[pairKey]results.Point, k results.PointKey) [][2]results.Point {
	var rounds []int
	for pk := range base {
		if pk.key == k {
			if _, ok := newS[pk]; ok {
				rounds = append(rounds, pk.round)
			}
		}
	}
	slices.Sort(rounds)
	out := make([][2]results.Point, 0, len(rounds))
	for _, rd := range rounds {
		out = append(out, [2]results.Point{base[pairKey{k, rd}], newS[pairKey{k, rd}]})
	}
	return out
}

// pairedChange measures one metric over the paired rounds: the medians of
// both sides, the per-round ratios, the effect (the median log ratio) and
// the t-test's p-value. The verdict waits for judgePaired, which knows how
// many tests the report makes.
func pairedChange(pairs [][2]results.Point, m metric) Change {
	var bv, nv, logs []float64
	for _, pr := range pairs {
		b, okB := m.value(pr[0])
		n, okN := m.value(pr[1])
		if !okB || !okN {
			continue
		}
		bv, nv = append(bv, b), append(nv, n)
		if b > 0 && n > 0 {
			logs = append(logs, math.Log(n/b))
		}
	}
	c := Change{Metric: m.Name, BaseN: len(bv), NewN: len(nv), P: 1, format: m.format, higherBetter: m.HigherBetter}
	if len(bv) == 0 {
		c.Status, c.Note = NotComparable, results.Note{Kind: NoteNotMeasuredPaired}
		return c
	}
	c.Base, c.New = results.Median(bv), results.Median(nv)
	c.Ratios = make([]float64, len(logs))
	for i, l := range logs {
		c.Ratios[i] = math.Exp(l)
	}
	if len(logs) == 0 {
		c.Status, c.Note = NotComparable, results.Note{Kind: NoteNoNonZeroRound}
		return c
	}
	d := medianLog(logs)
	c.Delta = &d
	c.P = pairedTP(logs)
	return c
}

// judgePaired gives every measured change of rows its verdict. The changes
// with at least minPaired pairs form the report's family of tests: their
// p-values are Holm-adjusted over the family (Change.P becomes the
// adjusted value, PRaw keeps the test's own), and their MDE is stated at
// alpha over the family's size, the level a lone change must reach. A
// change is flagged only when it is significant after adjustment and at
// least the threshold. It returns the family's size.
func judgePaired(rows []Row, alpha, thr float64) int {
	var family []*Change
	for i := range rows {
		for j := range rows[i].Metrics {
			c := &rows[i].Metrics[j]
			switch {
			case c.Status == NotComparable || len(c.Ratios) < minPaired:
			case c.Metric == MetricThroughput && rows[i].Model == results.ModelOpen:
				// An open-model point's throughput is the rate it was
				// offered; a target that cannot keep up shows in its
				// latency, which is tested.
				c.Status, c.Note = NoChange, results.Note{Kind: NoteRateSets}
			default:
				family = append(family, c)
			}
		}
	}
	ps := make([]*float64, len(family))
	for i, c := range family {
		c.PRaw = c.P
		ps[i] = &c.P
	}
	holm(ps)
	level := alpha / float64(max(1, len(family)))
	for i := range rows {
		for j := range rows[i].Metrics {
			judgeChange(&rows[i].Metrics[j], alpha, level, thr)
		}
	}
	return len(family)
}

// judgeChange decides one change whose P is already adjusted; level is
// the per-test level its MDE is stated at.
func judgeChange(c *Change, alpha, level, thr float64) {
	if c.Status != "" {
		return // not comparable, or not tested
	}
	logs := make([]float64, len(c.Ratios))
	for i, r := range c.Ratios {
		logs[i] = math.Log(r)
	}
	mde := pairedMDE(logs, level, DefaultPower)
	if !math.IsNaN(mde) && !math.IsInf(mde, 0) { // JSON has no Inf: nil with ≥ 2 ratios means ∞
		c.MDE = &mde
	}
	d := *c.Delta
	significant := len(logs) >= minPaired && c.P <= alpha
	switch {
	case significant && math.Abs(d) >= thr:
		c.Status = Improved
		if (d > 0) != c.higherBetter {
			c.Status = Regressed
		}
	case significant:
		c.Status = NoChange
		c.Note = belowThreshold(thr)
	case len(logs) < minPaired:
		c.Status = BelowDetection
		c.Note = results.Note{Kind: NoteTooFewPairs, Figures: map[string]float64{"pairs": float64(len(logs)), "need": minPaired}}
	case math.IsNaN(mde) || mde > thr:
		c.Status = BelowDetection
		c.Note = mdeNote(mde)
	default:
		c.Status = NoChange
	}
}

// MDEOf renders c's minimum detectable effect (FormatMDE).
func (c Change) MDEOf() string {
	switch {
	case c.MDE != nil:
		return FormatMDE(*c.MDE)
	case len(c.Ratios) >= 2:
		return FormatMDE(math.Inf(1))
	}
	return FormatMDE(math.NaN())
}

// FormatMDE renders a minimum detectable effect: "7.3%", "∞" (too few
// pairs), "?" (no spread to speak of).
func FormatMDE(mde float64) string {
	switch {
	case math.IsInf(mde, 1):
		return "∞"
	case math.IsNaN(mde):
		return "?"
	}
	return fmt.Sprintf("%.1f%%", 100*mde)
}

// MinPairs is the fewest paired rounds a paired comparison judges.
func MinPairs() int { return minPaired }
