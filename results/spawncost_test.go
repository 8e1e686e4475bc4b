package results

import (
	"math"
	"path/filepath"
	"testing"
)

// TestReadLegacyFork reads a fork.json `bench fork --quick` wrote before
// the document's derived values were typed fields, and checks the upgrade:
// the model rows become fits and break-evens, the legacy parameters fill
// the typed fields, nothing else is lost.
func TestReadLegacyFork(t *testing.T) {
	f, err := Read(filepath.Join("testdata", "fork-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	fk := f.Fork
	groups := map[ForkGroup]int{}
	for _, r := range fk.Rows {
		groups[r.Group]++
		switch r.Group {
		case ForkGroupDecomposition, ForkGroupAmortisation:
			if r.Deployment.Rank() >= len(ForkDeployments()) {
				t.Errorf("%s/%s: deployment %q; want one of %v", r.Group, r.Name, r.Deployment, ForkDeployments())
			}
		case ForkGroupConcurrency:
			if r.Spawners <= 0 || r.ThroughputPerS <= 0 || r.Speedup <= 0 {
				t.Errorf("concurrency row %+v; want spawners, throughput and speed-up", r)
			}
		case ForkGroupDaemon:
			if !r.NoCPU {
				t.Errorf("daemon row %s: NoCPU false; want true", r.Name)
			}
		}
		if r.Group == ForkGroupAmortisation && r.WorkN == 0 && r.Params["work_n"] != "0" {
			t.Errorf("amortisation row %v: WorkN 0", r.Params)
		}
	}
	want := map[ForkGroup]int{ForkGroupComponents: 8, ForkGroupDecomposition: 9, ForkGroupAmortisation: 6, ForkGroupFactors: 6, ForkGroupConcurrency: 2, ForkGroupDaemon: 4}
	for g, n := range want {
		if groups[g] != n {
			t.Errorf("%d %s rows; want %d (groups %v)", groups[g], g, n, groups)
		}
	}
	if groups[legacyGroupModel] != 0 {
		t.Errorf("%d model rows left; want them turned into fits", groups[legacyGroupModel])
	}
	if len(fk.Fits) != 3 || fk.Fits[0].Deployment != ForkCGI || !fk.Fits[0].HasCPU || fk.Fits[0].Points != 2 || fk.Fits[0].R2 != 1 {
		t.Fatalf("fits = %+v; want cgi, fcgi, embedded fitted to 2 points with CPU", fk.Fits)
	}
	// The file's model rows: cgi fixed 19.65 ms, 89.5 ns per round;
	// embedded 1.2 µs + 91.2 ns: CGI's overhead falls under 10% at n ≈
	// 1.66e6 (its own note said so).
	be := fk.BreakEvens
	if len(be) != 4 || be[0].Deployment != ForkCGI || be[0].Basis != ForkWall || !be[0].Found || math.Abs(be[0].WorkN-1_661_154) > 1 {
		t.Errorf("break-evens = %+v; want cgi wall found at n ≈ 1661154 first", be)
	}
	if len(fk.Notes) != 16 {
		t.Errorf("%d notes; want the file's 16", len(fk.Notes))
	}
	// The file's notes are sentences: each is read as a text note.
	for i, n := range fk.Notes {
		if n.Kind != NoteText || n.Text == "" {
			t.Errorf("note %d = %+v; want a text note holding the file's sentence", i, n)
		}
	}
	if want := "daemon: cold start median 101.95ms; first request 1.81ms vs 230.9µs in steady state (7.9×)."; len(fk.Notes) > 0 && fk.Notes[len(fk.Notes)-1].Text != want {
		t.Errorf("last note = %q; want %q", fk.Notes[len(fk.Notes)-1].Text, want)
	}
}

func TestForkBreakEvens(t *testing.T) {
	fit := func(d ForkDeployment, a, b float64) ForkFit {
		return ForkFit{Deployment: d, FixedNs: a, PerUnitNs: b, HasCPU: true, CPUFixedNs: a / 2, CPUPerUnitNs: b / 2}
	}
	for _, tc := range []struct {
		name         string
		a, b, ae, be float64
		want         float64
		found        bool
		rule         float64
	}{
		// CGI 1.9 ms + 10 µs·n against embedded 90 µs + 10 µs·n:
		// 0.1·(1.9e6 + 1e4·n) = 1.81e6 ⇔ n = 1620; rule 9 × 1.81 ms.
		{"fixed overhead, same per-unit cost", 1.9e6, 1e4, 0.09e6, 1e4, 1620, true, 16.29e6},
		{"per-unit cost too high: never", 29.4e6, 173, -3.6e3, 90.5, 0, false, 9 * (29.4e6 + 3.6e3)},
		{"already under 10% at no work", 100, 1e4, 95, 1e4, 0, true, 45},
		{"cheaper fixed cost: no rule", 50, 1e4, 95, 1e4, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bes := ForkBreakEvens([]ForkFit{fit(ForkCGI, tc.a, tc.b), fit(ForkEmbedded, tc.ae, tc.be)})
			if len(bes) != 2 || bes[0].Basis != ForkWall || bes[1].Basis != ForkCPU {
				t.Fatalf("ForkBreakEvens = %+v; want wall and CPU for cgi", bes)
			}
			for _, b := range bes {
				if b.Deployment != ForkCGI || b.Found != tc.found || math.Abs(b.WorkN-tc.want) > 1e-6*math.Max(1, tc.want) {
					t.Errorf("%s break-even = %+v; want found %v at n = %v", b.Basis, b, tc.found, tc.want)
				}
			}
			if got := bes[0].FixedRuleNs; math.Abs(got-tc.rule) > 1e-6*math.Max(1, tc.rule) {
				t.Errorf("fixed rule = %v ns; want %v", got, tc.rule)
			}
			if n := bes[0].WorkN; tc.found && n > 0 {
				share := 1 - (tc.ae+tc.be*n)/(tc.a+tc.b*n)
				if math.Abs(share-ForkBreakEvenShare) > 1e-9 {
					t.Errorf("overhead share at the break-even = %v; want %v", share, ForkBreakEvenShare)
				}
			}
		})
	}
	if bes := ForkBreakEvens([]ForkFit{fit(ForkCGI, 1, 1)}); bes != nil {
		t.Errorf("ForkBreakEvens without an embedded fit = %+v; want none", bes)
	}
}
