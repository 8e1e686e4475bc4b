package results

// This file is the spawn-cost document `bench fork` writes (File.Fork):
// the measured rows, the decomposition derived from them, the cost model
// fitted to the amortisation rows and the break-even it implies. The
// spawncost package computes every figure once, where it measures;
// reports only renders them. Rows, groups, deployments and the names the
// two sides share are defined here, once.
//
// Files written before the derived values were typed fields (parameters
// "target", "deployment", "work_n", "spawners", "throughput_per_s",
// "speedup" and "cpu": "not measured" in Params, and the cost model as rows
// of group "model" with "r2" and "cpu_ns" parameters) are upgraded as they
// are read (Fork.UnmarshalJSON): their parameters are copied into the
// typed fields and the model rows become Fits and BreakEvens.

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
)

// Fork is the spawn-cost document written by `bench fork`.
type Fork struct {
	Rows []ForkRow `json:"rows"`
	// Fits is the cost model per deployment, fitted to the amortisation
	// rows, in ForkDeployments order.
	Fits []ForkFit `json:"fits,omitempty"`
	// BreakEvens holds, for each deployment other than embedded and each
	// basis (wall, CPU), the work above which its overhead share falls
	// under ForkBreakEvenShare.
	BreakEvens []ForkBreakEven `json:"break_evens,omitempty"`
	// Notes are the kinds in forknotes.go; files written before notes
	// were data hold sentences, read as NoteText.
	Notes []Note `json:"notes,omitempty"`
}

// ForkGroup is the kind of a row of the document.
type ForkGroup string

// The row groups, in report order.
const (
	// ForkGroupComponents holds the directly measured totals every other
	// group is derived from or compared with (the ForkComponent names).
	ForkGroupComponents ForkGroup = "components"
	// ForkGroupDecomposition stacks each deployment's (Deployment)
	// request into parts (the ForkPart names), derived from the
	// components.
	ForkGroupDecomposition ForkGroup = "decomposition"
	// ForkGroupAmortisation is one request doing /work?n=WorkN through
	// Deployment.
	ForkGroupAmortisation ForkGroup = "amortisation"
	// ForkGroupFactors holds what makes a spawn cheaper or dearer: rows
	// of the same Name (the factor, a ForkFactor name) with different
	// params (its arms), measured interleaved.
	ForkGroupFactors ForkGroup = "factors"
	// ForkGroupConcurrency is spawning from Spawners goroutines at once.
	ForkGroupConcurrency ForkGroup = "concurrency"
	// ForkGroupDaemon is the FastCGI daemon's cold start, first and steady
	// requests, and restart after SIGKILL.
	ForkGroupDaemon ForkGroup = "daemon"
)

// ForkGroups lists the groups in report order.
func ForkGroups() []ForkGroup {
	return []ForkGroup{ForkGroupComponents, ForkGroupDecomposition, ForkGroupAmortisation, ForkGroupFactors, ForkGroupConcurrency, ForkGroupDaemon}
}

// ForkDeployment is a way the app is deployed: the decomposition's bars,
// the amortisation's curves and the cost model's lines.
type ForkDeployment string

// The deployments, in drawing order: CGI first, what it is set against
// beside it.
const (
	ForkCGI      ForkDeployment = "cgi"
	ForkFCGI     ForkDeployment = "fcgi"
	ForkEmbedded ForkDeployment = "embedded"
)

// ForkDeployments lists the deployments in drawing order.
func ForkDeployments() []ForkDeployment { return []ForkDeployment{ForkCGI, ForkFCGI, ForkEmbedded} }

// Rank is d's place in drawing order; unknown deployments come last.
func (d ForkDeployment) Rank() int {
	if i := slices.Index(ForkDeployments(), d); i >= 0 {
		return i
	}
	return len(ForkDeployments())
}

// Names of the components rows (group components).
const (
	ForkBinTrue         = "bin-true"         // spawn+reap of /bin/true
	ForkStaticNoop      = "static-noop"      // spawn+reap of a static C no-op: the OS floor
	ForkGoEmpty         = "go-empty"         // an empty Go program: the Go runtime's floor
	ForkGoNoop          = "go-noop"          // sampleapp -noop: runtime and package init
	ForkStartupOnly     = "startup-only"     // sampleapp -startup-only: the app's start-up
	ForkEmbeddedRequest = "embedded-request" // the handler in-process
	ForkCGIRequest      = "cgi-request"      // a request through targets/cgi
	ForkFCGIRequest     = "fcgi-request"     // a request through targets/fcgi
)

