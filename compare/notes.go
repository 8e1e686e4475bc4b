package compare

// This file names the notes a comparison makes: why a row or a metric was
// not compared, why a no-change verdict is not a clean "p ≥ alpha", and
// what differs between the files without preventing the comparison. They
// are data (results.Note); reports words them, so that JSON readers get
// the kind and the figures, not a sentence to parse.

import (
	"math"

	"forkbench/results"
)

// Why a row was not compared (Row.Reason).
const (
	// NoteOnlyIn: the load point is in one file only, Subject "base" or
	// "new".
	NoteOnlyIn results.NoteKind = "only-in"
	// NoteRequestDiffers: the two files sent different requests at the
	// load point; Detail is the base's and the new file's method and path.
	NoteRequestDiffers results.NoteKind = "request-differs"
	// NoteEngineDiffers: the generator engines differ (Detail base, new);
	// an engine can move capacity figures by itself.
	NoteEngineDiffers results.NoteKind = "engine-differs"
	// NoteNoMetric: no metric was measured in both files.
	NoteNoMetric results.NoteKind = "no-metric"
	// NoteNoMetricPaired: no metric was measured on both sides of a
	// paired comparison.
	NoteNoMetricPaired results.NoteKind = "no-metric-paired"
	// NoteNoPairs: no round measured the load point on both sides.
	NoteNoPairs results.NoteKind = "no-pairs"
)

// Why a metric has no clean verdict (Change.Note).
const (
	// NotePercentileThin: the percentile Subject is not shown in both
	// files: some round had fewer samples than it needs (figure
	// min_samples).
	NotePercentileThin results.NoteKind = "percentile-thin"
	// NoteNotMeasured: the metric was not measured in both files.
	NoteNotMeasured results.NoteKind = "not-measured"
	// NoteNotMeasuredPaired: the metric was not measured on both sides.
	NoteNotMeasuredPaired results.NoteKind = "not-measured-paired"
	// NoteNoNonZeroRound: no round had a non-zero value on both sides, so
	// no ratio exists.
	NoteNoNonZeroRound results.NoteKind = "no-non-zero-round"
	// NoteTestWarning: the U test warned; Detail holds its warnings.
	NoteTestWarning results.NoteKind = "test-warning"
	// NoteBelowThreshold: significant, but smaller than the threshold
	// (figure threshold).
	NoteBelowThreshold results.NoteKind = "below-threshold"
	// NoteTooFewPairs: fewer pairs (figure pairs) than a paired verdict
	// needs (figure need).
	NoteTooFewPairs results.NoteKind = "too-few-pairs"
	// NoteMDE: the minimum detectable effect (figure mde; figure
	// mde_infinite 1 when no change could be seen; neither when unknown)
	// exceeds the threshold.
	NoteMDE results.NoteKind = "mde"
	// NoteRateSets: an open-model point's throughput is not tested: the
	// offered rate sets it.
	NoteRateSets results.NoteKind = "rate-sets-throughput"
)

// Why nothing can be judged (Report.Power).
const (
	// NotePowerRounds: with the fewest rounds of a file (figure rounds)
	// the smallest possible p-value (figure min_p) exceeds alpha (figure
	// alpha); figure need is the rounds a file needs.
	NotePowerRounds results.NoteKind = "power-rounds"
	// NotePowerPairs: too few paired rounds (figure pairs) for a paired
	// comparison, which needs figure need.
	NotePowerPairs results.NoteKind = "power-pairs"
)

// What differs between the files without preventing the comparison
// (Report.Notes).
const (
	// NoteChanged: Subject (commit, Go version, a path option, …) changed
	// from Detail[0] to Detail[1]; "" is none.
	NoteChanged results.NoteKind = "changed"
	// NoteNewDirty: the new run was built from a modified working tree.
	NoteNewDirty results.NoteKind = "new-dirty"
	// NotePartial: the file Subject ("base", "new") is partial, Detail
	// its reason: only the points it holds are compared.
	NotePartial results.NoteKind = "partial"
	// NotePartialPaired: a paired comparison's file is partial, Detail
	// its reason: only complete pairs are compared.
	NotePartialPaired results.NoteKind = "partial-paired"
)

// Notes `bench ab` adds on how the sitting was run.
const (
	// NoteABNoSweep: the rate sweep is not run in an A/B sitting (its
	// rates depend on each side's capacity).
	NoteABNoSweep results.NoteKind = "ab-no-sweep"
	// NoteABNoFork: the spawn-cost step is not run in an A/B sitting.
	NoteABNoFork results.NoteKind = "ab-no-fork"
	// NoteABRoundsRaised: the rounds asked for (figure from) were raised
	// to the fewest a paired comparison judges (figure to).
	NoteABRoundsRaised results.NoteKind = "ab-rounds-raised"
	// NoteABSitting: how the sitting measured (figure rounds), Subject
	// the results file.
	NoteABSitting results.NoteKind = "ab-sitting"
	// NoteABJudgedAgain: the report judges a stored run again, Subject
	// its results file.
	NoteABJudgedAgain results.NoteKind = "ab-judged-again"
)

// mdeNote is a NoteMDE for mde, which may be infinite or unknown (NaN):
// JSON holds neither, so they are told apart by which figure is set.
func mdeNote(mde float64) results.Note {
	switch {
	case math.IsInf(mde, 1):
		return results.Note{Kind: NoteMDE, Figures: map[string]float64{"mde_infinite": 1}}
	case math.IsNaN(mde):
		return results.Note{Kind: NoteMDE}
	}
	return results.Note{Kind: NoteMDE, Figures: map[string]float64{"mde": mde}}
}

// NoteMDEValue is the minimum detectable effect a NoteMDE holds: +Inf or
// NaN (unknown) as FormatMDE renders them.
func NoteMDEValue(n results.Note) float64 {
	if v, ok := n.Figures["mde"]; ok {
		return v
	}
	if n.Figures["mde_infinite"] == 1 {
		return math.Inf(1)
	}
	return math.NaN()
}
