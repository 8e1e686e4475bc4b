package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/results"
)

// TestForkNoteText: each spawn-cost note kind renders to the sentence
// spawncost wrote before notes were data. The sentences quoted from a
// real file are from results/testdata/fork-v1.json; the others are the
// old format strings filled in by hand.
func TestForkNoteText(t *testing.T) {
	type figs = map[string]float64
	const splitText = "runtime-init is the Go runtime's own start (an empty main, 1821444 bytes); package-init is everything the app's dependencies add before main (18860060 bytes of binary): their init functions, the SQLite driver's included, and loading a larger binary. -noop cannot exit earlier, so both precede any app start-up."
	tests := []struct {
		n    results.Note
		want string
	}{
		{results.Note{Kind: results.ForkNoteBudgetCut, Subject: "components/cgi-request", Detail: []string{"path=/hello"}, Figures: figs{"samples": 40, "want": 200}},
			"components/cgi-request path=/hello: stopped on its time budget after 40 of 200 samples."},
		{results.Note{Kind: results.ForkNoteNoBinTrue}, "components/bin-true: /bin/true not found; skipped."},
		{results.Note{Kind: results.ForkNoteNoStaticNoop, Detail: []string{`exec: "gcc": executable file not found in $PATH`}},
			`components/static-noop: not measured: exec: "gcc": executable file not found in $PATH. The OS floor is /bin/true (dynamically linked, so it includes the loader).`},
		{results.Note{Kind: results.ForkNoteNoGoEmpty, Detail: []string{"spawncost: no go tool"}},
			"components/go-empty: not measured: spawncost: no go tool. runtime-init then includes the app's package initialisers (no package-init row)."},
		{results.Note{Kind: results.ForkNoteUnreaped, Figures: figs{"spawned": 12, "reaped": 11}},
			"components/cgi-request: the CGI host spawned 12 children but reaped 11."},
		{results.Note{Kind: results.ForkNoteFewSizes, Subject: "fcgi", Figures: figs{"sizes": 2, "need": 3}},
			"model/fcgi: 2 work size(s); a cost model needs at least 3 (a line through two points fits any noise): no fit, no crossover."},
		{results.Note{Kind: results.ForkNoteSlopeInNoise, Subject: "cgi", Figures: figs{"slope_lo_ns": -1234.5, "slope_hi_ns": 56.7}},
			"model/cgi: the per-round slope's 95% interval [-1.2µs, 57ns] does not stand clear of zero: the work sizes do not rise above the fixed cost's noise; no fit, no crossover."},
		{results.Note{Kind: results.ForkNoteNegativePart, Subject: "exit+reap", Detail: []string{"cgi"}, Figures: figs{"wall_ns": -18.47e6}},
			"decomposition/exit+reap (cgi): negative median (-18.47ms): the difference of two noisy medians; the component is smaller than the noise."},
		{results.Note{Kind: results.ForkNoteInitWhole},
			"runtime-init is everything a Go binary does before main: the runtime's start and every package initialiser linked into the app (the SQLite driver's included); without the empty Go program it cannot be split into runtime-init and package-init."},
		{results.Note{Kind: results.ForkNoteInitSplit, Figures: figs{"go_empty_bytes": 1821444, "app_bytes": 18860060}}, splitText},
		{results.Note{Kind: results.ForkNoteNoInitTrace, Detail: []string{"exit status 2"}}, "package-init: no inittrace: exit status 2"},
		{results.Note{Kind: results.ForkNoteInitTrace,
			Figures: figs{"app_inits": 100, "app_ns": 7.26e6, "empty_inits": 3, "empty_ns": 170e3},
			Detail:  []string{"std", "modernc.org/libc", "modernc.org/mathutil", "modernc.org/sqlite", "github.com/dustin/go-humanize"},
			Values:  []float64{3.9e6, 90, 1.3e6, 3, 780e3, 1, 581e3, 2, 540e3, 1}},
			"package-init by GODEBUG=inittrace=1 (one run each, wall clock inside the initialisers): sampleapp -noop: 100 initialisers, 7.26ms in total; by origin: std 3.90ms (90 packages), modernc.org/libc 1.30ms (3 packages), modernc.org/mathutil 780.0µs (1 packages), modernc.org/sqlite 581.0µs (2 packages), github.com/dustin/go-humanize 540.0µs (1 packages). The empty Go program: 3 initialisers, 170.0µs in total. Whatever package-init holds beyond the difference is spent outside init functions: mapping and faulting in the larger binary, and the runtime's start over it."},
		{results.Note{Kind: results.ForkNoteOrderHolds, Detail: []string{"static-noop", "go-noop", "cgi-request"}, Values: []float64{4e6, 20e6, 27e6}},
			"Ordering holds (median wall): static-noop 4.00ms < go-noop 20.00ms < cgi-request 27.00ms."},
		{results.Note{Kind: results.ForkNoteOrderBroken, Detail: []string{"startup-only", "cgi-request"}, Values: []float64{49.49e6, 31.02e6}},
			"Ordering OS floor < Go runtime floor < app's runtime floor < app start-up < CGI request does NOT hold: startup-only (49.49ms) ≥ cgi-request (31.02ms)."},
		{results.Note{Kind: results.ForkNoteOrderBroken, Detail: []string{"static-noop", "go-empty", "go-noop", "startup-only"}, Values: []float64{4e6, 3e6, 20e6, 19e6}},
			"Ordering OS floor < Go runtime floor < app's runtime floor < app start-up < CGI request does NOT hold: static-noop (4.00ms) ≥ go-empty (3.00ms); go-noop (20.00ms) ≥ startup-only (19.00ms)."},
		{results.Note{Kind: results.ForkNoteAddsUp, Detail: []string{"os-spawn", "runtime-init", "package-init", "app-init"}, Figures: figs{"gap_ns": 26.99e6, "rel": 0.0796, "start_ns": 25e6, "rest_ns": 1.99e6}},
			"Decomposition adds up: CGI − embedded = 26.99ms, within 20% (+8%) of the start-up components' sum (os-spawn + runtime-init + package-init + app-init = 25.00ms); the remaining 1.99ms is exit+reap, the CGI gateway."},
		{results.Note{Kind: results.ForkNoteGapAbove, Detail: []string{"os-spawn", "runtime-init", "app-init"}, Figures: figs{"gap_ns": 40e6, "rel": 0.6, "start_ns": 25e6, "rest_ns": 15e6}},
			"Decomposition does NOT add up within 20%: CGI − embedded = 40.00ms is +60% against the start-up components' sum (os-spawn + runtime-init + app-init = 25.00ms). The extra 15.00ms is what only the CGI path does: the host builds the environment and pipes, the child runs net/http/cgi (reads its request from the environment, writes a CGI response through a pipe), the host parses that response, kills the process group and reaps; a spawn row measures none of it. On a loaded machine, more context switches per request also land here."},
		{results.Note{Kind: results.ForkNoteGapBelow, Detail: []string{"os-spawn", "runtime-init", "package-init", "app-init"}, Figures: figs{"gap_ns": 31.02e6, "rel": 31.02/49.49 - 1, "start_ns": 49.49e6}},
			"Decomposition does NOT add up within 20%: CGI − embedded = 31.02ms is -37% against the start-up components' sum (os-spawn + runtime-init + package-init + app-init = 49.49ms): the CGI request was cheaper than start-up alone, which no mechanism explains; suspect noise (the machine was shared) or the page cache and CPU frequency changing between rows."},
		{results.Note{Kind: results.ForkNoteCPUGap, Figures: figs{"cgi_cpu_ns": 17.69e6, "embedded_cpu_ns": 5e3, "gap_ns": 17.6851e6, "startup_cpu_ns": 19.64e6, "rel": 17.6851/19.64 - 1}},
			"In CPU time (user+sys medians, less disturbed by a shared machine): CGI child 17.69ms − embedded 5.0µs = 17.69ms against startup-only 19.64ms (-10%)."},
		{results.Note{Kind: results.ForkNoteFactorBudgetCut, Subject: "gogc", Figures: figs{"rounds": 7, "want": 30}},
			"factors/gogc: stopped on its time budget after 7 of 30 interleaved rounds."},
		{results.Note{Kind: results.ForkNoteNoVariants}, "factors/binary: variant builds skipped (--quick or SkipBuilds); no binary-size or linkage rows."},
		{results.Note{Kind: results.ForkNoteNoVariants, Detail: []string{"spawncost: no go tool"}}, "factors/binary: variants not built: spawncost: no go tool"},
		{results.Note{Kind: results.ForkNoteNoPadded}, "factors/package-init: padded build skipped (--quick or SkipBuilds); no package-init rows."},
		{results.Note{Kind: results.ForkNoteNoPadded, Detail: []string{"exit status 1"}}, "factors/package-init: padded program not built: exit status 1"},
		{results.Note{Kind: results.ForkNoteNotMeasured, Subject: "factors/parent-rss", Detail: []string{"fork/exec: no such file"}},
			"factors/parent-rss: not measured: fork/exec: no such file"},
		{results.Note{Kind: results.ForkNoteNotMeasured, Subject: "factors/binary-static", Detail: []string{"exit status 1"}},
			"factors/binary-static: not measured: exit status 1"},
		{results.Note{Kind: results.ForkNoteNoEmptyForPadding}, "factors/package-init: no empty Go program (see components/go-empty); not measured."},
		{results.Note{Kind: results.ForkNoteAppNotLarger, Figures: figs{"app_bytes": 1000, "empty_bytes": 2000}},
			"factors/package-init: the app (1000 bytes) is no larger than the empty Go program (2000 bytes); no padded arm."},
		{results.Note{Kind: results.ForkNotePackageInitSplit, Figures: figs{"init_ns": 3.5e6, "file_ns": 250e3, "packages_ns": 3.25e6}},
			"factors/package-init: of sampleapp -noop − go-empty = 3.50ms (interleaved medians), a file of the same size alone accounts for 250.0µs (padded − empty); the other 3.25ms is the app's packages: their init functions and the pages of their code and data touched before main."},
		{results.Note{Kind: results.ForkNoteArmRatio, Subject: "parent-rss", Detail: []string{"heap_bytes=67108864", "heap_bytes=0"}, Figures: figs{"wall_ns": 12.83e6, "base_ns": 8.63e6, "rel": 12.83/8.63 - 1}},
			"factors/parent-rss: heap_bytes=67108864: median 12.83ms vs 8.63ms for heap_bytes=0 (+49%)."},
		{results.Note{Kind: results.ForkNoteDaemon, Figures: figs{"cold_ns": 101.95e6, "first_ns": 1.8149e6, "steady_ns": 230.9e3, "ratio": 1.8149e6 / 230.9e3}},
			"daemon: cold start median 101.95ms; first request 1.81ms vs 230.9µs in steady state (7.9×)."},
	}
	for _, tt := range tests {
		t.Run(string(tt.n.Kind), func(t *testing.T) {
			if got := NoteText(tt.n); got != tt.want {
				t.Errorf("NoteText(%+v) =\n%q; want\n%q", tt.n, got, tt.want)
			}
		})
	}
}

