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
	// Notes are facts about the run that its points do not show (e.g.
	// verification skipped), as data; reports turn them into sentences.
	Notes []Note `json:"notes,omitempty"`
	// Remote describes a target beyond this machine's loopback or read
	// through an agent (remote.go); nil for a local run.
	Remote *Remote `json:"remote,omitempty"`
	// Shard is set when this file is one shard of a sharded load.
	Shard *Shard `json:"shard,omitempty"`
	// Shards lists the inputs of a merged file (merge.go).
	Shards []ShardSource `json:"shards,omitempty"`
	// Skipped lists the targets the run could not deploy on this machine
	// (a server not installed), with the reason; the others were measured.
	Skipped []Skip `json:"skipped,omitempty"`
	// Targets describes each target measured (front, protocol, language),
	// so reports can group rows by them; absent in files from before.
	Targets []TargetInfo `json:"targets,omitempty"`
}

// Skip is a target left out of a run, and why, in one line (e.g. the
// Debian package to install).
type Skip struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}

// TargetInfo says what a target is: the HTTP server facing the client
// (go, apache, nginx), how it reaches the application (cgi, fastcgi,
// in-process, …) and the application's language (go, python). Fields are
// empty for a target the suite does not describe (an external URL).
type TargetInfo struct {
	Name     string `json:"name"`
	Front    string `json:"front,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Language string `json:"language,omitempty"`
}

// FrontGo is TargetInfo.Front of the suite's own Go front.
const FrontGo = "go"

// RivalOf reports whether t, a real server (Apache, nginx, lighttpd), runs
// the same app over the same protocol as ours, a target behind the suite's
// own front: the pair a reference is measured for and reports set side by
// side (nginx-fcgiwrap and cgi: the same child; nginx-fcgi and fcgi: the
// same daemon).
func (t TargetInfo) RivalOf(ours TargetInfo) bool {
	return t.Front != "" && t.Front != FrontGo && ours.Front == FrontGo &&
		t.Protocol == ours.Protocol && t.Language == ours.Language
}

// TargetInfoOf returns the description of the target named name in f,
// and whether f has one.
func (f *File) TargetInfoOf(name string) (TargetInfo, bool) {
	for _, t := range f.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return TargetInfo{}, false
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
	Scenario string   `json:"scenario"`
	Targets  []string `json:"targets"`
	// References are the targets of Targets measured as references:
	// real servers beside the suite's own deployment of the same app
	// over the same protocol, in the closed model only.
	References    []string       `json:"references,omitempty"`
	Endpoints     []string       `json:"endpoints"`
	Models        []Model        `json:"models"`
	Rates         []float64      `json:"rates,omitempty"` // offered rates of open-model points, req/s
	SweepFactors  []float64      `json:"sweep_factors,omitempty"`
	Connections   int            `json:"connections"`
	DurationNs    int64          `json:"duration_ns"`
	WarmupNs      int64          `json:"warmup_ns"`
	TimeoutNs     int64          `json:"timeout_ns"`
	Rounds        int            `json:"rounds"`
	SLOP99Ns      int64          `json:"slo_p99_ns,omitempty"`
	KeepAlive     bool           `json:"keep_alive"`
	Transport     string         `json:"transport"` // "fasthttp" or "nethttp"
	BodyBytes     int            `json:"body_bytes,omitempty"`
	TargetOptions *TargetOptions `json:"target_options,omitempty"`

	// Engine is the open model's engine as asked for: "" (epoll where it
	// can serve), "epoll" or "vegeta"; each point records the one it ran
	// on.
	Engine string `json:"engine,omitempty"`
	// Arrivals is the open model's arrival process on the epoll engine:
	// "uniform" (evenly spaced sends) or "poisson" (exponential gaps drawn
	// from ArrivalSeed).
	Arrivals    string `json:"arrivals,omitempty"`
	ArrivalSeed uint64 `json:"arrival_seed,omitempty"`
	// Specs are the targets named by `--targets` specs other than the
	// built-in names (a user's CGI program, FastCGI daemon or URL), by
	// label, with the options each was started with.
	Specs []TargetSpec `json:"target_specs,omitempty"`
	// Requests are a user's requests (`--requests`), measured in place
	// of the app's endpoints, each an endpoint named Name.
	Requests []Request `json:"requests,omitempty"`
}

// TargetSpec records one `--targets` spec: the label its points carry,
// the spec as typed, the kind of deployment it became and its options.
type TargetSpec struct {
	Label   string        `json:"label"`
	Spec    string        `json:"spec"`
	Kind    string        `json:"kind"`
	Options TargetOptions `json:"options"`
}

// Request records one request of a requests file as it was sent.
type Request struct {
	Name      string              `json:"name"`
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Header    map[string][]string `json:"header,omitempty"`
	BodyBytes int                 `json:"body_bytes,omitempty"`
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
	Model    Model  `json:"model"`
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

	// Shards keeps each shard's own figures and flags in a merged point.
	Shards []ShardPoint `json:"shards,omitempty"`

	// ErrorLatency is the latency of the failed requests (those counted in
	// Errors), kept apart from Latency and Corrected, which hold only the
	// requests that did not fail; nil when none failed.
	ErrorLatency *Latency `json:"error_latency,omitempty"`

	// Unfinished counts the requests still in flight when the window
	// ended, whenever they were sent (a request sent in the warm-up that
	// never answers counts here): each holds a connection, so this is how
	// many connections were stuck at the end. UnfinishedMaxAgeNs is the
	// age of the oldest at the end.
	Unfinished         uint64 `json:"unfinished,omitempty"`
	UnfinishedMaxAgeNs int64  `json:"unfinished_max_age_ns,omitempty"`
	// Stuck counts the unfinished requests in flight for at least half the
	// window at its end: connections the target held without answering,
	// where a healthy closed-model point has every connection busy with a
	// fresh request at any instant.
	Stuck uint64 `json:"stuck,omitempty"`
}

// Unanswered reports whether the target answered nothing in the point's
// window: no response at all (refused, reset, timed out or stuck), which
// makes every other figure of the point meaningless and fails the run.
// A file written before Answered was recorded still has its status codes.
func (p *Point) Unanswered() bool { return p.Answered == 0 && len(p.StatusCodes) == 0 }

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
// measured window, read from its cgroup or from /proc (see CPUSource), so
// it includes CGI children and the FastCGI daemon. Zero-valued with Observed false for targets whose
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
	// CPUSource says where CPUNs, UserNs and SysNs were read:
	// "cgroup-v1" or "cgroup-v2", the target's own cgroup, which charges
	// every process in it, children that no parent waits for included
	// (the kernel reaps them itself when their parent ignores SIGCHLD,
	// as Apache's mod_cgid and fcgiwrap do); or "proc", the /proc tree,
	// which sees a reaped child only when its parent waited for it.
	// Empty in files written before it was recorded.
	CPUSource string `json:"cpu_source,omitempty"`
	// CgroupPeakBytes is the peak memory charged to the target's cgroup
	// (anonymous memory and page cache, a shared page counted once,
	// short-lived children included), over the window unless
	// CgroupPeakSinceStart: the kernel could not reset the peak, and it
	// is the peak since the target started. 0 when not measured.
	CgroupPeakBytes      uint64 `json:"cgroup_peak_bytes,omitempty"`
	CgroupPeakSinceStart bool   `json:"cgroup_peak_since_start,omitempty"`
	// Remote is true when these figures were read through `bench agent`
	// on the server's host rather than from this machine's /proc.
	Remote bool `json:"remote,omitempty"`
}

// DeriveRates sets the figures per answered request (CPU, spawns), per
// CPU second and per MB of peak RSS from s's totals, the answered
// requests and the throughput; each is 0 where its divisor is. Every
// writer of a ServerCost (a local run, an agent's reading, a merge of
// shards) derives them here, so that they agree.
func (s *ServerCost) DeriveRates(answered uint64, throughput float64) {
	s.CPUPerRequestNs, s.SpawnsPerRequest, s.RequestsPerCPUSec, s.RequestsPerMB = 0, 0, 0, 0
	if answered > 0 {
		s.CPUPerRequestNs = float64(s.CPUNs) / float64(answered)
		s.SpawnsPerRequest = float64(s.Spawns) / float64(answered)
	}
	if s.CPUNs > 0 {
		s.RequestsPerCPUSec = float64(answered) / (float64(s.CPUNs) / float64(time.Second))
	}
	if s.PeakRSSBytes > 0 {
		s.RequestsPerMB = throughput / (float64(s.PeakRSSBytes) / 1e6)
	}
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
	// Notes say why no knee was found or what makes it less certain
	// (the NoteKnee kinds); a file's older "note" sentence is read as a
	// NoteText.
	Notes []Note `json:"notes,omitempty"`
}
