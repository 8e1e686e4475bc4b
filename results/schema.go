// Package results is the one contract between measuring and everything
// after it: the versioned schema of a result file, its atomic write, its
// tolerant read, and the encoding of latency histograms.
//
// A result file is self-describing so that a chart can be redrawn and a
// baseline compared months later on another machine: it records the
// machine, the Go version, the suite's version and git commit, every
// setting, the CPU pinning, and for every target × endpoint × load point ×
// round the raw latency histogram next to the figures derived from it.
//
// Durations are stored as integer nanoseconds in fields ending in _ns and
// rates as requests per second, so that jq and spreadsheets read them
// without a Go parser.
package results

import "time"

// SchemaVersion is the version this package writes. Read refuses files with
// a newer version (their meaning may have changed) and reads older ones.
const SchemaVersion = 1

// Load models, always named next to a figure so nobody mistakes a
// capacity figure for a latency figure.
const (
	// ModelOpen is an open-model, constant-rate attack (vegeta's pacer):
	// requests are sent on schedule whether or not earlier ones have
	// answered, so queueing shows in latency. Latency figures come from it.
	ModelOpen = "open"
	// ModelClosed is a closed-model attack: N connections, each sending
	// when its last request answered. Capacity figures come from it; its
	// latencies hide queueing (coordinated omission) and are not latency
	// figures.
	ModelClosed = "closed"
)

// File is one result file (results.json).
type File struct {
	SchemaVersion int    `json:"schema_version"`
	Label         string `json:"label,omitempty"` // shown in overlays; defaults to the file name
	// Partial is true when the run was interrupted (Ctrl-C, SIGTERM, a
	// fatal error) and the file holds only what was gathered so far.
	Partial       bool        `json:"partial"`
	PartialReason string      `json:"partial_reason,omitempty"`
	StartedAt     time.Time   `json:"started_at"`
	FinishedAt    time.Time   `json:"finished_at"`
	Environment   Environment `json:"environment"`
	Settings      Settings    `json:"settings"`
	Pinning       Pinning     `json:"pinning"`
	Points        []Point     `json:"points"`
	Knees         []Knee      `json:"knees,omitempty"`
	Fork          *Fork       `json:"fork,omitempty"`
	// Notes are facts that make a figure less trustworthy (generator
	// saturated, errors seen, a target restarted), in plain sentences.
	Notes []string `json:"notes,omitempty"`
}

// Environment describes where and with what the run was made.
type Environment struct {
	Hostname     string   `json:"hostname"`
	OS           string   `json:"os"`
	Arch         string   `json:"arch"`
	Kernel       string   `json:"kernel"`
	CPUModel     string   `json:"cpu_model"`
	CPUs         int      `json:"cpus"`
	MemoryBytes  uint64   `json:"memory_bytes"`
	GoVersion    string   `json:"go_version"`
	SuiteVersion string   `json:"suite_version"`
	GitCommit    string   `json:"git_commit"`
	GitDirty     bool     `json:"git_dirty"`
	Command      []string `json:"command"`
}

// Settings is the full run plan as it was executed.
type Settings struct {
	Scenario      string            `json:"scenario"`
	Targets       []string          `json:"targets"`
	Endpoints     []string          `json:"endpoints"`
	Models        []string          `json:"models"`
	Rates         []float64         `json:"rates,omitempty"` // offered rates of open-model points, req/s
	SweepFactors  []float64         `json:"sweep_factors,omitempty"`
	Connections   int               `json:"connections"`
	DurationNs    int64             `json:"duration_ns"`
	WarmupNs      int64             `json:"warmup_ns"`
	TimeoutNs     int64             `json:"timeout_ns"`
	Rounds        int               `json:"rounds"`
	SLOP99Ns      int64             `json:"slo_p99_ns,omitempty"`
	KeepAlive     bool              `json:"keep_alive"`
	Transport     string            `json:"transport"` // "fasthttp" or "nethttp"
	BodyBytes     int               `json:"body_bytes,omitempty"`
	TargetOptions map[string]string `json:"target_options,omitempty"`

	// Engine is the open model's engine as asked for: "" (epoll where it
	// can serve), "epoll" or "vegeta"; each point records the one it ran
	// on.
	Engine string `json:"engine,omitempty"`
	// Arrivals is the open model's arrival process on the epoll engine:
	// "uniform" (evenly spaced sends) or "poisson" (exponential gaps drawn
	// from ArrivalSeed).
	Arrivals    string `json:"arrivals,omitempty"`
	ArrivalSeed uint64 `json:"arrival_seed,omitempty"`
}

