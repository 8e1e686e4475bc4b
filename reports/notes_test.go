package reports

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"forkbench/compare"
	"forkbench/results"
)

// TestRunNotes: what the points and the pinning show is said once, by the
// report, and a file's structured notes are rendered as sentences.
func TestRunNotes(t *testing.T) {
	f := &results.File{
		Pinning: results.Pinning{Note: "off: 1 CPU(s), need at least 2"},
		Notes:   []results.Note{{Kind: results.NoteVerifySkipped}, results.TextNote("hand-written")},
		Skipped: []results.Skip{{Target: "apache-cgi", Reason: "fronts: apache-cgi needs /usr/sbin/apache2 (Debian package apache2)"}},
		Points: []results.Point{
			{Target: "cgi", Endpoint: "e", Model: results.ModelClosed, Round: 1, Server: results.ServerCost{Observed: true, SpawnSource: "system-wide-clones"}},
			{Target: "cgi", Endpoint: "e", Model: results.ModelClosed, Round: 2, Server: results.ServerCost{Observed: true, SpawnEventsLost: 3}},
		},
	}
	got := strings.Join(notes(Summarize([]*results.File{f})), "\n")
	for _, want := range []string{
		"Verification was skipped (--no-verify)",
		"hand-written",
		"1 load point(s) counted spawns system-wide",
		"1 load point(s) lost process events",
		"CPU pinning was off (off: 1 CPU(s), need at least 2)",
		"apache-cgi skipped: fronts: apache-cgi needs /usr/sbin/apache2 (Debian package apache2)",
	} {
		if strings.Count(got, want) != 1 {
			t.Errorf("notes say %q %d times; want once:\n%s", want, strings.Count(got, want), got)
		}
	}
	f.Pinning, f.Notes, f.Points, f.Skipped = results.Pinning{Enabled: true}, nil, f.Points[:0], nil
	if n := notes(Summarize([]*results.File{f})); len(n) != 0 {
		t.Errorf("notes of a clean file = %q; want none", n)
	}
}

// TestNoteTextKinds: each kind of note that was a sentence built where it
// was found renders to exactly that sentence.
func TestNoteTextKinds(t *testing.T) {
	tests := []struct {
		notes []results.Note // joined with "; ", as the knee table does
		want  string
	}{
		{[]results.Note{{Kind: results.NoteKneeNoOpenPoints}}, "no open-model points"},
		{[]results.Note{{Kind: results.NoteKneeNothingOffered}, {Kind: results.NoteKneeLeftOut, Values: []float64{400, 800}}},
			"no open-model point the generator could offer; left out [400 800] req/s: the generator could not offer them (saturated while generator-bound)"},
		{[]results.Note{{Kind: results.NoteKneeNotFound, Figures: map[string]float64{"slo_p99_ns": 10e6}}}, "no offered rate met p99 <= 10ms without errors"},
		{[]results.Note{{Kind: results.NoteKneeNotMonotonic, Values: []float64{100, 200.5}}, {Kind: results.NoteKneeGeneratorBound}},
			"lower rates [100 200.5] missed the SLO: the curve is not monotonic; the generator was CPU-bound at this rate"},
		{[]results.Note{{Kind: results.NoteIncomparable, Subject: "setting duration", Detail: []string{"1s", "4s"}}}, "setting duration differs: 1s vs 4s"},
		{[]results.Note{{Kind: compare.NoteOnlyIn, Subject: "base"}}, "only in base"},
		{[]results.Note{{Kind: compare.NoteRequestDiffers, Detail: []string{"GET /a", "GET /b"}}}, "request differs: GET /a vs GET /b"},
		{[]results.Note{{Kind: compare.NoteEngineDiffers, Detail: []string{"epoll", "loop/fasthttp"}}}, "generator engine differs: epoll vs loop/fasthttp"},
		{[]results.Note{{Kind: compare.NoteNoMetric}}, "no metric measured in both files"},
		{[]results.Note{{Kind: compare.NoteNoMetricPaired}}, "no metric measured on both sides"},
		{[]results.Note{{Kind: compare.NoteNoPairs}}, "not measured on both sides in any round"},
		{[]results.Note{{Kind: compare.NotePercentileThin, Subject: "p99", Figures: map[string]float64{"min_samples": 1000}}}, "p99 not shown in both files (needs ≥ 1000 samples a round)"},
		{[]results.Note{{Kind: compare.NoteNotMeasured}}, "not measured in both files"},
		{[]results.Note{{Kind: compare.NoteNotMeasuredPaired}}, "not measured on both sides"},
		{[]results.Note{{Kind: compare.NoteNoNonZeroRound}}, "no round with a non-zero value on both sides"},
		{[]results.Note{{Kind: compare.NoteTestWarning, Detail: []string{"need >= 4 samples", "all samples are equal"}}}, "need >= 4 samples\nall samples are equal"},
		{[]results.Note{{Kind: compare.NoteBelowThreshold, Figures: map[string]float64{"threshold": 0.10}}}, "significant but below the 10% threshold"},
		{[]results.Note{{Kind: compare.NoteTooFewPairs, Figures: map[string]float64{"pairs": 4, "need": 6}}}, "4 pairs: need >= 6"},
		{[]results.Note{{Kind: compare.NoteMDE, Figures: map[string]float64{"mde": 0.073}}}, "MDE 7.3%"},
		{[]results.Note{{Kind: compare.NoteMDE, Figures: map[string]float64{"mde_infinite": 1}}}, "MDE ∞"},
		{[]results.Note{{Kind: compare.NoteMDE}}, "MDE ?"},
		{[]results.Note{{Kind: compare.NoteRateSets}}, "not tested: the offered rate sets it"},
		{[]results.Note{{Kind: compare.NotePowerRounds, Figures: map[string]float64{"rounds": 3, "min_p": 0.1, "alpha": 0.05, "need": 4}}},
			"with 3 round(s) the smallest possible p-value is 0.1 > alpha 0.05: nothing can be judged significant; need >= 4 rounds per file"},
		{[]results.Note{{Kind: compare.NotePowerPairs, Figures: map[string]float64{"pairs": 4, "need": 6}}},
			"with 4 paired round(s) nothing is judged: a paired comparison needs >= 6 rounds"},
		{[]results.Note{{Kind: compare.NoteChanged, Subject: "commit", Detail: []string{"", "abc"}}}, "commit: (none) → abc"},
		{[]results.Note{{Kind: compare.NoteNewDirty}}, "new run was built from a modified working tree"},
		{[]results.Note{{Kind: compare.NotePartial, Subject: "new", Detail: []string{"interrupt"}}}, "new file is partial (interrupt): only the points it holds are compared"},
		{[]results.Note{{Kind: compare.NotePartialPaired, Detail: []string{"interrupt"}}}, "file is partial (interrupt): only complete pairs are compared"},
		{[]results.Note{{Kind: compare.NoteABNoSweep}}, "ab: the rate sweep is not run in A/B (its rates depend on each side's capacity)"},
		{[]results.Note{{Kind: compare.NoteABNoFork}}, "ab: the spawn-cost decomposition (fork step) is not run in A/B"},
		{[]results.Note{{Kind: compare.NoteABRoundsRaised, Figures: map[string]float64{"from": 3, "to": 6}}}, "ab: 3 rounds raised to 6, the fewest a paired comparison judges"},
		{[]results.Note{{Kind: compare.NoteABSitting, Subject: "out/results.json", Figures: map[string]float64{"rounds": 6}}},
			"same sitting, 6 rounds, both builds measured point by point (A B B A …), fresh processes each round; results: out/results.json"},
		{[]results.Note{{Kind: compare.NoteABJudgedAgain, Subject: "ab/results.json"}}, "judged again from ab/results.json"},
		{nil, ""},
		{[]results.Note{{}}, ""},
	}
	for _, tt := range tests {
		if got := JoinNotes(tt.notes, "; "); got != tt.want {
			t.Errorf("JoinNotes(%+v) = %q; want %q", tt.notes, got, tt.want)
		}
	}
}

