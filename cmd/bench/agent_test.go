package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"forkbench/agent"
	"forkbench/loadgen"
	"forkbench/results"
)

// runPoints runs `bench run` with args (closed model, /plaintext, three
// rounds, no pinning: the two runs compared share the machine alike) and
// returns its result file.
func runPoints(t *testing.T, args ...string) *results.File {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	base := []string{"run", "--app-bin", bins.SampleApp, "--out", out, "--no-report", "--no-pin", "--no-verify",
		"--model", "closed", "--endpoints", "plaintext", "--duration", "1s", "--warmup", "300ms", "--rounds", "3"}
	mustRun(t, ctx, append(base, args...)...)
	return readResults(t, out)
}

// TestAgentRemoteRun runs the target, the agent and the generator as
// separate processes, the target addressed as 127.0.0.2 as if it were
// another host. The server CPU read through the agent must agree with the
// generator's own reading of the same process over the same window, and
// `bench run --agent` must record the agent's figures marked remote, with
// the clock offset.
func TestAgentRemoteRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 7 load points")
	}
	data := t.TempDir()
	srv := startListening(t, "serve", "--target", "embedded", "--listen", "127.0.0.2:0", "--app-bin", bins.SampleApp, "--data", data)
	url, pid := srv.url, srv.cmd.Process.Pid
	if !strings.HasPrefix(url, "http://127.0.0.2:") {
		t.Fatalf("serve URL = %q; want 127.0.0.2", url)
	}
	agentURL := startListening(t, "agent", "--listen", "127.0.0.1:0", "--pid", fmt.Sprint(pid)).url

	// One window, read both ways: this test process is the generator
	// and reads the server's /proc itself, as a local run does.
	local, viaAgent := sameWindow(t, url, agentURL, pid)
	t.Logf("same window, server CPU: local %v (%.1f µs/req), through the agent %v (%.1f µs/req)",
		time.Duration(local.Server.CPUNs), local.Server.CPUPerRequestNs/1e3, time.Duration(viaAgent.CPUNs), float64(viaAgent.CPUNs)/float64(local.Answered)/1e3)
	// The two readings differ only by the windows' misalignment (the
	// agent's clock offset and timers, well under 1% of a 2s window on a
	// quiet machine): 10% leaves room for a busy one.
	if d := math.Abs(float64(viaAgent.CPUNs - local.Server.CPUNs)); !viaAgent.Observed || d > 0.1*float64(local.Server.CPUNs) {
		t.Errorf("server CPU through the agent %d ns vs local %d ns over one window: differ by more than 10%%", viaAgent.CPUNs, local.Server.CPUNs)
	}

	remote := runPoints(t, "--url", url, "--agent", agentURL)
	r := remote.Remote
	if r == nil || r.URL != url || r.AllowRemote || r.Agent == nil || r.Agent.URL != agentURL ||
		r.Agent.Target != fmt.Sprintf("pid %d", pid) || r.Agent.Host.CPUs < 1 || r.Agent.Host.Kernel == "" {
		t.Fatalf("remote = %+v; want the URL, the agent, its target pid and host facts", r)
	}
	// One host, one clock: NTP's bound says the offset is within RTT/2.
	if c := r.Agent.Clock; c.Samples != agent.DefaultClockSamples || c.RTTNs <= 0 || math.Abs(float64(c.OffsetNs)) > float64(c.RTTNs)/2+1 {
		t.Errorf("clock = %+v; want |offset| ≤ rtt/2 on one host", c)
	}
	var rc []float64
	for _, p := range remote.Points {
		s := p.Server
		if !s.Observed || !s.Remote || s.CPUNs <= 0 || s.PeakRSSBytes == 0 || s.Spawns != 0 || s.SpawnSource == "" {
			t.Errorf("remote point %d server = %+v; want observed through the agent, CPU and RSS, no spawns", p.Round, s)
		}
		if p.Server.CPUPerRequestNs != float64(s.CPUNs)/float64(p.Answered) {
			t.Errorf("remote CPU/request %g; want CPU %d over %d answers", s.CPUPerRequestNs, s.CPUNs, p.Answered)
		}
		rc = append(rc, s.CPUPerRequestNs)
	}
	// A local run starts its own target processes each round: its CPU
	// per request is compared with the remote run's within the spread
	// when asked for (timing; FORKBENCH_SPREAD_CHECK=1), reported always.
	var lc []float64
	for _, p := range runPoints(t, "--targets", "embedded", "--data", data).Points {
		if !p.Server.Observed || p.Server.Remote {
			t.Errorf("local point %d server = %+v; want observed locally", p.Round, p.Server)
		}
		lc = append(lc, p.Server.CPUPerRequestNs)
	}
	t.Logf("server CPU per request, 3 rounds each: remote run through the agent %.1f µs, local run %.1f µs", us(rc), us(lc))
	if os.Getenv("FORKBENCH_SPREAD_CHECK") != "" {
		mr, ml := median(rc), median(lc)
		if tol := max(spread(rc), spread(lc)); math.Abs(mr-ml) > tol {
			t.Errorf("server CPU per request through the agent %.1f µs vs local %.1f µs: differ by more than the spread %.1f µs", mr/1e3, ml/1e3, tol/1e3)
		}
	}
}