// Pinning records which CPUs the generator and the targets were confined
// to. With fewer than two CPUs pinning is off and Note says why.
type Pinning struct {
	Enabled       bool   `json:"enabled"`
	GeneratorCPUs []int  `json:"generator_cpus,omitempty"`
	TargetCPUs    []int  `json:"target_cpus,omitempty"`
	Note          string `json:"note,omitempty"`
}

// Point is one load point of one target and endpoint in one round.
type Point struct {
	Target   string `json:"target"`
	Endpoint string `json:"endpoint"`
	Method   string `json:"method"`
	Path     string `json:"path"` // path and query sent
	Model    string `json:"model"`
	// OfferedRate is the constant rate asked for (open model), 0 for the
	// closed model.
	OfferedRate float64 `json:"offered_rate"`
	// SweepFactor is, for a point of a rate sweep, the fraction of the
	// round's closed-model capacity it was offered (its OfferedRate
	// differs between rounds, its step does not); 0 for other points.
	SweepFactor float64 `json:"sweep_factor,omitempty"`
	Connections int     `json:"connections"`
	// Engine names how the generator sent the requests: "epoll" (the
	// wrk-style engine; in the open model wrk2-style, a schedule per
	// connection), "loop/fasthttp" or "loop/nethttp" (the closed model's
	// worker loop on that client), "vegeta/fasthttp" or "vegeta/nethttp"
	// (vegeta's attacker and pacer, open model).
	Engine     string    `json:"engine,omitempty"`
	Round      int       `json:"round"` // 1-based
	Order      int       `json:"order"` // position of the target within its round
	StartedAt  time.Time `json:"started_at"`
	DurationNs int64     `json:"duration_ns"` // measured window, warm-up excluded

	Requests uint64 `json:"requests"` // sent in the window
	// Answered counts the answers that arrived in the window, whenever
	// their request was sent; the cost figures are per answered request
	// (cost over the window divided by the answers in it: steady state).
	Answered     uint64            `json:"answered"`
	Successes    uint64            `json:"successes"` // 2xx
	StatusCodes  map[string]uint64 `json:"status_codes"`
	Errors       map[string]uint64 `json:"errors,omitempty"` // by kind: timeout, refused, reset, eof, status_5xx, …
	AchievedRate float64           `json:"achieved_rate"`    // responses per second over the window
	Throughput   float64           `json:"throughput"`       // successful responses per second
	BytesIn      uint64            `json:"bytes_in"`
	BytesOut     uint64            `json:"bytes_out"`

	// Saturated marks an open-model point whose achieved rate fell more
	// than 1% below the offered rate: its latency is not a valid figure.
	Saturated bool `json:"saturated"`
	// GeneratorBound marks a point where the generator used ≥ 90% of its
	// CPUs: the figure may be the generator's limit, not the target's.
	GeneratorBound bool `json:"generator_bound"`
	// GeneratorLimited marks an open-model point the generator could not
	// offer: saturated while generator-bound. Its shortfall is the
	// generator's, so the knee leaves it out.
	GeneratorLimited bool `json:"generator_limited,omitempty"`

	// Latency is measured from the actual send (what vegeta reports).
	Latency Latency `json:"latency"`
	// Corrected is measured from the intended send time of each request
	// (its slot in the schedule, what wrk2 reports); open model only.
	Corrected *Latency `json:"corrected,omitempty"`
	// SendLag is how far behind its intended time each request was sent
	// (open model): near zero while the generator keeps its schedule,
	// growing when connections are busy past their next slot.
	SendLag *Latency `json:"send_lag,omitempty"`
	// Unsent counts the requests the open model's schedule had due before
	// the end that were never sent, the backlog of a generator behind
	// schedule (epoll engine; vegeta's attacker does not say).
	Unsent uint64 `json:"unsent,omitempty"`
	// Timeline is the latency over time, one bucket per interval.
	Timeline []Bucket `json:"timeline,omitempty"`

	Server    ServerCost    `json:"server"`
	Generator GeneratorCost `json:"generator"`
}

