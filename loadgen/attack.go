package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"forkbench/internal/procstat"
	"forkbench/results"
)

// cancelGrace is how long an interrupted attack waits for requests already
// in flight before returning without them.
const cancelGrace = time.Second

// userAgent is sent when the request has none, so both transports send the
// same headers.
const userAgent = "forkbench-loadgen"

// Attack sends req to t under the load o describes and measures it.
//
// The measured window starts Warmup after the attack; a request belongs to
// it when it was sent inside it, and the attack waits for every such
// request to answer or time out. Server and generator cost are the
// difference between snapshots taken when the window starts and when its
// last request has finished; peak RSS is sampled in between.
//
// Generator cost is this whole process's CPU (getrusage): it is the
// generator's alone only when the target runs in another process.
//
// If ctx is cancelled, the load stops at once and Attack returns the
// partial point gathered so far (its DurationNs is the window actually
// measured) with an error wrapping ctx.Err(). Requests still in flight are
// awaited for at most a second and otherwise left out.
func Attack(ctx context.Context, t Target, req Request, o Options) (results.Point, error) {
	if err := Validate(o); err != nil {
		return results.Point{}, err
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.TimelineInterval == 0 {
		o.TimelineInterval = DefaultTimelineInterval
	}
	if o.GeneratorCPUs == 0 {
		o.GeneratorCPUs = runtime.NumCPU()
	}
	if o.Transport == "" {
		o.Transport = TransportFastHTTP
	}
	tgt, err := vegetaTarget(t, req)
	if err != nil {
		return results.Point{}, err
	}
	p := results.Point{
		Target:      t.Name(),
		Endpoint:    req.Endpoint,
		Method:      tgt.Method,
		Path:        req.Path,
		Model:       o.Model,
		OfferedRate: o.Rate,
		Connections: o.Connections,
	}
	if p.Path == "" {
		p.Path = "/"
	}
	if err := ctx.Err(); err != nil {
		return p, fmt.Errorf("loadgen: %s %s not started: %w", p.Target, p.Endpoint, err)
	}

	client := newClient(o.Transport, o.Connections, o.Timeout, o.NoKeepAlive, o.Raw != nil)
	defer client.CloseIdleConnections()

	total := o.Warmup + o.Duration
	col := newCollector(o)
	var enc vegeta.Encoder
	if o.Raw != nil {
		enc = vegeta.NewEncoder(o.Raw)
	}

	// began is the attack's origin: vegeta starts its own clock a few
	// microseconds later, so intended send times computed from began are
	// at most that much early (corrected latency errs long, never short).
	began := time.Now()
	col.setWindow(began, began.Add(o.Warmup), began.Add(total))
	ms := newMeter(t, col.start, col.end)
	ms.arm(ctx)
	stopProgress := progress(o.Progress, began, total)
	defer stopProgress()

	// vegeta sends the attack's name in a header with every request; it
	// only serves to label raw results, so it costs nothing without them.
	name := ""
	if o.Raw != nil {
		name = p.Target + " " + p.Endpoint
	}
	// Every result goes through sink, from whichever goroutine produced
	// it: the collector and the raw encoder are not shared otherwise.
	var encErr error
	sink := &sink{f: func(r *vegeta.Result, intended time.Time) {
		if col.add(r, intended) && enc != nil && encErr == nil {
			encErr = enc.Encode(r)
		}
	}}
	var (
		finished <-chan struct{} // closed when the last result was delivered
		stop     func()
		unsent   func() uint64 // open model on epoll: valid once finished
	)
	if o.Model == results.ModelClosed {
		finished, stop, p.Engine = startClosedModel(client, tgt, name, o, total, sink)
	} else {
		var err error
		finished, stop, unsent, p.Engine, err = startOpenModel(client, tgt, name, o, began, total, sink)
		if err != nil {
			stopProgress()
			ms.finish()
			return p, err
		}
	}
	canceled := false
	select {
	case <-finished:
	case <-ctx.Done():
		canceled = true
		sink.locked(func() { col.cut(time.Now()) })
		stop()
		// Wait for requests in flight, a little; stragglers are left to
		// finish (bounded by the timeout) and are not counted.
		timer := time.NewTimer(cancelGrace)
		select {
		case <-finished:
		case <-timer.C:
		}
		timer.Stop()
	}
	sink.detach()
	stopProgress()
	cost := ms.finish()

	col.fill(&p)
	fillCost(&p, cost, col.completed, o.GeneratorCPUs)
	if unsent != nil && !canceled {
		p.Unsent = unsent()
	}
	// A point that fell behind while the generator's CPUs were busy says
	// how fast the generator went, not the target.
	p.GeneratorLimited = p.Saturated && p.GeneratorBound
	if canceled {
		return p, fmt.Errorf("loadgen: %s %s interrupted: %w", p.Target, p.Endpoint, ctx.Err())
	}
	if encErr != nil {
		return p, fmt.Errorf("loadgen: write raw results: %w", encErr)
	}
	if cost.err != nil {
		return p, cost.err
	}
	return p, nil
}

// vegetaTarget builds the request vegeta repeats.
func vegetaTarget(t Target, req Request) (vegeta.Target, error) {
	base := strings.TrimRight(t.URL(), "/")
	path := req.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return vegeta.Target{}, fmt.Errorf("loadgen: path %q does not start with /", path)
	}
	u, err := url.Parse(base + path)
	if err != nil {
		return vegeta.Target{}, fmt.Errorf("loadgen: target %s: %w", t.Name(), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return vegeta.Target{}, fmt.Errorf("loadgen: target %s: URL %q is not http(s)://host", t.Name(), t.URL())
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", userAgent)
	}
	return vegeta.Target{Method: method, URL: u.String(), Body: req.Body, Header: h}, nil
}

// startOpenModel starts the open model: on epollLoop (the default with
// the fasthttp transport, for a plain-HTTP target) or on vegeta's
// Attacker and pacer (Engine "vegeta", the nethttp transport, or https).
// It returns what Attack waits on, how to stop early, the number of
// scheduled requests never sent (epoll only, nil otherwise; valid once
// done is closed) and the engine's name for the point.
func startOpenModel(client *http.Client, tgt vegeta.Target, name string, o Options, began time.Time, d time.Duration, s *sink) (done <-chan struct{}, stop func(), unsent func() uint64, engine string, err error) {
	if o.Engine != EngineVegeta && o.Transport == TransportFastHTTP {
		addr, req, ok := epollRequest(tgt, !o.NoKeepAlive)
		if ok {
			method, url := tgt.Method, tgt.URL
			deliver := func(r *vegeta.Result, intended time.Time) {
				r.Attack, r.Method, r.URL = name, method, url
				s.deliver(r, intended)
			}
			// o.Rate is this shard's share; the schedule takes the
			// combined rate and places this shard's sends in it.
			shards := max(o.Shard.Count, 1)
			sched := OpenSchedule{Rate: o.Rate * float64(shards), Conns: o.Connections, ShardIndex: o.Shard.Index, ShardCount: shards, Poisson: o.Poisson, Seed: o.Seed}
			l, err := startEpollOpen(addr, req, len(tgt.Body), sched, began, d, o.Timeout, deliver)
			if err == nil {
				return l.Done(), l.Stop, l.Unsent, EngineEpoll, nil
			}
			if o.Engine == EngineEpoll {
				return nil, nil, nil, "", err
			}
			// A target epoll cannot reach (an unresolvable host) is
			// left to vegeta, which reports each failure.
		}
	}
	if o.Engine == EngineEpoll || o.Poisson {
		return nil, nil, nil, "", fmt.Errorf("%w: the epoll engine needs the %s transport and an http:// target; poisson arrivals need the epoll engine",
			ErrInvalidOptions, TransportFastHTTP)
	}
	interval := float64(time.Second) / o.Rate
	atk := vegeta.NewAttacker(
		vegeta.Client(client),
		vegeta.Workers(uint64(o.Connections)),
		vegeta.MaxBody(-1),
	)
	offset := o.Shard.offset(interval)
	pacer := ratePacer{interval: interval, rate: o.Rate, offset: offset}
	ch := atk.Attack(vegeta.NewStaticTargeter(tgt), pacer, d, name)
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		for r := range ch {
			// vegeta starts its clock a few microseconds after began,
			// so intended times err early: corrected latency errs long.
			s.deliver(r, began.Add(time.Duration(offset+float64(r.Seq)*interval)))
		}
	}()
	return fin, func() { atk.Stop() }, nil, "vegeta/" + o.Transport, nil
}

