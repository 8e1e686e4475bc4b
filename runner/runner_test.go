package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets"
)

func TestSweepRates(t *testing.T) {
	cases := []struct {
		capacity float64
		factors  []float64
		want     string
	}{
		{1000, []float64{0.5, 0.25, 1.1}, "[{0.25 250} {0.5 500} {1.1 1100}]"},
		{3, []float64{0.1, 0.2, 0.5}, "[{0.1 1} {0.5 2}]"}, // rounded, at least 1, de-duplicated
	}
	for _, c := range cases {
		if got := fmt.Sprint(sweepRates(c.capacity, c.factors)); got != c.want {
			t.Errorf("sweepRates(%v, %v) = %s; want %s", c.capacity, c.factors, got, c.want)
		}
	}
}

func TestSettingsRecordTargetOptions(t *testing.T) {
	sc, err := scenario.Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	o := &results.TargetOptions{CGIBin: "/x/my.cgi", FCGIExternal: true, FCGIAddr: "unix:/s", CGIMaxChildren: 4}
	s := settings(sc, o)
	if s.TargetOptions != o {
		t.Errorf("TargetOptions = %+v; want the run's options", s.TargetOptions)
	}
	if s.Rounds != sc.Rounds || s.DurationNs != int64(sc.Duration.Duration) || len(s.Rates) != 1 {
		t.Errorf("settings = %+v; want the scenario's values", s)
	}
	if s.Arrivals != "uniform" || s.Engine != "" || s.ArrivalSeed != 0 {
		t.Errorf("settings arrivals %q engine %q seed %d; want uniform, the default engine, no seed", s.Arrivals, s.Engine, s.ArrivalSeed)
	}
	sc.Engine, sc.Arrivals, sc.Seed = "epoll", "poisson", 9
	if s := settings(sc, &results.TargetOptions{}); s.Arrivals != "poisson" || s.Engine != "epoll" || s.ArrivalSeed != 9 {
		t.Errorf("settings arrivals %q engine %q seed %d; want poisson, epoll, 9", s.Arrivals, s.Engine, s.ArrivalSeed)
	}
}

// fakeTarget is an in-process HTTP server standing in for a deployment:
// no binary, no child process. On Start it records what the result file
// on disk held at that moment.
type fakeTarget struct {
	name string
	log  *fakeLog
	srv  *http.Server
	ln   net.Listener
}

// fakeLog records the targets' lifecycle across a run.
type fakeLog struct {
	mu       sync.Mutex
	path     string   // results.json
	started  []string // names, in start order
	stopped  int
	onDisk   []int // points in results.json when each target started
	partials []bool
}

func (f *fakeTarget) Name() string { return f.name }
func (f *fakeTarget) URL() string  { return "http://" + f.ln.Addr().String() }
func (f *fakeTarget) PIDs() []int  { return nil }

func (f *fakeTarget) Start(ctx context.Context) error {
	l := f.log
	l.mu.Lock()
	l.started = append(l.started, f.name)
	n, partial := -1, false
	if rf, err := results.Read(l.path); err == nil {
		n, partial = len(rf.Points), rf.Partial
	}
	l.onDisk, l.partials = append(l.onDisk, n), append(l.partials, partial)
	l.mu.Unlock()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f.ln = ln
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "Hello, World!")
	})}
	go func() { _ = f.srv.Serve(ln) }()
	return nil
}

func (f *fakeTarget) Stop(ctx context.Context) error {
	if f.srv == nil {
		return nil
	}
	f.log.mu.Lock()
	f.log.stopped++
	f.log.mu.Unlock()
	err := f.srv.Shutdown(ctx)
	f.srv = nil
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// runFakes runs cfg against fake targets, all recording into the log
// returned, writing to a fresh OutDir without verification; an error ends
// the test.
func runFakes(t *testing.T, cfg Config) (*results.File, *fakeLog) {
	t.Helper()
	cfg.OutDir, cfg.NoVerify = t.TempDir(), true
	log := &fakeLog{path: filepath.Join(cfg.OutDir, "results.json")}
	cfg.NewTarget = func(kind string, _ []int, _ io.Writer) (targets.Target, error) {
		return &fakeTarget{name: kind, log: log}, nil
	}
	f, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, log
}

// twoShortRounds is the quick scenario cut down to two rounds of 100 ms
// closed-model windows on plaintext over the named targets, two
// connections each: enough for tests that drive Run end to end.
func twoShortRounds(t *testing.T, names ...string) scenario.Scenario {
	t.Helper()
	sc, err := scenario.Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	sc.Targets, sc.Endpoints, sc.Models = names, []string{"plaintext"}, []results.Model{results.ModelClosed}
	sc.Rounds, sc.Connections = 2, 2
	sc.Duration.Duration, sc.Warmup.Duration, sc.Timeout.Duration = 100*time.Millisecond, 0, 5*time.Second
	return sc
}

// TestRunInterleavesRoundsAndWritesEveryPoint drives the runner with two
// fake targets over two rounds: each round starts fresh targets, the
// second in reverse order, and the result file on disk grows by one point
// per point measured (marked partial until the run ends).
func TestRunInterleavesRoundsAndWritesEveryPoint(t *testing.T) {
	f, log := runFakes(t, Config{
		Scenario: twoShortRounds(t, "a", "b"),
		Targets:  results.TargetOptions{CGIMaxChildren: 3},
		Command:  []string{"bench", "run", "--test"},
	})
	if got, want := strings.Join(log.started, " "), "a b b a"; got != want {
		t.Errorf("targets started %s; want %s (round 2 reversed, fresh targets each round)", got, want)
	}
	if log.stopped != 4 {
		t.Errorf("%d targets stopped; want 4", log.stopped)
	}
	if got, want := fmt.Sprint(log.onDisk), "[-1 1 2 3]"; got != want {
		t.Errorf("points on disk when each target started = %s; want %s (written after every point)", got, want)
	}
	if got, want := fmt.Sprint(log.partials), "[false true true true]"; got != want {
		t.Errorf("partial on disk when each target started = %s; want %s", got, want)
	}
	var order []string
	for _, p := range f.Points {
		order = append(order, fmt.Sprintf("%s/r%d/o%d", p.Target, p.Round, p.Order))
		if p.Model != results.ModelClosed || p.Successes == 0 || p.Successes != p.Requests {
			t.Errorf("point %s: model %s, %d of %d requests succeeded; want closed, all", p.Target, p.Model, p.Successes, p.Requests)
		}
	}
	if got, want := strings.Join(order, " "), "a/r1/o1 b/r1/o2 b/r2/o1 a/r2/o2"; got != want {
		t.Errorf("points = %s; want %s", got, want)
	}
	onDisk, err := results.Read(log.path)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Partial || len(onDisk.Points) != 4 {
		t.Errorf("final file: partial %v, %d points; want complete, 4", onDisk.Partial, len(onDisk.Points))
	}
	if len(onDisk.Notes) != 1 || onDisk.Notes[0].Kind != results.NoteVerifySkipped {
		t.Errorf("notes = %+v; want the skipped verification", onDisk.Notes)
	}
	if o := onDisk.Settings.TargetOptions; o == nil || o.CGIMaxChildren != 3 {
		t.Errorf("target options = %+v; want those of the run", o)
	}
}

func TestRunNeedsNewTarget(t *testing.T) {
	sc, err := scenario.Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Config{Scenario: sc, OutDir: t.TempDir()}); err == nil {
		t.Error("Run without NewTarget succeeded")
	}
}