// Latency is a latency distribution: its percentiles and the raw HDR
// histogram they came from (nanoseconds, 3 significant digits), so that
// runs can be merged and any percentile recomputed later.
type Latency struct {
	Count     int64  `json:"count"`
	MinNs     int64  `json:"min_ns"`
	MeanNs    int64  `json:"mean_ns"`
	P50Ns     int64  `json:"p50_ns"`
	P90Ns     int64  `json:"p90_ns"`
	P99Ns     int64  `json:"p99_ns"`
	P999Ns    int64  `json:"p999_ns"`
	P9999Ns   int64  `json:"p9999_ns"`
	MaxNs     int64  `json:"max_ns"`
	Histogram string `json:"histogram"` // EncodeHistogram
}

// Bucket is one interval of a point's timeline.
type Bucket struct {
	OffsetNs int64  `json:"offset_ns"` // from the start of the measured window
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	P50Ns    int64  `json:"p50_ns"`
	P99Ns    int64  `json:"p99_ns"`
	MaxNs    int64  `json:"max_ns"`
}

// ServerCost is what the target's whole process tree spent during the
// measured window, read from /proc (so it includes reaped CGI children and
// the FastCGI daemon). Zero-valued with Observed false for targets whose
// processes cannot be seen (external URLs).
type ServerCost struct {
	Observed bool `json:"observed"`
	// CPUNs is the tree's CPU time over the window: live processes' own
	// in nanoseconds (their threads' schedstat), reaped children's in
	// clock ticks. UserNs and SysNs are the kernel's tick-based split,
	// so they need not add up to CPUNs exactly.
	CPUNs  int64 `json:"cpu_ns"`
	UserNs int64 `json:"user_ns"`
	SysNs  int64 `json:"sys_ns"`
	// CPUResolutionNs bounds the error of CPUNs from tick truncation (0
	// when exact to the nanosecond, and in files written before it was
	// recorded); CPU per request is good to CPUResolutionNs divided by
	// the answered requests.
	CPUResolutionNs  int64   `json:"cpu_resolution_ns,omitempty"`
	CPUPerRequestNs  float64 `json:"cpu_per_request_ns"` // CPUNs / answered requests
	PeakRSSBytes     uint64  `json:"peak_rss_bytes"`     // sampled sum over the tree
	Spawns           uint64  `json:"spawns"`             // processes created during the window, see SpawnSource
	SpawnsPerRequest float64 `json:"spawns_per_request"`
	// SpawnSource says how Spawns was counted: "proc-connector" (the
	// kernel's process events: processes, not threads, created in the
	// target's trees) or "system-wide-clones" (the /proc/stat delta, every
	// process and thread on the machine, when the connector is not
	// available).
	SpawnSource string `json:"spawn_source,omitempty"`
	// SpawnEventsLost > 0 makes Spawns a lower bound: the kernel dropped
	// that many process events.
	SpawnEventsLost   uint64  `json:"spawn_events_lost,omitempty"`
	CtxSwitches       uint64  `json:"ctx_switches,omitempty"`
	RequestsPerCPUSec float64 `json:"requests_per_cpu_sec"`
	RequestsPerMB     float64 `json:"requests_per_mb"` // throughput per MB of peak RSS
	Restarts          int     `json:"restarts,omitempty"`
}

