package runner

import (
	"slices"

	"forkbench/results"
)

// references returns the scenario's references (Scenario.References) this
// run measures: each real server that is the rival (TargetInfo.RivalOf) of
// a target of the run running the sample app (not a user's program:
// Config.Targets and Config.Unverified), not already a target, and only
// when the run has the closed model, the only one a reference is measured
// in. A reference's throughput and CPU per request, set against its
// counterpart's, are the run's own evidence of where our fronts stand.
func references(cfg Config) []string {
	sc := cfg.Scenario
	if !slices.Contains(sc.Models, results.ModelClosed) {
		return nil
	}
	ours := describe(slices.DeleteFunc(slices.Clone(sc.Targets), func(t string) bool {
		return !cfg.Targets.RunsSampleApp(t) || slices.Contains(cfg.Unverified, t)
	}))
	var out []string
	for _, ref := range sc.References {
		if slices.Contains(sc.Targets, ref) || slices.Contains(out, ref) {
			continue
		}
		ti := describe([]string{ref})[0]
		if slices.ContainsFunc(ours, ti.RivalOf) {
			out = append(out, ref)
		}
	}
	return out
}

// modelsOf returns the load models kind is measured in: a reference's
// closed model alone, every model of the scenario for the others.
func (r *run) modelsOf(kind string) []results.Model {
	if slices.Contains(r.file.Settings.References, kind) {
		return []results.Model{results.ModelClosed}
	}
	return r.cfg.Scenario.Models
}