// pidTarget is the server at url whose process tree is pid.
type pidTarget struct {
	url string
	pid int
}

func (p pidTarget) Name() string { return "remote" }
func (p pidTarget) URL() string  { return p.url }
func (p pidTarget) PIDs() []int  { return []int{p.pid} }

// sameWindow loads the server at url for one closed-model window, reading
// its cost locally (loadgen, from /proc) and through the agent over the
// same window, as `bench run --agent` asks for it.
func sameWindow(t *testing.T, url, agentURL string, pid int) (results.Point, agent.Cost) {
	t.Helper()
	ctx := context.Background()
	c, err := agent.NewClient(agentURL, "")
	if err != nil {
		t.Fatal(err)
	}
	off, err := c.Clock(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := loadgen.Options{Model: results.ModelClosed, Connections: 8, Warmup: 300 * time.Millisecond, Duration: 2 * time.Second}
	start := time.Now().Add(o.Warmup).Add(time.Duration(off.OffsetNs))
	type reply struct {
		c   agent.Cost
		err error
	}
	ch := make(chan reply, 1)
	go func() {
		cost, err := c.Window(ctx, start, start.Add(o.Duration))
		ch <- reply{cost, err}
	}()
	p, err := loadgen.Attack(ctx, pidTarget{url, pid}, loadgen.Request{Endpoint: "plaintext", Path: "/plaintext"}, o)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !p.Server.Observed || p.Answered == 0 {
		t.Fatalf("local reading = %+v after %d answers; want observed", p.Server, p.Answered)
	}
	return p, r.c
}

func us(ns []float64) []float64 {
	out := make([]float64, len(ns))
	for i, v := range ns {
		out[i] = math.Round(v/100) / 10
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(xs []float64) float64 { return slices.Max(xs) - slices.Min(xs) }

func TestAgentRefusesNonLoopbackWithoutToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:7071"} {
		cmd := bench(t, ctx, "agent", "--listen", addr, "--pid", "1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); exitStatus(t, err) != 1 {
			t.Fatalf("bench agent --listen %s without a token: %v; want exit 1", addr, err)
		}
		if !strings.Contains(stderr.String(), "a token is required") || strings.Count(stderr.String(), "\n") != 1 || stdout.Len() != 0 {
			t.Errorf("--listen %s: stderr %q stdout %q; want one line saying a token is required, nothing listening", addr, stderr.String(), stdout.String())
		}
	}
}

func TestRunBeyondBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad shard", []string{"--shard", "2/2"}, "shard 2/2"},
		{"shard syntax", []string{"--shard", "1"}, "want INDEX/COUNT"},
		{"bad start", []string{"--start-at", "tomorrow"}, `--start-at: cannot parse "tomorrow"`},
		{"agent needs url", []string{"--targets", "embedded", "--agent", "http://127.0.0.1:1"}, "--agent reads the cost of a server this run does not start"},
		{"too few connections", []string{"--shard", "0/4", "--connections", "2"}, "2 connections cannot be shared by 4 shards"},
		{"agent unreachable", []string{"--url", "http://127.0.0.1:1", "--agent", "http://127.0.0.1:1"}, "run: agent http://127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			if stderr := refusedRun(t, out, c.args); !strings.Contains(stderr, c.want) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, c.want)
			}
			if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
				t.Errorf("a refused run wrote %s", filepath.Join(out, "results.json"))
			}
		})
	}
}

// TestMergeCommand merges two shard files to stdout and refuses a
// mismatch naming the field.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	h := results.NewHistogram()
	results.Record(h, time.Millisecond)
	lat, err := results.Summarize(h)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := range 2 {
		f := &results.File{
			Settings: results.Settings{Targets: []string{"external"}, Connections: 2},
			Shard:    &results.Shard{Index: i, Count: 2},
			Points: []results.Point{{Target: "external", Endpoint: "plaintext", Model: results.ModelClosed, Round: 1,
				Requests: 5, Answered: 5, Successes: 5, Throughput: 5, Connections: 1, Latency: lat}},
		}
		p := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		if err := results.Write(p, f); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append([]string{"merge"}, paths...), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	m, err := results.Decode(&stdout)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Points[0]; p.Requests != 10 || p.Throughput != 10 || p.Connections != 2 || p.Latency.Count != 2 || len(m.Shards) != 2 {
		t.Errorf("merged point = %+v (shards %d); want 10 requests, 10 req/s, 2 connections, 2 latencies", p, len(m.Shards))
	}
	bad, _ := results.Read(paths[1])
	bad.Settings.Connections = 3
	if err := results.Write(paths[1], bad); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	err = run(context.Background(), append([]string{"merge"}, paths...), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "field settings.connections differs: 2 in "+paths[0]+", 3 in "+paths[1]) {
		t.Errorf("merge of mismatched settings: %v; want the field named", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("a refused merge wrote %d bytes to stdout; want none", stdout.Len())
	}
}