// GeneratorCost is the load generator's own CPU during the window.
type GeneratorCost struct {
	CPUNs           int64   `json:"cpu_ns"`
	CPUPerRequestNs float64 `json:"cpu_per_request_ns"`
	// CoreShare is CPU time divided by (window × generator CPUs): 1.0
	// means the generator's CPUs were fully busy.
	CoreShare float64 `json:"core_share"`
}

// Knee is the result of a rate sweep for one target and endpoint: the
// highest offered rate at which p99 (from intended send times) stayed under
// the SLO with no errors, median across rounds.
type Knee struct {
	Target   string  `json:"target"`
	Endpoint string  `json:"endpoint"`
	Rate     float64 `json:"rate"` // 0 when no rate met the SLO
	SLOP99Ns int64   `json:"slo_p99_ns"`
	Found    bool    `json:"found"`
	Note     string  `json:"note,omitempty"`
}

// Fork is the spawn-cost decomposition written by `bench fork`.
type Fork struct {
	Rows  []ForkRow `json:"rows"`
	Notes []string  `json:"notes,omitempty"`
}

// Fork row groups and the parameters readers rely on: the contract
// between `bench fork`, which writes the rows, and the reports that draw
// them.
const (
	// ForkGroupComponents holds the directly measured totals every other
	// group is derived from or compared with: bin-true, static-noop,
	// go-empty (an empty Go program), go-noop (sampleapp -noop),
	// startup-only, cgi-request, fcgi-request, embedded-request.
	ForkGroupComponents = "components"
	// ForkGroupDecomposition stacks each deployment's request into
	// components (Params[ForkParamTarget] = cgi, fcgi or embedded).
	ForkGroupDecomposition = "decomposition"
	// ForkGroupAmortisation is one request doing /work?n=
	// (Params[ForkParamWorkN]) through each deployment
	// (Params[ForkParamDeployment]).
	ForkGroupAmortisation = "amortisation"
	// ForkGroupFactors holds what makes a spawn cheaper or dearer: rows
	// of the same Name (the factor) with different params (its arms).
	ForkGroupFactors = "factors"
	// ForkGroupConcurrency is spawning from Params[ForkParamSpawners]
	// goroutines at once, Params[ForkParamThroughput] the spawns per
	// second achieved.
	ForkGroupConcurrency = "concurrency"
	// ForkGroupDaemon is the FastCGI daemon's cold start, first and steady
	// requests, and restart after SIGKILL.
	ForkGroupDaemon = "daemon"
	// ForkGroupModel is the fitted cost model: per deployment, a "fixed"
	// row (ns per request) and a "per-work-unit" row (ns per /work round),
	// Wall.MedianNs the coefficient fitted to wall time and
	// Params[ForkParamCPUNs] the same coefficient fitted to CPU time.
	ForkGroupModel = "model"

	ForkParamTarget     = "target"
	ForkParamWorkN      = "work_n"
	ForkParamDeployment = "deployment"
	ForkParamCPUNs      = "cpu_ns"
	ForkParamSpawners   = "spawners"
	ForkParamThroughput = "throughput_per_s"
	// ForkParamCPU describes how a row's CPU was measured;
	// ForkCPUNotMeasured there means the row has no CPU figures.
	ForkParamCPU       = "cpu"
	ForkCPUNotMeasured = "not measured"
)

// ForkRow is one measured configuration of the fork decomposition: a
// component (os-spawn, runtime-init, app-init, cgi-request, …), a spawn
// factor or an amortisation point, with robust statistics over its samples.
type ForkRow struct {
	Group    string            `json:"group"` // decomposition, factors, concurrency, amortisation, daemon
	Name     string            `json:"name"`
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

// Summary is a robust summary of samples in nanoseconds.
type Summary struct {
	MedianNs float64 `json:"median_ns"`
	P25Ns    float64 `json:"p25_ns"`
	P75Ns    float64 `json:"p75_ns"`
	MinNs    float64 `json:"min_ns"`
	MaxNs    float64 `json:"max_ns"`
}