// TestRunReferences checks which references a run measures and how: a
// real server beside the run's own deployment of the same app over the
// same protocol (apache-cgi and nginx-fcgiwrap beside cgi), in the closed
// model only, recorded as references; one without such a deployment
// (nginx-fcgi without fcgi, or beside a user's program in its place), one
// already a target, or any when the run has no closed model, is not
// measured.
func TestRunReferences(t *testing.T) {
	for _, tc := range []struct {
		name         string
		targets      []string
		models       []results.Model
		opts         results.TargetOptions
		unverified   []string
		refs         []string
		wantRefs     string
		wantPerRound string // targets and models of round 1's points, in order
	}{
		{"beside cgi", []string{"embedded", "cgi"}, []results.Model{results.ModelClosed, results.ModelOpen}, results.TargetOptions{}, nil,
			[]string{"nginx-fcgiwrap", "nginx-fcgi", "apache-cgi", "nginx-fcgiwrap"},
			"[nginx-fcgiwrap apache-cgi]",
			"embedded/closed embedded/open cgi/closed cgi/open nginx-fcgiwrap/closed apache-cgi/closed"},
		{"already a target", []string{"cgi", "nginx-fcgiwrap"}, []results.Model{results.ModelClosed}, results.TargetOptions{}, nil,
			[]string{"nginx-fcgiwrap"}, "[]", "cgi/closed nginx-fcgiwrap/closed"},
		{"no closed model", []string{"cgi"}, []results.Model{results.ModelOpen}, results.TargetOptions{}, nil,
			[]string{"nginx-fcgiwrap"}, "[]", "cgi/open"},
		{"not our deployment", []string{"a"}, []results.Model{results.ModelClosed}, results.TargetOptions{}, nil,
			[]string{"nginx-fcgiwrap", "nginx-fcgi"}, "[]", "a/closed"},
		{"a user's CGI program", []string{"cgi", "fcgi"}, []results.Model{results.ModelClosed}, results.TargetOptions{CGIBin: "/x/my.cgi"}, nil,
			[]string{"nginx-fcgiwrap", "nginx-fcgi"}, "[nginx-fcgi]", "cgi/closed fcgi/closed nginx-fcgi/closed"},
		{"a user's daemon", []string{"cgi", "fcgi"}, []results.Model{results.ModelClosed}, results.TargetOptions{FCGIExternal: true}, nil,
			[]string{"nginx-fcgiwrap", "nginx-fcgi"}, "[nginx-fcgiwrap]", "cgi/closed fcgi/closed nginx-fcgiwrap/closed"},
		{"unverified", []string{"cgi"}, []results.Model{results.ModelClosed}, results.TargetOptions{}, []string{"cgi"},
			[]string{"nginx-fcgiwrap"}, "[]", "cgi/closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := twoShortRounds(t, tc.targets...)
			sc.Models, sc.References, sc.Rate = tc.models, tc.refs, 50
			f, _ := runFakes(t, Config{Scenario: sc, Targets: tc.opts, Unverified: tc.unverified})
			if got := fmt.Sprint(f.Settings.References); got != tc.wantRefs {
				t.Errorf("references = %s; want %s", got, tc.wantRefs)
			}
			var round1 []string
			for _, p := range f.Points {
				if p.Round == 1 {
					round1 = append(round1, p.Target+"/"+string(p.Model))
				}
			}
			if got := strings.Join(round1, " "); got != tc.wantPerRound {
				t.Errorf("round 1 measured %s; want %s", got, tc.wantPerRound)
			}
			for _, r := range f.Settings.References {
				if !slices.Contains(f.Settings.Targets, r) {
					t.Errorf("reference %s not among the settings' targets %v", r, f.Settings.Targets)
				}
				if ti, ok := f.TargetInfoOf(r); !ok || ti.Front == "go" || ti.Front == "" {
					t.Errorf("reference %s described as %+v, %v; want a real server", r, ti, ok)
				}
			}
		})
	}
}
