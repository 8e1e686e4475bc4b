package runner

import (
	"slices"

	"forkbench/results"
	"forkbench/targets/fronts"
)

// references returns the scenario's references (Scenario.References) this
// run measures: each real server (Apache, nginx, lighttpd) that stands
// beside a target of the run deployed by the suite's own front with the
// same protocol and language and running the sample app (nginx-fcgiwrap
// beside cgi: the same child; nginx-fcgi beside fcgi: the same daemon;
// not beside a user's program: Config.Targets and Config.Unverified), not
// already a target, and only when the run has the closed model, the only
// one a reference is measured in. A reference's throughput and CPU per request, set against its
// counterpart's, are the run's own evidence of where our fronts stand.
func references(cfg Config) []string {
	sc := cfg.Scenario
	if !slices.Contains(sc.Models, results.ModelClosed) {
		return nil
	}
	var out []string
	for _, ref := range sc.References {
		d, ok := fronts.Describe(ref)
		if !ok || d.Front == fronts.FrontGo || slices.Contains(sc.Targets, ref) || slices.Contains(out, ref) {
			continue
		}
		if slices.ContainsFunc(sc.Targets, func(t string) bool {
			o, ok := fronts.Describe(t)
			return ok && o.Front == fronts.FrontGo && o.Protocol == d.Protocol && o.Language == d.Language &&
				cfg.Targets.RunsSampleApp(t) && !slices.Contains(cfg.Unverified, t)
		}) {
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