// Names of the decomposition rows (group decomposition), the parts a
// deployment's request stacks into.
const (
	ForkOSSpawn        = "os-spawn"
	ForkRuntimeInit    = "runtime-init"
	ForkPackageInit    = "package-init"
	ForkAppInit        = "app-init"
	ForkRequest        = "request"
	ForkExitReap       = "exit+reap"
	ForkFastCGIGateway = "fastcgi-gateway"
)

// ForkParts is the stacking order of the decomposition.
func ForkParts() []string {
	return []string{ForkOSSpawn, ForkRuntimeInit, ForkPackageInit, ForkAppInit, ForkRequest, ForkExitReap, ForkFastCGIGateway}
}

// Names of the factors (rows of group factors).
const (
	ForkFactorBinary      = "binary"
	ForkFactorPackageInit = "package-init"
	ForkFactorGOMAXPROCS  = "gomaxprocs"
	ForkFactorGOGC        = "gogc"
	ForkFactorParentRSS   = "parent-rss"
)

// Keys of ForkRow.Params that readers show by name. Params are
// descriptive (shown, never computed with); every figure a reader
// computes with is a typed field.
const (
	ForkParamWhat    = "what"    // what the row measures, in words
	ForkParamSource  = "source"  // how a decomposition part was derived
	ForkParamProgram = "program" // the program spawned
	ForkParamSpawned = "spawned" // the program a parent-rss probe spawns
	ForkParamCPU     = "cpu"     // how the row's CPU was measured, when unusual
	// ForkParamVariant and ForkParamValue name a factor's arm: the build
	// variant, or the setting's value; ForkParamHeapBytes the heap of a
	// parent-rss arm.
	ForkParamVariant   = "variant"
	ForkParamValue     = "value"
	ForkParamHeapBytes = "heap_bytes"
)

// ForkRow is one measured (or derived) configuration: a component, a part
// of the decomposition, an amortisation point, a factor's arm, a
// concurrency level or a daemon event, with robust statistics over its
// samples.
type ForkRow struct {
	Group ForkGroup `json:"group"`
	Name  string    `json:"name"`
	// Deployment is the deployment of a decomposition or amortisation
	// row; "" in a decomposition row means CGI.
	Deployment ForkDeployment `json:"deployment,omitempty"`
	// WorkN is the /work rounds of an amortisation row.
	WorkN int `json:"work_n,omitempty"`
	// Spawners is a concurrency row's number of goroutines spawning at
	// once, ThroughputPerS the spawns per second they achieved together
	// and Speedup that throughput over the first level's.
	Spawners       int     `json:"spawners,omitempty"`
	ThroughputPerS float64 `json:"throughput_per_s,omitempty"`
	Speedup        float64 `json:"speedup,omitempty"`
	// NoCPU marks a row whose CPU was not measured: its zero CPU figures
	// are not measurements.
	NoCPU    bool              `json:"no_cpu,omitempty"`
	Params   map[string]string `json:"params,omitempty"`
	Samples  int               `json:"samples"`
	Outliers int               `json:"outliers"`
	Wall     Summary           `json:"wall"`
	User     Summary           `json:"user"`
	Sys      Summary           `json:"sys"`
	// CPU summarises user+sys of each sample. The kernel accounts a
	// process's total CPU precisely but splits it into user and sys by
	// where the clock tick found it, so for a process that lives a few
	// milliseconds the split (User, Sys) is mostly noise and the total is
	// the figure to read. Nil in files written before it was recorded.
	CPU *Summary `json:"cpu,omitempty"`
}

// CPUMedianNs is the median CPU (user+sys) of the row: CPU's when
// recorded, else the sum of the user and sys medians.
func (r ForkRow) CPUMedianNs() float64 {
	if r.CPU != nil {
		return r.CPU.MedianNs
	}
	return r.User.MedianNs + r.Sys.MedianNs
}

// DeploymentOr is the row's deployment, or d when it names none.
func (r ForkRow) DeploymentOr(d ForkDeployment) ForkDeployment {
	if r.Deployment != "" {
		return r.Deployment
	}
	return d
}