// ratePacer sends request k at offset + k/rate after the attack's start:
// unlike vegeta's ConstantPacer it takes fractional rates and sends the
// first request at once (after offset, a shard's place in a combined
// schedule, see Shard), which is what Corrected assumes.
type ratePacer struct {
	interval float64 // ns between sends
	rate     float64
	offset   float64 // ns before the first send
}

func (p ratePacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	return time.Duration(p.offset+float64(hits)*p.interval) - elapsed, false
}

func (p ratePacer) Rate(time.Duration) float64 { return p.rate }

// progress calls f about every 500ms until the returned stop is called
// (stop may be called more than once).
func progress(f func(done, total time.Duration), began time.Time, total time.Duration) (stop func()) {
	if f == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				f(min(time.Since(began), total), total)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}

// meter takes the cost snapshots at the start and end of the window.
type meter struct {
	t     Target
	start time.Time

	mu      sync.Mutex
	quit    chan struct{}
	done    chan struct{}
	started bool
	at      time.Time
	server  procstat.Usage
	srvOK   bool
	forks   *procstat.ForkCounter // nil when the target has no pids
	genNs   int64
	sampler *procstat.Sampler
	cgroup  *procstat.CgroupWindow // nil when the target has no cgroup
	end     time.Time              // end of the window
	ended   bool
	result  cost
}

