package loadgen

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"forkbench/internal/procstat"
	"forkbench/internal/testbin"
)

// cgroupTarget is a fakeTarget in a cgroup of its own, as targets.Process.
type cgroupTarget struct {
	fakeTarget
	cg *procstat.Cgroup
}

func (c cgroupTarget) Cgroup() *procstat.Cgroup { return c.cg }

var _ cgrouped = cgroupTarget{}

// helperEnv makes the test binary, re-run, act as the helper it names.
const helperEnv = "FORKBENCH_LOADGEN_HELPER"

// TestMain turns the test binary into a helper process when helperEnv is
// set.
func TestMain(m *testing.M) { testbin.ChildMain(m, helperEnv, runHelper) }

// runHelper runs a helper mode: "ignorer" is a server that ignores SIGCHLD,
// as Apache's mod_cgid daemon and fcgiwrap do, and on a line from stdin
// starts two busy children that the kernel reaps itself (see
// testbin.AutoReapingParent).
func runHelper(mode string) int {
	if mode != "ignorer" {
		return 2
	}
	return testbin.AutoReapingParent(2, func() *exec.Cmd {
		return exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done")
	})
}

// TestMeterReadsCgroup checks that the meter reads a target's CPU from its
// cgroup when it has one, catching the CPU of children that /proc's tree
// accounting misses, and says so; without a cgroup it reads /proc.
func TestMeterReadsCgroup(t *testing.T) {
	cg, err := procstat.NewCgroup(procstat.CgroupConfig{})
	if errors.Is(err, procstat.ErrCgroupUnavailable) {
		if os.Getenv("FORKBENCH_STRICT") == "1" {
			t.Fatalf("FORKBENCH_STRICT=1: %v", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cg.Remove(context.Background()); err != nil {
			t.Error(err)
		}
	})
	server := testbin.StartChild(t, "server", testbin.ChildCommand(helperEnv, "ignorer"), func(cmd *exec.Cmd) error { return cg.Start(cmd, nil) })
	server.CloseAtCleanup(t)
	server.Expect(t, "ready")
	pids := []int{server.Cmd.Process.Pid}
	before, err := procstat.Tree(pids)
	if err != nil {
		t.Fatal(err)
	}
	m := newMeter(cgroupTarget{fakeTarget{pids: pids}, cg}, time.Now(), time.Now().Add(time.Hour))
	m.arm(context.Background()) // the window has started: snapshot at once
	server.Send(t, "go")
	server.Expect(t, "done")
	c := m.finish()
	after, err := procstat.Tree(pids)
	if err != nil {
		t.Fatal(err)
	}
	if !c.observed || c.source != cg.Source() {
		t.Fatalf("observed %v, source %q; want true, %q", c.observed, c.source, cg.Source())
	}
	got, proc := time.Duration(c.server.OnCPUNs), time.Duration(after.OnCPUNs-before.OnCPUNs)
	t.Logf("cgroup CPU %v, /proc tree CPU %v", got, proc)
	if got < 50*time.Millisecond || proc > got/4 {
		t.Errorf("cgroup CPU = %v, /proc tree CPU = %v; want the busy children's CPU (>= 50ms) in the cgroup's only", got, proc)
	}

	m = newMeter(fakeTarget{pids: []int{os.Getpid()}}, time.Now(), time.Now().Add(time.Hour))
	m.arm(context.Background())
	if c := m.finish(); !c.observed || c.source != procstat.SourceProc {
		t.Errorf("without a cgroup: observed %v, source %q; want true, %q", c.observed, c.source, procstat.SourceProc)
	}
}
