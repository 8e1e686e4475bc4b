package reports

import (
	"strings"
	"testing"

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
