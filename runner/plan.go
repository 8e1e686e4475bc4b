package runner

import (
	"slices"

	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
)

// settings records the run plan as executed, the target options as data.
func settings(sc scenario.Scenario, o *results.TargetOptions) results.Settings {
	s := results.Settings{
		Scenario:      sc.Name,
		Targets:       sc.Targets,
		Endpoints:     sc.Endpoints,
		Models:        sc.Models,
		SweepFactors:  sc.SweepFactors,
		Connections:   sc.Connections,
		DurationNs:    int64(sc.Duration.Duration),
		WarmupNs:      int64(sc.Warmup.Duration),
		TimeoutNs:     int64(sc.Timeout.Duration),
		Rounds:        sc.Rounds,
		SLOP99Ns:      int64(sc.SLOP99.Duration),
		KeepAlive:     true,
		Transport:     sc.Transport,
		TargetOptions: o,
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
	for _, r := range sc.Requests {
		s.Requests = append(s.Requests, results.Request{Name: r.Name, Method: r.Method, Path: r.Path, Header: r.Header, BodyBytes: len(r.Body)})
	}
	if len(sc.Requests) == 0 && slices.Contains(sc.Endpoints, "echo") {
		s.BodyBytes = sc.EchoBytes
	}
	if slices.Contains(sc.Models, scenario.ModelOpen) {
		s.Rates = []float64{sc.Rate}
	}
	return s
}