// cost is what the meter measured over the window.
type cost struct {
	measured bool // the window started
	window   time.Duration
	server   procstat.Usage // delta
	observed bool
	peakRSS  uint64
	// spawns is what the fork counter saw; spawnsOK is false when it
	// could not count. spawns.Source names the method (the tree's
	// processes, or every clone on the machine), and spawns.Lost and
	// Overruns make the figure a lower bound when non-zero.
	spawns    procstat.ForkCount
	spawnsOK  bool
	genCPU    int64
	ctxSwitch uint64
	// source is where server's CPU was read (procstat.Source*); with a
	// cgroup, cgroupPeak is its peak memory, over the window when
	// peakInWindow.
	source       string
	cgroupPeak   uint64
	peakInWindow bool
	err          error
}

// cgrouped is a target that runs in a cgroup of its own
// (targets.Process): its CPU is read from the cgroup, which also charges
// children that no process in the tree waits for (the kernel reaps them
// itself when their parent ignores SIGCHLD, as Apache's mod_cgid and
// fcgiwrap do) and that /proc's tree accounting therefore misses.
type cgrouped interface {
	Cgroup() *procstat.Cgroup // nil when it has none
}

func newMeter(t Target, start, end time.Time) *meter {
	return &meter{t: t, start: start, end: end, quit: make(chan struct{}), done: make(chan struct{})}
}

// arm takes the start snapshot when the window starts (at once if there is
// no warm-up) and the end snapshot when it ends, unless finish comes first
// (an interrupted attack): then finish takes the end snapshot.
//
// Cost is measured over the window itself, not until the last request sent
// in it has answered, and divided by the answers that arrived in the
// window: a steady-state figure. Waiting for the stragglers instead would
// charge the window with work queued during the warm-up (a CGI front with
// a queue of 30 requests would show 30 spawns too many).
func (m *meter) arm(ctx context.Context) {
	begun := time.Until(m.start) <= 0
	if begun {
		m.snapshot(ctx) // no warm-up: the window starts now
	}
	go func() {
		defer close(m.done)
		tm := time.NewTimer(time.Until(m.start))
		defer tm.Stop()
		if !begun {
			select {
			case <-tm.C:
				m.snapshot(ctx)
			case <-m.quit:
				return
			case <-ctx.Done():
				return
			}
		}
		tm.Reset(time.Until(m.end))
		select {
		case <-tm.C:
			m.endSnapshot()
		case <-m.quit:
		case <-ctx.Done():
		}
	}()
}

func (m *meter) snapshot(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started = true
	pids := m.t.PIDs()
	var cg *procstat.Cgroup
	if t, ok := m.t.(cgrouped); ok {
		cg = t.Cgroup()
	}
	if len(pids) > 0 {
		// Counting starts first: subscribing may wait for the kernel,
		// and a fork between two snapshots is in the window anyway.
		// The cgroup's processes are roots too: a daemon that left
		// the tree is still in its cgroup.
		roots := pids
		if cg != nil {
			if in, err := cg.PIDs(); err == nil {
				roots = append(slices.Clone(pids), in...)
			}
		}
		m.forks = procstat.StartForkCounter(ctx, roots)
	}
	if cg != nil {
		m.cgroup, _ = cg.StartWindow() // on error, /proc's figures stand
	}
	m.at = time.Now()
	if len(pids) > 0 {
		u, err := procstat.Tree(pids)
		m.server, m.srvOK = u, err == nil
		if m.srvOK {
			m.sampler = procstat.StartSampler(ctx, m.t.PIDs, 0)
		}
	}
	u, s, err := procstat.Self()
	if err == nil {
		m.genNs = u + s
	}
}