// Summary is a robust summary of samples in nanoseconds.
type Summary struct {
	MedianNs float64 `json:"median_ns"`
	P25Ns    float64 `json:"p25_ns"`
	P75Ns    float64 `json:"p75_ns"`
	MinNs    float64 `json:"min_ns"`
	MaxNs    float64 `json:"max_ns"`
}

// ForkFit is one deployment's cost per request as a least-squares line
// over the amortisation medians: cost = fixed + per-unit × n for n /work
// rounds, fitted to wall time and, when HasCPU, to CPU time (user+sys).
type ForkFit struct {
	Deployment   ForkDeployment `json:"deployment"`
	FixedNs      float64        `json:"fixed_ns"`
	PerUnitNs    float64        `json:"per_unit_ns"`
	HasCPU       bool           `json:"has_cpu"`
	CPUFixedNs   float64        `json:"cpu_fixed_ns,omitempty"`
	CPUPerUnitNs float64        `json:"cpu_per_unit_ns,omitempty"`
	// R2 is the wall-time fit's coefficient of determination; Points
	// the work sizes it was fitted to.
	R2     float64 `json:"r2"`
	Points int     `json:"points"`
	// PerUnitLoNs and PerUnitHiNs bound PerUnitNs at 95% confidence
	// (Student's t over Points−2 degrees of freedom); 0 in files written
	// before they were recorded.
	PerUnitLoNs float64 `json:"per_unit_lo_ns,omitempty"`
	PerUnitHiNs float64 `json:"per_unit_hi_ns,omitempty"`
}

// Coef returns f's coefficients for wall time or CPU time.
func (f ForkFit) Coef(b ForkBasis) (fixed, perUnit float64) {
	if b == ForkCPU {
		return f.CPUFixedNs, f.CPUPerUnitNs
	}
	return f.FixedNs, f.PerUnitNs
}

// Has reports whether f was fitted to basis b.
func (f ForkFit) Has(b ForkBasis) bool { return b == ForkWall || f.HasCPU }

// ForkBasis is the time a break-even is stated in.
type ForkBasis string

const (
	ForkWall ForkBasis = "wall"
	ForkCPU  ForkBasis = "cpu"
)

// ForkBreakEvenShare is the overhead share a break-even is stated for: the
// work per request above which a deployment's overhead is under 10%.
const ForkBreakEvenShare = 0.10

// ForkBreakEven is where a deployment's fitted cost line and the
// embedded one's put its overhead share, 1 − embedded/deployment, under
// ForkBreakEvenShare.
type ForkBreakEven struct {
	Deployment ForkDeployment `json:"deployment"`
	Basis      ForkBasis      `json:"basis"`
	// Found is false when the lines never bring the share there: the
	// deployment's cost grows with the work at least as fast as the
	// embedded one's. WorkN is then 0.
	Found bool    `json:"found"`
	WorkN float64 `json:"work_n"` // /work rounds
	// FixedRuleNs is the usual rule of thumb, which counts only the
	// fixed overhead (the work costing the same everywhere): the
	// overhead is under the share once the work costs (1−s)/s times the
	// fixed-cost difference. 0 when the deployment's fixed cost is not
	// above the embedded one's.
	FixedRuleNs float64 `json:"fixed_rule_ns,omitempty"`
}

// ForkBreakEvens derives the break-evens of fits against the embedded
// fit, for every other deployment and basis both are fitted to; none
// without an embedded fit.
func ForkBreakEvens(fits []ForkFit) []ForkBreakEven {
	i := slices.IndexFunc(fits, func(f ForkFit) bool { return f.Deployment == ForkEmbedded })
	if i < 0 {
		return nil
	}
	emb := fits[i]
	var out []ForkBreakEven
	for _, b := range []ForkBasis{ForkWall, ForkCPU} {
		for _, f := range fits {
			if f.Deployment == ForkEmbedded || !f.Has(b) || !emb.Has(b) {
				continue
			}
			a, pu := f.Coef(b)
			ae, pue := emb.Coef(b)
			be := ForkBreakEven{Deployment: f.Deployment, Basis: b}
			be.WorkN, be.Found = breakEvenN(a, pu, ae, pue)
			if over := a - ae; finite(over) && over > 0 {
				be.FixedRuleNs = over * (1 - ForkBreakEvenShare) / ForkBreakEvenShare
			}
			out = append(out, be)
		}
	}
	return out
}

