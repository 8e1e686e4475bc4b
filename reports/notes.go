package reports

// This file is where notes become words: every results.Note a result
// file, a knee or a comparison holds is rendered here (a spawn-cost
// document's in forknotes.go beside it), and nowhere else.
// A run's notes are sentences; a knee's and a comparison's are phrases,
// joined or bracketed by whatever shows them (the knee table, a verdict
// cell, the list under "notes:").

import (
	"fmt"
	"strings"
	"time"

	"forkbench/compare"
	"forkbench/internal/units"
	"forkbench/results"
)

// NoteText is the text of n: a sentence for a run's notes, a phrase for
// a knee's or a comparison's. A kind this build does not know is shown
// as its data rather than dropped.
func NoteText(n results.Note) string {
	if n.IsZero() {
		return ""
	}
	if s, ok := runNoteText(n); ok {
		return s
	}
	if s, ok := kneeNoteText(n); ok {
		return s
	}
	if s, ok := compareNoteText(n); ok {
		return s
	}
	if s, ok := abNoteText(n); ok {
		return s
	}
	if s, ok := forkNoteText(n); ok {
		return s
	}
	return fmt.Sprintf("%s %s %v", n.Kind, n.Subject, n.Figures)
}

// JoinNotes renders ns and joins them with sep.
func JoinNotes(ns []results.Note, sep string) string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = NoteText(n)
	}
	return strings.Join(out, sep)
}

// detail is n's i-th detail, "" when it has none.
func detail(n results.Note, i int) string {
	if i < len(n.Detail) {
		return n.Detail[i]
	}
	return ""
}

// runNoteText words the notes of a run (File.Notes) and Comparable's.
func runNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case results.NoteVerifySkipped:
		if n.Subject != "" {
			return fmt.Sprintf("%s is not the sample app: its responses were not checked against the app's specification.", n.Subject), true
		}
		return "Verification was skipped (--no-verify): responses were not checked against the app's specification.", true
	case results.NoteText:
		return n.Text, true
	case results.NoteShardNotInStep:
		return fmt.Sprintf("Shard %s started without --start-at: the shards' load points were not in step, and their merged figures add loads offered at different times.", n.Subject), true
	case results.NoteAgent:
		return fmt.Sprintf("Server figures were read through the agent at %s (%.0f CPUs); its clock is %v ahead of the generator's, ±%v.",
			n.Subject, n.Figures["cpus"], time.Duration(n.Figures["clock_offset_ns"]), time.Duration(n.Figures["clock_error_ns"])), true
	case results.NoteMerged:
		return fmt.Sprintf("Merged from %.0f shards: counts and rates are sums, percentiles come from the merged histograms; timeline percentiles are not recomputed.", n.Figures["shards"]), true
	case results.NoteKneesNotMerged:
		return "Knees were not recomputed for the merged load; see each shard's file.", true
	case results.NoteIncomparable:
		return fmt.Sprintf("%s differs: %s vs %s", n.Subject, detail(n, 0), detail(n, 1)), true
	}
	return "", false
}

// kneeNoteText words a knee's notes (Knee.Notes).
func kneeNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case results.NoteKneeNoOpenPoints:
		return "no open-model points", true
	case results.NoteKneeNothingOffered:
		return "no open-model point the generator could offer", true
	case results.NoteKneeLeftOut:
		return fmt.Sprintf("left out %v req/s: the generator could not offer them (saturated while generator-bound)", n.Values), true
	case results.NoteKneeNotFound:
		return fmt.Sprintf("no offered rate met p99 <= %v without errors", time.Duration(n.Figures["slo_p99_ns"])), true
	case results.NoteKneeNotMonotonic:
		return fmt.Sprintf("lower rates %v missed the SLO: the curve is not monotonic", n.Values), true
	case results.NoteKneeGeneratorBound:
		return "the generator was CPU-bound at this rate", true
	}
	return "", false
}

// compareNoteText words a comparison's reasons and notes.
func compareNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case compare.NoteOnlyIn:
		return "only in " + n.Subject, true
	case compare.NoteRequestDiffers:
		return fmt.Sprintf("request differs: %s vs %s", detail(n, 0), detail(n, 1)), true
	case compare.NoteEngineDiffers:
		return fmt.Sprintf("generator engine differs: %s vs %s", detail(n, 0), detail(n, 1)), true
	case compare.NoteNoMetric:
		return "no metric measured in both files", true
	case compare.NoteNoMetricPaired:
		return "no metric measured on both sides", true
	case compare.NoteNoPairs:
		return "not measured on both sides in any round", true
	case compare.NotePercentileThin:
		return fmt.Sprintf("%s not shown in both files (needs ≥ %.0f samples a round)", n.Subject, n.Figures["min_samples"]), true
	case compare.NoteNotMeasured:
		return "not measured in both files", true
	case compare.NoteNotMeasuredPaired:
		return "not measured on both sides", true
	case compare.NoteNoNonZeroRound:
		return "no round with a non-zero value on both sides", true
	case compare.NoteTestWarning:
		return strings.Join(n.Detail, "\n"), true // as errors.Join joined them
	case compare.NoteBelowThreshold:
		return fmt.Sprintf("significant but below the %s threshold", units.Percent(n.Figures["threshold"])), true
	case compare.NoteTooFewPairs:
		return fmt.Sprintf("%.0f pairs: need >= %.0f", n.Figures["pairs"], n.Figures["need"]), true
	case compare.NoteMDE:
		return "MDE " + compare.FormatMDE(compare.NoteMDEValue(n)), true
	case compare.NoteRateSets:
		return "not tested: the offered rate sets it", true
	case compare.NotePowerRounds:
		return fmt.Sprintf("with %.0f round(s) the smallest possible p-value is %.3g > alpha %g: nothing can be judged significant; need >= %.0f rounds per file",
			n.Figures["rounds"], n.Figures["min_p"], n.Figures["alpha"], n.Figures["need"]), true
	case compare.NotePowerPairs:
		return fmt.Sprintf("with %.0f paired round(s) nothing is judged: a paired comparison needs >= %.0f rounds", n.Figures["pairs"], n.Figures["need"]), true
	case compare.NoteChanged:
		return fmt.Sprintf("%s: %s → %s", n.Subject, orNone(detail(n, 0)), orNone(detail(n, 1))), true
	case compare.NoteNewDirty:
		return "new run was built from a modified working tree", true
	case compare.NotePartial:
		return fmt.Sprintf("%s file is partial (%s): only the points it holds are compared", n.Subject, detail(n, 0)), true
	case compare.NotePartialPaired:
		return fmt.Sprintf("file is partial (%s): only complete pairs are compared", detail(n, 0)), true
	}
	return "", false
}

// abNoteText words the notes `bench ab` adds to its report.
func abNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case compare.NoteABNoSweep:
		return "ab: the rate sweep is not run in A/B (its rates depend on each side's capacity)", true
	case compare.NoteABNoFork:
		return "ab: the spawn-cost decomposition (fork step) is not run in A/B", true
	case compare.NoteABRoundsRaised:
		return fmt.Sprintf("ab: %.0f rounds raised to %.0f, the fewest a paired comparison judges", n.Figures["from"], n.Figures["to"]), true
	case compare.NoteABSitting:
		return fmt.Sprintf("same sitting, %.0f rounds, both builds measured point by point (A B B A …), fresh processes each round; results: %s",
			n.Figures["rounds"], n.Subject), true
	case compare.NoteABJudgedAgain:
		return "judged again from " + n.Subject, true
	}
	return "", false
}

// orNone shows an empty value as "(none)".
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