// TestOldForkNotes: a fork.json written when the document's notes were
// sentences still loads, and its notes are shown as they were written.
func TestOldForkNotes(t *testing.T) {
	sentences := []string{
		"decomposition/exit+reap (cgi): negative median (-18.47ms): the difference of two noisy medians; the component is smaller than the noise.",
		"daemon: cold start median 101.95ms; first request 1.81ms vs 230.9µs in steady state (7.9×).",
	}
	path := filepath.Join(t.TempDir(), "fork.json")
	old := `{"schema_version": 1, "fork": {"rows": [], "notes": ["` + strings.Join(sentences, `", "`) + `"]}}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Fork == nil || len(f.Fork.Notes) != len(sentences) {
		t.Fatalf("fork = %+v; want %d notes", f.Fork, len(sentences))
	}
	for i, n := range f.Fork.Notes {
		if n.Kind != results.NoteText || NoteText(n) != sentences[i] {
			t.Errorf("note %d = %+v, rendered %q; want the text note %q", i, n, NoteText(n), sentences[i])
		}
	}
	var term bytes.Buffer
	if err := WriteTerminal(&term, []*results.File{f}); err != nil {
		t.Fatal(err)
	}
	for _, s := range sentences {
		if !strings.Contains(term.String(), "fork: "+s) {
			t.Errorf("terminal summary lacks %q:\n%s", "fork: "+s, term.String())
		}
	}
}