// breakEvenN is the work n above which the overhead share 1 − (ae +
// be·n)/(a + b·n) stays under ForkBreakEvenShare s:
//
//	1 − (ae + be·n)/(a + b·n) < s  ⇔  n·(be − (1−s)·b) > (1−s)·a − ae
func breakEvenN(a, b, ae, be float64) (float64, bool) {
	k := 1 - ForkBreakEvenShare
	den := be - k*b
	if !finite(a, b, ae, be) || den <= 0 {
		return 0, false
	}
	return max(0, (k*a-ae)/den), true
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads the document and upgrades one written before its
// derived values were typed fields (see the top of this file).
func (f *Fork) UnmarshalJSON(data []byte) error {
	type plain Fork // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*f = Fork(p)
	f.upgrade()
	return nil
}

// legacyGroupModel is the group the cost model was written as before
// Fits: per deployment a "fixed" and a "per-work-unit" row.
const legacyGroupModel ForkGroup = "model"

// upgrade copies legacy parameters into the typed fields and turns legacy
// model rows into Fits and BreakEvens. A current document is unchanged.
func (f *Fork) upgrade() {
	rows := f.Rows[:0]
	var model []ForkRow
	for _, r := range f.Rows {
		if r.Group == legacyGroupModel {
			model = append(model, r)
			continue
		}
		r.upgrade()
		rows = append(rows, r)
	}
	f.Rows = rows
	if len(model) > 0 && len(f.Fits) == 0 {
		f.Fits = legacyFits(model)
		f.BreakEvens = ForkBreakEvens(f.Fits)
	}
}

// upgrade fills r's typed fields from the legacy parameters it still
// carries, which stay as they were.
func (r *ForkRow) upgrade() {
	p := r.Params
	if r.Deployment == "" {
		r.Deployment = ForkDeployment(p["target"]) // decomposition rows
	}
	if r.Deployment == "" {
		r.Deployment = ForkDeployment(p["deployment"]) // amortisation rows
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(p[k]); return n }
	atof := func(k string) float64 { v, _ := strconv.ParseFloat(p[k], 64); return v }
	r.WorkN = max(r.WorkN, atoi("work_n"))
	r.Spawners = max(r.Spawners, atoi("spawners"))
	r.ThroughputPerS = max(r.ThroughputPerS, atof("throughput_per_s"))
	r.Speedup = max(r.Speedup, atof("speedup"))
	r.NoCPU = r.NoCPU || p[ForkParamCPU] == "not measured"
}

// legacyFits reads the cost model from legacy model rows: Wall.MedianNs
// the wall coefficient, Params "cpu_ns" the CPU one, "r2" the fit's R².
// A deployment missing either coefficient has no fit.
func legacyFits(rows []ForkRow) []ForkFit {
	by := map[ForkDeployment]*ForkFit{}
	have := map[ForkDeployment]int{}
	var order []ForkDeployment
	for _, r := range rows {
		d := ForkDeployment(r.Params["deployment"])
		if d == "" {
			continue
		}
		f := by[d]
		if f == nil {
			f = &ForkFit{Deployment: d, HasCPU: true}
			by[d], order = f, append(order, d)
		}
		cpu, err := strconv.ParseFloat(r.Params["cpu_ns"], 64)
		f.HasCPU = f.HasCPU && err == nil && finite(cpu)
		switch r.Name {
		case "fixed":
			f.FixedNs, f.CPUFixedNs = r.Wall.MedianNs, cpu
			have[d] |= 1
		case "per-work-unit":
			f.PerUnitNs, f.CPUPerUnitNs = r.Wall.MedianNs, cpu
			have[d] |= 2
		default:
			continue
		}
		if v, err := strconv.ParseFloat(r.Params["r2"], 64); err == nil {
			f.R2 = v
		}
		f.Points = max(f.Points, r.Samples)
	}
	slices.SortStableFunc(order, func(a, b ForkDeployment) int { return a.Rank() - b.Rank() })
	var out []ForkFit
	for _, d := range order {
		if f := *by[d]; have[d] == 3 && finite(f.FixedNs, f.PerUnitNs) {
			if !f.HasCPU {
				f.CPUFixedNs, f.CPUPerUnitNs = 0, 0
			}
			out = append(out, f)
		}
	}
	return out
}
