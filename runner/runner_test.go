package runner

import (
	"fmt"
	"strings"
	"testing"

	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets/catalog"
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

func TestNotes(t *testing.T) {
	f := &results.File{
		Pinning: results.Pinning{Note: "off: 1 CPU(s), need at least 2"},
		Points: []results.Point{
			{GeneratorBound: true},
			{Saturated: true, Errors: map[string]uint64{"timeout": 3}},
			{Saturated: true, GeneratorBound: true, GeneratorLimited: true},
		},
	}
	got := strings.Join(notes(f), "\n")
	for _, want := range []string{"2 load point(s) were generator-bound", "1 open-model point(s) could not be offered by the generator", "2 open-model point(s) were saturated", "1 load point(s) saw errors", "CPU pinning was off (off: 1 CPU(s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("notes = %q; want a note containing %q", got, want)
		}
	}
	if n := notes(&results.File{Pinning: results.Pinning{Enabled: true}}); len(n) != 0 {
		t.Errorf("notes of a clean run = %q; want none", n)
	}
}

func TestSettingsRecordTargetOptions(t *testing.T) {
	sc, err := scenario.Builtin("quick")
	if err != nil {
		t.Fatal(err)
	}
	s := settings(sc, catalog.Options{CGIBin: "/x/my.cgi", FCGIExternal: true, FCGIAddr: "unix:/s", CGIMaxChildren: 4})
	if s.TargetOptions["cgi-bin"] != "/x/my.cgi" || s.TargetOptions["cgi-max-children"] != "4" ||
		s.TargetOptions["fcgi-external"] != "true" || s.TargetOptions["fcgi-addr"] != "unix:/s" {
		t.Errorf("TargetOptions = %v; want cgi-bin and cgi-max-children recorded", s.TargetOptions)
	}
	if s.Rounds != sc.Rounds || s.DurationNs != int64(sc.Duration.Duration) || len(s.Rates) != 1 {
		t.Errorf("settings = %+v; want the scenario's values", s)
	}
	if s.Arrivals != "uniform" || s.Engine != "" || s.ArrivalSeed != 0 {
		t.Errorf("settings arrivals %q engine %q seed %d; want uniform, the default engine, no seed", s.Arrivals, s.Engine, s.ArrivalSeed)
	}
	sc.Engine, sc.Arrivals, sc.Seed = "epoll", "poisson", 9
	if s := settings(sc, catalog.Options{}); s.Arrivals != "poisson" || s.Engine != "epoll" || s.ArrivalSeed != 9 {
		t.Errorf("settings arrivals %q engine %q seed %d; want poisson, epoll, 9", s.Arrivals, s.Engine, s.ArrivalSeed)
	}
}
