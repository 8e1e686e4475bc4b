package agent

import (
	"context"
	"fmt"
	"time"

	"forkbench/internal/procstat"
	"forkbench/internal/wait"
	"forkbench/results"
)

// Cost is GET /v1/window: what the target's process trees spent between
// two snapshots, the same figures `bench run` reads from /proc for a local
// target (see results.ServerCost for their meaning and limits).
type Cost struct {
	// Target describes the selector.
	Target string `json:"target"`
	// StartNs and EndNs are when the snapshots were taken (Unix
	// nanoseconds, agent's clock): the window actually measured.
	StartNs int64 `json:"start_ns"`
	EndNs   int64 `json:"end_ns"`
	// Observed is false when no process was found at either end or the
	// processes were replaced within the window; Reason says which.
	Observed bool   `json:"observed"`
	Reason   string `json:"reason,omitempty"`

	CPUNs           int64  `json:"cpu_ns"`
	UserNs          int64  `json:"user_ns"`
	SysNs           int64  `json:"sys_ns"`
	CPUResolutionNs int64  `json:"cpu_resolution_ns"`
	PeakRSSBytes    uint64 `json:"peak_rss_bytes"`
	Spawns          uint64 `json:"spawns"`
	SpawnSource     string `json:"spawn_source,omitempty"`
	SpawnEventsLost uint64 `json:"spawn_events_lost,omitempty"`
	CtxSwitches     uint64 `json:"ctx_switches"`
}

// measure waits for start, snapshots the target, waits for end (or ctx:
// the client went away) and snapshots it again.
func (s *Server) measure(ctx context.Context, start, end time.Time) (Cost, error) {
	c := Cost{Target: s.cfg.Target.String()}
	if err := wait.Until(ctx, start); err != nil {
		return c, fmt.Errorf("window cancelled before its start: %w", err)
	}
	roots, err := s.cfg.Target.Roots()
	if err != nil {
		return c, err
	}
	var forks *procstat.ForkCounter
	if len(roots) > 0 {
		// Counting starts first, as in loadgen: subscribing may wait for
		// the kernel, and a fork before the snapshot is in the window.
		forks = procstat.StartForkCounter(ctx, roots)
	}
	c.StartNs = time.Now().UnixNano()
	u0, err0 := procstat.Tree(roots)
	var sampler *procstat.Sampler
	if err0 == nil {
		sampler = procstat.StartSampler(ctx, func() []int { r, _ := s.cfg.Target.Roots(); return r }, s.cfg.SampleInterval)
	}
	werr := wait.Until(ctx, end)
	var fc procstat.ForkCount
	var fcErr error = fmt.Errorf("no process")
	if forks != nil {
		fc, fcErr = forks.Stop()
	}
	var peak uint64
	if sampler != nil {
		peak, _, _ = sampler.Stop()
	}
	if werr != nil {
		return c, fmt.Errorf("window cancelled: %w", werr)
	}
	roots1, err := s.cfg.Target.Roots()
	if err != nil {
		return c, err
	}
	u1, err1 := procstat.Tree(roots1)
	c.EndNs = time.Now().UnixNano()
	d := procstat.Usage{
		UserNs:       u1.UserNs - u0.UserNs,
		SysNs:        u1.SysNs - u0.SysNs,
		OnCPUNs:      u1.OnCPUNs - u0.OnCPUNs,
		ResolutionNs: max(u0.ResolutionNs, u1.ResolutionNs),
	}
	switch {
	case err0 != nil:
		c.Reason = "no process of the target at the window's start"
	case err1 != nil:
		c.Reason = "no process of the target at the window's end"
	case d.UserNs < 0 || d.SysNs < 0 || d.OnCPUNs < 0:
		// The tree's CPU only grows; a drop means it was replaced.
		c.Reason = "the target's processes were replaced during the window"
	default:
		c.Observed = true
		c.CPUNs, c.UserNs, c.SysNs, c.CPUResolutionNs = d.OnCPUNs, d.UserNs, d.SysNs, d.ResolutionNs
		c.PeakRSSBytes = max(peak, u0.RSSBytes, u1.RSSBytes)
		if v0, v1 := u0.VolCtx+u0.InvolCtx, u1.VolCtx+u1.InvolCtx; v1 >= v0 {
			c.CtxSwitches = v1 - v0
		}
		if fcErr == nil {
			c.Spawns, c.SpawnSource = fc.Processes, string(fc.Source)
			c.SpawnEventsLost = fc.Lost + fc.Overruns
		}
	}
	return c, nil
}

// Fill writes c into s as a local run would, per answered request and
// with throughput for requests per MB, and marks it Remote.
func (c Cost) Fill(s *results.ServerCost, answered uint64, throughput float64) {
	*s = results.ServerCost{Remote: true}
	if !c.Observed {
		return
	}
	s.Observed = true
	s.CPUNs, s.UserNs, s.SysNs, s.CPUResolutionNs = c.CPUNs, c.UserNs, c.SysNs, c.CPUResolutionNs
	s.PeakRSSBytes, s.CtxSwitches = c.PeakRSSBytes, c.CtxSwitches
	s.Spawns, s.SpawnSource, s.SpawnEventsLost = c.Spawns, c.SpawnSource, c.SpawnEventsLost
	s.DeriveRates(answered, throughput)
}