// endSnapshot measures the end of the window (once).
func (m *meter) endSnapshot() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || m.ended {
		return
	}
	m.ended = true
	c := cost{measured: true}
	if u, s, err := procstat.Self(); err == nil {
		c.genCPU = u + s - m.genNs
	} else {
		c.err = err
	}
	if m.forks != nil {
		fc, err := m.forks.Stop()
		c.spawns, c.spawnsOK = fc, err == nil
	}
	var cgc procstat.CgroupCost
	cgOK := false
	if m.cgroup != nil {
		var err error
		cgc, err = m.cgroup.Stop()
		cgOK = err == nil
	}
	if m.srvOK {
		peak, _, _ := m.sampler.Stop()
		end, err := procstat.Tree(m.t.PIDs())
		d := procstat.Usage{
			UserNs:       end.UserNs - m.server.UserNs,
			SysNs:        end.SysNs - m.server.SysNs,
			OnCPUNs:      end.OnCPUNs - m.server.OnCPUNs,
			ResolutionNs: max(end.ResolutionNs, m.server.ResolutionNs),
		}
		c.source = procstat.SourceProc
		if cgOK {
			d = procstat.Usage{UserNs: cgc.UserNs, SysNs: cgc.SysNs, OnCPUNs: cgc.CPUNs, ResolutionNs: cgc.ResolutionNs}
			c.source, c.cgroupPeak, c.peakInWindow = cgc.Source, cgc.PeakBytes, cgc.PeakInWindow
		}
		// The tree's CPU only grows; a drop means the processes were
		// replaced (a restart) and the delta means nothing.
		if err == nil && d.UserNs >= 0 && d.SysNs >= 0 && d.OnCPUNs >= 0 {
			c.server, c.observed = d, true
			c.peakRSS = max(peak, end.RSSBytes, m.server.RSSBytes)
			v0, v1 := m.server.VolCtx+m.server.InvolCtx, end.VolCtx+end.InvolCtx
			if v1 >= v0 {
				c.ctxSwitch = v1 - v0
			}
		}
	}
	c.window = time.Since(m.at)
	m.result = c
}

// finish returns the deltas over the window, taking the end snapshot now
// if the window has not ended (the attack was interrupted).
func (m *meter) finish() cost {
	close(m.quit)
	<-m.done
	m.endSnapshot()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.result
}

// fillCost writes the cost figures into p, after the counts. Per-request
// figures divide the window's cost by the answers that arrived in the
// window (see meter.arm).
func fillCost(p *results.Point, c cost, answered uint64, genCPUs int) {
	if !c.measured {
		return
	}
	reqs := float64(answered)
	p.Answered = answered
	p.Generator.CPUNs = c.genCPU
	if reqs > 0 {
		p.Generator.CPUPerRequestNs = float64(c.genCPU) / reqs
	}
	if c.window > 0 {
		p.Generator.CoreShare = float64(c.genCPU) / (float64(c.window) * float64(genCPUs))
	}
	p.GeneratorBound = p.Generator.CoreShare >= 0.9
	if !c.observed {
		return
	}
	s := &p.Server
	s.Observed = true
	s.UserNs, s.SysNs = c.server.UserNs, c.server.SysNs
	s.CPUNs = c.server.OnCPUNs
	s.CPUResolutionNs = c.server.ResolutionNs
	s.PeakRSSBytes = c.peakRSS
	s.CtxSwitches = c.ctxSwitch
	s.CPUSource = c.source
	s.CgroupPeakBytes = c.cgroupPeak
	s.CgroupPeakSinceStart = c.cgroupPeak > 0 && !c.peakInWindow
	if c.spawnsOK {
		// Processes created in the target's trees, or every clone on
		// the machine when the kernel's process events cannot be read;
		// c.spawns.Source says which.
		s.Spawns = c.spawns.Processes
		s.SpawnSource = string(c.spawns.Source)
		s.SpawnEventsLost = c.spawns.Lost + c.spawns.Overruns
	}
	s.DeriveRates(answered, p.Throughput)
}

// sink hands results to f one at a time, from any goroutine, until it is
// detached; results delivered after that are dropped. It lets the closed
// loop's workers record their own results instead of passing each through
// a channel to one collecting goroutine (a goroutine switch per request).
type sink struct {
	mu       sync.Mutex
	detached bool
	f        func(r *vegeta.Result, intended time.Time)
}

// deliver hands r to f with its intended send time (zero in the closed
// model).
func (s *sink) deliver(r *vegeta.Result, intended time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.detached {
		s.f(r, intended)
	}
}

// locked runs f with no result being delivered.
func (s *sink) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func (s *sink) detach() { s.locked(func() { s.detached = true }) }