// TestKneeNotesAsFindKneeJoinedThem: the knee table's note cell for what
// FindKnee finds is the sentence FindKnee wrote when notes were strings.
func TestKneeNotesAsFindKneeJoinedThem(t *testing.T) {
	pt := func(rate float64, p99 time.Duration, limited bool) results.Point {
		return results.Point{Target: "cgi", Endpoint: "e", Model: results.ModelOpen, OfferedRate: rate,
			Requests: 10, Successes: 10, Corrected: &results.Latency{P99Ns: int64(p99)},
			Saturated: limited, GeneratorBound: limited, GeneratorLimited: limited}
	}
	ms := time.Millisecond
	tests := []struct {
		points []results.Point
		want   string
	}{
		{[]results.Point{pt(100, 20*ms, false), pt(400, 900*ms, true)},
			"no offered rate met p99 <= 10ms without errors; left out [400] req/s: the generator could not offer them (saturated while generator-bound)"},
		{[]results.Point{pt(100, 20*ms, false), pt(200, ms, false), pt(400, 900*ms, true)},
			"lower rates [100] missed the SLO: the curve is not monotonic; left out [400] req/s: the generator could not offer them (saturated while generator-bound)"},
	}
	for _, tt := range tests {
		k := results.FindKnee(results.Groups(&results.File{Points: tt.points}), 10*ms)
		if got := JoinNotes(k.Notes, "; "); got != tt.want {
			t.Errorf("knee notes = %q; want %q", got, tt.want)
		}
	}
}

// TestComparisonReadsSentences: a comparison written when its reasons and
// notes were sentences (bench calibrate reads bench ab's JSON) still
// loads, and renders its sentences unchanged.
func TestComparisonReadsSentences(t *testing.T) {
	const old = `{"base":"a","new":"b","comparable":false,"power":"with 3 round(s) nothing",
		"reasons":["machine CPU count differs: 2 vs 8"],
		"notes":["commit: x → y","judged again from r.json"],
		"rows":[{"target":"cgi","load":"closed","status":"not comparable","reason":"only in base"},
			{"target":"fcgi","load":"closed","status":"no significant change","metrics":[{"metric":"p50","status":"below what this machine can detect","note":"MDE 7.3%"}]}]}`
	var r compare.Report
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	got := []string{NoteText(r.Power), JoinNotes(r.Reasons, "|"), JoinNotes(r.Notes, "|"), NoteText(r.Rows[0].Reason), NoteText(r.Rows[1].Metrics[0].Note)}
	want := []string{"with 3 round(s) nothing", "machine CPU count differs: 2 vs 8", "commit: x → y|judged again from r.json", "only in base", "MDE 7.3%"}
	if !slices.Equal(got, want) {
		t.Errorf("old report renders %q; want %q", got, want)
	}
	var b strings.Builder
	if err := WriteComparison(&b, &r, FormatText); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  machine CPU count differs: 2 vs 8\n") {
		t.Errorf("text comparison of an old report:\n%s", b.String())
	}
}
