package runner

// This file is what a run does beyond one machine: a target on another
// host (--allow-remote), its server-side figures read through `bench
// agent` (--agent), and one shard of a load shared by several generators
// (--shard, --start-at). runner.go calls it at three places: newBeyond
// before the result file exists, share and attack around each load point.

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"forkbench/agent"
	"forkbench/internal/wait"
	"forkbench/loadgen"
	"forkbench/results"
	"forkbench/scenario"
	"forkbench/targets/external"
)

// ShardSlack is the time between two load points' starts beyond their
// warm-up and measured window, when shards keep in step (--start-at):
// enough for the last requests to answer, a fresh target to start and
// the next point to be set up. Point k of every shard starts at
// StartAt + k × (warm-up + duration + ShardSlack).
const ShardSlack = 5 * time.Second

// lateTolerance is how late a point may start after its slot before it is
// counted as a late start (results.Shard.LateStarts).
const lateTolerance = 100 * time.Millisecond

// beyond holds the run's remote and shard state; its zero value is a
// local run of its own.
type beyond struct {
	shard   scenario.Shard
	startAt time.Time
	slot    time.Duration
	points  int // load points started so far

	agent  *agent.Client
	clock  results.ClockOffset
	record *results.Shard // the result file's, for LateStarts
	remote *results.Remote
	notes  []results.Note
}

// newBeyond checks the remote and shard settings of cfg and, with an
// agent, asks it what it accounts and measures the clock offset: every
// refusal comes before any load is sent.
func newBeyond(ctx context.Context, cfg Config) (*beyond, error) {
	sc := cfg.Scenario
	b := &beyond{shard: cfg.Shard, startAt: cfg.StartAt}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if _, err := cfg.Shard.Connections(sc.Connections); err != nil {
		return nil, fmt.Errorf("run: --shard %s: %w", cfg.Shard, err)
	}
	b.slot = sc.Warmup.Duration + sc.Duration.Duration + ShardSlack
	if cfg.Shard.Enabled() && cfg.StartAt.IsZero() {
		b.notes = append(b.notes, results.Note{Kind: results.NoteShardNotInStep, Subject: cfg.Shard.String()})
	}
	external := slices.Contains(sc.Targets, "external")
	if cfg.Agent != "" && (!external || len(sc.Targets) != 1) {
		return nil, fmt.Errorf("run: --agent reads the cost of a server this run does not start: use it with --url (targets: external only)")
	}
	if external {
		if u, err := url.Parse(cfg.Targets.URL); err == nil && (!isLoopbackHost(u.Hostname()) || cfg.Agent != "") {
			b.remote = &results.Remote{URL: cfg.Targets.URL, AllowRemote: cfg.AllowRemote && !isLoopbackHost(u.Hostname())}
		}
	}
	if cfg.Agent == "" {
		return b, nil
	}
	c, err := agent.NewClient(cfg.Agent, cfg.AgentToken)
	if err != nil {
		return nil, fmt.Errorf("run: --agent: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := c.Info(actx)
	if err != nil {
		return nil, fmt.Errorf("run: agent %s: %w", cfg.Agent, err)
	}
	if b.clock, err = c.Clock(actx, 0); err != nil {
		return nil, fmt.Errorf("run: agent %s: clock: %w", cfg.Agent, err)
	}
	b.agent = c
	b.remote.Agent = &results.Agent{URL: cfg.Agent, Target: info.Target, Host: info.Host, Clock: b.clock}
	b.notes = append(b.notes, results.Note{Kind: results.NoteAgent, Subject: cfg.Agent, Figures: map[string]float64{
		"clock_offset_ns": float64(b.clock.OffsetNs), "clock_error_ns": float64(b.clock.RTTNs / 2), "cpus": float64(info.Host.CPUs)}})
	return b, nil
}

func isLoopbackHost(h string) bool { return external.IsLoopback(h) }

// fill records the remote target and the shard in the result file.
func (b *beyond) fill(f *results.File) {
	f.Remote = b.remote
	if b.shard.Enabled() {
		f.Shard = &results.Shard{Index: b.shard.Index, Count: b.shard.Count}
		if !b.startAt.IsZero() {
			f.Shard.StartAt, f.Shard.SlotNs = b.startAt.UTC(), int64(b.slot)
		}
		b.record = f.Shard
	}
	f.Notes = append(f.Notes, b.notes...)
}

// share turns a load point's options into this shard's share: 1/Count of
// the connections and, unless the rate is a sweep step (already a
// fraction of this shard's own capacity), of the open model's rate.
func (b *beyond) share(o *loadgen.Options, sweepStep bool) {
	if !b.shard.Enabled() {
		return
	}
	o.Shard = loadgen.Shard{Index: b.shard.Index, Count: b.shard.Count}
	o.Connections, _ = b.shard.Connections(o.Connections) // checked by newBeyond
	if o.Model == results.ModelOpen && !sweepStep {
		o.Rate = b.shard.Rate(o.Rate)
	}
}

// attack waits for the point's slot (with --start-at), runs it, and with
// an agent replaces the server figures by the agent's over the same
// window.
func (b *beyond) attack(ctx context.Context, t loadgen.Target, req loadgen.Request, o loadgen.Options) (results.Point, error) {
	if err := b.waitTurn(ctx); err != nil {
		return results.Point{}, err
	}
	if b.agent == nil {
		return loadgen.Attack(ctx, t, req, o)
	}
	// The attack's window starts Warmup after it is called (a few
	// microseconds after now) and lasts Duration: the agent is asked for
	// the same window on its own clock, before it starts.
	start := time.Now().Add(o.Warmup).Add(time.Duration(b.clock.OffsetNs))
	type reply struct {
		c   agent.Cost
		err error
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan reply, 1)
	go func() {
		c, err := b.agent.Window(wctx, start, start.Add(o.Duration))
		ch <- reply{c, err}
	}()
	p, err := loadgen.Attack(ctx, t, req, o)
	if err != nil {
		cancel() // an interrupted attack has no server figures to wait for
	}
	r := <-ch
	if err == nil && r.err != nil {
		return p, fmt.Errorf("run: agent window: %w", r.err)
	}
	r.c.Fill(&p.Server, p.Answered, p.Throughput)
	return p, err
}

// waitTurn waits until this shard's next load point is due: point k at
// StartAt + k × slot. A point already past its slot starts at once and
// is counted late.
func (b *beyond) waitTurn(ctx context.Context) error {
	if b.startAt.IsZero() {
		return nil
	}
	due := b.startAt.Add(time.Duration(b.points) * b.slot)
	b.points++
	if time.Until(due) < -lateTolerance && b.record != nil {
		b.record.LateStarts++
	}
	if err := wait.Until(ctx, due); err != nil {
		return fmt.Errorf("run: waiting for the start at %s: %w", due.Format(time.RFC3339Nano), err)
	}
	return nil
}
