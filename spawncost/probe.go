package spawncost

// This file is the parent-size factor. A process holding a large resident
// heap spawns children; if spawning copied or even walked the parent's
// page tables (fork without CLONE_VFORK), the spawn would slow with the
// heap. It runs in a re-executed child of bench (`bench fork
// --probe-heap …`), so that the gigabyte is never in the process that
// measures everything else.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"forkbench/results"
)

// probeReport is what a probe child writes on stdout: the resident size it
// reached and its spawn samples.
type probeReport struct {
	HeapBytes int64         `json:"heap_bytes"`
	RSSBytes  int64         `json:"rss_bytes"`
	Samples   []probeSample `json:"samples"`
}

type probeSample struct {
	WallNs int64 `json:"wall_ns"`
	UserNs int64 `json:"user_ns"`
	SysNs  int64 `json:"sys_ns"`
}

// pageSize is the granularity the heap is touched at so that all of it is
// resident, not merely reserved.
const pageSize = 4096

// Probe command-line flags: the parent-size probe is this executable
// re-executed (Config.Self) with these flags, which the command line
// (cmd/bench) parses into a ProbeConfig and hands to Probe.
const (
	ProbeHeapFlag   = "probe-heap"
	ProbeExeFlag    = "probe-exe"
	ProbeRepsFlag   = "probe-reps"
	ProbeWarmupFlag = "probe-warmup"
)

// ProbeConfig is what a parent-size probe child does: hold HeapBytes of
// resident heap, then spawn Exe Warm+Reps times.
type ProbeConfig struct {
	HeapBytes  int64
	Exe        string
	Reps, Warm int
}

// args is p as the flags the probe child is re-executed with.
func (p ProbeConfig) args() []string {
	return []string{
		"--" + ProbeHeapFlag, strconv.FormatInt(p.HeapBytes, 10),
		"--" + ProbeExeFlag, p.Exe,
		"--" + ProbeRepsFlag, strconv.Itoa(p.Reps),
		"--" + ProbeWarmupFlag, strconv.Itoa(p.Warm),
	}
}

// Probe is the probe child: it makes p.HeapBytes resident, then spawns
// p.Exe p.Warm+p.Reps times and writes its report, JSON, to stdout for
// the parent that re-executed it.
func Probe(ctx context.Context, p ProbeConfig, stdout io.Writer) error {
	heap, exe, reps, warmup := p.HeapBytes, p.Exe, p.Reps, p.Warm
	if heap < 0 || reps <= 0 || warmup < 0 || exe == "" {
		return errors.New("spawncost: probe: bad arguments")
	}
	buf := make([]byte, heap)
	for i := int64(0); i < heap; i += pageSize {
		buf[i] = 1
	}
	rss, err := selfRSS()
	if err != nil {
		return err
	}
	sp, err := newSpawner()
	if err != nil {
		return err
	}
	defer sp.close()
	ss, _, err := collect(ctx, plan{warmup: warmup, reps: reps}, func(ctx context.Context) (sample, error) {
		s, _, err := sp.run(ctx, exe, nil, childEnv())
		return s, err
	})
	runtime.KeepAlive(buf)
	if err != nil {
		return err
	}
	rep := probeReport{HeapBytes: heap, RSSBytes: rss}
	for _, s := range ss {
		rep.Samples = append(rep.Samples, probeSample{int64(s.wall), int64(s.user), int64(s.sys)})
	}
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return fmt.Errorf("spawncost: probe: %w", err)
	}
	return nil
}

// selfRSS is this process's resident set size, from /proc/self/statm.
func selfRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("spawncost: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("spawncost: /proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("spawncost: /proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// probeParentRSS re-executes self as a probe child holding heap bytes
// and returns its report.
func probeParentRSS(ctx context.Context, self, selfEnv []string, heap int64, exe string, p plan) (probeReport, error) {
	if len(self) == 0 {
		return probeReport{}, errors.New("spawncost: no command to re-execute for the parent-size probe")
	}
	args := append(self[1:len(self):len(self)], ProbeConfig{HeapBytes: heap, Exe: exe, Reps: p.reps, Warm: p.warmup}.args()...)
	cmd := exec.CommandContext(ctx, self[0], args...)
	cmd.Env = append(os.Environ(), selfEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return probeReport{}, fmt.Errorf("spawncost: parent-size probe %s: %w: %s", self[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	var rep probeReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return probeReport{}, fmt.Errorf("spawncost: parent-size probe output: %w", err)
	}
	if len(rep.Samples) == 0 {
		return probeReport{}, errors.New("spawncost: parent-size probe returned no samples")
	}
	return rep, nil
}

// parentRSSRows runs the probe for each heap size in alternating rounds
// (small, large, small, large, …), so that drift on a shared machine falls
// on both alike, and returns one factor row per heap size.
func parentRSSRows(ctx context.Context, self, selfEnv []string, heaps []int64, exe, exeName string, p plan, rounds int) ([]results.ForkRow, error) {
	ss := make([][]sample, len(heaps))
	rss := make([]int64, len(heaps))
	per := plan{warmup: p.warmup, reps: max(1, p.reps/rounds)}
	for range rounds {
		for i, h := range heaps {
			rep, err := probeParentRSS(ctx, self, selfEnv, h, exe, per)
			if err != nil {
				return nil, err
			}
			rss[i] = max(rss[i], rep.RSSBytes)
			for _, s := range rep.Samples {
				ss[i] = append(ss[i], sample{time.Duration(s.WallNs), time.Duration(s.UserNs), time.Duration(s.SysNs)})
			}
		}
	}
	rows := make([]results.ForkRow, len(heaps))
	for i, h := range heaps {
		rows[i] = forkRow(results.ForkRow{Group: results.ForkGroupFactors, Name: results.ForkFactorParentRSS, Params: map[string]string{
			results.ForkParamHeapBytes: strconv.FormatInt(h, 10),
			"parent_rss_bytes":         strconv.FormatInt(rss[i], 10),
			results.ForkParamSpawned:   exeName,
			"rounds":                   strconv.Itoa(rounds),
		}}, ss[i])
	}
	return rows, nil
}
