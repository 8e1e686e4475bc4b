package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/procstat"
)

// cgroupTarget is a fakeTarget in a cgroup of its own, as targets.Process.
type cgroupTarget struct {
	fakeTarget
	cg *procstat.Cgroup
}

func (c cgroupTarget) Cgroup() *procstat.Cgroup { return c.cg }

var _ cgrouped = cgroupTarget{}

// helperEnv makes the test binary, re-run, act as ignoringServer.
const helperEnv = "FORKBENCH_LOADGEN_HELPER"

// TestIgnoringServer is not a test: re-run with helperEnv set, the test
// binary becomes a server that ignores SIGCHLD, as Apache's mod_cgid
// daemon and fcgiwrap do. It says "ready"; on a line from stdin it starts two busy
// children that the kernel reaps itself, says "done" once they have
// exited, and exits when stdin closes.
func TestIgnoringServer(t *testing.T) {
	if os.Getenv(helperEnv) != "ignorer" {
		t.Skip("a helper process for TestMeterReadsCgroup")
	}
	os.Exit(ignoringServer())
}

func ignoringServer() int {
	// os/exec probes for CLONE_PIDFD with a throw-away child on its
	// first use in a process: do that before SIGCHLD is ignored.
	if err := exec.Command("/bin/sh", "-c", ":").Run(); err != nil {
		return 1
	}
	signal.Ignore(syscall.SIGCHLD)
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return 1
	}
	// The children hold the write end of a pipe: EOF on the read end
	// means they have exited (there is no wait to do).
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	for range 2 {
		c := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done")
		c.Stdout = w
		if err := c.Start(); err != nil {
			return 1
		}
	}
	_ = w.Close()
	_, _ = io.Copy(io.Discard, r)
	fmt.Println("done")
	_, _ = io.Copy(io.Discard, in)
	return 0
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestIgnoringServer$")
	cmd.Env = append(os.Environ(), helperEnv+"=ignorer")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cg.Start(cmd, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("server: %v", err)
		}
	})
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("server said %q, %v; want ready", line, err)
	}
	pids := []int{cmd.Process.Pid}
	before, err := procstat.Tree(pids)
	if err != nil {
		t.Fatal(err)
	}
	m := newMeter(cgroupTarget{fakeTarget{pids: pids}, cg}, time.Now(), time.Now().Add(time.Hour))
	m.arm(context.Background()) // the window has started: snapshot at once
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := out.ReadString('\n'); err != nil || line != "done\n" {
		t.Fatalf("server said %q, %v; want done", line, err)
	}
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
