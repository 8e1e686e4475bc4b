package runner

import (
	"fmt"
	"slices"
	"strings"

	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets/catalog"
)

func settings(sc scenario.Scenario, o catalog.Options) results.Settings {
	s := results.Settings{
		Scenario:     sc.Name,
		Targets:      sc.Targets,
		Endpoints:    sc.Endpoints,
		Models:       sc.Models,
		SweepFactors: sc.SweepFactors,
		Connections:  sc.Connections,
		DurationNs:   int64(sc.Duration.Duration),
		WarmupNs:     int64(sc.Warmup.Duration),
		TimeoutNs:    int64(sc.Timeout.Duration),
		Rounds:       sc.Rounds,
		SLOP99Ns:     int64(sc.SLOP99.Duration),
		KeepAlive:    true,
		Transport:    sc.Transport,
	}
	if slices.Contains(sc.Models, scenario.ModelOpen) || slices.Contains(sc.Models, scenario.ModelSweep) {
		s.Engine, s.Arrivals = sc.Engine, sc.Arrivals
		if s.Arrivals == "" {
			s.Arrivals = loadgen.ArrivalsUniform
		}
		if s.Arrivals == loadgen.ArrivalsPoisson {
			s.ArrivalSeed = sc.Seed
		}
	}
	if slices.Contains(sc.Endpoints, "echo") {
		s.BodyBytes = sc.EchoBytes
	}
	if slices.Contains(sc.Models, scenario.ModelOpen) {
		s.Rates = []float64{sc.Rate}
	}
	args := o.Args()
	if len(args) > 0 {
		s.TargetOptions = map[string]string{}
		for i := 0; i < len(args); i++ {
			name, val := strings.TrimPrefix(args[i], "--"), "true" // a bool flag has no value
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				val = args[i+1]
				i++
			}
			s.TargetOptions[name] = val
		}
	}
	return s
}

// knees finds each target's knee from the sweep points of the file.
func knees(f *results.File, sc scenario.Scenario) []results.Knee {
	if !slices.Contains(sc.Models, scenario.ModelSweep) {
		return nil
	}
	type key struct{ target, endpoint string }
	groups := map[key][]results.Point{}
	var order []key
	for _, p := range f.Points {
		if p.Model != results.ModelOpen {
			continue
		}
		k := key{p.Target, p.Endpoint}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	var out []results.Knee
	for _, k := range order {
		kn := loadgen.Knee(groups[k], sc.SLOP99.Duration)
		kn.Target, kn.Endpoint = k.target, k.endpoint
		out = append(out, kn)
	}
	return out
}

// notes names what makes a figure less trustworthy.
func notes(f *results.File) []string {
	var out []string
	var genBound, genLimited, saturated, withErrors, clones, lost int
	for _, p := range f.Points {
		if p.Server.SpawnSource == "system-wide-clones" {
			clones++
		}
		if p.Server.SpawnEventsLost > 0 {
			lost++
		}
		if p.GeneratorBound {
			genBound++
		}
		if p.GeneratorLimited {
			genLimited++
		}
		if p.Saturated {
			saturated++
		}
		if len(p.Errors) > 0 {
			withErrors++
		}
	}
	if genBound > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) were generator-bound (generator CPU ≥ 90%% of its cores): their throughput is the generator's limit, not the target's.", genBound))
	}
	if genLimited > 0 {
		out = append(out, fmt.Sprintf("%d open-model point(s) could not be offered by the generator (saturated while generator-bound): they describe the generator, not the target, and no knee rests on them.", genLimited))
	}
	if saturated > 0 {
		out = append(out, fmt.Sprintf("%d open-model point(s) were saturated (achieved rate > 1%% below offered): their latency is not a valid figure.", saturated))
	}
	if withErrors > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) saw errors; see the errors column.", withErrors))
	}
	if clones > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) counted spawns system-wide (every process and thread created on the machine; the kernel's process events were not available): spawns/req is an upper bound.", clones))
	}
	if lost > 0 {
		out = append(out, fmt.Sprintf("%d load point(s) lost process events: their spawns/req is a lower bound.", lost))
	}
	if !f.Pinning.Enabled {
		out = append(out, "CPU pinning was off ("+f.Pinning.Note+"): generator and targets shared CPUs.")
	}
	return out
}
